"""Flask glue for storage: one engine per app, one session per app context.

Every connection of the app's engine is bounded (voiceline.db.Timeouts from the settings).
Webhook requests (/voice/) and /healthz also get a database budget (voiceline.dbguard): a
database wait that overruns is cut, and after a timeout the request answers without the
database. A SQLite file that was replaced or moved away is noticed at checkout and
reconnected to; once seen, and inside any request, a missing file is never created anew
(it would be an empty hotline).
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from voiceline import dbguard
from voiceline.db import Timeouts, make_engine, make_sessionmaker
from voiceline.instants import utcnow

log = logging.getLogger(__name__)
_KEY = "voiceline.db"
_STATE_KEY = "voiceline.db.state"
# Requests whose database time is budgeted: Twilio waits 15 s in all, and /healthz must answer
# while the database hangs.
BUDGETED_PREFIXES = ("/voice/", "/healthz")
CUT_GRACE_SECONDS = 1.0
_budget: ContextVar[dbguard.Budget | None] = ContextVar("voiceline_db_budget", default=None)


@dataclass
class StorageState:
    """What this process's engine has lived through: shown by /healthz."""

    sqlite_path: str | None = None
    seen_file: bool = False
    lost: bool = False
    notices: deque = field(default_factory=lambda: deque(maxlen=5))

    def found(self) -> None:
        """The file is where it was (again)."""
        if self.lost:
            self.lost = False
            self.notice(f"database file {self.sqlite_path} is back; reconnected")

    def notice(self, message: str) -> None:
        log.warning("%s", message)
        self.notices.append({"at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "message": message})


def timeouts_from_config(config) -> Timeouts:
    """The DB_* settings as the engine's bounds."""
    return Timeouts(connect_seconds=float(config.get("DB_CONNECT_TIMEOUT", 2)),
                    statement_ms=int(config.get("DB_STATEMENT_TIMEOUT_MS", 2000)),
                    pool_seconds=float(config.get("DB_POOL_TIMEOUT", 2)))


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory; close sessions at teardown."""
    url = app.config["DATABASE_URL"]
    # PostgreSQL is pinged by the checkout listener below, under the request's budget
    engine = make_engine(url, timeouts_from_config(app.config),
                         **({} if url.startswith("sqlite") else {"pool_pre_ping": False}))
    state = StorageState(sqlite_path=_sqlite_file(engine))
    _guard(engine, state)
    app.extensions[_KEY] = (engine, make_sessionmaker(engine))
    app.extensions[_STATE_KEY] = state
    app.before_request(_start_budget)
    # teardown functions run in reverse order: the budget ends after the session is closed
    app.teardown_request(_end_budget)
    # A request inside an app context that is already pushed (CLI commands driving the test
    # client) shares that context's g: close per request too, so no request sees stale data.
    app.teardown_request(_close_session)
    app.teardown_appcontext(_close_session)


def engine(app: Flask | None = None) -> Engine:
    """The engine of `app` (default: the current app)."""
    return (app or current_app).extensions[_KEY][0]


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    """The session factory of `app` (default: the current app), for work outside requests."""
    return (app or current_app).extensions[_KEY][1]


def storage_state(app: Flask | None = None) -> StorageState:
    return (app or current_app).extensions[_STATE_KEY]


def db_session() -> Session:
    """The session of the current app context, created on first use."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    return g.db_session


def database_given_up() -> bool:
    """True when the current request has given up on the database (a timeout, a cut wait,
    a connection error): best-effort work such as noting a fallback is skipped then."""
    budget = _budget.get()
    return budget is not None and budget.down is not None


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _start_budget() -> None:
    config = current_app.config
    request_seconds = float(config.get("DB_REQUEST_BUDGET_MS", 8000)) / 1000
    if request_seconds <= 0 or not request.path.startswith(BUDGETED_PREFIXES):
        return
    # a wait is cut one second after the server's own statement timeout would have fired
    call_seconds = int(config.get("DB_STATEMENT_TIMEOUT_MS", 2000)) / 1000 + CUT_GRACE_SECONDS
    budget = dbguard.Budget(call_seconds, request_seconds)
    g.db_budget = (budget, _budget.set(budget))
    dbguard.WATCHDOG.watch(budget)


def _end_budget(_exc: BaseException | None) -> None:
    held = g.pop("db_budget", None)
    if held is not None:
        budget, token = held
        budget.finish()
        dbguard.WATCHDOG.forget(budget)
        try:
            _budget.reset(token)
        except ValueError:  # torn down in another context than it started in
            _budget.set(None)


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return os.path.abspath(database)


def _guard(engine: Engine, state: StorageState) -> None:
    """Pool and engine events: the request's budget holds its connections and times each
    wait, PostgreSQL is pinged under it, a replaced SQLite file is noticed, a missing one is
    not created."""
    path = state.sqlite_path
    postgres = engine.dialect.name == "postgresql"
    operational = engine.dialect.loaded_dbapi.OperationalError

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        budget = _budget.get()
        if budget is not None:
            budget.check()
        if path and (state.seen_file or has_request_context()):
            # the file existed once (or a caller waits): a missing file is an error, not a new
            # empty database
            cargs[0] = "file:" + urllib.parse.quote(path) + "?mode=rw"
            cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection, record):
        record.info["vl_fresh"] = True
        if path:
            record.info["vl_file"] = dbguard.file_identity(path)
            state.found()
            state.seen_file = True

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):
        budget = _budget.get()
        if budget is not None:
            budget.hold(dbapi_connection)
            record.info["vl_budget"] = budget
        fresh = record.info.pop("vl_fresh", False)
        if path:
            now = dbguard.file_identity(path)
            if now != record.info.get("vl_file"):
                if now is None:
                    state.lost = True
                    state.notice(f"database file {path} is missing (moved or deleted): "
                                 "restore it, or run `voiceline db upgrade` for an empty one")
                else:
                    state.notice(f"database file {path} replaced; reconnected")
                raise exc.InvalidatePoolError("the database file changed")
            state.found()
        if postgres and not fresh:
            # the pre-ping, here so that the budget holds the connection: a stopped server is
            # cut off instead of waited for
            if budget is not None:
                budget.begin_call()
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:
                if budget is not None:
                    budget.check()  # cut by the watchdog: no reconnecting either
                raise exc.DisconnectionError(f"pre-ping failed: {error}") from error
            finally:
                if budget is not None:
                    budget.end_call()

    def _release(dbapi_connection, record, *_args):
        budget = record.info.pop("vl_budget", None)
        if budget is not None:
            budget.release(dbapi_connection)

    event.listen(engine, "checkin", _release)
    event.listen(engine, "invalidate", _release)
    event.listen(engine, "soft_invalidate", _release)

    def _begin(*_args, **_kwargs):
        budget = _budget.get()
        if budget is not None:
            budget.check()
            budget.begin_call()

    def _end(*_args, **_kwargs):
        budget = _budget.get()
        if budget is not None:
            budget.end_call()

    def _begin_ending(*_args, **_kwargs):
        budget = _budget.get()  # a transaction may always end, but not wait forever for it
        if budget is not None:
            budget.begin_call()

    event.listen(engine, "before_cursor_execute", _begin)
    event.listen(engine, "after_cursor_execute", _end)
    event.listen(engine, "commit", _begin_ending)  # ended by the checkin that follows
    event.listen(engine, "rollback", _begin_ending)
    event.listen(engine, "reset", _begin_ending)

    @event.listens_for(engine, "handle_error")
    def _failed(context):
        budget = _budget.get()
        if budget is None:
            return
        budget.end_call()
        error = context.original_exception
        if context.is_disconnect or (isinstance(error, operational) and _gives_up(error)):
            budget.mark_down(f"{type(error).__name__}: {str(error).splitlines()[0][:120]}")


def _gives_up(error: Exception) -> bool:
    """A timeout, a lock or an unreachable server, not a query's own fault (SQLite reports a
    missing table as an OperationalError too: the step fails, the database is still there)."""
    text = str(error).lower()
    return not text.startswith(("no such ", "near ", "table ")) and "syntax error" not in text
