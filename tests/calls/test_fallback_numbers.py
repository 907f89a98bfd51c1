"""A total coverage gap (nobody to ring in any step) rings VOICELINE_FALLBACK_NUMBERS before voicemail."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.calls.store import call_by_sid, call_record
from voiceline.calls.twilio_side import leg_params
from voiceline.extensions import CLOCK
from voiceline.instants import utcnow
from voiceline.models.calls import CallLeg

from .conftest import HOTLINE, OPS, WATCH, params

DESK, NIGHT = "+12025550177", "+442079460999"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "calls"
RESPONDERS = ("alice", "dmitri", "grace", "boris", "carol")


@pytest.fixture
def nobody(hotline, db):
    """Every responder inactive and the duty chief (still an active manager) off the policy."""
    for pid in RESPONDERS:
        db.get(m.Person, pid).active = False
    step = db.scalars(select(m.PolicyStep).where(m.PolicyStep.people != []).order_by(
        m.PolicyStep.position)).all()
    for row in step:
        row.people = []
    db.get(m.Hotline, "liaison").ask_priority = False
    db.commit()
    hotline.config["FALLBACK_NUMBERS"] = [DESK, "not a number", "+44 20 7946 0999", DESK]
    return hotline


def _ring(twilio, sid, number=WATCH):
    twilio.post("/voice/incoming", params(sid, number))
    return twilio.post(twilio.follow("gather"), params(sid, number, Digits="2468"))


def _kinds(db, sid):
    db.expire_all()
    return [e.kind for e in sorted(call_by_sid(db, sid).events, key=lambda e: e.id)]


def _leg(twilio, sid, index, sid_suffix):
    number = twilio.latest["numbers"][index]
    return number, leg_params(sid, f"{sid}{sid_suffix}", HOTLINE, number["number"])


def test_nobody_on_duty_dials_the_fallback_numbers_screened(nobody, twilio, db):
    answer = _ring(twilio, "CAgap")
    assert [c.tag for c in answer.root] == ["Say", "Dial"]
    dial = answer.root.find("Dial")
    assert (dial.get("answerOnBridge"), dial.get("callerId"), dial.get("timeout")) == (
        "true", HOTLINE, "30")
    numbers = list(dial.iter("Number"))
    assert [n.text for n in numbers] == [DESK, NIGHT]  # parsed, deduplicated, junk dropped
    for number in numbers:
        assert number.get("url").startswith("https://hotline.example.org/voice/screen?leg=")
        assert number.get("statusCallback").startswith("https://hotline.example.org/voice/leg-status?leg=")
    assert parse_qs(urlsplit(dial.get("action")).query)["step"] == ["0"]
    legs = db.scalars(select(CallLeg).order_by(CallLeg.id)).all()
    assert [(leg.person_id, leg.number, leg.step) for leg in legs] == [(None, DESK, 0), (None, NIGHT, 0)]
    kinds = _kinds(db, "CAgap")
    assert kinds.count("step_empty") == 6 and kinds[-1] == "fallback_rang"  # 3 steps x 2 rounds
    event = call_by_sid(db, "CAgap").events[-1]
    assert event.detail["numbers"] == [DESK, NIGHT] and "nobody" in event.detail["reason"]


def test_a_repeated_request_rings_the_same_legs_once(nobody, twilio, db):
    first = _ring(twilio, "CAagain")
    again = twilio.post(twilio.follow("gather"), params("CAagain", Digits="2468"))
    assert ET.tostring(again.root.find("Dial")) == ET.tostring(first.root.find("Dial"))
    assert len(db.scalars(select(CallLeg)).all()) == 2
    assert _kinds(db, "CAagain").count("fallback_rang") == 1


def test_the_fallback_number_presses_1_and_is_bridged(nobody, twilio, db):
    _ring(twilio, "CAok", OPS)  # a Russian-speaking caller: the fallback number hears Russian
    number, leg = _leg(twilio, "CAok", 1, "L1")
    whisper = twilio.post(number["url"], leg)
    gather = whisper.root.find("Gather")
    assert {s.get("language") for s in gather.iter("Say")} == {"ru-RU"}
    assert "Operations desk" in gather.find("Say").text
    accepted = twilio.post(gather.get("action"), {**leg, "Digits": "1"})
    assert [c.tag for c in accepted.root] == ["Say"]
    done = twilio.post(twilio.follow("dial"), params("CAok", OPS, DialCallStatus="completed",
                                                     DialBridged="true", DialCallSid="CAokL1",
                                                     DialCallDuration="45"))
    assert [c.tag for c in done.root] == ["Hangup"]
    db.expire_all()
    call = call_by_sid(db, "CAok")
    assert (call.outcome, call.answered_by, call.answered_at is not None) == ("answered", None, True)
    kinds = _kinds(db, "CAok")
    assert kinds.index("fallback_rang") < kinds.index("screen_accepted") < kinds.index("bridged")
    record = call_record(db, call)
    assert [(g["person"], g["number"], g["screen"]) for g in record["legs"]] == [
        (None, DESK, None), (None, NIGHT, "accepted")]


def test_a_fallback_that_declines_leads_to_voicemail_and_the_usual_notices(nobody, twilio, db):
    _ring(twilio, "CAno")
    number, leg = _leg(twilio, "CAno", 0, "L0")
    gather = twilio.post(number["url"], leg).root.find("Gather")
    assert {s.get("language") for s in gather.iter("Say")} == {"en-US"}
    assert [c.tag for c in twilio.post(gather.get("action"), {**leg, "Digits": "9"}).root] == ["Hangup"]
    answer = twilio.post(twilio.follow("dial"), params("CAno", DialCallStatus="no-answer",
                                                       DialBridged="false"))
    assert [c.tag for c in answer.root] == ["Say", "Record", "Say", "Hangup"]
    # a late repeat of the same dial result changes nothing and rings nobody again
    again = twilio.post(twilio.follow("dial"), params("CAno", DialCallStatus="no-answer"))
    assert again.root.find("Dial") is None
    twilio.post(twilio.follow("recording"), params(
        "CAno", RecordingStatus="completed", RecordingSid="RE1", RecordingDuration="12",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"))
    db.expire_all()
    call = call_by_sid(db, "CAno")
    assert (call.outcome, call.answered_by) == ("voicemail", None)
    notices = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "voicemail")).all()
    assert [n.key for n in notices] == ["voicemail:CAno:duty-chief"]  # the manager; nobody on duty
    assert len(db.scalars(select(CallLeg)).all()) == 2


def test_without_fallback_numbers_a_gap_goes_straight_to_voicemail(nobody, twilio, db):
    nobody.config["FALLBACK_NUMBERS"] = []
    answer = _ring(twilio, "CAnone")
    assert [c.tag for c in answer.root] == ["Say", "Say", "Record", "Say", "Hangup"]
    assert db.scalars(select(CallLeg)).all() == []
    assert "fallback_rang" not in _kinds(db, "CAnone")


def test_someone_rung_but_nobody_accepting_skips_the_fallback(hotline, twilio, db):
    hotline.config["FALLBACK_NUMBERS"] = [DESK]
    db.get(m.Hotline, "liaison").ask_priority = False
    db.commit()
    answer = _ring(twilio, "CAtried")
    for _ in range(6):  # two rounds of three steps, nobody answers
        assert answer.root.find("Dial") is not None
        assert DESK not in [n.text for n in answer.root.iter("Number")]
        answer = twilio.post(twilio.follow("dial"), params("CAtried", DialCallStatus="no-answer"))
    assert answer.root.find("Record") is not None and answer.root.find("Dial") is None
    assert "fallback_rang" not in _kinds(db, "CAtried")
    assert all(leg.person_id for leg in db.scalars(select(CallLeg)))


def test_routine_priority_rings_the_fallback_numbers_together(nobody, twilio, db):
    db.get(m.Hotline, "liaison").ask_priority = True
    db.commit()
    twilio.post("/voice/incoming", params("CAroutine"))
    twilio.post(twilio.follow("gather"), params("CAroutine", Digits="2468"))
    answer = twilio.post(twilio.follow("gather"), params("CAroutine", Digits="2"))
    assert [n.text for n in answer.root.iter("Number")] == [DESK, NIGHT]


def test_the_caller_hanging_up_while_the_fallback_rings_is_abandoned(nobody, twilio, db):
    _ring(twilio, "CAgone")
    answer = twilio.post(twilio.follow("dial"), params("CAgone", CallStatus="completed",
                                                       DialCallStatus="canceled"))
    assert [c.tag for c in answer.root] == ["Hangup"]
    db.expire_all()
    assert call_by_sid(db, "CAgone").outcome == "abandoned"


def test_simulate_names_the_fallback_number_instead_of_a_person(nobody, runner):
    nobody.extensions[CLOCK] = utcnow  # simulate runs its own clock
    keys = "\n".join(["2468",  # the caller's PIN (no priority asked)
                      "a", "20"])  # the fallback desk accepts and they talk 20 s
    result = runner.invoke(args=["simulate", "--from", "+1 202 555 0150"], input=keys + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "fallback number +1 202-555-0177: [a]ccept" in out and "Error" not in out
    assert "fallback number +44 20 7946 0999: [a]ccept" not in out  # the first one took it
    assert "responder hears (en-US): Hotline call from Watch Officer" in out
    header = next(line for line in out.splitlines() if line.startswith("call CA"))
    assert header.endswith("  answered")
    assert "fallback_rang" in out and "screen_accepted" in out
    assert next(line for line in out.splitlines() if "answered_by " in line).split() == [
        "answered_by", "-"]


def test_replay_command_runs_the_fallback_fixture(runner):
    fixture = FIXTURES / "nobody-on-duty-fallback-answers.yaml"
    result = runner.invoke(args=["replay", str(fixture), "--directory",
                                 str(FIXTURES.parent / "demo.yaml")])
    assert result.exit_code == 0, result.output
    assert "PASS  the fallback number presses 1" in result.output
    assert "1 file(s), 0 failed step(s)." in result.output


def test_the_call_log_presenters_show_the_number_of_a_leg_without_a_person(nobody, twilio, db):
    from voiceline.calllog.present import call_detail, load_names, timeline

    _ring(twilio, "CAlog")
    number, leg = _leg(twilio, "CAlog", 0, "L0")
    gather = twilio.post(number["url"], leg).root.find("Gather")
    twilio.post(gather.get("action"), {**leg, "Digits": "1"})
    twilio.post(twilio.follow("dial"), params("CAlog", DialCallStatus="completed", DialBridged="true",
                                              DialCallSid="CAlogL0"))
    db.expire_all()
    call, names = call_by_sid(db, "CAlog"), load_names(db)
    rang = [(e.what, e.who) for e in timeline(call, names) if e.what in {"rang", "accepted"}]
    assert sorted(rang) == [("accepted", DESK), ("rang", DESK), ("rang", NIGHT)]  # one instant
    detail = call_detail(call, names)
    assert (detail["outcome"], detail["answered_by"], detail["answered_by_name"]) == ("answered", None, None)
    assert [(g["person"], g["person_name"], g["number"]) for g in detail["legs"]] == [
        (None, None, DESK), (None, None, NIGHT)]
    assert "fallback_rang" in [e["kind"] for e in detail["events"]]
    entries = {(e.what, e.detail.split(",")[0]) for e in timeline(call, names)}
    assert "nobody on duty: fallback numbers rang" in {what for what, _ in entries}
    assert ("rang", "fallback number") in entries
