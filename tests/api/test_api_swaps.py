"""The API's swaps: offer (a range or a whole shift, to one person or anyone), take, approve,
refuse, cancel, with the Swaps page's rules."""

from __future__ import annotations

from sqlalchemy import select

from voiceline import models as m
from voiceline.models.web import User


def _link(session, username, person):
    session.scalar(select(User).where(User.username == username)).person_id = person
    session.commit()


def test_offer_a_whole_shift_take_and_approve(client, demo, token, session, conforms):
    session.get(m.Rota, "primary").swap_approval = True
    session.commit()
    alice, grace = token("responder", "api-alice"), token("responder", "api-grace")
    _link(session, "api-alice", "alice")
    _link(session, "api-grace", "grace")
    manager = token("rota_manager")
    # week 210 from 2030-01-14 09:00 New York is alice's: the whole week at one instant in it
    response = client.post("/api/v1/swaps", headers=alice, json={
        "rota": "primary", "shift": "2030-01-16T12:00:00Z", "offered_to": "grace"})
    assert response.status_code == 201, response.get_json()
    conforms(response, "/swaps", "post")
    swap = response.get_json()
    assert (swap["start"], swap["end"], swap["offered_to"], swap["status"]) == (
        "2030-01-14T14:00:00Z", "2030-01-21T14:00:00Z", "grace", "open")
    # a responder acts only for their own person
    assert client.post(f"/api/v1/swaps/{swap['id']}/take", headers=grace,
                       json={"person": "dmitri"}).status_code == 403
    taken = client.post(f"/api/v1/swaps/{swap['id']}/take", headers=grace, json={})
    assert taken.status_code == 200, taken.get_json()
    assert taken.get_json()["status"] == "pending"
    assert client.post(f"/api/v1/swaps/{swap['id']}/approve", headers=grace).status_code == 403
    queue = client.get("/api/v1/swaps?status=pending", headers=manager).get_json()
    assert [x["id"] for x in queue] == [swap["id"]]
    approved = client.post(f"/api/v1/swaps/{swap['id']}/approve", headers=manager)
    assert approved.status_code == 200
    assert approved.get_json()["status"] == "taken" and approved.get_json()["override"]
    again = client.post(f"/api/v1/swaps/{swap['id']}/refuse", headers=manager)
    assert again.status_code == 409
    oncall = client.get("/api/v1/oncall?rota=primary&at=2030-01-16T12:00:00Z", headers=alice).get_json()
    assert [p["id"] for p in oncall["on_duty"]] == ["grace"]


def test_offer_problems_are_422_and_a_stranger_cannot_take_an_offer_to_someone(client, demo, token, session):
    manager = token("rota_manager")
    bad = client.post("/api/v1/swaps", headers=manager, json={
        "rota": "primary", "offered_by": "alice", "start": "2030-01-22T00:00:00Z",
        "end": "2030-01-23T00:00:00Z"})
    assert bad.status_code == 422
    assert bad.get_json()["problems"] == ["start: alice is not on duty in primary in this range"]
    made = client.post("/api/v1/swaps", headers=manager, json={
        "rota": "primary", "offered_by": "alice", "start": "2030-01-15T00:00:00Z",
        "end": "2030-01-16T00:00:00Z", "offered_to": "grace"}).get_json()
    wrong = client.post(f"/api/v1/swaps/{made['id']}/take", headers=manager, json={"person": "dmitri"})
    assert wrong.status_code == 422
    assert wrong.get_json()["problems"] == [f"person: swap {made['id']} is offered to grace only"]
    cancelled = client.post(f"/api/v1/swaps/{made['id']}/cancel", headers=manager)
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.post(f"/api/v1/swaps/{made['id']}/take", headers=manager,
                       json={"person": "grace"}).status_code == 409
