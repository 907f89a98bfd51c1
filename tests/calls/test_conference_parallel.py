"""Six responders press 1 at the same instant (on SQLite and on PostgreSQL): one claim wins."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.calls.fake_rest import ACCOUNT_SID, FakeRest
from voiceline.calls.replay import in_process_twilio
from voiceline.models.calls import Call, CallLeg

from .conftest import HOTLINE, WATCH, allowlist, params

PEOPLE = ["alice", "grace", "dmitri", "boris", "carol", "duty-chief"]


@pytest.fixture
def fake_rest():
    return FakeRest()


@pytest.fixture
def app_config(tmp_path, any_db_url, fake_rest):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_HTTP_CLIENT": fake_rest, "CONFERENCE_DIALER": "inline", "CALLS_PER_SECOND": 1000}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _leg(sid: str, to: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT_SID, "CallSid": sid, "CallStatus": "in-progress",
            "Direction": "outbound-api", "From": HOTLINE, "To": to, **extra}


def test_all_pressing_1_at_once_join_exactly_one(hotline, twilio, db, fake_rest):
    allowlist(db)
    policy = db.get(m.Policy, "main")
    policy.ring = "conference"
    policy.steps[0].rotas, policy.steps[0].people = [], PEOPLE
    db.commit()
    twilio.post("/voice/incoming", params("CArace", WATCH))
    placed = fake_rest.placed()
    assert len(placed) == len(PEOPLE)
    answers_urls = []
    for sid, data in placed:
        screen = twilio.post(_path(data["Url"]), _leg(sid, data["To"]))
        answers_urls.append((sid, data["To"], _path(screen.root.find("Gather").get("action"))))
    barrier = threading.Barrier(len(answers_urls))
    answers: list = [None] * len(answers_urls)

    def press(i, sid, to, url):
        side = in_process_twilio(hotline)
        barrier.wait()
        answers[i] = side.post(url, _leg(sid, to, Digits="1"))

    threads = [threading.Thread(target=press, args=(i, *a)) for i, a in enumerate(answers_urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    joined = [a for a in answers if a.root.find("Dial/Conference") is not None]
    assert len(joined) == 1
    others = [a for a in answers if a.root.find("Dial/Conference") is None]
    assert all(a.root.find("Hangup") is not None for a in others)
    told = [a for a in others if "Another officer" in " ".join(s.text or "" for s in a.root.iter("Say"))]
    assert len(told) == len(others)  # none fell to the error path
    db.expire_all()
    call = db.scalar(select(Call).where(Call.sid == "CArace"))
    accepted = [leg for leg in db.scalars(select(CallLeg)) if leg.screen == "accepted"]
    assert len(accepted) == 1 and call.answered_by == accepted[0].person_id
    assert call.state == "connected"
