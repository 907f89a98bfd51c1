"""Busy awareness (issue 9): a responder on a live hotline call is not rung for a second call
while someone else of the step can be; when nobody else can, they are rung anyway and the
whisper tells them they are on another hotline call."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.calls.busy import live_calls
from voiceline.calls.store import call_by_sid, call_record
from voiceline.calls.twilio_side import leg_params
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.models.web import User
from voiceline.passwords import hash_secret

from .conftest import AT, HOTLINE, OPS, WATCH, allowlist, params

ALICE, GRACE, CAROL = "+12025550101", "+12025550102", "+442079460018"
BORIS = "+74951234567"  # step 2


def _step_one(db, people: list[str], rotas: list[str] | None = None) -> None:
    step = db.scalars(select(m.PolicyStep).order_by(m.PolicyStep.position)).first()
    step.people = people
    if rotas is not None:
        step.rotas = rotas
    db.commit()


@pytest.fixture
def line(hotline, db):
    """Known callers without a PIN; step 1 rings alice (rota) and grace together."""
    allowlist(db)
    _step_one(db, ["grace"])
    return hotline


def _numbers(answer) -> list[str]:
    dial = answer.root.find("Dial")
    return [(n.text or "").strip() for n in dial.iter("Number")] if dial is not None else []


def _leg(answer, number: str):
    return next(n for n in answer.root.find("Dial").iter("Number") if (n.text or "").strip() == number)


def _accept(twilio, call_sid: str, answer, number: str, leg_sid: str) -> None:
    """The responder at `number` picks up the leg of `answer`'s <Dial> and presses 1."""
    whisper = twilio.post(_leg(answer, number).get("url"), leg_params(call_sid, leg_sid, HOTLINE, number))
    twilio.post(whisper.root.find("Gather").get("action"),
                leg_params(call_sid, leg_sid, HOTLINE, number, Digits="1"))


def _busy_with(twilio, call_sid: str, from_number: str, number: str):
    """A first call that `number`'s responder accepted and is still talking on (its <Dial>)."""
    answer = twilio.post("/voice/incoming", params(call_sid, from_number))
    _accept(twilio, call_sid, answer, number, f"{call_sid}L")
    return answer.root.find("Dial")


def _events(db, sid: str, kind: str) -> list[CallEvent]:
    db.expire_all()
    call = call_by_sid(db, sid)
    return list(db.scalars(select(CallEvent).where(CallEvent.call_id == call.id, CallEvent.kind == kind)
                           .order_by(CallEvent.id)))


def _says(root) -> list[str]:
    return [say.text for say in root.iter("Say")]


def test_a_responder_on_a_live_call_is_left_out_while_another_is_free(line, twilio, db):
    _busy_with(twilio, "CAfirst", OPS, ALICE)
    second = twilio.post("/voice/incoming", params("CAsecond", WATCH))
    assert _numbers(second) == [GRACE]  # alice is talking on CAfirst
    skipped, = _events(db, "CAsecond", "skipped_busy")
    assert (skipped.person_id, skipped.step) == ("alice", 1)
    assert skipped.detail["other_call"] == "CAfirst"
    assert skipped.detail["text"] == "skipped Alice Smith: on another hotline call"
    rang, = _events(db, "CAsecond", "step_rang")
    assert rang.detail["people"] == ["grace"]
    # grace hears the plain whisper: she is on no other call
    whisper = twilio.post(_leg(second, GRACE).get("url"), leg_params("CAsecond", "CLg", HOTLINE, GRACE))
    assert not any("another hotline call" in text for text in _says(whisper.root))


