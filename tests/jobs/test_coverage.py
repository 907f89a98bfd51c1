"""Coverage alerts: gaps in the next 14 days told once to the managers, rescanned on change and daily."""

from __future__ import annotations

import json

from sqlalchemy import select

from voiceline import models as m
from voiceline.models.jobs import CoverageGap


def remove(db, h, person, start, end):
    def write(session):
        session.add(m.Override(rota_id="daily", kind="remove", person_id=person,
                               start=h.utc(start), end=h.utc(end)))
        session.commit()
    db(write)


def gaps(db):
    return db(lambda s: sorted(g.key for g in s.scalars(select(CoverageGap))))


def test_a_gap_is_alerted_once_to_the_managers(tick, db, h, rota, runner):
    remove(db, h, "ann", "2026-03-10T13:00", "2026-03-11T13:00")  # ann's whole Tuesday shift
    tick("2026-03-05T14:00")
    [alert] = h.outbox(rota, purpose="coverage")
    assert alert.recipient == "+12025550119"  # mia, the manager
    # mia reads Chicago time; one message lists the rota gap and the policy step it empties
    assert alert.body == (
        "voiceline coverage: 2 new gap(s) within 14 days:\n"
        "- rota Daily desk: nobody from Tue 10 Mar 08:00 CDT to Wed 11 Mar 08:00 CDT\n"
        "- policy main step 1: nobody from Tue 10 Mar 08:00 CDT to Wed 11 Mar 08:00 CDT\n"
        "Run `voiceline gaps` for the full list.")
    assert gaps(db) == ["gap:policy:main:step:1:2026-03-10T13:00:00Z:2026-03-11T13:00:00Z",
                        "gap:rota:daily:2026-03-10T13:00:00Z:2026-03-11T13:00:00Z"]
    shown = json.loads(runner.invoke(args=["gaps", "--json", "--from", "2026-03-05T14:00:00Z"]).output)
    assert {"rota": "daily", "start": "2026-03-10T13:00:00Z", "end": "2026-03-11T13:00:00Z"} in shown

    tick("2026-03-05T14:01")  # nothing changed
    tick("2026-03-06T14:05")  # the daily rescan finds the same gap
    tick("2026-03-10T13:30")  # inside the gap
    assert len(h.outbox(rota, purpose="coverage")) == 1


def test_a_rota_change_is_scanned_at_the_next_tick(tick, db, h, rota):
    remove(db, h, "ann", "2026-03-10T13:00", "2026-03-11T13:00")
    tick("2026-03-05T14:00")
    remove(db, h, "ben", "2026-03-12T01:00", "2026-03-12T02:00")  # an hour of ben's Wednesday
    tick("2026-03-05T14:01")
    first, second = h.outbox(rota, purpose="coverage")
    assert "2 new gap(s)" in second.body
    assert "Thu 12 Mar 01:00 GMT" not in second.body  # mia reads Chicago time
    assert "- rota Daily desk: nobody from Wed 11 Mar 20:00 CDT to Wed 11 Mar 21:00 CDT" in second.body
    assert "Tue 10 Mar" not in second.body  # the first gap is not told again


def test_a_gap_beyond_the_horizon_waits_until_it_comes_within_14_days(tick, db, h, rota):
    remove(db, h, "ann", "2026-03-24T13:00", "2026-03-25T13:00")
    tick("2026-03-05T14:00")
    assert h.outbox(rota, purpose="coverage") == []
    tick("2026-03-06T14:00")  # the daily rescan: still 18 days out
    assert h.outbox(rota, purpose="coverage") == []
    tick("2026-03-10T14:00")  # now 14 days out
    [alert] = h.outbox(rota, purpose="coverage")
    assert "Tue 24 Mar" in alert.body


def test_an_open_ended_gap_keeps_its_key_day_after_day(tick, db, h, rota):
    def empty_rota(session):
        session.add(m.Rota(id="spare", name="Spare", timezone="Europe/London"))
        session.commit()
    db(empty_rota)
    tick("2026-03-05T14:00")
    tick("2026-03-06T14:00")
    tick("2026-03-07T14:01")
    [alert] = h.outbox(rota, purpose="coverage")
    assert "- rota Spare: nobody from now to past" in alert.body
    assert gaps(db) == ["gap:rota:spare:open:open"]


def test_without_managers_gaps_wait_for_someone_to_tell(tick, db, h, rota):
    def set_roles(roles):
        def write(session):
            session.get(m.Person, "mia").roles = roles
            session.commit()
        db(write)
    set_roles([])
    remove(db, h, "ann", "2026-03-10T13:00", "2026-03-11T13:00")
    tick("2026-03-05T14:00")
    assert h.outbox(rota, purpose="coverage") == []
    assert gaps(db) == []
    set_roles(["manager"])
    tick("2026-03-06T14:00")  # the daily rescan
    [alert] = h.outbox(rota, purpose="coverage")
    assert alert.recipient == "+12025550119"


def test_one_unchanged_long_gap_is_alerted_once_however_the_window_moves(tick, db, h, rota):
    # Nobody on the desk from 2027-01-04 to 02-10: each scan's window cuts it somewhere else
    # (the start on Jan 11, the end until Jan 14), and each cut used to make a new key.
    for person in ("ann", "ben"):
        remove(db, h, person, "2027-01-04T00:00", "2027-02-10T00:00")
    for day in ("2027-01-01T12:00", "2027-01-11T12:00", "2027-01-14T12:00", "2027-01-20T12:00"):
        tick(day)
    alerts = [a for a in h.outbox(rota, purpose="coverage") if "Daily desk" in a.body]
    assert len(alerts) == 1
    assert "gap:rota:daily:2027-01-04T00:00:00Z:2027-02-10T00:00:00Z" in gaps(db)


def test_a_step_whose_person_on_duty_cannot_be_rung_is_a_gap_with_the_reason(tick, db, h, rota,
                                                                             runner):
    def no_phone(session):
        session.get(m.Person, "ann").phone = ""
        session.commit()
    db(no_phone)
    shown = json.loads(runner.invoke(args=["gaps", "--json", "--days", "2",
                                           "--from", "2026-03-05T14:00:00Z"]).output)
    # ann's day (Fri 09:00 New York to Sat 09:00) leaves step 1 with nobody who can be rung
    assert {"policy": "main", "step": 1, "start": "2026-03-06T14:00:00Z",
            "end": "2026-03-07T14:00:00Z",
            "unreachable": [{"id": "ann", "reason": "no phone"}]} in shown
    text = runner.invoke(args=["gaps", "--days", "2", "--from", "2026-03-05T14:00:00Z"]).output
    assert "policy main step 1: nobody reachable (ann: no phone)" in text
    tick("2026-03-05T14:00")
    [alert] = h.outbox(rota, purpose="coverage")
    assert ("- policy main step 1: nobody reachable (ann: no phone) from Fri 06 Mar 08:00 CST"
            in alert.body)


def test_an_inactive_person_on_duty_leaves_the_step_uncovered(db, rota, runner):
    def inactive(session):
        session.get(m.Person, "ben").active = False
        session.commit()
    db(inactive)
    shown = json.loads(runner.invoke(args=["gaps", "--json", "--days", "1",
                                           "--from", "2026-03-03T15:00:00Z"]).output)
    assert [g["unreachable"] for g in shown if g.get("step") == 1] == [
        [{"id": "ben", "reason": "inactive"}]]
