"""Fixtures of the call tests: the demo directory with PINs, a signed Twilio side, a fixed clock."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from voiceline import appdb
from voiceline.calls.replay import in_process_twilio
from voiceline.calls.twilio_side import call_params, leg_params
from voiceline.extensions import CLOCK
from voiceline.pins import PinKeys, hash_pin

HOTLINE = "+12025550100"
WATCH = "+12025550150"  # watch-officer, en-US
OPS = "+74950000001"  # ops-desk, ru-RU
EMBASSY = "+74950000003"  # embassy-duty, no language
AT = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # alice (step 1), boris (step 2), duty-chief (step 3)


@pytest.fixture
def hotline(demo):
    """The demo app with PIN 2468 (duress 9753) for every demo caller and a fixed clock."""
    with demo.app_context():
        session = appdb.session_factory(demo)()
        from voiceline import models as m

        keys = PinKeys.from_config(demo.config)
        for caller in session.query(m.Caller):
            caller.pin_hash = hash_pin("2468", keys)
            caller.duress_pin_hash = hash_pin("9753", keys)
        session.commit()
        session.close()
    demo.extensions[CLOCK] = lambda: AT
    return demo


@pytest.fixture
def twilio(hotline):
    """Twilio's side of calls to the demo hotline, signing like Twilio."""
    return in_process_twilio(hotline)


@pytest.fixture
def db(hotline):
    """A fresh session on the hotline's database (read what the webhooks wrote)."""
    with hotline.app_context():
        session = appdb.session_factory(hotline)()
        yield session
        session.close()


@contextmanager
def statements(app):
    """The SQL the app's engine sends inside the block (whitespace folded)."""
    from sqlalchemy import event

    seen: list[str] = []
    engine = appdb.engine(app)

    def listener(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def sql_shell(app, statement: str, **values) -> None:
    """A write as from a SQL shell: no voiceline code runs."""
    from sqlalchemy import text

    with appdb.engine(app).begin() as conn:
        conn.execute(text(statement), values)


def version_token(app, row: int = 1) -> int:
    """A token of directory_version: row 1 the directory's, row 2 the lock-outs'."""
    from sqlalchemy import text

    with appdb.engine(app).connect() as conn:
        return conn.scalar(text("SELECT token FROM directory_version WHERE id = :row"), {"row": row})


def params(sid: str, from_number: str = WATCH, **extra: str) -> dict[str, str]:
    """A parent call's parameters to the demo hotline."""
    return call_params(sid, from_number, HOTLINE, **extra)


def allowlist(db) -> None:
    """The demo hotline takes known numbers without a PIN or a priority question."""
    from voiceline import models as m

    hotline = db.get(m.Hotline, "liaison")
    hotline.caller_policy, hotline.ask_priority = "allowlist", False
    db.commit()


def answered_call(twilio, sid: str, *, bridged: bool = False):
    """ops-desk calls, the first responder picks up and presses 1 (then the <Dial> reports the
    bridge when `bridged`); returns the <Number> rung and the leg's CallSid."""
    twilio.post("/voice/incoming", params(sid, OPS))
    number = twilio.latest["numbers"][0]
    leg = f"{sid}L"
    twilio.post(number["url"], leg_params(sid, leg, HOTLINE, "+12025550101"))
    twilio.post(twilio.follow("gather"), leg_params(sid, leg, HOTLINE, "+12025550101", Digits="1"))
    if bridged:
        twilio.post(twilio.follow("dial"), params(sid, OPS, DialCallStatus="completed",
                                                  DialCallSid=leg, DialBridged="true"))
    return number, leg
