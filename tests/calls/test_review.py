"""Findings of the maintainer's review of the call flow, each pinned by a test."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from xml.etree import ElementTree as ET

from sqlalchemy import text

from voiceline import appdb
from voiceline import models as m
from voiceline.calls import machine
from voiceline.calls.store import call_by_sid
from voiceline.calls.twilio_side import leg_params, sign
from voiceline.extensions import CLOCK
from voiceline.models.calls import PinLockout

from .conftest import AT, HOTLINE, OPS, WATCH, params


def test_mounted_under_a_path_prefix_signatures_and_links_agree(hotline):
    """VOICELINE_PUBLIC_URL names the app's root as Twilio reaches it, prefix included (the jobs
    area builds its URLs the same way). Whether or not the WSGI server also sets SCRIPT_NAME,
    the signature is checked against that URL and every emitted link carries the prefix once."""
    hotline.config["PUBLIC_URL"] = "https://hotline.example.org/hotline"
    client = hotline.test_client()
    url = "https://hotline.example.org/hotline/voice/incoming"
    for n, base in enumerate(("http://localhost/hotline", "http://localhost")):
        body = params(f"CAprefix{n}")
        response = client.post("/voice/incoming", data=body, base_url=base,
                               headers={"X-Twilio-Signature": sign("test-auth-token", url, body)})
        assert response.status_code == 200, base
        gather = ET.fromstring(response.get_data(as_text=True)).find("Gather")
        assert gather.get("action") == ("https://hotline.example.org/hotline/voice/pin?attempt=1"
                                        "#ct=2000&rt=10000&rc=2"), base


def _pin(twilio, sid, url, digits):
    return twilio.post(url, params(sid, Digits=digits, CallStatus="in-progress"))


def test_a_lock_out_also_stops_calls_already_at_the_pin_prompt(twilio, db):
    """Calls opened in parallel before the lock must not each get three more guesses."""
    twilio.post("/voice/incoming", params("CApar1"))
    first = twilio.follow("gather")
    twilio.post("/voice/incoming", params("CApar2"))
    second = twilio.follow("gather")
    for attempt, digits in enumerate(("1111", "2222", "3333"), start=1):
        _pin(twilio, "CApar1", first.replace("attempt=1", f"attempt={attempt}"), digits)
    answer = _pin(twilio, "CApar2", second, "2468")  # the right PIN, but the number is locked
    assert [c.tag for c in answer.root] == ["Say", "Hangup"]
    call = call_by_sid(db, "CApar2")
    assert (call.outcome, call.verified) == ("rejected", False)
    assert "locked" in [e.kind for e in call.events]


def test_old_failed_tries_are_forgotten_after_the_lock_out_window(twilio, hotline, db):
    """Two typos yesterday must not make today's first typo a lock-out."""
    twilio.post("/voice/incoming", params("CAold"))
    url = twilio.follow("gather")
    for attempt, digits in enumerate(("1111", "2222"), start=1):
        hotline.extensions[CLOCK] = lambda attempt=attempt: AT + timedelta(seconds=attempt)
        _pin(twilio, "CAold", url.replace("attempt=1", f"attempt={attempt}"), digits)
    hotline.extensions[CLOCK] = lambda: AT + timedelta(days=1)
    twilio.post("/voice/incoming", params("CAnew"))
    answer = _pin(twilio, "CAnew", twilio.follow("gather"), "1111")
    assert answer.root.find("Gather").get("action").endswith("/voice/pin?attempt=2#ct=2000&rt=10000&rc=2")
    db.expire_all()
    assert db.get(PinLockout, WATCH).locked_until is None


def test_the_lock_out_sentence_says_the_configured_minutes(twilio, hotline):
    hotline.config["CALLS_LOCKOUT_MINUTES"] = 30
    for sid, number in (("CAmin", WATCH), ("CAminru", OPS)):
        twilio.post("/voice/incoming", params(sid, number))
        url = twilio.follow("gather")
        for attempt in (1, 2, 3):
            answer = twilio.post(url.replace("attempt=1", f"attempt={attempt}"),
                                 params(sid, number, Digits="1111"))
        spoken = " ".join(say.text for say in answer.root.iter("Say"))
        assert "30" in spoken and "15" not in spoken, spoken


def test_a_failed_duress_alert_still_answers_like_the_real_pin(twilio, hotline, db):
    """The caller under duress must never hear something the real PIN would not give them."""
    hotline.config["FALLBACK_NUMBERS"] = ["+12025550109"]
    with appdb.engine(hotline).begin() as conn:
        conn.execute(text("DROP TABLE outbox"))
    answers = {}
    for sid, digits in (("CAreal", "2468"), ("CAforced", "9753")):
        twilio.post("/voice/incoming", params(sid))
        answers[sid] = _pin(twilio, sid, twilio.follow("gather"), digits).text.replace(sid, "X")
    assert answers["CAreal"] == answers["CAforced"]
    call = call_by_sid(db, "CAforced")
    assert (call.duress, call.verified, call.state) == (True, True, "priority")
    assert "duress_alert_failed" in [e.kind for e in call.events]


def test_a_responder_connected_by_the_screening_fallback_ends_the_call(twilio, hotline, db,
                                                                        monkeypatch):
    """The screen step failed, its fallback bridged the responder who pressed 1, they talked:
    the dial result must not ring the next step at a caller who has just been helped."""
    db.get(m.Hotline, "liaison").ask_priority = False
    db.commit()
    twilio.post("/voice/incoming", params("CAbr"))
    dial = _pin(twilio, "CAbr", twilio.follow("gather"), "2468")
    number = twilio.latest["numbers"][0]
    leg = leg_params("CAbr", "CAbrL", HOTLINE, number["number"])
    twilio.post(number["url"], leg)

    def broken(*args):
        raise RuntimeError("database went away")
    rule = machine.STEPS[machine.Step.SCREEN_ANSWER]
    monkeypatch.setitem(machine.STEPS, machine.Step.SCREEN_ANSWER, replace(rule, handler=broken))
    accepted = twilio.post(twilio.follow("gather"), {**leg, "Digits": "1"})
    assert accepted.status == 200 and len(accepted.root) == 0  # bridged by the fallback
    monkeypatch.undo()
    answer = twilio.post(dial.root.find("Dial").get("action"),
                         params("CAbr", DialCallStatus="completed", DialCallSid="CAbrL",
                                DialBridged="true", DialCallDuration="95"))
    assert [c.tag for c in answer.root] == ["Hangup"]
    call = call_by_sid(db, "CAbr")
    assert (call.outcome, call.answered_by) == ("answered", "alice")


def test_a_control_character_in_a_caller_name_still_gives_valid_twiml(twilio, hotline, db):
    """A name pasted from a spreadsheet (vertical tab) must not make every whisper invalid XML."""
    caller = db.get(m.Caller, "watch-officer")
    caller.name, caller.org = "Watch\x0bOfficer", "Ops\x01Center"
    db.get(m.Hotline, "liaison").ask_priority = False
    db.commit()
    twilio.post("/voice/incoming", params("CActl"))
    _pin(twilio, "CActl", twilio.follow("gather"), "2468")
    number = twilio.latest["numbers"][0]
    whisper = twilio.post(number["url"], leg_params("CActl", "CActlL", HOTLINE, number["number"]))
    assert whisper.status == 200 and whisper.root is not None
    assert "Watch Officer, Ops Center" in whisper.root.find(".//Say").text
