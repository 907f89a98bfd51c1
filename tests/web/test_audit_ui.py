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
