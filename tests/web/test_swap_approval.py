"""Swaps with approval, offers to one person, whole shifts, and the SMS each step sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.oncall.swaps import own_shifts
from voiceline.web.auth import create_user

PASSWORD = "correct horse battery"
# Weekly from 2026-01-05 09:00 New York: alice, dmitri, grace; week 210 (from 2030-01-14) is alice's.
OFFER = {"offer-rota": "primary", "offer-person": "alice", "offer-start": "2030-01-15T09:00",
         "offer-end": "2030-01-16T09:00", "offer-note": ""}


def _rows(app, model, **where):
    with appdb.session_factory(app)() as db:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        rows = db.scalars(query).all()
        db.expunge_all()
        return rows


def _sms(app):
    return sorted((o.key, o.recipient, o.body) for o in _rows(app, m.OutboxMessage, purpose="swap"))


@pytest.fixture
def people(app, demo, accounts, login, csrf):
    with appdb.session_factory(app)() as db:
        create_user(db, "grace", PASSWORD, "responder", "grace")
        create_user(db, "dmitri", PASSWORD, "responder", "dmitri")
        db.get(m.Rota, "primary").swap_approval = True
        db.commit()
    clients = {}
    for name, username in (("alice", "responder"), ("grace", "grace"), ("dmitri", "dmitri"),
                           ("manager", "rota-manager")):
        client = app.test_client()
        login(client, username)
        clients[name] = (client, csrf(client, "/rota/swaps"))
    return clients


def post(people, who, path, **data):
    client, token = people[who]
    return client.post(path, data={**data, "csrf_token": token})


def test_an_offer_to_one_person_waits_for_approval_then_becomes_an_override(app, people):
    response = post(people, "alice", "/rota/swaps/offer", **OFFER, **{"offer-offered_to": "grace"})
    assert response.status_code == 302, response.get_data(as_text=True)
    [swap] = _rows(app, m.Swap)
    assert (swap.offered_to, swap.status) == ("grace", "open")
    # dmitri may not take an offer made to grace
    refused = post(people, "dmitri", f"/rota/swaps/{swap.id}/take", **{"take-person": "dmitri",
                                                                        "confirmed": "yes"})
    assert refused.status_code == 400
    assert "offered to grace only" in refused.get_data(as_text=True)
    taken = post(people, "grace", f"/rota/swaps/{swap.id}/take", **{"take-person": "grace",
                                                                     "confirmed": "yes"})
    assert taken.status_code == 302
    [swap] = _rows(app, m.Swap)
    assert (swap.status, swap.taken_by, swap.override_id) == ("pending", "grace", None)
    assert _rows(app, m.Override, note=f"swap {swap.id}") == []
    # the queue is on the rota page and the swaps page, with the manager's buttons
    page = people["manager"][0].get("/rota/primary?start=2030-01-14").get_data(as_text=True)
    assert "waiting for a rota manager's approval" in page
    assert f"/rota/swaps/{swap.id}/approve" in page
    # a responder cannot approve
    assert post(people, "grace", f"/rota/swaps/{swap.id}/approve").status_code == 403

    approved = post(people, "manager", f"/rota/swaps/{swap.id}/approve")
    assert approved.status_code == 302
    [swap] = _rows(app, m.Swap)
    assert (swap.status, swap.decided_by) == ("taken", "user:rota-manager")
    [override] = _rows(app, m.Override, id=swap.override_id)
    assert (override.kind, override.person_id, override.replaces_id, override.start) == (
        "replace", "grace", "alice", datetime(2030, 1, 15, 9, tzinfo=UTC))

    sms = _sms(app)
    assert [(key, to) for key, to, _ in sms] == [
        (f"swap:{swap.id}:approved:alice", "+12025550101"),
        (f"swap:{swap.id}:approved:grace", "+12025550102"),
        (f"swap:{swap.id}:offered:alice", "+12025550101"),
        (f"swap:{swap.id}:offered:grace", "+12025550102"),
        (f"swap:{swap.id}:taken:alice", "+12025550101"),
        (f"swap:{swap.id}:taken:grace", "+12025550102")]
    texts = {key: body for key, _, body in sms}
    # alice has no zone of her own: the rota's (New York)
    assert texts[f"swap:{swap.id}:offered:grace"] == (
        f"voiceline swap {swap.id} (primary, Tue 15 Jan 04:00 EST to Wed 16 Jan 04:00 EST): "
        "Alice Smith offers you this duty. Take it on the Swaps page.")
    assert texts[f"swap:{swap.id}:taken:alice"].endswith("Grace Lee takes it; a rota manager must approve.")
    assert texts[f"swap:{swap.id}:approved:grace"].endswith("approved: it is in the rota.")
    # approving twice changes nothing and sends nothing more
    again = post(people, "manager", f"/rota/swaps/{swap.id}/approve")
    assert again.status_code == 302 and len(_sms(app)) == 6


def test_a_refused_swap_leaves_the_rota_and_says_so(app, people):
    post(people, "alice", "/rota/swaps/offer", **OFFER)  # an open shift: anyone may take it
    [swap] = _rows(app, m.Swap)
    assert swap.offered_to is None
    post(people, "dmitri", f"/rota/swaps/{swap.id}/take", **{"take-person": "dmitri", "confirmed": "yes"})
    assert post(people, "manager", f"/rota/swaps/{swap.id}/refuse").status_code == 302
    [swap] = _rows(app, m.Swap)
    assert (swap.status, swap.override_id) == ("refused", None)
    assert _rows(app, m.Override, note=f"swap {swap.id}") == []
    refused = {key: body for key, _, body in _sms(app) if ":refused:" in key}
    assert sorted(refused) == [f"swap:{swap.id}:refused:alice", f"swap:{swap.id}:refused:dmitri"]
    assert refused[f"swap:{swap.id}:refused:dmitri"].endswith("refused: the rota stays as it was.")


def test_a_rota_without_approval_writes_the_override_at_once(app, people):
    with appdb.session_factory(app)() as db:
        db.get(m.Rota, "primary").swap_approval = False
        db.commit()
    post(people, "alice", "/rota/swaps/offer", **OFFER)
    [swap] = _rows(app, m.Swap)
    post(people, "grace", f"/rota/swaps/{swap.id}/take", **{"take-person": "grace", "confirmed": "yes"})
    [swap] = _rows(app, m.Swap)
    assert swap.status == "taken" and swap.override_id is not None


def test_a_whole_shift_is_picked_from_the_offerers_own_list(app, people):
    with appdb.session_factory(app)() as db:
        [first, *_] = [s for s in own_shifts(db, "alice", utcnow()) if s.rota == "primary"]
    page = people["alice"][0].get("/rota/swaps").get_data(as_text=True)
    value = f"primary|{first.start.isoformat()}|{first.end.isoformat()}"
    assert f'value="{value}"' in page
    response = post(people, "alice", "/rota/swaps/offer", **{
        "offer-rota": "backup", "offer-person": "alice", "offer-shift": value})
    assert response.status_code == 302, response.get_data(as_text=True)
    [swap] = _rows(app, m.Swap)
    assert (swap.rota_id, swap.start, swap.end) == ("primary", first.start, first.end)


def test_the_rota_form_sets_swap_approval_and_the_rota_file_keeps_it(app, people, runner):
    client, token = people["manager"]
    response = client.post("/rota/backup/edit", data={
        "id": "backup", "name": "Backup", "timezone": "Europe/Moscow", "swap_approval": "y",
        "csrf_token": token})
    assert response.status_code == 302
    assert _rows(app, m.Rota, id="backup")[0].swap_approval is True
    exported = runner.invoke(args=["export"]).output
    assert "swap_approval: true" in exported
