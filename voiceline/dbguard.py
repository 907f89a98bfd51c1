"""Guards on the app's database connections (no Flask here; appdb wires them to requests).

- A **budget** per webhook request. No single database wait (a checkout with its ping, a
  statement, a commit) may last longer than `call_seconds`: a watchdog thread cuts the
  connection of a wait that does (a PostgreSQL socket is shut down, a SQLite statement
  interrupted), so a call blocked on a server that no longer answers at all (a stopped
  process, where statement_timeout never fires) returns. Once one wait has failed that way,
  or with a timeout or connection error, the database is *down* for the rest of the request:
  every later use fails at once, and so does any use after `request_seconds` of the
  request's wall time. The request then answers its fallback.
- The **file identity** of a SQLite database (device and inode): a pooled connection whose
  file was replaced or moved away is dropped at checkout instead of going on reading and
  writing the old file.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1


class BudgetExceeded(Exception):
    """The request gave up on the database; nothing more is asked of it."""


class Budget:
    """One request's limits on database waits, and the connections it holds."""

    def __init__(self, call_seconds: float, request_seconds: float) -> None:
        self.call_seconds = call_seconds
        self.request_seconds = request_seconds
        self.started = time.monotonic()
        self.down: str | None = None
        self.done = False
        self._call_since: float | None = None
        self._held: dict[int, Any] = {}
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise BudgetExceeded when the database is down for this request or time is up."""
        if self.down is None and time.monotonic() - self.started > self.request_seconds:
            self.down = f"the request has used its {self.request_seconds:g} s"
        if self.down is not None:
            raise BudgetExceeded(f"database given up for this request: {self.down}")

    def hold(self, dbapi_connection: Any) -> None:
        with self._lock:
            self.check()
            self._held[id(dbapi_connection)] = dbapi_connection

    def release(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._held.pop(id(dbapi_connection), None)
            if not self._held:
                self._call_since = None

    def begin_call(self) -> None:
        self._call_since = time.monotonic()

    def end_call(self) -> None:
        self._call_since = None

    def mark_down(self, reason: str) -> None:
        if self.down is None:
            self.down = reason

    def overdue(self, now: float) -> bool:
        since = self._call_since
        return since is not None and now - since > self.call_seconds

    def cut_all(self) -> None:
        """A wait overran: cut every connection held (called by the watchdog)."""
        with self._lock:
            if self.done or self._call_since is None:
                return
            self._call_since = None
            self.mark_down(f"the database did not answer within {self.call_seconds:g} s")
            held = list(self._held.values())
            for connection in held:
                cut(connection)
        log.warning("a database wait overran %g s: cut %d connection(s)", self.call_seconds, len(held))

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._call_since = None
            self._held.clear()


def cut(dbapi_connection: Any) -> None:
    """Make a call blocked on this DBAPI connection return now (it fails; the pool drops it)."""
    try:
        pgconn = getattr(dbapi_connection, "pgconn", None)
        if pgconn is not None:  # psycopg: shut the socket down; the blocked read sees EOF
            sock = socket.socket(fileno=os.dup(pgconn.socket))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()
        elif hasattr(dbapi_connection, "interrupt"):  # sqlite3: abort the running statement
            dbapi_connection.interrupt()
    except Exception:  # already closed: nothing is blocked on it
        log.debug("could not cut a database connection", exc_info=True)


class Watchdog:
    """One daemon thread per process, looking every POLL_SECONDS at the budgets in flight."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._budgets: set[Budget] = set()
        self._pid: int | None = None

    def watch(self, budget: Budget) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked worker: start our thread
                self._pid = os.getpid()
                self._budgets = set()
                threading.Thread(target=self._run, name="voiceline-db-watchdog", daemon=True).start()
            self._budgets.add(budget)
            self._cond.notify()

    def forget(self, budget: Budget) -> None:
        with self._cond:
            self._budgets.discard(budget)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._budgets:
                    self._cond.wait()
                budgets = list(self._budgets)
            now = time.monotonic()
            for budget in budgets:
                if budget.overdue(now):
                    budget.cut_all()
            time.sleep(POLL_SECONDS)


WATCHDOG = Watchdog()


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