@pytest.mark.parametrize(("first_from", "second_from", "sentence"), [
    (OPS, WATCH, "You are on another hotline call."),
    (WATCH, OPS, "Вы уже говорите по другому звонку горячей линии."),  # ops-desk speaks ru-RU
])
def test_nobody_else_free_rings_the_busy_one_and_the_whisper_says_so(line, twilio, db, first_from,
                                                                     second_from, sentence):
    _step_one(db, ["grace"], rotas=[])  # step 1 is grace alone (speaks en and ru)
    _busy_with(twilio, "CAone", first_from, GRACE)
    second = twilio.post("/voice/incoming", params("CAtwo", second_from))
    assert _numbers(second) == [GRACE]
    assert not _events(db, "CAtwo", "skipped_busy")
    rung, = _events(db, "CAtwo", "rung_busy")
    assert rung.detail["people"] == ["grace"] and rung.detail["other_calls"] == ["CAone"]
    whisper = twilio.post(_leg(second, GRACE).get("url"), leg_params("CAtwo", "CLg2", HOTLINE, GRACE))
    gather = whisper.root.find("Gather")
    says = [say for say in gather.iter("Say")]
    assert says[0].text == sentence
    language = "en-US" if second_from == WATCH else "ru-RU"
    assert {say.get("language") for say in says} == {language}
    assert len(says) == 3  # the note, then the whisper twice as before
    # she can still take it: 1 connects
    accept = twilio.post(gather.get("action"), leg_params("CAtwo", "CLg2", HOTLINE, GRACE, Digits="1"))
    assert accept.root.find("Hangup") is None
    assert call_by_sid(db, "CAtwo").answered_by == "grace"


def test_routine_rings_one_by_one_and_skips_the_busy_one(line, twilio, db):
    db.get(m.Hotline, "liaison").ask_priority = True
    db.commit()
    twilio.post("/voice/incoming", params("CAbusy", OPS))
    assert call_by_sid(db, "CAbusy").state == "priority"
    ringing = twilio.post(twilio.follow("gather"), params("CAbusy", OPS, Digits="1"))
    assert live_calls(db, ["alice", "grace"], at=AT) == {}  # both ringing, nobody accepted yet
    _accept(twilio, "CAbusy", ringing, ALICE, "CAbusyL")
    db.expire_all()
    assert live_calls(db, ["alice", "grace"], at=AT) == {"alice": "CAbusy"}
    twilio.post("/voice/incoming", params("CAroutine", WATCH))
    routine = twilio.post(twilio.follow("gather"), params("CAroutine", WATCH, Digits="2"))
    assert _numbers(routine) == [GRACE]  # alice's turn (first in rota order) is skipped
    nobody = twilio.post(twilio.follow("dial"), params("CAroutine", WATCH, DialCallStatus="no-answer",
                                                         CallStatus="in-progress"))
    assert _numbers(nobody) == [BORIS]  # grace was the last of step 1: on to step 2
    skipped, = _events(db, "CAroutine", "skipped_busy")
    assert skipped.person_id == "alice" and skipped.detail["group"] == 0
    steps = [(leg.step, leg.person_id) for leg in call_by_sid(db, "CAroutine").legs]
    assert steps == [(1, "grace"), (2, "boris")]


def test_routine_with_everyone_busy_rings_them_in_turn(line, twilio, db):
    db.get(m.Hotline, "liaison").ask_priority = True
    db.commit()
    for sid, number in (("CAa", ALICE), ("CAg", GRACE)):
        twilio.post("/voice/incoming", params(sid, OPS))
        _accept(twilio, sid, twilio.post(twilio.follow("gather"), params(sid, OPS, Digits="1")),
                number, f"{sid}L")
    twilio.post("/voice/incoming", params("CAr", WATCH))
    first = twilio.post(twilio.follow("gather"), params("CAr", WATCH, Digits="2"))
    assert _numbers(first) == [ALICE]
    second = twilio.post(twilio.follow("dial"), params("CAr", WATCH, DialCallStatus="no-answer",
                                                       CallStatus="in-progress"))
    assert _numbers(second) == [GRACE]
    assert [e.detail["people"] for e in _events(db, "CAr", "rung_busy")] == [["alice"], ["grace"]]


