"""Every connection of the app is bounded: connect, statement and lock timeouts (PostgreSQL),
busy timeout (SQLite); the request budget and its watchdog."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from voiceline import appdb, create_app, dbguard, migrate
from voiceline.db import Timeouts, make_engine

from ..conftest import base_config


def test_sqlite_busy_timeout_follows_the_setting(tmp_path, sqlite_url):
    app = create_app({**base_config(tmp_path, sqlite_url), "DB_STATEMENT_TIMEOUT_MS": 1500})
    with appdb.engine(app).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    appdb.engine(app).dispose()


@pytest.mark.postgres
def test_postgres_connections_carry_statement_and_lock_timeouts(tmp_path, postgres_url):
    strict = create_app({**base_config(tmp_path, postgres_url), "DB_STATEMENT_TIMEOUT_MS": 1})
    # migrations may take as long as they need, even under a 1 ms statement timeout
    assert migrate.upgrade(appdb.engine(strict))
    appdb.engine(strict).dispose()
    app = create_app({**base_config(tmp_path, postgres_url), "DB_STATEMENT_TIMEOUT_MS": 100})
    engine = appdb.engine(app)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "100ms"
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "100ms"
        with pytest.raises(Exception, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(0.5)"))
    engine.dispose()


@pytest.mark.postgres
def test_the_urls_own_parameters_win(postgres_url):
    engine = make_engine(postgres_url + "?connect_timeout=7&options=-c%20statement_timeout%3D1234",
                         Timeouts(connect_seconds=2, statement_ms=500))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1234ms"
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "500ms"
        assert conn.connection.dbapi_connection.info.get_parameters()["connect_timeout"] == "7"
    engine.dispose()


class _Blocked:
    """A stand-in DBAPI connection whose statement only returns when interrupted."""

    def __init__(self) -> None:
        self.interrupted = threading.Event()

    def interrupt(self) -> None:
        self.interrupted.set()


def test_the_watchdog_cuts_a_wait_that_overruns_and_the_request_gives_up():
    budget = dbguard.Budget(call_seconds=0.2, request_seconds=30)
    connection = _Blocked()
    budget.hold(connection)
    dbguard.WATCHDOG.watch(budget)
    budget.begin_call()
    assert connection.interrupted.wait(5)
    assert "did not answer within 0.2 s" in budget.down
    with pytest.raises(dbguard.BudgetExceeded):
        budget.check()
    budget.finish()
    dbguard.WATCHDOG.forget(budget)


def test_a_wait_that_ends_in_time_is_not_cut():
    budget = dbguard.Budget(call_seconds=0.3, request_seconds=30)
    connection = _Blocked()
    budget.hold(connection)
    dbguard.WATCHDOG.watch(budget)
    budget.begin_call()
    budget.end_call()
    time.sleep(0.5)
    assert not connection.interrupted.is_set() and budget.down is None
    budget.check()
    budget.finish()
    dbguard.WATCHDOG.forget(budget)


def test_a_request_past_its_budget_answers_without_the_database(demo):
    from datetime import UTC, datetime

    from voiceline.calls.replay import in_process_twilio
    from voiceline.calls.twilio_side import call_params
    from voiceline.extensions import CLOCK

    def slow_clock():  # the step reads the clock before its first query: 50 ms spent there
        time.sleep(0.05)
        return datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

    demo.config.update(FALLBACK_NUMBERS=["+12025550109"], DB_REQUEST_BUDGET_MS=20)
    demo.extensions[CLOCK] = slow_clock
    twilio = in_process_twilio(demo)
    answer = twilio.post("/voice/incoming", call_params("CAlate", "+12025550150", "+12025550100"))
    assert [n.text for n in answer.root.find("Dial").iter("Number")] == ["+12025550109"]
    with appdb.engine(demo).connect() as conn:  # outside a request: no budget
        assert conn.execute(text("SELECT count(*) FROM calls")).scalar() == 0
