"""The two-person rule through the API (SQLite and PostgreSQL): writes to a rota with the rule
answer 202 with a proposal; a second rota manager or an admin approves, rejects; the proposer
withdraws."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.instants import iso_z, utcnow


@pytest.fixture
def app_config(app_config, any_db_url):
    return {**app_config, "DATABASE_URL": any_db_url}


def test_api_proposals_approve_reject_withdraw(client, demo, token, session, conforms):
    session.get(m.Rota, "primary").two_person = True
    session.commit()
    first, second = token("rota_manager", "api-first"), token("rota_manager", "api-second")
    admin, responder = token("admin"), token("responder")
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    at = iso_z(start + timedelta(hours=1))
    was = client.get(f"/api/v1/oncall?rota=primary&at={at}", headers=first).get_json()
    [person] = [p["id"] for p in was["on_duty"]]
    body = {"rota": "primary", "start": iso_z(start), "end": iso_z(start + timedelta(hours=6)),
            "add": "carol" if person != "carol" else "boris"}
    proposed = client.post("/api/v1/overrides", headers=first, json=body)
    assert proposed.status_code == 202, proposed.get_json()
    proposal = conforms(proposed, "/overrides", "post")
    assert (proposal["kind"], proposal["status"], proposal["proposed_by"]) == (
        "override.create", "open", "user:api-first")
    assert iso_z(start) in [c["at"] for c in proposal["preview"]["changes"]]
    assert not [o for o in session.get(m.Rota, "primary").overrides if o.person_id == body["add"]]
    # the queue, with what approving would change
    assert client.get("/api/v1/rotas/primary/proposals", headers=responder).status_code == 403
    listed = client.get("/api/v1/rotas/primary/proposals", headers=second)
    [shown] = conforms(listed, "/rotas/{rid}/proposals")
    assert shown["preview"]["refused"] is None
    changes = {c["at"]: c for c in shown["preview"]["changes"]}
    assert sorted(changes[iso_z(start)]["after"]) == sorted([person, body["add"]])
    assert changes[iso_z(start)]["differs"] and changes[iso_z(start)]["was"] == [person]
    assert changes[iso_z(start + timedelta(hours=6))]["after"] == [person]
    url = f"/api/v1/rotas/primary/proposals/{proposal['id']}"
    own = client.post(f"{url}/approve", headers=first)
    assert own.status_code == 403 and "you proposed" in own.get_json()["error"]
    approved = client.post(f"{url}/approve", headers=second)
    assert approved.status_code == 200, approved.get_json()
    assert conforms(approved, "/rotas/{rid}/proposals/{proposal_id}/approve", "post")[
        "status"] == "approved"
    now = client.get(f"/api/v1/oncall?rota=primary&at={at}", headers=first).get_json()
    assert sorted(p["id"] for p in now["on_duty"]) == sorted([person, body["add"]])
    assert client.post(f"{url}/reject", headers=admin).status_code == 409
    # a PUT turning the rule off is itself a proposal; an admin rejects it with a reason
    put = client.put("/api/v1/rotas/primary", headers=first, json={"two_person": False})
    assert put.status_code == 202 and put.get_json()["kind"] == "rota.put"
    bad = client.put("/api/v1/rotas/primary", headers=first, json={"timezone": "Mars/Base"})
    assert bad.status_code == 422  # checked before it is proposed
    rejected = client.post(f"/api/v1/rotas/primary/proposals/{put.get_json()['id']}/reject",
                           headers=admin, json={"reason": "keep it"})
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["reason"] == "keep it"
    session.expire_all()
    assert session.get(m.Rota, "primary").two_person is True
    # an approved PUT is replayed through the rota file's rules: here a new layer
    layers = client.get("/api/v1/rotas/primary", headers=first).get_json()["layers"]
    extra = {"name": "extra", "members": ["boris"], "anchor": "2026-01-05T09:00", "every": "1d"}
    put = client.put("/api/v1/rotas/primary", headers=first, json={"layers": [*layers, extra]})
    assert put.status_code == 202
    assert client.post(f"/api/v1/rotas/primary/proposals/{put.get_json()['id']}/approve",
                       headers=admin).status_code == 200
    after = client.get("/api/v1/rotas/primary", headers=first).get_json()["layers"]
    assert [la["name"] for la in after] == [la["name"] for la in layers] + ["extra"]
    # deleting the override is a proposal too; its proposer withdraws it, nobody else can
    oid = session.scalar(select(m.Override.id).where(m.Override.person_id == body["add"],
                                                     m.Override.rota_id == "primary"))
    gone = client.delete(f"/api/v1/overrides/{oid}", headers=first)
    assert gone.status_code == 202
    wid = gone.get_json()["id"]
    assert client.post(f"/api/v1/rotas/primary/proposals/{wid}/withdraw",
                       headers=second).status_code == 403
    assert client.post(f"/api/v1/rotas/primary/proposals/{wid}/withdraw",
                       headers=first).get_json()["status"] == "withdrawn"
    assert session.get(m.Override, oid) is not None
    decided = client.get("/api/v1/rotas/primary/proposals?status=approved,rejected,withdrawn",
                         headers=admin).get_json()
    assert [p["status"] for p in decided] == ["approved", "rejected", "approved", "withdrawn"]
    assert client.get("/api/v1/rotas/primary/proposals?status=maybe",
                      headers=admin).status_code == 400
    assert client.post("/api/v1/rotas/primary/proposals/999/approve",
                       headers=admin).status_code == 404
    actions = [a.action for a in session.scalars(select(m.AuditEntry).where(
        m.AuditEntry.action.like("proposal.%")).order_by(m.AuditEntry.id))]
    assert actions == ["proposal.create", "proposal.approve", "proposal.create",
                       "proposal.reject", "proposal.create", "proposal.approve",
                       "proposal.create", "proposal.withdraw"]
