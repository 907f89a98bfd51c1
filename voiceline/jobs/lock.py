"""The scheduler lock: one active scheduler, any others wait as hot standbys.

PostgreSQL: a session-level advisory lock held on a dedicated connection for as long as
the process lives (it is released when the connection drops, so a dead scheduler's
standby takes over at its next tick). SQLite: an exclusive flock on a file beside
the database file, released by the kernel when the process dies.

A session lock needs a real session: behind a pooler that hands server connections out per
transaction (PgBouncer's transaction or statement pooling) the lock would stay on a server
connection other clients share, and two schedulers could both be active. `require_direct_session`
finds that out before the scheduler starts and refuses it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from voiceline.sqlite_writes import beside, try_exclusive

log = logging.getLogger(__name__)
PG_LOCK_KEY = 0x766C7363  # "vlsc": voiceline scheduler

POOLED_SESSION = (
    "the scheduler needs a direct PostgreSQL connection: VOICELINE_DATABASE_URL goes through a "
    "pooler that shares server sessions between clients (PgBouncer in transaction or statement "
    "pooling mode?), and the scheduler's lock is a session advisory lock, which such a pooler "
    "breaks (two schedulers could both run, or a dead one keep the lock). Point the scheduler's "
    "VOICELINE_DATABASE_URL at PostgreSQL itself (or at PgBouncer in session pooling mode); "
    "the web app may keep the pooler."
)


class PooledSessionError(RuntimeError):
    """The database connection does not keep one server session per client connection."""


def session_problem(first: Connection, second: Connection, key: int) -> str | None:
    """Why `first` and `second` are not two separate sessions that keep their state; None if they are.

    A probe advisory lock (a random key nobody else uses) is taken on `first`, then:
    - `second` must not get it too: a session-level lock is re-entrant, so a second client
      whose statement runs on the same server connection (a pooler reusing the server
      connection `first` just released, PgBouncer's default) would be granted it;
    - `first` must still hold it, as seen in pg_locks for the backend its next statement
      runs on, and run on the same backend: a pooler routing that statement to another server
      connection loses the lock (and changes pg_backend_pid()).
    Both clients run one autocommit statement at a time, as the scheduler does, so a pooler
    has every chance to move them. A direct connection, or a session-level TCP proxy, passes.
    """
    pid = first.execute(text("SELECT pg_backend_pid()")).scalar()
    if not first.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
        return "a probe lock with a fresh random key was refused"
    problem = None
    if second.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
        problem = "a second connection was granted the lock the first one holds (a shared session)"
        second.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    held = first.execute(text(
        "SELECT pg_backend_pid() AS pid, EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
        " AND granted AND pid = pg_backend_pid() AND classid = 0 AND objid = :k AND objsubid = 1)"
        " AS held"), {"k": key}).one()
    if problem is None and (held.pid != pid or not held.held):
        problem = "the first connection's next statement ran in another session (its lock was gone)"
    first.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    return problem


def require_direct_session(engine: Engine) -> None:
    """Raise PooledSessionError unless `engine` gives real PostgreSQL sessions (no-op elsewhere)."""
    if engine.dialect.name != "postgresql":
        return
    key = secrets.randbelow(2**31 - 1) + 1  # classid 0, objid key in pg_locks
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as first, \
            engine.connect().execution_options(isolation_level="AUTOCOMMIT") as second:
        problem = session_problem(first, second, key)
    if problem:
        raise PooledSessionError(f"{POOLED_SESSION} ({problem})")


def _lock_path(engine: Engine, instance_path: Path) -> Path:
    """Beside the SQLite file (one database, one lock, whatever the instance folder); else instance/."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return beside(database, ".scheduler-lock") or instance_path / "scheduler.lock"


class SchedulerLock:
    """Try-acquire, keep and release the scheduler lock for one database."""

    def __init__(self, engine: Engine, instance_path: str | os.PathLike) -> None:
        self.engine = engine
        self.path = _lock_path(engine, Path(instance_path))
        self._conn: Connection | None = None
        self._fd: int | None = None
        self._said_standby = False  # the process logs standby once, not every tick

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
            if self._conn is not None:
                self._conn.invalidate()
        except Exception:  # already gone
            pass
        self._conn = None

    def _acquire_file(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = try_exclusive(self.path)
        if fd is None:
            return False
        if fd < 0:
            raise OSError(f"{self.path}: this file system has no flock; the scheduler lock needs one")
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
