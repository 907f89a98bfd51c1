"""SQLite writers take turns through a lock file, not through SQLite's busy handler.

SQLite lets one connection write at a time. A writer that finds the write lock held sleeps in
SQLite's busy handler, 1, 2, 5, 10, 15, 20, 25 ms... and tries again, while newer writers may
take the lock in between: under a burst (four gunicorn workers, each a process) a PIN step
could lose seven times in a row and answer 80 ms late although every writer holds the lock for
well under a millisecond. So before its first write a transaction takes an exclusive `flock`
on `<database file>.write-lock` and gives it back right after its COMMIT or ROLLBACK: the
waiting writer is woken by the kernel as the lock is released instead of sleeping out a
step. Waiting is bounded by the busy timeout; past it the write goes ahead under SQLite's own
locking (its busy handler then decides), so a stuck process never blocks the others for longer
than SQLite would. Reads never take the lock (WAL mode lets them run beside a writer).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
_FIRST_POLL, _MAX_POLL = 0.0001, 0.002  # seconds between tries while another writer holds it
SHORTEN_AFTER = 0.05  # seconds: a wait this long is taken off SQLite's busy timeout


class WriteTurns:
    """The lock file of one SQLite database, shared by every connection of an engine."""

    def __init__(self, path: Path, wait_seconds: float) -> None:
        self.path = path
        self.wait_seconds = wait_seconds
        self._held: dict[int, int] = {}  # id(DBAPI connection) -> the file descriptor it locked
        self._shortened: set[int] = set()  # connections whose busy timeout is cut for now

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_statement)
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self.release(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self.release(dbapi_connection)

        # The engine's own dialect instance (one per engine): released right after the
        # database has committed or rolled back, not when the connection goes back to the pool.
        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]
        for name in ("checkin", "close", "invalidate", "close_detached"):  # never left held
            event.listen(engine, name, self._released_with_connection)

    def _before_statement(self, conn, _cursor, statement: str, _parameters, _context,
                          _executemany) -> None:
        if statement.lstrip()[:6].upper() not in _WRITES:
            return
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection is not None and id(_raw(dbapi_connection)) not in self._held:
            self.acquire(dbapi_connection)

    def acquire(self, dbapi_connection: Any) -> bool:
        """Wait for this connection's turn to write (False: waited the busy timeout, going on).

        The wait comes out of the statement's busy timeout: after a long one, SQLite's busy
        handler gets only what is left, so the two together never wait longer than SQLite alone
        would (a writer behind a stuck one fails at the busy timeout, not at twice it)."""
        raw = _raw(dbapi_connection)
        began, pause = time.monotonic(), _FIRST_POLL
        while (fd := try_exclusive(self.path)) is None:
            if time.monotonic() - began >= self.wait_seconds:
                self._shorten(raw, time.monotonic() - began)
                return False
            time.sleep(pause)
            pause = min(pause * 2, _MAX_POLL)
        if fd < 0:  # a file system without flock: SQLite's own locking only
            return False
        self._held[id(raw)] = fd
        self._shorten(raw, time.monotonic() - began)
        return True

    def _shorten(self, raw: Any, waited: float) -> None:
        if waited < SHORTEN_AFTER:
            return
        left_ms = max(1, int((self.wait_seconds - waited) * 1000))
        raw.execute(f"PRAGMA busy_timeout={left_ms}")
        self._shortened.add(id(raw))

    def release(self, dbapi_connection: Any) -> None:
        raw = _raw(dbapi_connection)
        fd = self._held.pop(id(raw), None)
        if fd is not None:
            os.close(fd)  # closing the descriptor gives the flock back
        if id(raw) in self._shortened:
            self._shortened.discard(id(raw))
            try:
                raw.execute(f"PRAGMA busy_timeout={int(self.wait_seconds * 1000)}")
            except Exception:  # noqa: BLE001 - a closed connection is not used again
                pass

    def _released_with_connection(self, dbapi_connection: Any, *_args: Any) -> None:
        self.release(dbapi_connection)


def beside(database: str | None, suffix: str) -> Path | None:
    """The lock file `<database file><suffix>` of a SQLite database file (None: in memory or a
    `file:` URI, which have no file of that name to put one beside)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + suffix)


def try_exclusive(path: Path) -> int | None:
    """The descriptor of `path` holding an exclusive flock (closing it gives the lock back);
    None while another descriptor holds it; -1 where the file system has no flock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        os.close(fd)
        return -1
    return fd


def _raw(connection: Any) -> Any:
    """The sqlite3 connection itself (SQLAlchemy hands its dialect the pool's proxy of it)."""
    return getattr(connection, "dbapi_connection", None) or connection
