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
from typing import Any

from sqlalchemy import Engine, event

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
_FIRST_POLL, _MAX_POLL = 0.0001, 0.002  # seconds between tries while another writer holds it


class WriteTurns:
    """The lock file of one SQLite database, shared by every connection of an engine."""

    def __init__(self, database: str, wait_seconds: float) -> None:
        self.path = database + ".write-lock"
        self.wait_seconds = wait_seconds
        self._held: dict[int, int] = {}  # id(DBAPI connection) -> the file descriptor it locked

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
        """Wait for this connection's turn to write (False: waited the busy timeout, going on)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait_seconds
        pause = _FIRST_POLL
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(pause)
                pause = min(pause * 2, _MAX_POLL)
                continue
            except OSError:  # a file system without flock: SQLite's own locking only
                os.close(fd)
                return False
            self._held[id(_raw(dbapi_connection))] = fd
            return True

    def release(self, dbapi_connection: Any) -> None:
        fd = self._held.pop(id(_raw(dbapi_connection)), None)
        if fd is not None:
            os.close(fd)  # closing the descriptor gives the flock back

    def _released_with_connection(self, dbapi_connection: Any, *_args: Any) -> None:
        self.release(dbapi_connection)


def _raw(connection: Any) -> Any:
    """The sqlite3 connection itself (SQLAlchemy hands its dialect the pool's proxy of it)."""
    return getattr(connection, "dbapi_connection", None) or connection
