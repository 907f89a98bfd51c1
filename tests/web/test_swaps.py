"""Swaps: a responder offers, another takes (a replace override), managers act for them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.web.auth import create_user

PASSWORD = "correct horse battery"
# Weekly from 2026-01-05 09:00 New York: alice, dmitri, grace. Week 210 (from 2030-01-14)
# is alice's, week 211 (from 2030-01-21) dmitri's.
OFFER = {"offer-rota": "primary", "offer-person": "alice", "offer-start": "2030-01-15T09:00",
         "offer-end": "2030-01-16T09:00", "offer-note": ""}


def _rows(app, model):
    with app.app_context():
        db = appdb.session_factory(app)()
        rows = db.scalars(select(model)).all()
        db.close()
        return rows


def test_offer_and_take_becomes_a_replace_override(app, demo, accounts, login, csrf):
    with app.app_context():
        db = appdb.session_factory(app)()
        create_user(db, "grace", PASSWORD, "responder", "grace")
        db.commit()
        db.close()
    alice = app.test_client()
    login(alice, "responder")  # linked to alice
    token = csrf(alice, "/rota/swaps")
    response = alice.post("/rota/swaps/offer", data={**OFFER, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    [swap] = _rows(app, m.Swap)
    assert (swap.offered_by, swap.status) == ("alice", "open")
    # No zone on the account or its person: the page says UTC, so the form is read in UTC.
    assert swap.start == datetime(2030, 1, 15, 9, tzinfo=UTC)

    # alice cannot take her own offer.
    own = alice.post(f"/rota/swaps/{swap.id}/take", data={"take-person": "alice", "csrf_token": token})
    assert own.status_code == 400
    grace = app.test_client()
    login(grace, "grace")
    gtoken = csrf(grace, "/rota/swaps")
    # grace cannot take it on behalf of someone else.
    other = grace.post(f"/rota/swaps/{swap.id}/take", data={"take-person": "carol", "csrf_token": gtoken})
    assert other.status_code == 400
    taken = grace.post(f"/rota/swaps/{swap.id}/take", data={"take-person": "grace", "csrf_token": gtoken,
                                                                   "confirmed": "yes"})
    assert taken.status_code == 302
    [swap] = _rows(app, m.Swap)
    assert (swap.status, swap.taken_by) == ("taken", "grace")
    override = next(o for o in _rows(app, m.Override) if o.id == swap.override_id)
    assert (override.kind, override.person_id, override.replaces_id) == ("replace", "grace", "alice")
    html = grace.get("/rota/now?at=2030-01-15T20:00:00Z").get_data(as_text=True)
    assert "Grace Lee" in html.split("Primary liaison")[1].split("</section>")[0]


def test_offer_outside_ones_duty_is_refused(demo, as_role, csrf, app):
    client = as_role("responder")
    token = csrf(client, "/rota/swaps")
    response = client.post("/rota/swaps/offer", data={**OFFER, "offer-start": "2030-01-22T10:00",
                                                     "offer-end": "2030-01-23T10:00", "csrf_token": token})
    assert response.status_code == 400
    assert "alice is not on duty in primary" in response.get_data(as_text=True)
    backwards = client.post("/rota/swaps/offer", data={**OFFER, "offer-start": "2030-01-16T10:00",
                                                      "offer-end": "2030-01-15T10:00", "csrf_token": token})
    assert "must be after the start" in backwards.get_data(as_text=True)
    assert _rows(app, m.Swap) == []


def test_responder_cannot_offer_for_someone_else_but_a_manager_can(demo, as_role, csrf, app):
    client = as_role("responder")
    token = csrf(client, "/rota/swaps")
    response = client.post("/rota/swaps/offer", data={**OFFER, "offer-person": "grace",
                                                     "csrf_token": token})
    assert response.status_code == 400 and _rows(app, m.Swap) == []
    manager = as_role("rota_manager")
    token = csrf(manager, "/rota/swaps")
    ok = manager.post("/rota/swaps/offer", data={**OFFER, "csrf_token": token})
    assert ok.status_code == 302
    [swap] = _rows(app, m.Swap)
    taken = manager.post(f"/rota/swaps/{swap.id}/take", data={"take-person": "carol", "csrf_token": token,
                                                                     "confirmed": "yes"})
    assert taken.status_code == 302
    assert _rows(app, m.Swap)[0].taken_by == "carol"


def test_cancel_by_offerer(demo, as_role, csrf, app):
    client = as_role("responder")
    token = csrf(client, "/rota/swaps")
    client.post("/rota/swaps/offer", data={**OFFER, "csrf_token": token})
    [swap] = _rows(app, m.Swap)
    client.post(f"/rota/swaps/{swap.id}/cancel", data={"csrf_token": token})
    assert _rows(app, m.Swap)[0].status == "cancelled"
    assert client.post("/rota/swaps/999/cancel", data={"csrf_token": token}).status_code == 404
