"""Flask glue for storage: one engine per app, one session per app context."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from voiceline.db import make_engine, make_sessionmaker

_KEY = "voiceline.db"


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory; close sessions at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[_KEY] = (engine, make_sessionmaker(engine))
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


def db_session() -> Session:
    """The session of the current app context, created on first use."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
