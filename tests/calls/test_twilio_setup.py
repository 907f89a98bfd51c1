"""`voiceline twilio check`, /healthz's setup checks and `voiceline twilio fallback-twiml`."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from voiceline.extensions import STARTED
from voiceline.jobs.tick import run_tick

FALLBACK = "+12025550109"


def _checks(client):
    body = client.get("/healthz").get_json()
    return body, {p["check"] for p in body.get("problems", [])}


@pytest.fixture
def healthy(demo):
    demo.config["FALLBACK_NUMBERS"] = [FALLBACK]
    run_tick(demo, datetime.now(UTC))
    return demo


def test_a_complete_setup_is_healthy(healthy, runner):
    response = healthy.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["ok"] is True
    result = runner.invoke(args=["twilio", "check"])
    assert result.exit_code == 0, result.output
    assert "ok       public_url" in result.output and "PROBLEM" not in result.output


@pytest.mark.parametrize("key, value, check", [
    ("PUBLIC_URL", None, "public_url"), ("TWILIO_AUTH_TOKEN", None, "auth_token"),
    ("FALLBACK_NUMBERS", [], "fallback_numbers"),
    ("FALLBACK_NUMBERS", [FALLBACK, "not a number"], "fallback_numbers"),
    ("FALLBACK_NUMBERS", [f"+1202555{n:04d}" for n in range(101, 112)], "fallback_numbers"),
    ("CONNECTION_OVERRIDES", "ct=50", "connection_overrides")])
def test_each_misconfiguration_makes_healthz_fail_with_its_reason(healthy, runner, key, value, check):
    healthy.config[key] = value
    response = healthy.test_client().get("/healthz")
    body, checks = _checks(healthy.test_client())
    assert response.status_code == 503 and body["ok"] is False and checks == {check}
    result = runner.invoke(args=["twilio", "check"])
    assert result.exit_code == 1
    assert f"PROBLEM  {check}:" in result.output


def test_a_scheduler_that_never_ticked_is_a_problem(demo, runner):
    demo.config["FALLBACK_NUMBERS"] = [FALLBACK]
    demo.extensions[STARTED] = time.monotonic() - 90  # up past the scheduler's first minute
    body, checks = _checks(demo.test_client())
    assert body["ok"] is False and checks == {"scheduler"}
    assert "never ticked" in body["scheduler"]["warning"]
    assert "PROBLEM  scheduler:" in runner.invoke(args=["twilio", "check"]).output


def test_twilio_check_gives_no_start_grace(demo, runner):
    """/healthz of a server started a moment ago waits a minute for the scheduler's first tick;
    `voiceline twilio check` is no server: it names a scheduler that never ticked at once."""
    demo.config["FALLBACK_NUMBERS"] = [FALLBACK]
    body, checks = _checks(demo.test_client())
    assert body["ok"] is True and checks == set()
    result = runner.invoke(args=["twilio", "check"])
    assert result.exit_code == 1 and "PROBLEM  scheduler:" in result.output


def test_too_many_or_invalid_fallback_numbers_are_named(healthy):
    healthy.config["FALLBACK_NUMBERS"] = [FALLBACK, "12"]
    body, _ = _checks(healthy.test_client())
    assert any("'12'" in p["problem"] for p in body["problems"])


def _doc(runner, *args):
    result = runner.invoke(args=["twilio", "fallback-twiml", *args])
    assert result.exit_code == 0, result.output
    xml = result.stdout if hasattr(result, "stdout") else result.output
    return ET.fromstring(xml[xml.index("<?xml"):])


def test_fallback_twiml_apologises_in_the_hotlines_languages_dials_screened_and_records(demo, runner):
    demo.config["FALLBACK_NUMBERS"] = [FALLBACK, "+44 20 7946 0999"]
    root = _doc(runner, "--hotline", "+12025550100", "--screen-url", "https://static.example.net/screen.xml",
                "--done-url", "https://static.example.net/done.xml")
    assert [el.tag for el in root] == ["Say", "Say", "Dial", "Say", "Say", "Record", "Hangup"]
    says = root.findall("Say")
    assert [(s.get("language"), s.get("voice")) for s in says[:2]] == [
        ("en-US", "Polly.Joanna"), ("ru-RU", "Polly.Tatyana")]
    dial = root.find("Dial")
    assert dial.get("action") is None and dial.get("callerId") == "+12025550100"
    assert [(n.text, n.get("url")) for n in dial.findall("Number")] == [
        (FALLBACK, "https://static.example.net/screen.xml"),
        ("+442079460999", "https://static.example.net/screen.xml")]
    assert root.find("Record").get("action") == "https://static.example.net/done.xml"


def test_the_static_screening_hangs_up_on_silence_and_connects_on_a_key(demo, runner):
    root = _doc(runner, "--hotline", "+12025550100", "--screening",
                "--screen-answer-url", "https://static.example.net/answer.xml")
    gather = root.find("Gather")
    assert gather.get("action") == "https://static.example.net/answer.xml"
    assert gather.get("actionOnEmptyResult") is None and gather.get("numDigits") == "1"
    assert [el.tag for el in root] == ["Gather", "Hangup"]
    assert [el.tag for el in _doc(runner, "--hotline", "+12025550100", "--screen-answer")] == ["Say", "Say"]
    done = _doc(runner, "--hotline", "+12025550100", "--done")
    assert [el.tag for el in done] == ["Say", "Say", "Hangup"]
    assert "notified" not in done[0].text  # nothing can be notified while the host is down
