"""Clock-work fixtures: a fake Twilio REST transport, the test rota, ticks at explicit instants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from sqlalchemy import select
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from voiceline import appdb
from voiceline import models as m
from voiceline.jobs.tick import run_tick

HERE = Path(__file__).resolve().parent
AUTH_TOKEN = "test-auth-token"  # tests/conftest.py's token
PUBLIC_URL = "https://hotline.example.org"
ACCOUNT_SID = "AC" + "0" * 32


def utc(text: str) -> datetime:
    """An aware UTC instant from "2026-03-05T14:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class FakeTwilio(HttpClient):
    """Twilio's REST API without a network: records requests, answers from a script."""

    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict] | Exception] = []  # consumed first; then success
        self.count = 0

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.count += 1
        path = urlparse(uri).path
        self.requests.append({"method": method, "path": path, "data": dict(data or {})})
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            status, body = answer
            return Response(status, json.dumps(body))
        prefix = "CA" if path.endswith("/Calls.json") else "SM"
        sid = f"{prefix}{self.count:032d}"
        return Response(201, json.dumps({"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID}))

    def sent(self, kind: str = "Messages") -> list[dict]:
        """The data of each successful-looking request to Messages.json or Calls.json."""
        return [r["data"] for r in self.requests if r["path"].endswith(f"/{kind}.json")]


@pytest.fixture
def fake_twilio():
    return FakeTwilio()


@pytest.fixture
def app_config(app_config, fake_twilio):
    """Credentials present and the fake transport injected; tests drop them where needed."""
    return {**app_config, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_HTTP_CLIENT": fake_twilio,
            "LINETEST_FROM": None}


@pytest.fixture
def rota(app, runner):
    """The app with tests/jobs/rota.yaml imported."""
    result = runner.invoke(args=["import", str(HERE / "rota.yaml")])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def tick(rota):
    """tick("2026-03-05T14:00") runs one scheduler tick as of that UTC instant."""
    def run(when: str | datetime, app=None):
        at = utc(when) if isinstance(when, str) else when
        report = run_tick(app or rota, at)
        assert report.errors == [], report.errors
        return report
    return run


@pytest.fixture
def db(rota):
    """A session factory reader: db(fn) runs fn(session) in a fresh session."""
    def read(fn):
        with appdb.session_factory(rota)() as session:
            return fn(session)
    return read


def _outbox(app, **where) -> list[m.OutboxMessage]:
    with appdb.session_factory(app)() as session:
        query = select(m.OutboxMessage).order_by(m.OutboxMessage.id)
        for column, value in where.items():
            query = query.where(getattr(m.OutboxMessage, column) == value)
        return list(session.scalars(query))


def _signed_post(client, path: str, params: dict, token: str = AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def h():
    """Helpers (test modules cannot import conftest): utc, outbox rows, signed webhook posts."""
    return SimpleNamespace(utc=utc, outbox=_outbox, signed_post=_signed_post,
                           FakeTwilio=FakeTwilio, ACCOUNT_SID=ACCOUNT_SID, PUBLIC_URL=PUBLIC_URL)
