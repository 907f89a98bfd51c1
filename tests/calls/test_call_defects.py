"""Defects found on the call path (issue 9 §3, issue 10.4): each test failed before its fix."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

from sqlalchemy import select

from voiceline import models as m
from voiceline.calls.store import call_by_sid
from voiceline.calls.twilio_side import leg_params

from .conftest import AT, HOTLINE, OPS, params


def _stamp(seconds: int) -> str:
    return format_datetime(AT + timedelta(seconds=seconds))


def _allowlist(db):
    hotline = db.get(m.Hotline, "liaison")
    hotline.caller_policy, hotline.ask_priority = "allowlist", False
    db.commit()


def _answered_call(twilio, sid):
    twilio.post("/voice/incoming", params(sid, OPS))
    number = twilio.latest["numbers"][0]
    leg = f"{sid}L"
    twilio.post(number["url"], leg_params(sid, leg, HOTLINE, "+12025550101"))
    twilio.post(twilio.follow("gather"), leg_params(sid, leg, HOTLINE, "+12025550101", Digits="1"))
    twilio.post(twilio.follow("dial"), params(sid, OPS, DialCallStatus="completed",
                                              DialCallSid=leg, DialBridged="true"))
    return number, leg


# --- 1. an older status callback never rewrites a finished call or leg -------------------------

def test_an_older_terminal_callback_keeps_the_finished_calls_figures(hotline, twilio, db):
    _allowlist(db)
    _answered_call(twilio, "CAold")
    twilio.post("/voice/status", params("CAold", OPS, CallStatus="completed", SequenceNumber="5",
                                        CallDuration="200", Timestamp=_stamp(200)))
    twilio.post("/voice/status", params("CAold", OPS, CallStatus="canceled", SequenceNumber="1",
                                        CallDuration="3", Timestamp=_stamp(3)))
    db.expire_all()
    call = call_by_sid(db, "CAold")
    assert (call.outcome, call.duration_seconds, call.ended_at) == (
        "answered", 200, AT + timedelta(seconds=200))
    # both callbacks are in the timeline all the same
    assert [e.detail["status"] for e in call.events if e.kind == "call_status"] == ["completed", "canceled"]


def test_a_newer_terminal_leg_callback_sets_the_legs_end(hotline, twilio, db):
    _allowlist(db)
    number, leg = _answered_call(twilio, "CAlegend")
    for status, seq, seconds in (("canceled", "1", 3), ("completed", "4", 90), ("busy", "2", 5)):
        twilio.post(number["status"], leg_params("CAlegend", leg, HOTLINE, "+12025550101",
                                                 CallStatus=status, SequenceNumber=seq,
                                                 Timestamp=_stamp(seconds)))
    db.expire_all()
    (row,) = call_by_sid(db, "CAlegend").legs
    assert (row.status, row.last_sequence, row.ended_at) == (
        "completed", 4, AT + timedelta(seconds=90))
