"""Past overrides and swaps are refused for rota managers; an admin corrects the record only
through an explicit, audited action with a reason (issue 11, defect 4)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, timedelta

from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import iso_z, utcnow
from voiceline.models.web import ApiToken


def _db(app):
    with app.app_context():
        return appdb.session_factory(app)()


def _headers(app, user_id: int) -> dict[str, str]:
    db = _db(app)
    raw = secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user_id, token_hash=hashlib.sha256(raw.encode()).hexdigest(), name="t"))
    db.commit()
    db.close()
    return {"Authorization": f"Bearer {raw}"}


def _audit(app, action: str):
    db = _db(app)
    entry = db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action)
                       .order_by(m.AuditEntry.id.desc())).first()
    db.close()
    return entry


def test_api_refuses_a_past_override_and_admins_correct_the_record(app, demo, accounts, client):
    manager, admin = _headers(app, accounts["rota_manager"]), _headers(app, accounts["admin"])
    now = utcnow()
    month_ago = {"rota": "backup", "start": iso_z(now - timedelta(days=30)),
                 "end": iso_z(now - timedelta(days=29)), "add": "alice"}
    refused = client.post("/api/v1/overrides", json=month_ago, headers=manager)
    assert refused.status_code == 409 and "in the past" in refused.get_json()["error"]
    # A start a minute ago (a form filled in) is taken as now, not refused.
    recent = client.post("/api/v1/overrides", headers=manager, json={
        "rota": "backup", "start": iso_z(now - timedelta(minutes=1)),
        "end": iso_z(now + timedelta(hours=1)), "add": "grace"})
    assert recent.status_code == 201 and recent.get_json()["start"] >= iso_z(now)
    assert client.post("/api/v1/corrections", json={**month_ago, "reason": "x"},
                       headers=manager).status_code == 403
    assert client.post("/api/v1/corrections", json=month_ago, headers=admin).status_code == 422
    fixed = client.post("/api/v1/corrections", headers=admin,
                        json={**month_ago, "reason": "alice covered; the rota was not updated"})
    assert fixed.status_code == 201, fixed.get_json()
    entry = _audit(app, "override.correct")
    assert entry.actor == "user:admin" and "not updated" in entry.detail["reason"]
    oid = fixed.get_json()["id"]
    assert client.delete(f"/api/v1/overrides/{oid}", headers=manager).status_code == 409
    assert client.delete(f"/api/v1/overrides/{oid}?correction=x",
                         headers=manager).status_code == 403
    assert client.delete(f"/api/v1/overrides/{oid}?correction=entered+twice",
                         headers=admin).status_code == 204
    assert _audit(app, "override.correct").detail["reason"] == "entered twice"


def test_ui_refuses_a_past_override_and_an_admin_gives_a_reason(app, demo, as_role, post_form):
    manager, admin = as_role("rota_manager"), as_role("admin")
    data = {"kind": "add", "person": "carol", "replaces": "",
            "start": "2026-01-10T09:00", "end": "2026-01-10T17:00"}
    page = "/rota/primary/overrides/new"
    refused = post_form(manager, page, data=data)
    assert refused.status_code == 200 and "in the past" in refused.get_data(as_text=True)
    not_admin = post_form(manager, page, data={**data, "correction": "because"})
    assert "only an admin can correct the record" in not_admin.get_data(as_text=True)
    fixed = post_form(admin, page, data={**data, "correction": "carol covered that day"})
    assert fixed.status_code == 302, fixed.get_data(as_text=True)
    assert _audit(app, "override.correct").detail["reason"] == "carol covered that day"


def _overrides(app, rota: str) -> int:
    with appdb.session_factory(app)() as session:
        return len(session.scalars(select(m.Override).where(m.Override.rota_id == rota)).all())


def test_a_correction_of_the_record_cannot_reach_past_now(app, demo, accounts, as_role, post_form,
                                                          client):
    """An admin's correction covers the past only: what is still to come goes through the rota's
    rules (a two-person rota's approval too), so a correction ending after now is refused."""
    admin = _headers(app, accounts["admin"])
    now = utcnow()
    before = _overrides(app, "backup")
    refused = client.post("/api/v1/corrections", headers=admin, json={
        "rota": "backup", "start": iso_z(now - timedelta(days=2)), "end": iso_z(now + timedelta(days=2)),
        "add": "alice", "reason": "a way round the rules"})
    assert refused.status_code == 409 and "correcting the record covers the past only" in \
        refused.get_json()["error"]
    ahead = post_form(as_role("admin"), "/rota/backup/overrides/new", data={
        "kind": "add", "person": "carol", "replaces": "", "correction": "a way round the rules",
        "start": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(days=4)).strftime("%Y-%m-%dT%H:%M")})
    assert ahead.status_code == 200 and "correcting the record covers the past only" in \
        ahead.get_data(as_text=True)
    assert _overrides(app, "backup") == before


def test_a_swap_that_began_35_hours_ago_cannot_be_taken(app, demo, accounts, as_role, post_form):
    db = _db(app)
    now = utcnow().replace(tzinfo=UTC)
    swap = m.Swap(rota_id="primary", offered_by="alice", start=now - timedelta(hours=35),
                  end=now + timedelta(hours=1), status="open")
    db.add(swap)
    db.commit()
    swap_id = swap.id
    db.close()
    manager = as_role("rota_manager")
    taken = post_form(manager, "/rota/swaps", f"/rota/swaps/{swap_id}/take",
                      data={"take-person": "grace", "confirmed": "yes"})
    assert taken.status_code == 400 and "in the past" in taken.get_data(as_text=True)
    db = _db(app)
    assert db.get(m.Swap, swap_id).status == "open"
    assert not db.scalars(select(m.Override).where(m.Override.note == f"swap {swap_id}")).all()
    db.close()
    offer = post_form(manager, "/rota/swaps", "/rota/swaps/offer", data={
        "offer-rota": "primary", "offer-person": "alice", "offer-note": "",
        "offer-start": (now - timedelta(hours=35)).strftime("%Y-%m-%dT%H:%M"),
        "offer-end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")})
    assert offer.status_code == 400 and "in the past" in offer.get_data(as_text=True)


def test_import_refuses_a_new_past_override_of_an_existing_rota(app, runner, tmp_path):
    import yaml

    doc = {"people": [{"id": "a", "name": "A", "phone": "+12025550101"}],
           "rotas": [{"id": "r", "timezone": "UTC", "layers": [
               {"members": ["a"], "anchor": "2026-01-05T09:00", "every": "1w"}]}]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    doc["rotas"][0]["overrides"] = [{"start": "2026-01-06T00:00:00Z", "end": "2026-01-07T00:00:00Z",
                                     "remove": "a"}]
    path.write_text(yaml.safe_dump(doc))
    refused = runner.invoke(args=["import", str(path)])
    assert refused.exit_code == 1
    assert "rotas[r].overrides[0]: starts 2026-01-06T00:00:00Z, which is in the past" in refused.output
