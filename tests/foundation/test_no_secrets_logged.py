"""A full run leaves no PIN, password, Twilio auth token or API token in any log line, on stderr
or in any audit row: calls with PINs (right, wrong, duress) through the in-process Twilio side,
logins (good and bad), API tokens (valid and not), Twilio credentials set, the outbox sender
through a fake Twilio transport, a scheduler tick."""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from twilio.http import HttpClient
from twilio.http.response import Response

from voiceline import appdb, passwords
from voiceline import models as m
from voiceline.calls.replay import in_process_twilio
from voiceline.calls.twilio_side import call_params
from voiceline.jobs.tick import run_tick

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "f00dfacecafe" + "d" * 20  # the Twilio auth token
PIN, DURESS, WRONG_PIN = "83571946", "61829374", "50727383"
PASSWORD, WRONG_PASSWORD = "Quiet-Harbour-Lantern-94", "Loud-Harbour-Lantern-49"
HOTLINE, WATCH, OPS = "+12025550100", "+12025550150", "+74950000001"
AT = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


class FakeTwilio(HttpClient):
    """Twilio's REST API without a network: every request succeeds."""

    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.requests: list[dict] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "path": urlparse(uri).path, "data": dict(data or {})})
        sid = f"SM{len(self.requests):032d}"
        return Response(201, json.dumps({"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID}))


@pytest.fixture
def fake_twilio():
    return FakeTwilio()


@pytest.fixture
def app_config(app_config, fake_twilio):
    return {**app_config, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_HTTP_CLIENT": fake_twilio, "CALLS_CLOCK": lambda: AT, "LOG_LEVEL": "DEBUG",
            "WTF_CSRF_ENABLED": False, "LINETEST_FROM": None}


def _run_everything(app, runner, fake_twilio) -> dict[str, str]:
    """Exercise every door that handles a secret; return the secrets that were used."""
    assert runner.invoke(args=["import", str(FIXTURES / "demo.yaml")]).exit_code == 0
    for caller in ("watch-officer", "ops-desk"):
        result = runner.invoke(args=["callers", "set-pin", caller], input=f"{PIN}\n{PIN}\n")
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["callers", "set-pin", "--duress", caller],
                               input=f"{DURESS}\n{DURESS}\n")
        assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "add", "rita", "--role", "admin"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "token", "rita", "--name", "script"])
    assert result.exit_code == 0, result.output
    api_token = result.output.strip().splitlines()[-1]

    client = app.test_client()
    assert client.post("/login", data={"username": "rita", "password": WRONG_PASSWORD}).status_code == 200
    assert client.post("/login", data={"username": "rita", "password": PASSWORD}).status_code == 302
    assert client.get("/calls").status_code == 200
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    wrong = api_token[::-1]
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401

    twilio = in_process_twilio(app)
    for sid, number, digits in (("CAlogs1", WATCH, (WRONG_PIN, PIN)), ("CAlogs2", OPS, (DURESS,)),
                                ("CAlogs3", WATCH, (WRONG_PIN, WRONG_PIN, WRONG_PIN))):
        twilio.post("/voice/incoming", call_params(sid, number, HOTLINE))
        for entered in digits:
            answer = twilio.post(twilio.follow("gather"), call_params(
                sid, number, HOTLINE, Digits=entered, CallStatus="in-progress"))
            assert answer.status == 200
        twilio.post("/voice/status", call_params(sid, number, HOTLINE, CallStatus="completed",
                                                 CallDuration="20", SequenceNumber="3"))
    # A forged request (audited, never the token itself); steps that fail and are logged in full.
    twilio.post("/voice/incoming", call_params("CAforged", WATCH, HOTLINE, Digits=PIN), signature="bad")
    twilio.post("/voice/pin?attempt=1", call_params("CAnever", WATCH, HOTLINE, Digits=PIN))
    twilio.post("/voice/status", call_params("CAlogs1", WATCH, HOTLINE, Digits=PIN, CallStatus="x",
                                             SequenceNumber="9" * 30, Timestamp="garbage"))
    report = run_tick(app, AT)
    assert report.errors == []
    assert fake_twilio.requests, "the duress alert left through the fake Twilio transport"
    return {"PIN": PIN, "duress PIN": DURESS, "wrong PIN": WRONG_PIN, "password": PASSWORD,
            "wrong password": WRONG_PASSWORD, "auth token": AUTH_TOKEN, "API token": api_token,
            "wrong API token": wrong,
            "basic auth": base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}


def _audit_text(app) -> list[str]:
    with appdb.session_factory(app)() as session:
        return [json.dumps([e.actor, e.action, e.target, e.detail], ensure_ascii=False)
                for e in session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))]


def test_no_secret_in_any_log_record_stderr_or_audit_row(app, runner, caplog, capfd, monkeypatch,
                                                         fake_twilio):
    # Cheap argon2 parameters: this test is about what is written down, not about hashing cost.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))
    caplog.set_level(logging.DEBUG)
    secrets = _run_everything(app, runner, fake_twilio)
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            lines.append(record.stack_info)
    out, err = capfd.readouterr()
    audit_rows = _audit_text(app)
    assert len(caplog.records) >= 2 and any(r.exc_info for r in caplog.records) and len(audit_rows) > 5
    assert any(r.startswith('["cli", "api_token.create"') for r in audit_rows)
    found = [(name, where) for name, secret in secrets.items()
             for where, texts in (("log", lines), ("stderr", [err]), ("stdout", [out]),
                                  ("audit", audit_rows))
             if any(re.search(re.escape(secret), text) for text in texts)]
    assert found == []
