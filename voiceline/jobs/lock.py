"""The scheduler lock: one active scheduler, any others wait as hot standbys.

PostgreSQL: a session-level advisory lock held on a dedicated connection for as long as
the process lives (it is released when the connection drops, so a dead scheduler's
standby takes over at its next tick). SQLite: an exclusive flock on a file beside
the database file, released by the kernel when the process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)
PG_LOCK_KEY = 0x766C7363  # "vlsc": voiceline scheduler


def _lock_path(engine: Engine, instance_path: Path) -> Path:
    """Beside the SQLite file (one database, one lock, whatever the instance folder); else instance/."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).resolve().with_name(Path(database).name + ".scheduler-lock")
    return instance_path / "scheduler.lock"


class SchedulerLock:
    """Try-acquire, keep and release the scheduler lock for one database."""

    def __init__(self, engine: Engine, instance_path: str | os.PathLike) -> None:
        self.engine = engine
        self.path = _lock_path(engine, Path(instance_path))
        self._conn: Connection | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this process holds the lock (as far as it last knew)."""
        return self._conn is not None or self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if free, or confirm it is still ours; never blocks."""
        if self.engine.dialect.name == "postgresql":
            return self._acquire_pg()
        return self._acquire_file()

    def _acquire_pg(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection died, and the lock with it
                log.warning("lost the scheduler lock's database connection; trying again")
                self._drop_conn()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar())
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _drop_conn(self) -> None:
        try:
            self._conn.invalidate()
        except Exception:  # already gone
            pass
        self._conn = None

    def _acquire_file(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (a standby takes it at its next tick)."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                self._conn.close()
            except Exception:  # closing the connection releases it anyway
                self._drop_conn()
            self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
