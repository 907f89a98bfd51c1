"""20 parallel PIN tries on SQLite and on PostgreSQL: the check and the count are one step."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from voiceline.calls.replay import in_process_twilio
from voiceline.models.calls import CallEvent, PinLockout

from .conftest import WATCH, params

WATCH_DIGITS = "12025550150"


def _claim(twilio, sid: str, number: str) -> None:
    """A call from an unknown number: language menu, then it claims the watch officer."""
    twilio.post("/voice/incoming", params(sid, number))
    twilio.post(twilio.follow("gather"), params(sid, number, Digits="1"))
    twilio.post(twilio.follow("gather"), params(sid, number, Digits=WATCH_DIGITS))


def _events(db, kind: str) -> list[CallEvent]:
    db.expire_all()
    return db.scalars(select(CallEvent).where(CallEvent.kind == kind).order_by(CallEvent.id)).all()



@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": None,
            "CALLS_CALLER_LOCK_FAILURES": 3}


def _in_parallel(hotline, posts) -> list:
    """Run each (sid, number, digits) PIN post in its own thread, all released at once."""
    barrier = threading.Barrier(len(posts))
    answers = [None] * len(posts)

    def run(i, sid, number, digits, url):
        side = in_process_twilio(hotline)
        barrier.wait()
        answers[i] = side.post(url, params(sid, number, Digits=digits))

    threads = [threading.Thread(target=run, args=(i, *post)) for i, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_parallel_wrong_pins_from_one_number_evaluate_at_most_three(hotline, twilio, db):
    for n in range(20):
        twilio.post("/voice/incoming", params(f"CApar{n}"))
    url = twilio.follow("gather")
    answers = _in_parallel(hotline, [(f"CApar{n}", WATCH, "1111", url) for n in range(20)])
    assert all(a is not None and a.status == 200 and a.root is not None for a in answers)
    assert len(_events(db, "pin_failed")) <= 3
    assert _events(db, "fallback") == []  # every try answered by the flow, none by the fallback
    assert db.get(PinLockout, WATCH).locked_until is not None


def test_parallel_wrong_pins_from_many_numbers_evaluate_at_most_the_caller_limit(hotline, twilio, db):
    posts = []
    for n in range(20):
        number, sid = f"+120255507{n:02d}", f"CAmany{n}"
        _claim(twilio, sid, number)
        posts.append((sid, number, "1111", twilio.follow("gather")))
    answers = _in_parallel(hotline, posts)
    assert all(a is not None and a.status == 200 and a.root is not None for a in answers)
    assert len(_events(db, "pin_failed")) <= 3
    assert _events(db, "fallback") == []  # every try answered by the flow, none by the fallback
    assert db.get(PinLockout, "caller:watch-officer").locked_until is not None