def test_the_ring_again_leaves_out_whoever_took_another_call_meanwhile(line, twilio, db):
    _step_one(db, ["grace", "carol"])  # alice, grace and carol together
    second = twilio.post("/voice/incoming", params("CAring", WATCH))
    assert _numbers(second) == [ALICE, GRACE, CAROL]
    # while CAring rings, another call comes in and carol takes that one
    other = twilio.post("/voice/incoming", params("CAother", OPS))
    _accept(twilio, "CAother", other, CAROL, "CLcarol")
    # in CAring, alice's voicemail picks up: Twilio hangs up grace and carol
    whisper = twilio.post(_leg(second, ALICE).get("url"), leg_params("CAring", "CLa", HOTLINE, ALICE))
    twilio.post(whisper.root.find("Gather").get("action"), leg_params("CAring", "CLa", HOTLINE, ALICE))
    again = twilio.post(second.root.find("Dial").get("action"),
                        params("CAring", WATCH, DialCallStatus="no-answer", CallStatus="in-progress"))
    assert _numbers(again) == [GRACE]  # carol is on CAother now
    rung, = _events(db, "CAring", "rung_again")
    assert rung.detail["people"] == ["grace"]
    skipped, = _events(db, "CAring", "skipped_busy")
    assert skipped.person_id == "carol" and skipped.detail["group"] == -1


def test_a_repeat_round_rings_the_responder_once_their_call_ended(line, twilio, db):
    talk = _busy_with(twilio, "CAtalk", OPS, ALICE)
    answer = twilio.post("/voice/incoming", params("CAwait", WATCH))
    assert _numbers(answer) == [GRACE]
    for expected in ([BORIS], ["+12025550109"]):  # step 2, step 3 (duty chief): nobody answers
        answer = twilio.post(twilio.follow("dial"), params("CAwait", WATCH, DialCallStatus="no-answer",
                                                           CallStatus="in-progress"))
        assert _numbers(answer) == expected
    # alice's first call ends (the <Dial> action after the talk)
    twilio.post(talk.get("action"), params("CAtalk", OPS, DialCallStatus="completed", DialCallSid="CAtalkL",
                                           DialBridged="true"))
    assert call_by_sid(db, "CAtalk").outcome == "answered"
    repeat = twilio.post(twilio.latest["dial"], params("CAwait", WATCH, DialCallStatus="no-answer",
                                                        CallStatus="in-progress"))
    assert _numbers(repeat) == [ALICE, GRACE]  # round 2: alice is free again
    assert len(_events(db, "CAwait", "skipped_busy")) == 1


def test_the_call_page_and_the_call_log_say_who_was_skipped(line, twilio, db):
    _busy_with(twilio, "CApage1", OPS, ALICE)
    twilio.post("/voice/incoming", params("CApage2", WATCH))
    words = "skipped Alice Smith: on another hotline call"
    record = call_record(db, call_by_sid(db, "CApage2"))
    assert any(e["kind"] == "skipped_busy" and e["detail"]["text"] == words for e in record["events"])
    reviewer = User(username="rev", password_hash=hash_secret("correct horse battery"), role="reviewer")
    db.add(reviewer)
    db.commit()
    client = line.test_client()
    with client.session_transaction() as flask_session:
        flask_session["uid"] = reviewer.id
    page = client.get("/calls/CApage2")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert words in text and "Alice Smith skipped, on another hotline call" in text


def test_who_counts_as_on_a_live_call(line, db):
    """Accepted, not ended, on another call that has not ended and is not stale."""
    def call(sid, **fields):
        row = Call(sid=sid, hotline_id="liaison", started_at=AT - timedelta(minutes=5), **fields)
        db.add(row)
        db.flush()
        return row

    def leg(row, person, **fields):
        db.add(CallLeg(call_id=row.id, person_id=person, number="+1", step=1,
                       started_at=AT - timedelta(minutes=4), **fields))

    live = call("CAlive")
    leg(live, "alice", screen="accepted", status="in-progress")
    leg(live, "grace", screen="declined", status="completed")  # declined: free
    leg(live, "carol", status="ringing")  # still ringing: free
    leg(call("CAlegdone"), "boris", screen="accepted", ended_at=AT)  # the leg ended
    leg(call("CAcalldone", ended_at=AT, outcome="answered"), "dmitri", screen="accepted")
    stale = call("CAstale")
    stale.started_at = AT - timedelta(hours=6)  # its final callbacks were lost
    leg(stale, "duty-chief", screen="accepted")
    db.commit()
    everyone = ["alice", "grace", "carol", "boris", "dmitri", "duty-chief"]
    assert live_calls(db, everyone, at=AT) == {"alice": "CAlive"}
    assert live_calls(db, everyone, at=AT, other_than=live.id) == {}  # the call itself
    assert live_calls(db, [], at=AT) == {}
