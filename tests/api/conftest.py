"""API fixtures: a token per role, and a checker that validates answers against the OpenAPI doc."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator

from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.models.web import ApiToken, User
from voiceline.passwords import hash_secret


@pytest.fixture
def token(demo, session):
    """token(role, username=None) -> headers with a fresh Bearer token of a new user in that role."""
    made = {}

    def make(role: str, username: str | None = None) -> dict[str, str]:
        username = username or f"api-{role.replace('_', '-')}"
        if username not in made:
            user = User(username=username, password_hash=hash_secret("x" * 12), role=role)
            session.add(user)
            session.flush()
            raw = secrets.token_urlsafe(32)
            session.add(ApiToken(user_id=user.id, token_hash=hashlib.sha256(raw.encode()).hexdigest(),
                                 name="test"))
            session.commit()
            made[username] = {"Authorization": f"Bearer {raw}"}
        return made[username]
    return make


@pytest.fixture
def openapi(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def conforms(openapi):
    """conforms(response, path, method) asserts the JSON answer matches the documented schema."""
    def check(response, path: str, method: str = "get"):
        op = openapi["paths"][path][method]
        documented = op["responses"][str(response.status_code)]
        schema = documented["content"]["application/json"]["schema"]
        root = {**schema, "components": openapi["components"]}
        errors = sorted(Draft202012Validator(root).iter_errors(response.get_json()), key=str)
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
        return response.get_json()
    return check


T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def some_calls(demo, session):
    """Three calls: answered by grace after alice declined, a voicemail, a missed duress call."""
    for n, outcome in enumerate(("answered", "voicemail", "missed")):
        start = T0 + timedelta(minutes=n)
        call = Call(sid=f"CA{n:032d}", hotline_id="liaison", to_number="+12025550100",
                    from_number="+12025550150", caller_id="watch-officer", verified=True,
                    priority=1 if n == 2 else 2, duress=n == 2, state="done", started_at=start,
                    answered_at=start + timedelta(seconds=9) if outcome == "answered" else None,
                    answered_by="grace" if outcome == "answered" else None, outcome=outcome,
                    ended_at=start + timedelta(seconds=60), duration_seconds=60,
                    recording_url="https://api.twilio.com/x/Recordings/RE1" if n == 1 else None)
        call.legs.append(CallLeg(person_id="alice", number="+12025550101", step=1, status="completed",
                                 screen="declined", started_at=start + timedelta(seconds=1)))
        call.events.append(CallEvent(at=start, kind="pin_ok", detail={"digits": "1234"}))
        session.add(call)
    session.commit()
    return session


@pytest.fixture(autouse=True)
def every_status_is_documented(app):
    """After each API test: every status an /api/v1 route answered is in its OpenAPI operation."""
    from flask import request, request_finished

    from voiceline.api.base import api
    from voiceline.api.spec import PREFIX, openapi, path_of

    seen: set[tuple[str, str, int]] = set()

    def record(sender, response, **extra):
        rule = request.url_rule
        if rule is not None and rule.rule.startswith(PREFIX) and request.method not in ("HEAD", "OPTIONS"):
            seen.add((path_of(rule.rule), request.method.lower(), response.status_code))

    request_finished.connect(record, app)
    yield
    request_finished.disconnect(record, app)
    with app.app_context():
        paths = openapi(app, api, version="test")["paths"]
    undocumented = sorted((path, method, status) for path, method, status in seen
                          if str(status) not in paths[path][method]["responses"])
    assert not undocumented, f"answered but not in the OpenAPI document: {undocumented}"
