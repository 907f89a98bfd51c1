"""Fixtures for the reviewer pages: call rows made directly, users logged in by session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.models.web import User
from voiceline.passwords import hash_secret

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def make_call(session, n: int, *, at: datetime | None = None, outcome: str | None = "answered",
              answered_after: float | None = 12.0, answered_by: str | None = "alice",
              hotline: str | None = "liaison", caller: str | None = "watch-officer",
              from_number: str = "+12025550150", priority: int | None = 2, duress: bool = False,
              is_test: bool = False, recording_url: str | None = None, legs=()) -> Call:
    """A finished call row (legs: (person, screen, status) tuples rung at start + 1 s)."""
    started = at or T0 + timedelta(minutes=n)
    answered_at = (started + timedelta(seconds=answered_after)
                   if outcome == "answered" and answered_after is not None else None)
    call = Call(sid=f"CA{n:032d}", hotline_id=hotline, to_number="+12025550100",
                from_number=from_number, caller_id=caller, verified=caller is not None,
                priority=priority, duress=duress, is_test=is_test, state="done",
                started_at=started, answered_at=answered_at,
                ended_at=started + timedelta(seconds=90), outcome=outcome,
                answered_by=answered_by if outcome == "answered" else None,
                duration_seconds=90, recording_url=recording_url,
                recording_sid="RE" + "1" * 32 if recording_url else None,
                recording_seconds=20 if recording_url else None)
    for i, (person, screen, status) in enumerate(legs):
        call.legs.append(CallLeg(person_id=person, number="+12025550101", step=1, round=0,
                                 status=status, screen=screen,
                                 started_at=started + timedelta(seconds=1 + i),
                                 answered_at=started + timedelta(seconds=5 + i) if screen else None,
                                 ended_at=started + timedelta(seconds=30)))
    call.events.append(CallEvent(at=started, kind="greeted", detail={"language": "en-US"}))
    call.events.append(CallEvent(at=started + timedelta(seconds=1), kind="step_rang", step=1,
                                 detail={"pin": "1234", "people": 2}))
    session.add(call)
    session.flush()
    return call


def make_user(session, username: str, role: str, timezone: str | None = None) -> User:
    """A user row (password 'correct horse battery')."""
    user = User(username=username, password_hash=hash_secret("correct horse battery"), role=role,
                timezone=timezone)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def login(client, session):
    """login(role) creates a user with that role and logs the test client in as them."""
    def _login(role: str, username: str | None = None, timezone: str | None = None) -> User:
        user = make_user(session, username or f"{role}-user", role, timezone)
        session.commit()
        with client.session_transaction() as flask_session:
            flask_session["uid"] = user.id
        return user
    return _login


@pytest.fixture
def mk(session):
    """mk(n, **fields) adds call number n (see make_call); mk.t0 is the first call's start."""
    def _make(n: int, **kwargs) -> Call:
        return make_call(session, n, **kwargs)
    _make.t0 = T0
    return _make
