"""Twilio's rule for a simultaneous <Dial>: the first leg to pick up hangs up the others.

Those cut short (not those who declined, screened out or rang the full time) are rung again,
together, for the rest of the step's ring time, once, before the call escalates."""

from __future__ import annotations

import html
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.calls.store import call_by_sid, call_record
from voiceline.calls.twilio_side import ACCEPT, DECLINE, NO_ANSWER, VOICEMAIL, DialPlay, leg_params
from voiceline.extensions import CLOCK
from voiceline.instants import utcnow
from voiceline.models.calls import CallEvent
from voiceline.models.web import User
from voiceline.passwords import hash_secret

from .conftest import AT, HOTLINE, params

ALICE, GRACE, CAROL = "+12025550101", "+12025550102", "+442079460018"
BORIS = "+74951234567"  # step 2


class Clock:
    def __init__(self) -> None:
        self.now = AT

    def __call__(self):
        return self.now

    def wait(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(hotline):
    ticking = Clock()
    hotline.extensions[CLOCK] = ticking
    return ticking


@pytest.fixture
def crowded(hotline, db, clock):
    """Step 1 (25 s) rings alice, grace and carol together; no priority question."""
    step = db.scalars(select(m.PolicyStep).order_by(m.PolicyStep.position)).first()
    step.people = ["grace", "carol"]
    db.get(m.Hotline, "liaison").ask_priority = False
    db.commit()
    return hotline


def _to_dial(twilio, sid):
    twilio.post("/voice/incoming", params(sid))
    return twilio.post(twilio.follow("gather"), params(sid, Digits="2468", CallStatus="in-progress"))


SIDS = count(1)


def _player(twilio, sid, clock, strict=True):
    sids = SIDS
    return DialPlay(twilio, lambda **extra: params(sid, **extra),
                    lambda leg, status, **extra: leg_params(sid, leg.sid, HOTLINE, leg.to,
                                                            CallStatus=status, **extra),
                    wait=clock.wait, strict=strict, new_sid=lambda: f"CL{sid}{next(sids)}")


def _choices(by_number):
    asked = []

    def choose(leg):
        asked.append(leg.to)
        return by_number.get(leg.to, NO_ANSWER)
    return choose, asked


def _dial(answer):
    dial = answer.root.find("Dial")
    return dial, [n.text for n in dial.iter("Number")] if dial is not None else []


def _events(db, sid, kind):
    call = call_by_sid(db, sid)
    return list(db.scalars(select(CallEvent).where(CallEvent.call_id == call.id,
                                                   CallEvent.kind == kind)))


def test_voicemail_picking_up_first_rings_the_cut_short_again_and_one_answers(crowded, twilio, db,
                                                                            clock):
    dial, numbers = _dial(_to_dial(twilio, "CAvm"))
    assert numbers == [ALICE, GRACE, CAROL] and dial.get("timeout") == "25"
    choose, asked = _choices({ALICE: VOICEMAIL})
    again = _player(twilio, "CAvm", clock).play(dial, choose)
    assert asked == [ALICE]  # Twilio hung grace and carol up the moment alice's voicemail answered
    dial, numbers = _dial(again)
    assert numbers == [GRACE, CAROL]
    assert dial.get("timeout") == "19"  # 25 s minus the 6 s they rang before the pick-up
    assert [c.tag for c in again.root] == ["Dial"]  # the caller hears the ringing go on, no words
    choose, asked = _choices({GRACE: ACCEPT})
    done = _player(twilio, "CAvm", clock).play(dial, choose)
    assert [c.tag for c in done.root] == ["Hangup"]
    call = call_by_sid(db, "CAvm")
    assert (call.outcome, call.answered_by) == ("answered", "grace")
    event, = _events(db, "CAvm", "rung_again")
    assert event.detail["people"] == ["grace", "carol"] and event.detail["cut_by"] == "alice"
    assert event.detail["text"] == ("rung again: Grace Lee, Carol Jones "
                                    "(cut short when Alice Smith's voicemail picked up)")


def test_first_responder_declines_and_the_other_still_answers(crowded, twilio, db, clock):
    dial, _ = _dial(_to_dial(twilio, "CAdec"))
    again = _player(twilio, "CAdec", clock).play(dial, _choices({ALICE: DECLINE})[0])
    dial, numbers = _dial(again)
    assert numbers == [GRACE, CAROL]
    _player(twilio, "CAdec", clock).play(dial, _choices({CAROL: ACCEPT})[0])
    assert call_by_sid(db, "CAdec").answered_by == "carol"
    event, = _events(db, "CAdec", "rung_again")
    assert event.detail["how"] == "declined"
    assert "cut short when Alice Smith picked up and declined" in event.detail["text"]


def test_the_lenient_play_lets_the_others_ring_on(crowded, twilio, db, clock):
    dial, _ = _dial(_to_dial(twilio, "CAlen"))
    choose, asked = _choices({ALICE: DECLINE, GRACE: ACCEPT})
    _player(twilio, "CAlen", clock, strict=False).play(dial, choose)
    assert asked == [ALICE, GRACE] and call_by_sid(db, "CAlen").answered_by == "grace"
    assert not _events(db, "CAlen", "rung_again")


def test_rung_again_once_only_then_the_next_step(crowded, twilio, db, clock):
    dial, _ = _dial(_to_dial(twilio, "CAonce"))
    again = _player(twilio, "CAonce", clock).play(dial, _choices({ALICE: VOICEMAIL})[0])
    dial, _ = _dial(again)
    # in the ring-again grace's voicemail picks up and cuts carol short a second time
    next_step = _player(twilio, "CAonce", clock).play(dial, _choices({GRACE: VOICEMAIL})[0])
    assert _dial(next_step)[1] == [BORIS]
    assert len(_events(db, "CAonce", "rung_again")) == 1
    rung = {}
    for leg in call_by_sid(db, "CAonce").legs:
        if leg.step == 1:
            rung.setdefault(leg.person_id, []).append(leg)
    assert len(rung["carol"]) == 2  # rung twice, never longer than the step's 25 s in all


def test_who_declined_rang_out_or_was_busy_is_not_rung_again(crowded, twilio, db, clock):
    dial, _ = _dial(_to_dial(twilio, "CAout"))
    legs = {(n.text or "").strip(): n for n in dial.iter("Number")}
    # carol's phone is busy; grace's callback says no-answer; then alice picks up and declines
    twilio.post(legs[CAROL].get("statusCallback"),
                leg_params("CAout", "CLc", HOTLINE, CAROL, CallStatus="busy", SequenceNumber="1"))
    twilio.post(legs[GRACE].get("statusCallback"),
                leg_params("CAout", "CLg", HOTLINE, GRACE, CallStatus="no-answer", SequenceNumber="2"))
    clock.wait(6)
    whisper = twilio.post(legs[ALICE].get("url"), leg_params("CAout", "CLa", HOTLINE, ALICE))
    twilio.post(whisper.root.find("Gather").get("action"),
                leg_params("CAout", "CLa", HOTLINE, ALICE, Digits="9"))
    answer = twilio.post(dial.get("action"), params("CAout", DialCallStatus="no-answer",
                                                    CallStatus="in-progress"))
    assert _dial(answer)[1] == [BORIS]
    assert not _events(db, "CAout", "rung_again")


def test_cut_short_legs_whose_callbacks_never_came_are_rung_again(crowded, twilio, db, clock):
    """Worst case the docs allow: no leg callback at all before the <Dial> action."""
    dial, _ = _dial(_to_dial(twilio, "CAlate"))
    legs = {(n.text or "").strip(): n for n in dial.iter("Number")}
    clock.wait(10)
    whisper = twilio.post(legs[GRACE].get("url"), leg_params("CAlate", "CLg", HOTLINE, GRACE))
    clock.wait(8)  # grace's voicemail hears the whisper out and presses nothing
    twilio.post(whisper.root.find("Gather").get("action"), leg_params("CAlate", "CLg", HOTLINE, GRACE))
    answer = twilio.post(dial.get("action"), params("CAlate", DialCallStatus="no-answer",
                                                    CallStatus="in-progress"))
    dial, numbers = _dial(answer)
    assert numbers == [ALICE, CAROL] and dial.get("timeout") == "15"  # 25 - 10 s rung
    # a retried <Dial> action for the first dial changes nothing and rings the same again
    retry = twilio.post(twilio.latest["dial"].replace("group=-1", "group=0"),
                        params("CAlate", DialCallStatus="no-answer", CallStatus="in-progress"))
    assert _dial(retry)[1] == [ALICE, CAROL] and _dial(retry)[0].get("timeout") == "15"
    assert len(_events(db, "CAlate", "rung_again")) == 1


def test_too_little_ring_time_left_moves_on(crowded, twilio, db, clock):
    dial, _ = _dial(_to_dial(twilio, "CAlate2"))
    legs = {(n.text or "").strip(): n for n in dial.iter("Number")}
    clock.wait(22)  # a pick-up 22 s into a 25 s step leaves 3 s: not worth a ring
    whisper = twilio.post(legs[ALICE].get("url"), leg_params("CAlate2", "CLa", HOTLINE, ALICE))
    twilio.post(whisper.root.find("Gather").get("action"),
                leg_params("CAlate2", "CLa", HOTLINE, ALICE, Digits="9"))
    answer = twilio.post(dial.get("action"), params("CAlate2", DialCallStatus="no-answer",
                                                    CallStatus="in-progress"))
    assert _dial(answer)[1] == [BORIS]


def test_the_call_page_and_the_call_log_say_who_was_rung_again(crowded, twilio, db, clock):
    dial, _ = _dial(_to_dial(twilio, "CApage"))
    _player(twilio, "CApage", clock).play(dial, _choices({ALICE: VOICEMAIL})[0])
    words = "rung again: Grace Lee, Carol Jones (cut short when Alice Smith's voicemail picked up)"
    record = call_record(db, call_by_sid(db, "CApage"))
    assert any(e["kind"] == "rung_again" and e["detail"]["text"] == words for e in record["events"])
    reviewer = User(username="rev", password_hash=hash_secret("correct horse battery"),
                    role="reviewer")
    db.add(reviewer)
    db.commit()
    client = crowded.test_client()
    with client.session_transaction() as flask_session:
        flask_session["uid"] = reviewer.id
    page = client.get("/calls/CApage")
    assert page.status_code == 200
    assert words in html.unescape(page.get_data(as_text=True))


@pytest.mark.parametrize("strict", [True, False])
def test_simulate_plays_twilios_rule_unless_told_not_to(crowded, runner, db, strict):
    step = db.scalars(select(m.PolicyStep).order_by(m.PolicyStep.position)).first()
    step.rotas = []  # simulate rings at the real time: grace and carol only, whoever is on duty
    db.commit()
    crowded.extensions[CLOCK] = utcnow  # simulate runs its own clock
    flag = "--strict-pickup" if strict else "--no-strict-pickup"
    # PIN; grace's voicemail picks up (strict: carol is hung up, then rung again) or grace
    # declines (lenient: carol rings on); carol accepts; they talk 20 s
    keys = ["2468", "v", "a", "20"] if strict else ["2468", "d", "a", "20"]
    result = runner.invoke(args=["simulate", "--from", "+1 202 555 0150", flag],
                           input="\n".join(keys) + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert ("[Carol Jones (+44 20 7946 0018): hung up by Twilio, another phone picked up first]"
            in out) == strict
    assert ("rung_again" in out) == strict
    header = next(line for line in out.splitlines() if line.startswith("call CA"))
    assert header.endswith("  answered")
    assert next(line for line in out.splitlines() if "answered_by " in line).split() == [
        "answered_by", "carol"]
