"""The outbox sender against a fake Twilio REST transport: retries, failures, held messages."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from voiceline import appdb
from voiceline.jobs.messages import queue
from voiceline.jobs.settings import JobSettings
from voiceline.outbox.sender import backoff, send_due


@pytest.fixture
def settings(rota, h):
    return JobSettings.from_config({**rota.config, "TWILIO_ACCOUNT_SID": h.ACCOUNT_SID})


@pytest.fixture
def put(rota):
    """put(key, at, kind=..., **kw): queue one message as of `at`."""
    def add(key, at, kind="sms", recipient="+12025550111", body="hello", **kw):
        with appdb.session_factory(rota)() as session:
            message, _ = queue(session, key=key, kind=kind, recipient=recipient, body=body,
                               purpose="test", at=at, **kw)
            session.commit()
            return message.id
    return add


def send(rota, settings, at, http_client):
    return send_due(appdb.session_factory(rota), settings, at, http_client=http_client)


def twilio_error(status, code, message):
    return (status, {"code": code, "message": message, "status": status,
                     "more_info": f"https://www.twilio.com/docs/errors/{code}"})


def test_sms_goes_through_the_rest_api_with_the_hotline_number_as_sender(rota, settings, put, h,
                                                                         fake_twilio):
    at = h.utc("2026-03-05T14:00")
    put("k1", at, body="voiceline: on duty")
    counts = send(rota, settings, at, fake_twilio)
    assert counts["sent"] == 1
    [request] = fake_twilio.requests
    assert request["method"] == "POST"
    assert request["path"] == f"/2010-04-01/Accounts/{h.ACCOUNT_SID}/Messages.json"
    assert request["data"] == {"To": "+12025550111", "From": "+12025550100",
                               "Body": "voiceline: on duty"}
    [msg] = h.outbox(rota)
    assert (msg.status, msg.attempts, msg.sent_at, msg.last_error) == ("sent", 1, at, None)
    assert msg.provider_sid.startswith("SM")


def test_a_call_carries_its_twiml_and_the_configured_caller_id(rota, settings, put, h, fake_twilio):
    at = h.utc("2026-03-05T14:00")
    twiml = "<Response><Pause length='5'/><Hangup/></Response>"
    put("c1", at, kind="call", recipient="+12025550100", body=twiml, meta={"from": "+12025550199"})
    send(rota, settings, at, fake_twilio)
    [data] = fake_twilio.sent("Calls")
    assert data == {"To": "+12025550100", "From": "+12025550199", "Twiml": twiml}
    assert h.outbox(rota)[0].provider_sid.startswith("CA")


def test_messaging_service_sender(rota, settings, put, h, fake_twilio):
    from dataclasses import replace

    put("k1", h.utc("2026-03-05T14:00"))
    send(rota, replace(settings, sms_from="MG" + "1" * 32), h.utc("2026-03-05T14:00"), fake_twilio)
    assert fake_twilio.sent()[0]["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in fake_twilio.sent()[0]


def test_rest_failure_then_recovery_retries_with_backoff(rota, settings, put, h, fake_twilio):
    at = h.utc("2026-03-05T14:00")
    put("k1", at)
    fake_twilio.script = [twilio_error(503, 20503, "Service unavailable"),
                          ConnectionError("connection reset by peer")]
    assert send(rota, settings, at, fake_twilio)["retry"] == 1
    [msg] = h.outbox(rota)
    assert (msg.status, msg.attempts) == ("pending", 1)
    assert msg.last_error == "Twilio 20503: Unable to create record: Service unavailable"
    assert msg.next_attempt_at == at + timedelta(seconds=30)

    assert send(rota, settings, at + timedelta(seconds=29), fake_twilio)["retry"] == 0
    assert len(fake_twilio.requests) == 1  # not due yet: no request
    send(rota, settings, at + timedelta(seconds=30), fake_twilio)  # the network fails this time
    [msg] = h.outbox(rota)
    assert (msg.status, msg.attempts) == ("pending", 2)
    assert msg.last_error == "ConnectionError: connection reset by peer"
    assert msg.next_attempt_at == at + timedelta(seconds=90)

    counts = send(rota, settings, at + timedelta(seconds=90), fake_twilio)  # Twilio is back
    assert counts["sent"] == 1
    [msg] = h.outbox(rota)
    assert (msg.status, msg.attempts, msg.last_error) == ("sent", 3, None)
    assert len(fake_twilio.sent()) == 3


def test_an_invalid_recipient_fails_at_once_with_twilios_error(rota, settings, put, h, fake_twilio):
    at = h.utc("2026-03-05T14:00")
    put("k1", at, recipient="+15005550001")
    fake_twilio.script = [twilio_error(400, 21211, "The 'To' number +15005550001 is not a valid phone number.")]
    assert send(rota, settings, at, fake_twilio)["failed"] == 1
    [msg] = h.outbox(rota)
    assert (msg.status, msg.attempts) == ("failed", 1)
    assert msg.last_error == "Twilio 21211: Unable to create record: The 'To' number +15005550001 is not a valid phone number."
    send(rota, settings, at + timedelta(hours=1), fake_twilio)
    assert len(fake_twilio.requests) == 1


def test_attempts_are_capped(rota, settings, put, h, fake_twilio):
    from dataclasses import replace

    settings = replace(settings, max_attempts=3)
    at = h.utc("2026-03-05T14:00")
    put("k1", at)
    fake_twilio.script = [twilio_error(500, 20500, "Internal error")] * 5
    for step in range(4):
        send(rota, settings, at + timedelta(hours=step), fake_twilio)
    [msg] = h.outbox(rota)
    assert (msg.status, msg.attempts) == ("failed", 3)
    assert len(fake_twilio.requests) == 3


def test_backoff_doubles_to_a_cap():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 7, 20)] == [30, 60, 120, 240, 1800, 1800]


def test_without_credentials_messages_are_held_then_go_out(rota, settings, put, h, fake_twilio, runner):
    from dataclasses import replace

    at = h.utc("2026-03-05T14:00")
    put("k1", at)
    put("k2", at, kind="call", body="<Response/>")
    counts = send(rota, replace(settings, account_sid=None), at, fake_twilio)
    assert counts["held"] == 2
    assert [m.status for m in h.outbox(rota)] == ["held", "held"]
    assert fake_twilio.requests == []
    shown = json.loads(runner.invoke(args=["outbox", "--json", "--status", "held"]).output)
    assert [(x["key"], x["status"], x["attempts"]) for x in shown] == [("k2", "held", 0),
                                                                      ("k1", "held", 0)]
    assert "credentials" in shown[0]["last_error"]
    counts = send(rota, settings, at + timedelta(days=2), fake_twilio)  # credentials configured
    assert counts["sent"] == 2
    assert [m.status for m in h.outbox(rota)] == ["sent", "sent"]


def test_an_expired_message_is_not_sent(rota, settings, put, h, fake_twilio):
    at = h.utc("2026-03-05T14:00")
    put("k1", at, expires_at=at + timedelta(minutes=15))
    send(rota, settings, at + timedelta(minutes=15), fake_twilio)
    [msg] = h.outbox(rota)
    assert (msg.status, msg.last_error) == ("failed", "expired before it could be sent")
    assert fake_twilio.requests == []


def test_a_message_interrupted_while_sending_is_retried(rota, settings, put, h, fake_twilio):
    at = h.utc("2026-03-05T14:00")
    message_id = put("k1", at)
    with appdb.session_factory(rota)() as session:  # a sender died after claiming it
        from voiceline import models as m

        msg = session.get(m.OutboxMessage, message_id)
        msg.status, msg.attempts, msg.next_attempt_at = "sending", 1, at + timedelta(minutes=5)
        session.commit()
    assert send(rota, settings, at + timedelta(minutes=1), fake_twilio)["released"] == 0
    counts = send(rota, settings, at + timedelta(minutes=6), fake_twilio)
    assert (counts["released"], counts["sent"]) == (1, 1)
    assert h.outbox(rota)[0].attempts == 2


def test_two_senders_at_once_send_each_message_once(rota, settings, put, h, fake_twilio):
    at = h.utc("2026-03-05T14:00")
    for n in range(20):
        put(f"k{n}", at, recipient=f"+120255501{n:02d}")
    barrier = threading.Barrier(2)
    lock = threading.Lock()

    class SlowFake(type(fake_twilio)):
        def request(self, *args, **kwargs):
            with lock:
                return super().request(*args, **kwargs)

    shared = SlowFake()

    def worker():
        barrier.wait()
        send(rota, settings, at, shared)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(d["To"] for d in shared.sent()) == sorted(f"+120255501{n:02d}" for n in range(20))
    assert {m.status for m in h.outbox(rota)} == {"sent"}


def test_outbox_command_lists_messages_and_filters(rota, put, h, runner):
    put("k1", h.utc("2026-03-05T14:00"), body="first line\nsecond")
    result = runner.invoke(args=["outbox"])
    assert result.exit_code == 0, result.output
    assert "outbox: 1 pending, 0 held, 0 sending, 0 sent, 0 failed" in result.output
    assert "first line" in result.output and "second" not in result.output
    assert "the scheduler has not ticked yet" in result.output
    assert json.loads(runner.invoke(args=["outbox", "--json", "--status", "sent"]).output) == []
    assert runner.invoke(args=["outbox", "--status", "bogus"]).exit_code == 2
    assert runner.invoke(args=["scheduler", "--once", "--at", "2026-03-05T14:01:00Z"]).exit_code == 0
    assert "(as of 2026-03-05T14:01:00Z)" in runner.invoke(args=["outbox"]).output


def test_a_sender_that_loses_the_race_does_not_overwrite_the_winners_result(
        rota, settings, put, h, fake_twilio, monkeypatch):
    from voiceline.outbox import sender

    at = h.utc("2026-03-05T14:00")
    put("k1", at, expires_at=at + timedelta(minutes=15))
    real_expired = sender._expired
    calls = []

    def racing_expired(message, when):
        if not calls:  # this sender read the row; another one sends it meanwhile
            calls.append(when)
            assert send(rota, settings, at, fake_twilio)["sent"] == 1
        return real_expired(message, when)

    monkeypatch.setattr(sender, "_expired", racing_expired)
    counts = send(rota, settings, at + timedelta(minutes=20), fake_twilio)
    [msg] = h.outbox(rota)
    assert (msg.status, msg.last_error) == ("sent", None)
    assert counts["skipped"] == 1 and len(fake_twilio.sent()) == 1


def test_refused_credentials_hold_messages_and_pause_sending(rota, settings, put, h, fake_twilio):
    """A wrong auth token is the operator's to mend: nothing fails for good, Twilio is not hammered."""
    at = h.utc("2026-03-05T14:00")
    put("k1", at)
    put("k2", at)
    fake_twilio.script = [twilio_error(401, 20003, "Authentication Error - invalid username")]
    counts = send(rota, settings, at, fake_twilio)
    assert counts["refused"] == 1 and len(fake_twilio.requests) == 1
    messages = {msg.key: msg for msg in h.outbox(rota)}
    assert (messages["k1"].status, messages["k1"].attempts) == ("held", 0)
    assert "refused the credentials" in messages["k1"].last_error
    assert messages["k2"].status == "pending"
    send(rota, settings, at + timedelta(minutes=5), fake_twilio)  # paused: no request
    assert len(fake_twilio.requests) == 1
    counts = send(rota, settings, at + timedelta(minutes=11), fake_twilio)  # mended
    assert counts["sent"] == 2
    assert {msg.status for msg in h.outbox(rota)} == {"sent"}
