"""The audit log page: admins only, filters, paging, chain verification naming the broken entry."""

from __future__ import annotations

from sqlalchemy import select, update

from voiceline import appdb, audit
from voiceline.models.shared import AuditEntry


def _add(app, n, action="test.thing", **detail):
    with app.app_context():
        db = appdb.session_factory(app)()
        for i in range(n):
            audit.record(db, "cli", action, f"item {i}", **detail)
        db.commit()
        db.close()


def test_admin_reads_before_and_after_escaped(app, as_role):
    _add(app, 1, "person.update", before={"name": "<script>x</script>"}, after={"name": "Bob"})
    html = as_role("admin").get("/admin/audit/").get_data(as_text=True)
    assert "person.update" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html


def test_only_admins(as_role):
    for role in ("rota_manager", "reviewer", "responder"):
        assert as_role(role).get("/admin/audit/").status_code == 403


def test_filters_and_paging(app, as_role):
    _add(app, 60)
    _add(app, 2, "other.thing")
    client = as_role("admin")
    html = client.get("/admin/audit/?action=other.").get_data(as_text=True)
    assert html.count("<td>other.thing</td>") == 2 and "<td>test.thing</td>" not in html
    first = client.get("/admin/audit/?action=test.").get_data(as_text=True)
    assert first.count("<td>test.thing</td>") == 50 and "Older entries" in first
    with app.app_context():
        db = appdb.session_factory(app)()
        ids = db.scalars(select(AuditEntry.id).where(AuditEntry.action == "test.thing")
                         .order_by(AuditEntry.id)).all()
        db.close()
    second = client.get(f"/admin/audit/?action=test.&before={ids[10]}").get_data(as_text=True)
    assert second.count("<td>test.thing</td>") == 10
    assert client.get("/admin/audit/?before=x").status_code == 400


def test_verify_names_the_first_broken_entry(app, as_role, csrf):
    _add(app, 3)
    client = as_role("admin")
    token = csrf(client, "/admin/audit/")
    ok = client.post("/admin/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "The chain is intact" in ok
    with app.app_context():
        db = appdb.session_factory(app)()
        victim = db.scalars(select(AuditEntry.id).where(AuditEntry.action == "test.thing")
                            .order_by(AuditEntry.id)).all()[1]
        db.execute(update(AuditEntry).where(AuditEntry.id == victim).values(target="forged"))
        db.commit()
        db.close()
    broken = client.post("/admin/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert f"BROKEN at entry {victim}" in broken


def _actions(html: str) -> set[str]:
    import re
    return set(re.findall(r'<tr class="entry">.*?</td>.*?</td>.*?</td>\s*<td>([^<]+)</td>', html, re.S))


def test_kinds_filter_changes_logins_listens_exports(app, as_role):
    for action in ("person.update", "auth.login", "auth.logout", "recording.listen", "calls.export",
                   "calls.view", "call.duress"):
        _add(app, 1, action)
    client = as_role("admin")  # logs in: one more auth.login
    assert _actions(client.get("/admin/audit/?kind=changes").get_data(as_text=True)) == {"person.update"}
    assert _actions(client.get("/admin/audit/?kind=logins").get_data(as_text=True)) == {
        "auth.login", "auth.logout"}
    assert _actions(client.get("/admin/audit/?kind=listens").get_data(as_text=True)) == {"recording.listen"}
    assert _actions(client.get("/admin/audit/?kind=exports").get_data(as_text=True)) == {"calls.export"}
    assert client.get("/admin/audit/?kind=gossip").status_code == 400
    assert client.get("/admin/audit/?range=1y").status_code == 400
    recent = client.get("/admin/audit/?range=24h&kind=changes").get_data(as_text=True)
    assert _actions(recent) == {"person.update"}
    flat = " ".join(recent.split())
    assert "kind <strong>changes only</strong>" in flat and "when <strong>last 24 hours</strong>" in flat


def test_range_leaves_out_older_entries(app, as_role):
    from datetime import timedelta

    from voiceline.instants import utcnow
    _add(app, 1, "person.update")
    with app.app_context():
        db = appdb.session_factory(app)()
        db.execute(update(AuditEntry).where(AuditEntry.action == "person.update")
                   .values(at=utcnow() - timedelta(days=3)))
        db.commit()
        db.close()
    client = as_role("admin")
    assert _actions(client.get("/admin/audit/?kind=changes&range=7d").get_data(as_text=True)) == {
        "person.update"}
    assert _actions(client.get("/admin/audit/?kind=changes&range=24h").get_data(as_text=True)) == set()


def test_targets_link_and_before_after_is_a_field_diff(app, as_role):
    with app.app_context():
        db = appdb.session_factory(app)()
        audit.record(db, "cli", "rota.update", "rota night-desk",
                     before={"name": "Nights", "timezone": "UTC", "notify_outgoing": False},
                     after={"name": "Night desk", "timezone": "UTC", "notify_outgoing": True})
        audit.record(db, "cli", "calls.view", "CA" + "1" * 32)
        audit.record(db, "cli", "layer.update", "rota night-desk layer 7",
                     before={"members": ["alice", "bob"]}, after={"members": ["bob", "alice"]})
        db.commit()
        db.close()
    html = as_role("admin").get("/admin/audit/").get_data(as_text=True)
    assert '<a href="/rota/night-desk">night-desk</a>' in html
    assert '<a href="/rota/night-desk/layers/7">7</a>' in html
    assert f'<a href="/calls/CA{"1" * 32}">CA{"1" * 32}</a>' in html
    flat = " ".join(html.split())
    assert "<th scope=\"row\">name</th> <td><del>Nights</del></td> <td><ins>Night desk</ins></td>" in flat
    assert "<th scope=\"row\">notify_outgoing</th> <td><del>no</del></td> <td><ins>yes</ins></td>" in flat
    assert "1 field unchanged" in flat  # timezone
    assert "<del>alice, bob</del>" in flat and "<ins>bob, alice</ins>" in flat
    assert '"before"' not in html and "{&#34;" not in html  # no raw JSON


def test_diff_flattens_nested_values():
    from voiceline.web.audit_present import diff

    changes, same = diff([{"members": ["a"], "windows": [{"start": "08:00"}]}],
                         [{"members": ["a"], "windows": [{"start": "09:00"}]}])
    assert [(c.field, c.before, c.after) for c in changes] == [("#1.windows[1].start", "08:00", "09:00")]
    assert same == 1
    created, _ = diff(None, {"name": "X", "active": True})
    assert [(c.field, c.before, c.after) for c in created] == [("name", None, "X"), ("active", None, "yes")]
