"""Rota pages: on duty now, the timeline, editing rotas, layers and overrides."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.models.shared import AuditEntry
from voiceline.models.web import User


@pytest.fixture
def manager(demo, as_role):
    return as_role("rota_manager")


def _db(app):
    return appdb.session_factory(app)()


def test_now_page_per_rota_and_policy_step(manager):
    # Week one from 2026-01-05 09:00 New York is alice's.
    html = manager.get("/rota/now?at=2026-01-06T12:00:00Z").get_data(as_text=True)
    primary = html.split("Primary liaison")[1].split("</section>")[0]
    now = primary.split('class="now"')[1].split("</dd>")[0]  # "Next" names the week after
    assert "Alice Smith" in now and "Dmitri" not in now
    assert "Dmitri Volkov" in primary.split('class="next"')[1].split("</dd>")[0]
    # Policy main: step 1 alice, step 2 a backup person (15:00 Moscow: days layer), step 3 duty chief.
    policy = html.split("Escalation policies")[1]
    steps = re.findall(r'<td class="now">(.*?)</td>', policy, re.S)
    assert "Alice Smith" in steps[0]
    assert "Duty Chief Officer" in steps[2]


def test_timeline_rows_in_viewer_zone_with_gaps(app, manager):
    with app.app_context():
        db = _db(app)
        db.add(m.Override(rota_id="primary", kind="remove", person_id="alice",
                          start=datetime(2026, 1, 6, 0, 0, tzinfo=UTC),
                          end=datetime(2026, 1, 6, 6, 0, tzinfo=UTC)))
        db.commit()
        db.close()
    html = manager.get("/rota/primary?start=2026-01-05&weeks=2").get_data(as_text=True)
    labels = re.findall(r'<div class="tl-label">([^<]*)</div>', html)
    assert labels == ["", "weekly rotation", "overrides", "final schedule"]
    assert "− Alice Smith" in html
    # The removal leaves nobody: a gap block on the final row and a GAP line in the list.
    final_row = html.split('final schedule</div>')[1].split("</div></div>")[0]
    assert 'tl-block gap' in final_row
    assert "GAP: nobody" in html
    # No zone on the account, no person: the rota's zone (New York).
    assert "times in America/New_York" in html
    assert "2026-01-05 19:00" in html  # 2026-01-06T00:00Z in New York


def test_viewer_zone_from_the_account(app, manager, accounts):
    with app.app_context():
        db = _db(app)
        db.get(User, accounts["rota_manager"]).timezone = "Europe/Moscow"
        db.commit()
        db.close()
    html = manager.get("/rota/primary?start=2026-01-05&weeks=1").get_data(as_text=True)
    assert "times in Europe/Moscow" in html


def test_unknown_ids_are_404(manager):
    for path in ("/rota/nope", "/rota/nope/edit", "/rota/primary/layers/9999",
                 "/directory/people/nope", "/directory/callers/nope", "/directory/callers/nope/pin",
                 "/directory/policies/nope", "/directory/hotlines/nope"):
        assert manager.get(path).status_code == 404, path


def test_bad_timeline_range_is_400(manager):
    assert manager.get("/rota/primary?start=yesterday").status_code == 400


def test_override_end_before_start_is_refused_beside_the_field(app, manager, post_form):
    response = post_form(manager, "/rota/primary/overrides/new", data={
        "kind": "add", "person": "carol", "replaces": "", "start": "2026-12-01T10:00",
        "end": "2026-12-01T09:00", "note": ""})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    end_field = html.split('for="end"')[1].split("</div>")[0]
    assert "must be after the start" in end_field
    with app.app_context():
        db = _db(app)
        assert len(db.scalars(select(m.Override)).all()) == 1  # only the demo's
        db.close()


def test_override_overlap_for_one_person_is_refused(manager, post_form):
    # The demo has grace replacing alice 2026-12-24..27 (UTC); times here are New York.
    response = post_form(manager, "/rota/primary/overrides/new", data={
        "kind": "add", "person": "grace", "start": "2026-12-25T10:00", "end": "2026-12-25T12:00"})
    assert "overlaps another override for grace" in response.get_data(as_text=True)


def test_override_is_saved_in_utc_and_audited(app, manager, post_form):
    response = post_form(manager, "/rota/primary/overrides/new", data={
        "kind": "replace", "person": "carol", "replaces": "dmitri",
        "start": "2027-06-23T09:00", "end": "2027-06-23T17:00", "note": "<i>dentist</i>"})
    assert response.status_code == 302
    with app.app_context():
        db = _db(app)
        row = db.scalar(select(m.Override).where(m.Override.person_id == "carol"))
        assert (row.kind, row.replaces_id) == ("replace", "dmitri")
        assert row.start == datetime(2027, 6, 23, 13, 0, tzinfo=UTC)  # EDT is UTC-4
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "override.create"))
        assert entry.actor == "user:rota-manager"
        assert entry.detail["after"]["person"] == "carol"
        db.close()
    html = manager.get("/rota/primary?start=2027-06-21").get_data(as_text=True)
    assert "&lt;i&gt;dentist&lt;/i&gt;" in html and "<i>dentist</i>" not in html


def test_new_rota_and_layer_then_edit_versions(app, manager, post_form):
    response = post_form(manager, "/rota/new", data={
        "id": "night", "name": "Night <desk>", "timezone": "Europe/London"})
    assert response.status_code == 302
    bad = post_form(manager, "/rota/night/layers/new", data={
        "members": "carol, zed", "anchor": "2026-01-05T20:00", "period": "1 fortnight"})
    html = bad.get_data(as_text=True)
    assert "unknown person &#39;zed&#39;" in html or "unknown person 'zed'" in html
    assert "unknown period unit" in html
    ok = post_form(manager, "/rota/night/layers/new", data={
        "name": "nights", "members": "carol, boris, -", "anchor": "2026-01-05T20:00",
        "period": "1d", "windows": "20:00-08:00", "priority": "0"})
    assert ok.status_code == 302, ok.get_data(as_text=True)
    with app.app_context():
        db = _db(app)
        layer = db.scalar(select(m.Layer).where(m.Layer.rota_id == "night"))
        [version] = layer.versions
        assert version.members == ["carol", "boris", None]
        assert version.windows == [{"days": [], "start": "20:00", "end": "08:00"}]
        layer_id = layer.id
        db.close()
    before = utcnow()
    fields = {"name": "nights", "members": "boris, carol", "anchor": "2026-01-05T20:00",
              "period": "1d", "windows": "20:00-08:00", "priority": "0"}
    # An edit is previewed first (nothing written), then saved as previewed (issue 12).
    preview = post_form(manager, f"/rota/night/layers/{layer_id}", data=fields)
    assert preview.status_code == 200
    digest = re.search(r'name="preview_of" value="(\w+)"', preview.get_data(as_text=True)).group(1)
    edit = post_form(manager, f"/rota/night/layers/{layer_id}",
                     data={**fields, "preview_of": digest, "save": "yes"})
    assert edit.status_code == 302
    with app.app_context():
        db = _db(app)
        layer = db.get(m.Layer, layer_id)
        versions = sorted(layer.versions, key=lambda v: v.id)
        assert len(versions) == 2
        old, new = versions
        assert old.valid_until == new.valid_from and new.valid_from >= before
        assert new.members == ["boris", "carol"] and new.valid_until is None
        assert old.valid_until is not None and old.valid_until > datetime(2026, 1, 1, tzinfo=UTC)
        actions = [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions[-3:] == ["rota.create", "layer.create", "layer.update"]
        db.close()


def test_rota_settings_errors_beside_the_field(manager, post_form):
    response = post_form(manager, "/rota/new", data={"id": "Bad Id", "timezone": "Mars/Olympus"})
    html = response.get_data(as_text=True)
    assert "lower-case letters" in html.split('for="id"')[1].split("</div>")[0]
    assert "unknown time zone" in html.split('for="timezone"')[1].split("</div>")[0]


def test_rota_used_by_a_policy_is_not_deleted(app, manager, post_form):
    post_form(manager, "/rota/primary/edit", "/rota/primary/delete", data={"confirmed": "yes"})
    with app.app_context():
        db = _db(app)
        assert db.get(m.Rota, "primary") is not None
        db.close()


def test_responder_sees_rotas_but_cannot_edit(demo, as_role):
    client = as_role("responder")
    assert client.get("/rota/primary").status_code == 200
    assert client.get("/rota/primary/overrides/new").status_code == 403
    assert "Add an override" not in client.get("/rota/primary").get_data(as_text=True)



def test_removing_overrides_never_rewrites_the_past(app, manager, post_form):
    """A future override is deleted, one in progress ends now, a finished one stays."""
    now = utcnow()
    with app.app_context():
        db = _db(app)
        rows = {
            "past": m.Override(rota_id="primary", kind="add", person_id="carol",
                               start=datetime(2026, 1, 1, tzinfo=UTC),
                               end=datetime(2026, 1, 2, tzinfo=UTC)),
            "running": m.Override(rota_id="primary", kind="add", person_id="boris",
                                  start=now.replace(year=now.year - 1), end=now.replace(year=now.year + 1)),
            "future": m.Override(rota_id="primary", kind="add", person_id="duty-chief",
                                 start=now.replace(year=now.year + 2), end=now.replace(year=now.year + 3)),
        }
        db.add_all(rows.values())
        db.commit()
        ids = {k: v.id for k, v in rows.items()}
        db.close()
    for key in ("past", "running", "future"):
        response = post_form(manager, "/rota/primary",
                             f"/rota/primary/overrides/{ids[key]}/delete",
                             data={"confirmed": "yes"}, follow_redirects=True)
        assert response.status_code == 200
        if key == "past":
            assert "past overrides stay as the record" in response.get_data(as_text=True)
    with app.app_context():
        db = _db(app)
        assert db.get(m.Override, ids["past"]).end == datetime(2026, 1, 2, tzinfo=UTC)
        running = db.get(m.Override, ids["running"])
        assert now <= running.end < now.replace(year=now.year + 1)
        assert db.get(m.Override, ids["future"]) is None
        actions = [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions[-2:] == ["override.end", "override.delete"]
        db.close()


def test_a_priority_change_is_previewed_before_it_is_saved(app, manager, post_form):
    with app.app_context():
        db = _db(app)
        layer = db.scalar(select(m.Layer).where(m.Layer.rota_id == "backup", m.Layer.name == "days"))
        layer_id, version = layer.id, layer.versions[0]
        fields = {"name": "days", "members": ", ".join(version.members), "anchor": version.anchor,
                  "period": version.period, "windows": "08:00-20:00", "priority": "5"}
        db.close()
    preview = post_form(manager, f"/rota/backup/layers/{layer_id}", data=fields)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview: who is on duty changes" in html
    with app.app_context():
        db = _db(app)
        assert db.get(m.Layer, layer_id).priority == 0  # nothing written by the preview
        db.close()
    digest = re.search(r'name="preview_of" value="(\w+)"', html).group(1)
    saved = post_form(manager, f"/rota/backup/layers/{layer_id}",
                      data={**fields, "preview_of": digest, "save": "yes"})
    assert saved.status_code == 302
    with app.app_context():
        db = _db(app)
        assert db.get(m.Layer, layer_id).priority == 5
        db.close()


def test_member_picker_buttons_reorder_and_save_nothing(app, manager, post_form):
    with app.app_context():
        db = _db(app)
        layer = db.scalar(select(m.Layer).where(m.Layer.rota_id == "primary"))
        layer_id, versions = layer.id, len(layer.versions)
        db.close()
    response = post_form(manager, f"/rota/primary/layers/{layer_id}", data={
        "name": "weekly rotation", "member": ["alice", "dmitri", "grace"], "op": "down:0",
        "anchor": "2026-01-05T09:00", "period": "1w", "priority": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.findall(r'name="member" value="([\w-]+)"', html) == ["dmitri", "alice", "grace"]
    with app.app_context():
        db = _db(app)
        assert len(db.get(m.Layer, layer_id).versions) == versions
        db.close()
