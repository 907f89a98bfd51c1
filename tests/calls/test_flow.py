"""The call flow through the webhooks: languages, policies, PINs, duress, priority, ringing."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.calls import prompts
from voiceline.calls.store import call_by_sid
from voiceline.extensions import CLOCK
from voiceline.models.calls import CallEvent, PinLockout

from .conftest import AT, EMBASSY, OPS, WATCH, params


def says(root: ET.Element) -> list[str]:
    return [say.text for say in root.iter("Say")]


def kinds(db, sid: str) -> list[str]:
    db.expire_all()
    return [e.kind for e in sorted(call_by_sid(db, sid).events, key=lambda e: e.id)]


def test_known_caller_hears_their_language_with_a_voice_that_speaks_it(twilio, hotline):
    answer = twilio.post("/voice/incoming", params("CAru", OPS))
    say = answer.root.find(".//Say")
    assert say.get("language") == "ru-RU" and say.get("voice") == prompts.voice("ru-RU") == "Polly.Tatyana"
    assert answer.root.find("Gather").get("action") == ("https://hotline.example.org/voice/pin?attempt=1"
                                                         "#ct=2000&rt=10000&rc=2")


def test_unknown_language_gets_a_menu_of_the_hotline_languages(twilio, db):
    answer = twilio.post("/voice/incoming", params("CAmenu", EMBASSY))
    gather = answer.root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert [(s.get("language"), s.get("voice")) for s in gather.iter("Say")] == [
        ("en-US", "Polly.Joanna"), ("ru-RU", "Polly.Tatyana")]
    answer = twilio.post(twilio.follow("gather"), params("CAmenu", EMBASSY, Digits="2"))
    assert {s.get("language") for s in answer.root.iter("Say")} == {"ru-RU"}
    assert call_by_sid(db, "CAmenu").language == "ru-RU"


def test_menu_silence_or_junk_takes_the_first_language(twilio, db):
    twilio.post("/voice/incoming", params("CAjunk", EMBASSY))
    answer = twilio.post(twilio.follow("gather"), params("CAjunk", EMBASSY, Digits="99999999999"))
    assert answer.status == 200 and call_by_sid(db, "CAjunk").language == "en-US"


def _pin(twilio, sid, digits, number=WATCH):
    return twilio.post(twilio.follow("gather"), params(sid, number, Digits=digits, CallStatus="in-progress"))


def test_duress_pin_answers_exactly_like_the_real_pin_and_alerts_supervisors(twilio, db):
    twilio.post("/voice/incoming", params("CAreal"))
    real = _pin(twilio, "CAreal", "2468")
    twilio.post("/voice/incoming", params("CAduress"))
    duress = _pin(twilio, "CAduress", "9753")
    assert real.text.replace("CAreal", "X") == duress.text.replace("CAduress", "X")
    call = call_by_sid(db, "CAduress")
    assert call.duress and call.verified and not call_by_sid(db, "CAreal").duress
    alerts = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "duress")).all()
    assert [(a.key, a.recipient) for a in alerts] == [("duress:CAduress:duty-chief", "+12025550109")]
    assert "https://hotline.example.org/calls/CAduress" in alerts[0].body
    assert "9753" not in alerts[0].body


def test_wrong_pins_lock_the_number_and_the_lock_expires(twilio, hotline, db):
    twilio.post("/voice/incoming", params("CAlock"))
    for digits in ("0000", "", "1"):
        answer = _pin(twilio, "CAlock", digits)
    assert answer.root[-1].tag == "Hangup"
    lock = db.get(PinLockout, WATCH)
    assert lock.locked_until == AT + timedelta(minutes=15)
    assert call_by_sid(db, "CAlock").outcome == "rejected"
    assert kinds(db, "CAlock")[-2:] == ["pin_failed", "pin_locked"]
    audit = db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "call.pin_locked")).one()
    assert audit.target == WATCH
    later = AT + timedelta(minutes=16)
    hotline.extensions[CLOCK] = lambda: later
    answer = twilio.post("/voice/incoming", params("CAafter"))
    assert answer.root.find("Gather") is not None  # asked for the PIN again


def test_repeated_pin_request_counts_once(twilio, db):
    twilio.post("/voice/incoming", params("CArep"))
    url = twilio.follow("gather")
    first = twilio.post(url, params("CArep", Digits="1111"))
    again = twilio.post(url, params("CArep", Digits="1111"))
    action = "https://hotline.example.org/voice/pin?attempt=2#ct=2000&rt=10000&rc=2"
    assert first.root.find("Gather").get("action") == again.root.find("Gather").get("action") == action
    assert call_by_sid(db, "CArep").pin_attempts == 1


def test_repeated_incoming_is_idempotent(twilio, db):
    first = twilio.post("/voice/incoming", params("CAtwice"))
    second = twilio.post("/voice/incoming", params("CAtwice"))
    assert first.text == second.text
    assert kinds(db, "CAtwice") == ["greeted"]


def test_unknown_number_identifies_itself_then_keys_the_pin(twilio, hotline, db):
    answer = twilio.post("/voice/incoming", params("CAid", "+12025550188", ))
    assert twilio.follow("gather").startswith("https://hotline.example.org/voice/language")
    answer = twilio.post(twilio.follow("gather"), params("CAid", "+12025550188", Digits="1"))
    assert "registered" in " ".join(says(answer.root))
    answer = _pin(twilio, "CAid", "12025550150", "+12025550188")
    assert "PIN" in " ".join(says(answer.root))
    answer = _pin(twilio, "CAid", "2468", "+12025550188")
    call = call_by_sid(db, "CAid")
    assert call.caller_id == "watch-officer" and call.verified and call.state == "priority"


def test_open_hotline_marks_callers_unverified(twilio, hotline, db):
    db.get(m.Hotline, "liaison").caller_policy = "open"
    db.get(m.Hotline, "liaison").ask_priority = False
    db.commit()
    answer = twilio.post("/voice/incoming", params("CAopen", "+12025550188"))
    answer = twilio.post(twilio.follow("gather"), params("CAopen", "+12025550188", Digits="1"))
    assert answer.root.find("Dial") is not None
    assert call_by_sid(db, "CAopen").verified is False


def _to_dial(twilio, sid, priority: str):
    twilio.post("/voice/incoming", params(sid))
    _pin(twilio, sid, "2468")
    return _pin(twilio, sid, priority)


@pytest.fixture
def crowded(hotline, db):
    """Step 1 gets three people: the primary rota plus two named people."""
    step = db.scalars(select(m.PolicyStep).order_by(m.PolicyStep.position)).first()
    step.people = ["grace", "carol"]
    db.commit()
    return hotline


def test_urgent_rings_a_step_together(crowded, twilio):
    dial = _to_dial(twilio, "CAurgent", "1").root.find("Dial")
    numbers = dial.findall("Number")
    assert [n.text for n in numbers] == ["+12025550101", "+12025550102", "+442079460018"]
    assert dial.get("answerOnBridge") == "true" and dial.get("callerId") == "+12025550100"
    assert dial.get("timeout") == "25"
    for number in numbers:
        assert number.get("url").startswith("https://hotline.example.org/voice/screen?leg=")
        assert number.get("statusCallbackEvent") == "initiated ringing answered completed"


def test_routine_rings_one_after_another_in_rota_order(crowded, twilio):
    answer = _to_dial(twilio, "CAroutine", "2")
    rung = []
    for _ in range(3):
        rung.append([n.text for n in answer.root.iter("Number")])
        answer = twilio.post(twilio.follow("dial"), params("CAroutine", DialCallStatus="no-answer"))
    assert rung == [["+12025550101"], ["+12025550102"], ["+442079460018"]]
    assert [n.text for n in answer.root.iter("Number")] == ["+74951234567"]  # step 2: boris


def test_whisper_names_caller_org_priority_and_a_later_pickup_hangs_up(crowded, twilio, db):
    _to_dial(twilio, "CAscreen", "1")
    first, second = twilio.latest["numbers"][:2]
    whisper = twilio.post(first["url"], {"CallSid": "CAleg1", "ParentCallSid": "CAscreen"})
    text = " ".join(says(whisper.root))
    assert "Watch Officer, State Department Operations Center" in text and "urgent" in text
    accept = twilio.post(whisper.root.find("Gather").get("action"),
                         {"CallSid": "CAleg1", "ParentCallSid": "CAscreen", "Digits": "1"})
    assert accept.root.find("Hangup") is None
    late = twilio.post(second["url"], {"CallSid": "CAleg2", "ParentCallSid": "CAscreen"})
    assert [c.tag for c in late.root] == ["Hangup"]  # taken already: that leg only hangs up
    call = call_by_sid(db, "CAscreen")
    assert call.answered_by == "alice" and call.state == "connected"


def test_line_test_rings_nobody(hotline, twilio, db):
    hotline.config["LINETEST_FROM"] = "+12025550199"
    answer = twilio.post("/voice/incoming", params("CAline", "+12025550199"))
    assert [c.tag for c in answer.root] == ["Say", "Hangup"]
    assert answer.root[0].text == "voiceline line test OK"
    call = call_by_sid(db, "CAline")
    assert (call.is_test, call.outcome, call.state) == (True, "answered", "done")
    assert db.scalars(select(CallEvent.kind).where(CallEvent.call_id == call.id)).all() == ["line_test"]
    assert call.legs == []
