"""Line tests: a scheduled call into the hotline; it arrives (ok) or it does not (alert)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from voiceline.models.calls import Call
from voiceline.models.jobs import LineTest

TEST_FROM = "+12025550199"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "LINETEST_FROM": TEST_FROM, "LINETEST_INTERVAL_MINUTES": 60,
            "LINETEST_ALERT_MINUTES": 5}


def line_tests(db):
    return db(lambda s: list(s.scalars(select(LineTest).order_by(LineTest.scheduled_at))))


def arrive(db, h, when, sid="CA" + "1" * 32):
    """What /voice/incoming records for a recognised line test (the call area's contract)."""
    def write(session):
        session.add(Call(sid=sid, hotline_id="line", to_number="+12025550100", from_number=TEST_FROM,
                         is_test=True, outcome="answered", state="done", started_at=h.utc(when)))
        session.commit()
    db(write)


def alerts(h, app):
    return [x for x in h.outbox(app, purpose="linetest") if x.kind == "sms"]


def test_the_test_call_is_placed_from_the_configured_number(rota, tick, db, h, fake_twilio):
    tick("2026-03-05T10:00")
    tick("2026-03-05T10:01")
    [call] = fake_twilio.sent("Calls")
    assert (call["To"], call["From"]) == ("+12025550100", TEST_FROM)
    twiml = ET.fromstring(call["Twiml"])
    assert [(el.tag, el.attrib) for el in twiml] == [("Pause", {"length": "5"}), ("Hangup", {})]
    [test] = line_tests(db)
    assert (test.hotline_id, test.scheduled_at, test.placed_at, test.status) == (
        "line", h.utc("2026-03-05T10:00"), h.utc("2026-03-05T10:00"), "pending")


def test_a_test_that_arrives_is_ok(rota, tick, db, h, runner):
    tick("2026-03-05T10:00")
    arrive(db, h, "2026-03-05T10:00:07")
    tick("2026-03-05T10:01")
    [test] = line_tests(db)
    assert (test.status, test.arrived_at, test.call_sid) == ("ok", h.utc("2026-03-05T10:00:07"),
                                                              "CA" + "1" * 32)
    for minute in range(2, 10):
        tick(f"2026-03-05T10:{minute:02d}")
    assert alerts(h, rota) == []
    shown = json.loads(runner.invoke(args=["linetests", "--json"]).output)
    assert [(x["hotline"], x["status"], x["arrived_at"]) for x in shown] == [
        ("line", "ok", "2026-03-05T10:00:07Z")]
    text = runner.invoke(args=["linetests"]).output
    assert "2026-03-05T10:00:00Z line +12025550100 ok arrived after 7 s" in text


def test_a_test_that_does_not_arrive_alerts_the_managers(rota, tick, db, h):
    tick("2026-03-05T10:00")
    tick("2026-03-05T10:04")
    assert alerts(h, rota) == []
    tick("2026-03-05T10:05")
    tick("2026-03-05T10:06")
    [alert] = alerts(h, rota)
    assert alert.recipient == "+12025550119"
    assert alert.body == ("voiceline LINE TEST FAILED for hotline line (+12025550100): the test call "
                          "did not reach /voice/incoming within 5 minutes. Callers may not get through.")
    assert alert.status == "sent"
    [test] = line_tests(db)
    assert (test.status, test.alerted_at) == ("failed", h.utc("2026-03-05T10:05"))


def test_continued_failure_is_not_re_alerted_every_interval_and_recovery_is_told(rota, tick, db, h):
    for hour in (10, 11, 12):
        tick(f"2026-03-05T{hour}:00")
        tick(f"2026-03-05T{hour}:05")
    assert [t.status for t in line_tests(db)] == ["failed"] * 3
    assert len(alerts(h, rota)) == 1  # one alert while it stays broken (again after 24 h)
    tick("2026-03-05T13:00")
    arrive(db, h, "2026-03-05T13:00:05")
    tick("2026-03-05T13:01")
    assert [t.status for t in line_tests(db)][-1] == "ok"
    assert alerts(h, rota)[-1].body == "voiceline line test OK again for hotline line (+12025550100)."


def test_an_arrival_counts_for_one_test_only(rota, tick, db, h):
    tick("2026-03-05T10:00")
    arrive(db, h, "2026-03-05T10:00:05")
    tick("2026-03-05T10:01")
    tick("2026-03-05T11:00")  # next slot; the 10:00 call must not satisfy it
    tick("2026-03-05T11:05")
    assert [t.status for t in line_tests(db)] == ["ok", "failed"]


def test_a_refused_test_call_fails_at_once(rota, tick, db, h, fake_twilio):
    fake_twilio.script = [(400, {"code": 21215, "message": "Geo permission", "status": 400})]
    tick("2026-03-05T10:00")
    [test] = line_tests(db)
    assert test.status == "failed"
    assert "could not be placed (Twilio 21215" in alerts(h, rota)[0].body


def test_without_credentials_one_test_is_held_and_nothing_alerts(rota, tick, db, h, app, runner):
    app.config["TWILIO_ACCOUNT_SID"] = None
    for hour in range(10, 16):
        tick(f"2026-03-05T{hour}:00")
        tick(f"2026-03-05T{hour}:30")
    [test] = line_tests(db)
    assert test.status == "held"
    assert [x.status for x in h.outbox(rota, purpose="linetest")] == ["held"]
    assert "held" in runner.invoke(args=["linetests"]).output
    # credentials arrive much later: the stale test is not placed, a fresh one is
    app.config["TWILIO_ACCOUNT_SID"] = h.ACCOUNT_SID
    tick("2026-03-06T09:00")
    tick("2026-03-06T09:01")
    assert [t.status for t in line_tests(db)] == ["expired", "pending"]
    assert alerts(h, rota) == []


def test_line_tests_are_off_without_a_from_number(rota, tick, db, app):
    app.config["LINETEST_FROM"] = None
    tick("2026-03-05T10:00")
    assert line_tests(db) == []


def test_the_incoming_webhook_recognises_the_test_call(rota, tick, db, h, client):
    """End to end with the call area's /voice/incoming (instants before the webhook's own clock)."""
    tick("2025-06-01T10:00")
    response = h.signed_post(client, "/voice/incoming", {
        "CallSid": "CA" + "9" * 32, "AccountSid": h.ACCOUNT_SID, "From": TEST_FROM,
        "To": "+12025550100", "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"})
    assert response.status_code == 200
    call = db(lambda s: s.scalar(select(Call).where(Call.sid == "CA" + "9" * 32)))
    if call is None or not call.is_test:
        pytest.skip("/voice/incoming does not record line tests yet (call area)")
    tick("2025-06-01T10:01")
    [test] = line_tests(db)
    assert (test.status, test.call_sid) == ("ok", "CA" + "9" * 32)
