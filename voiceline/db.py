"""Storage: the declarative base, UTC-aware column type, engine set-up and sessions."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    DateTime,
    Engine,
    MetaData,
    Result,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every voiceline table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored as naive UTC (SQLite has no zones), returned aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Timeouts:
    """How long one database use may wait: to connect, per statement (PostgreSQL's
    statement_timeout and lock_timeout, SQLite's busy timeout) and for a pooled connection."""

    connect_seconds: float = 2
    statement_ms: int = 2000
    pool_seconds: float = 2


# Tools that may legitimately wait long (migrations on a big table, a CLI import beside a busy
# web app) and engines built without settings keep the old generous bounds.
GENEROUS = Timeouts(connect_seconds=10, statement_ms=30_000, pool_seconds=30)
# A dead peer (a pulled cable, a vanished host) is noticed by TCP itself: idle pooled
# connections by keepalives (10 s idle, then 3 probes 5 s apart), data in flight by
# tcp_user_timeout. A *stopped* server still acknowledges at the TCP level; the request
# budget in appdb covers that case.
PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                 "keepalives_count": 3, "tcp_user_timeout": 10_000}


def make_engine(url: str, timeouts: Timeouts | None = None, **kwargs) -> Engine:
    """Create an engine whose every connection is bounded by `timeouts` (default: GENEROUS).

    SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL a connect timeout,
    statement_timeout and lock_timeout per connection, TCP keepalives and pre-ping.
    Parameters already in the URL's query string win over these defaults.
    """
    timeouts = timeouts or GENEROUS
    parsed = make_url(url)
    memory = parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:")
    if not memory and kwargs.get("poolclass") is not NullPool:  # a NullPool has no wait
        kwargs.setdefault("pool_timeout", timeouts.pool_seconds)
    if parsed.drivername.startswith("sqlite"):
        busy_ms = int(timeouts.statement_ms)
        kwargs.setdefault("connect_args", {"timeout": busy_ms / 1000})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        from voiceline.sqlite_writes import WriteTurns, beside

        turns = beside(parsed.database, ".write-lock")
        if turns is not None:  # writers of every process take turns (see voiceline.sqlite_writes)
            WriteTurns(turns, busy_ms / 1000).install(engine)
        return engine
    if parsed.drivername.startswith("postgresql"):
        kwargs["connect_args"] = {**_pg_connect_args(parsed.query, timeouts),
                                  **kwargs.get("connect_args", {})}
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _pg_connect_args(query: Mapping[str, Any], timeouts: Timeouts) -> dict[str, Any]:
    """libpq parameters bounding every connection; the URL's own values are kept."""
    args: dict[str, Any] = {"connect_timeout": max(2, math.ceil(timeouts.connect_seconds))}
    args.update(PG_KEEPALIVES)
    args = {key: value for key, value in args.items() if key not in query}
    ms = int(timeouts.statement_ms)
    options = f"-c statement_timeout={ms} -c lock_timeout={ms}"
    given = query.get("options")
    if given:  # the URL's own options come last, so they win
        options = f"{options} {given if isinstance(given, str) else ' '.join(given)}"
    args["options"] = options
    return args


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE matched (a DML statement's result is a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount or 0
