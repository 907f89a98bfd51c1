"""Every URL voiceline hands Twilio carries the connection-override fragment; signatures still pass."""

from __future__ import annotations

import pytest

from voiceline.config import load_settings

from .conftest import params

FRAGMENT = "#ct=2000&rt=10000&rc=2"
URL_ATTRIBUTES = ("action", "url", "statusCallback", "recordingStatusCallback")


def _urls(root):
    return [(el.tag, name, el.get(name)) for el in root.iter() for name in URL_ATTRIBUTES
            if el.get(name)]


def test_every_url_of_a_call_carries_the_default_fragment(hotline, twilio):
    seen = []
    answer = twilio.post("/voice/incoming", params("CAfrag"))
    seen += _urls(answer.root)
    answer = twilio.post(twilio.follow("gather"), params("CAfrag", Digits="2468"))  # Twilio drops it
    seen += _urls(answer.root)
    if answer.root.find("Dial") is None:  # the priority question
        answer = twilio.post(twilio.follow("gather"), params("CAfrag", Digits="1"))
        seen += _urls(answer.root)
    assert answer.status == 200 and answer.root.find("Dial") is not None
    answer = twilio.post(twilio.follow("dial"), params("CAfrag", DialCallStatus="no-answer"))
    seen += _urls(answer.root)
    tags = {(tag, name) for tag, name, _ in seen}
    assert {("Gather", "action"), ("Dial", "action"), ("Number", "url"),
            ("Number", "statusCallback")} <= tags
    assert [u for _, _, u in seen if not u.endswith(FRAGMENT)] == []


def test_the_fallback_answer_carries_it_too(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = []
    answer = twilio.post("/voice/fallback", params("CAfragfb"))
    record = answer.root.find("Record")
    assert record.get("action").endswith(FRAGMENT)
    assert record.get("recordingStatusCallback").endswith(FRAGMENT)


def test_overrides_can_be_changed_or_turned_off(hotline, twilio):
    hotline.config["CONNECTION_OVERRIDES"] = "ct=1000&rc=1"
    answer = twilio.post("/voice/incoming", params("CAfrag2"))
    assert answer.root.find("Gather").get("action").endswith("/voice/pin?attempt=1#ct=1000&rc=1")
    hotline.config["CONNECTION_OVERRIDES"] = ""
    answer = twilio.post("/voice/incoming", params("CAfrag3"))
    assert "#" not in answer.root.find("Gather").get("action")


@pytest.mark.parametrize("text, expected", [
    ("ct=2000&rt=10000&rc=2", "ct=2000&rt=10000&rc=2"), ("#ct=100&tt=15000&rc=0", "ct=100&tt=15000&rc=0"),
    ("off", ""), ("rc=5&e=ashburn&sni=y&rp=ct,rt", "rc=5&e=ashburn&sni=y&rp=ct,rt")])
def test_overrides_setting_accepts_values_within_twilios_limits(text, expected):
    config = load_settings({"VOICELINE_TWILIO_CONNECTION_OVERRIDES": text})
    assert config["CONNECTION_OVERRIDES"] == expected


@pytest.mark.parametrize("text", ["ct=99", "ct=10001", "rt=15001", "tt=0", "rc=6", "rc=-1",
                                  "ct=fast", "xx=1", "ct", "ct=2000&&rc=1"])
def test_overrides_outside_twilios_limits_stop_startup(text):
    with pytest.raises(ValueError, match="VOICELINE_TWILIO_CONNECTION_OVERRIDES"):
        load_settings({"VOICELINE_TWILIO_CONNECTION_OVERRIDES": text})


def test_the_default_is_within_the_limits():
    assert load_settings({})["CONNECTION_OVERRIDES"] == FRAGMENT[1:]


@pytest.mark.parametrize("text", ["+12025550109,notanumber", "2025550109",
                                  ",".join(f"+1202555{n:04d}" for n in range(101, 112))])
def test_bad_fallback_numbers_stop_startup(text):
    with pytest.raises(ValueError, match="VOICELINE_FALLBACK_NUMBERS"):
        load_settings({"VOICELINE_FALLBACK_NUMBERS": text})


def test_fallback_numbers_are_normalised_at_startup():
    config = load_settings({"VOICELINE_FALLBACK_NUMBERS": "+1 202 555 0109, +44 20 7946 0999"})
    assert config["FALLBACK_NUMBERS"] == ["+12025550109", "+442079460999"]
