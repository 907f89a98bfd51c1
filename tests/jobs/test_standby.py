"""Two schedulers on PostgreSQL: the standby takes over from a killed active one, and the
scheduler refuses a connection whose sessions a pooler shares (PgBouncer transaction pooling)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text

from voiceline import migrate
from voiceline import models as m
from voiceline.db import make_engine
from voiceline.jobs.lock import (
    PG_LOCK_KEY,
    PooledSessionError,
    require_direct_session,
    session_problem,
)

pytestmark = pytest.mark.postgres
HERE = Path(__file__).resolve().parent
TICK = 2  # seconds: VOICELINE_TICK_SECONDS for these schedulers
DELAY = 1.0  # seconds the fake Twilio takes to accept a message
FIRST, TOTAL = 16, 20  # messages queued before the kill, and in all
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def pg(postgres_url):
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    yield postgres_url, engine
    engine.dispose()


def _autocommit(engine):
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


# --- the pooler check, on one real PostgreSQL ----------------------------------------------

class Pooled:
    """A client connection of a transaction pooler: each statement runs on the next server
    connection of `servers` (one server: PgBouncer's LIFO reuse when idle; several: round robin)."""

    def __init__(self, servers, start=0):
        self.servers, self.turn = servers, start

    def execute(self, *args, **kwargs):
        server = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        return server.execute(*args, **kwargs)


def test_two_direct_connections_pass_the_session_check(pg):
    _, engine = pg
    with _autocommit(engine) as first, _autocommit(engine) as second:
        assert session_problem(first, second, 4242) is None
        locks = first.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        assert locks.scalar() == 0  # the probe lock is given back
    require_direct_session(engine)  # no error


def test_a_pooler_reusing_one_server_connection_is_found(pg):
    _, engine = pg
    with _autocommit(engine) as server:
        problem = session_problem(Pooled([server]), Pooled([server]), 4243)
        assert problem and "second connection was granted the lock" in problem
        locks = server.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        assert locks.scalar() == 0


def test_a_pooler_moving_statements_between_server_connections_is_found(pg):
    _, engine = pg
    with _autocommit(engine) as one, _autocommit(engine) as two, _autocommit(engine) as three:
        problem = session_problem(Pooled([one, two]), Pooled([three]), 4244)
    assert problem and "another session" in problem


# --- a real PgBouncer (Debian's package), when installed -------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pgbouncer(pg):
    """start(mode) runs PgBouncer in front of the test database; returns its URL."""
    if not os.path.exists(PGBOUNCER):
        pytest.skip("pgbouncer not installed (apt-get install pgbouncer)")
    url, _ = pg
    target = make_url(url)
    procs = []
    top = Path(tempfile.mkdtemp(prefix="voiceline-pgbouncer-"))  # pytest's tmp is root-only

    def start(mode: str) -> str:
        port = _free_port()
        folder = top / mode
        folder.mkdir()
        (folder / "users.txt").write_text(f'"{target.username}" ""\n')
        (folder / "pgbouncer.ini").write_text(
            f"[databases]\n{target.database} = host={target.host} port={target.port} "
            f"dbname={target.database}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {folder / 'users.txt'}\npool_mode = {mode}\n"
            f"ignore_startup_parameters = options,extra_float_digits\n"
            f"logfile = {folder / 'log'}\nmax_client_conn = 50\ndefault_pool_size = 5\n")
        command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
        if os.getuid() == 0:  # PgBouncer refuses to run as root
            os.chmod(top, 0o755)
            shutil.chown(folder, "postgres")
            for name in ("users.txt", "pgbouncer.ini"):
                shutil.chown(folder / name, "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"pgbouncer did not start: {proc.stdout.read().decode()}")
                time.sleep(0.1)
        return str(target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False))

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
    shutil.rmtree(top, ignore_errors=True)


def test_the_scheduler_refuses_pgbouncer_in_transaction_pooling(pgbouncer, tmp_path):
    url = pgbouncer("transaction")
    engine = make_engine(url)
    try:
        with pytest.raises(PooledSessionError, match="needs a direct PostgreSQL connection"):
            require_direct_session(engine)
    finally:
        engine.dispose()
    done = subprocess.run(_cli("--once"), env=_env(url, tmp_path), cwd=tmp_path, text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "the scheduler needs a direct PostgreSQL connection" in done.stderr
    assert "Traceback" not in done.stderr


def test_pgbouncer_in_session_pooling_keeps_sessions(pgbouncer):
    engine = make_engine(pgbouncer("session"))
    try:
        require_direct_session(engine)  # a session per client: the lock works
    finally:
        engine.dispose()


# --- two real schedulers, the active one killed ----------------------------------------------

def _env(url: str, instance: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELINE_", "TWILIO_"))}
    env.update(VOICELINE_DATABASE_URL=url, PYTHONUNBUFFERED="1", VOICELINE_SECRET_KEY="test",
               VOICELINE_LINETEST_INTERVAL_MINUTES="0", **extra)
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from voiceline.cli import main; main()", "scheduler", *args]


class Scheduler:
    """One `voiceline scheduler` process (Twilio faked, see fake_twilio_scheduler.py)."""

    def __init__(self, env: dict, cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "fake_twilio_scheduler.py")],
                                     env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def said(self, words: str) -> bool:
        return any(words in line for line in self.lines)


def _wait(condition, seconds: float, what: str, fail: bool = True):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    if fail:
        pytest.fail(f"not within {seconds} s: {what}")
    return None


def _lock_holder(engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                                 " AND classid = 0 AND objid = :k"), {"k": PG_LOCK_KEY}).scalar()


def _queue(engine, number: int) -> None:
    with engine.begin() as conn:
        conn.execute(m.OutboxMessage.__table__.insert().values(
            key=f"standby-test:{number}", kind="sms", recipient="+12025550101",
            body=f"message {number}", purpose="test", meta={}, status="pending", attempts=0,
            created_at=datetime.now(UTC)))


def _log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_standby_takes_over_a_killed_scheduler_without_losing_or_repeating_a_message(pg, tmp_path):
    url, engine = pg
    log = tmp_path / "twilio.jsonl"
    env = _env(url, tmp_path, TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="test-token",
               VOICELINE_SMS_FROM="+12025550100", VOICELINE_TICK_SECONDS=str(TICK),
               VOICELINE_OUTBOX_POLL_SECONDS="1", FAKE_TWILIO_LOG=str(log),
               FAKE_TWILIO_DELAY=str(DELAY))
    schedulers = [Scheduler(env, tmp_path) for _ in range(2)]
    try:
        _wait(lambda: all(s.said("now active") or s.said("standby") for s in schedulers), 40,
              "both schedulers started")
        [active] = [s for s in schedulers if s.said("now active")]
        [standby] = [s for s in schedulers if s is not active]
        assert _lock_holder(engine) is not None
        for number in range(FIRST):
            _queue(engine, number)

        def in_flight():  # messages Twilio is being asked for by the active scheduler
            entries = [e for e in _log(log) if e["pid"] == active.proc.pid]
            accepted = {e["body"] for e in entries if e["what"] == "accepted"}
            begun = [e for e in entries if e["what"] == "begin" and e["body"] not in accepted]
            # (its tick and its outbox job may each be sending one). Young enough that the
            # kill lands well before Twilio (faked) accepts any of them. Two senders a DELAY
            # apart each: when one begins, the other's request is at most DELAY/2 old, so
            # this moment comes (a tighter bound missed it when the two were half a DELAY apart).
            young = all(time.time() - e["time"] < 0.65 * DELAY for e in begun)
            if not (begun and accepted and young):
                return None
            # and none Twilio accepted is still uncommitted ("sending"): a kill between Twilio's
            # answer and the commit is the one window where a message is sent twice
            with engine.connect() as conn:
                sending = set(conn.execute(select(m.OutboxMessage.body)
                                           .where(m.OutboxMessage.status == "sending")).scalars())
            return {e["body"] for e in begun} if not sending & accepted else None

        interrupted = _wait(in_flight, 30, "the active scheduler sending a message after its first")
        holder = _lock_holder(engine)
        active.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        active.proc.wait(timeout=10)
        with engine.connect() as conn:  # what it had claimed: begun at Twilio, or about to be
            claimed = set(conn.execute(select(m.OutboxMessage.body)
                                       .where(m.OutboxMessage.status == "sending")).scalars())
        for number in range(FIRST, TOTAL):
            _queue(engine, number)
        _wait(lambda: _lock_holder(engine) not in (None, holder), 4 * TICK + 5, "a new lock holder")
        took_over = time.monotonic() - killed_at

        def all_sent():
            with engine.connect() as conn:
                statuses = conn.execute(select(m.OutboxMessage.status)).scalars().all()
            return len(statuses) == TOTAL and set(statuses) == {"sent"}

        if not _wait(all_sent, 30, "every message sent", fail=False):
            with engine.connect() as conn:
                rows = conn.execute(select(m.OutboxMessage.key, m.OutboxMessage.status,
                                           m.OutboxMessage.last_error)).all()
            pytest.fail(f"not every message sent: {rows}\n" + "".join(standby.lines))
        time.sleep(1.5)  # a repeated send would show up by now
    finally:
        for scheduler in schedulers:
            if scheduler.proc.poll() is None:
                scheduler.proc.send_signal(signal.SIGTERM)
        for scheduler in schedulers:
            scheduler.proc.wait(timeout=30)
            scheduler.reader.join(timeout=5)
    outputs = ["".join(s.lines) for s in schedulers]
    assert standby.proc.returncode == 0, outputs
    assert took_over <= 2 * TICK + 1.5, f"{took_over:.1f} s: more than two ticks ({TICK} s each)"
    said = "".join(standby.lines)
    assert standby.said("now active"), said
    # Every message begun at Twilio was claimed; the claim may also hold one whose request had
    # not reached Twilio yet (the tick and the outbox job each send). The standby took all over.
    assert interrupted <= claimed, (interrupted, claimed)
    assert standby.said(f"took over {len(claimed)} message(s)"), said
    accepted = [e for e in _log(log) if e["what"] == "accepted"]
    assert sorted(e["body"] for e in accepted) == sorted(f"message {n}" for n in range(TOTAL))
    # killed mid-send: Twilio never took those from the active one; the standby sent them once
    assert {e["pid"] for e in accepted if e["body"] in claimed} == {standby.proc.pid}
    with engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(select(m.OutboxMessage))}
    assert {key: row.status for key, row in rows.items()} == {
        f"standby-test:{n}": "sent" for n in range(TOTAL)}
    resent = {f"standby-test:{body.split()[-1]}" for body in claimed}
    assert {key: row.attempts for key, row in rows.items()} == {
        key: 2 if key in resent else 1 for key in rows}
