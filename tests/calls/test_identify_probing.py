"""`identify` (an unknown or withheld number keys the number it is registered with) must not tell
which numbers are registered callers before the PIN is right, and probing it is limited like PIN
guessing: the claimed caller's bucket and the calling number's count each try."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.calls.store import call_by_sid
from voiceline.models.calls import CallEvent, PinLockout

from .conftest import AT, params

NOBODY = "2025550199"  # nobody is registered with +1 202 555 0199
WATCH_KEYED = "2025550150"  # the watch officer's number, keyed in the hotline's region
EMBASSY_KEYED = "74950000003"  # embassy-duty, keyed with its country code


def _probe(twilio, sid: str, from_number: str, keyed: str, pins=("1111", "2222", "3333")) -> list[str]:
    """A whole call: language menu, the keyed number, then PINs until the call ends; every answer."""
    answers = [twilio.post("/voice/incoming", params(sid, from_number)).text]
    answers.append(twilio.post(twilio.follow("gather"), params(sid, from_number, Digits="1")).text)
    answers.append(twilio.post(twilio.follow("gather"), params(sid, from_number, Digits=keyed)).text)
    for pin in pins:
        answer = twilio.post(twilio.follow("gather"), params(sid, from_number, Digits=pin))
        answers.append(answer.text)
        if answer.root.find("Gather") is None:
            break
    return answers


def _set_up(db, case: str) -> str:
    """The claim each case keys, with the directory and buckets it needs."""
    if case == "no_pin":
        db.get(m.Caller, "embassy-duty").pin_hash = None
        db.commit()
        return EMBASSY_KEYED
    if case == "locked":
        db.add(PinLockout(number="caller:watch-officer", failures=10,
                          locked_until=AT + timedelta(minutes=30), updated_at=AT))
        db.commit()
    if case == "locks_now":  # the probe's first wrong PIN is the caller's 10th
        db.add(PinLockout(number="caller:watch-officer", failures=9, updated_at=AT))
        db.commit()
    return WATCH_KEYED


@pytest.mark.parametrize("case", ["registered", "no_pin", "locked", "locks_now"])
@pytest.mark.parametrize("withheld", [True, False])
def test_the_caller_hears_the_same_whether_the_keyed_number_is_registered(twilio, db, case, withheld):
    keyed = _set_up(db, case)
    caller_from = "anonymous" if withheld else "+12025550171"
    baseline_from = "anonymous" if withheld else "+12025550172"  # its own number bucket
    probed = _probe(twilio, "CAprobe", caller_from, keyed)
    baseline = _probe(twilio, "CAbase", baseline_from, NOBODY)
    assert probed == baseline
    assert len(probed) == 6  # menu, number, then three PIN tries: the call ends after the third
    for sid in ("CAprobe", "CAbase"):
        call = call_by_sid(db, sid)
        assert (call.outcome, call.verified, call.pin_attempts) == ("rejected", False, 3)
    # the reviewers' timeline tells what the caller was not told
    call = call_by_sid(db, "CAprobe")
    identified, = [e for e in call.events if e.kind == "identified"]
    assert identified.detail["registered"] is True
    assert identified.detail["pin_set"] is (case != "no_pin")
    kinds = [e.kind for e in call.events if e.kind.startswith("pin_")]
    if case == "locked":
        assert kinds.count("pin_refused") == 3
    if case == "locks_now":
        assert kinds[:2] == ["pin_failed", "pin_locked"] and kinds.count("pin_refused") == 2
        alerts = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "caller_locked"))
        assert list(alerts)  # the managers hear of it even though the prober does not


def test_probing_from_withheld_numbers_is_limited_like_pin_guessing(twilio, db):
    """Keying a registered number with guessed PINs counts against that caller, whatever number
    calls: after ten wrong PINs even the right one is refused (unchecked) for the lock's time,
    and the prober still hears what an unregistered number hears."""
    for n in range(4):
        _probe(twilio, f"CAwh{n}", "anonymous", WATCH_KEYED)
    db.expire_all()
    assert db.get(PinLockout, "caller:watch-officer").locked_until == AT + timedelta(minutes=60)
    failed = db.scalars(select(CallEvent).where(CallEvent.kind == "pin_failed")).all()
    assert len(failed) == 10  # the 11th and 12th tries came during the lock: not evaluated
    right = _probe(twilio, "CAright", "anonymous", WATCH_KEYED, pins=("2468", "2468", "2468"))
    wrong = _probe(twilio, "CAwrong", "anonymous", NOBODY, pins=("2468", "2468", "2468"))
    assert right == wrong
    assert not call_by_sid(db, "CAright").verified


def test_a_probing_number_is_locked_out_like_a_pin_guesser(twilio, db):
    """From a real (unknown) number, three wrong tries, at any keyed numbers, lock the number."""
    _probe(twilio, "CAn1", "+12025550173", NOBODY, pins=("1111",))
    _probe(twilio, "CAn2", "+12025550173", WATCH_KEYED, pins=("1111", "2222"))
    db.expire_all()
    assert db.get(PinLockout, "+12025550173").locked_until == AT + timedelta(minutes=15)
    answer = twilio.post("/voice/incoming", params("CAn3", "+12025550173"))
    assert answer.root.find("Gather") is None  # refused at once: "temporarily blocked"
    assert call_by_sid(db, "CAn3").outcome == "rejected"


def test_the_right_pin_after_keying_a_registered_number_still_gets_in(twilio, db):
    answers = _probe(twilio, "CAok", "anonymous", WATCH_KEYED, pins=("2468",))
    call = call_by_sid(db, "CAok")
    assert call.verified and call.caller_id == "watch-officer" and call.state == "priority"
    assert "priority" in answers[-1].lower() or "urgent" in answers[-1].lower()
