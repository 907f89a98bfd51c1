"""The error-path dial is screened: a fallback number's voicemail cannot take the call, and the
screening needs no database."""

from __future__ import annotations

from sqlalchemy import text

from voiceline import appdb
from voiceline.calls.twilio_side import leg_params

from .conftest import HOTLINE, params

FALLBACK = "+12025550109"


def _numbers(answer):
    dial = answer.root.find("Dial")
    assert dial is not None, answer.text
    return dial, dial.findall("Number")


def test_the_database_failing_dials_the_fallback_numbers_screened(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    twilio.post("/voice/incoming", params("CAfbs"))
    with appdb.engine(hotline).begin() as conn:
        conn.execute(text("DROP TABLE call_events"))
    answer = twilio.post(twilio.follow("gather"), params("CAfbs", Digits="2468"))
    dial, numbers = _numbers(answer)
    assert [n.text for n in numbers] == [FALLBACK]
    assert numbers[0].get("url").startswith("https://hotline.example.org/voice/fallback/screen#")
    assert dial.get("answerOnBridge") == "true"


def test_the_fallback_screening_works_without_any_database(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    hotline.config["DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    _, numbers = _numbers(twilio.post("/voice/fallback", params("CAfbs2")))
    leg = leg_params("CAfbs2", "CAfbsleg", HOTLINE, FALLBACK)
    whisper = twilio.post(numbers[0].get("url"), leg)
    gather = whisper.root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert [s.get("language") for s in gather.findall("Say")][:2] == ["en-US", "ru-RU"]
    assert "technical problem" in gather.find("Say").text
    assert whisper.root[-1].tag == "Hangup"  # silence (a voicemail box) hangs up this leg
    accepted = twilio.post(gather.get("action"), {**leg, "Digits": "1"})
    assert [el.tag for el in accepted.root] == ["Say"]  # the TwiML ends: the legs are bridged
    declined = twilio.post(gather.get("action"), {**leg, "Digits": "7"})
    assert [el.tag for el in declined.root] == ["Hangup"]


def test_a_declined_fallback_dial_takes_a_message(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    answer = twilio.post("/voice/fallback/done",
                         params("CAfbs3", DialCallStatus="completed", DialBridged="false"))
    assert answer.root.find("Record") is not None
    answer = twilio.post("/voice/fallback/done",
                         params("CAfbs4", DialCallStatus="completed", DialBridged="true"))
    assert [el.tag for el in answer.root] == ["Hangup"]
