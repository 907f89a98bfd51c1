"""SQLite writers take turns through `<database>.write-lock` (voiceline.sqlite_writes): the
lock is taken by a transaction's first write, given back right after its COMMIT or ROLLBACK
(or when its connection goes back to the pool), never by a read; a waiting writer goes on as
soon as it is given back, and after the busy timeout at the latest."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from sqlalchemy import text

from voiceline.db import Timeouts, make_engine


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "turns.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    engine.dispose()
    return path


def _held(path) -> bool:
    """Whether some connection holds the write lock now (tried from a descriptor of our own)."""
    fd = os.open(f"{path}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # (a lock we took goes with the descriptor)
    return False


def test_a_write_holds_the_turn_until_its_commit_and_a_read_never_takes_it(database):
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert not _held(database)
        conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert _held(database)
        conn.commit()
        assert not _held(database)
        conn.execute(text("UPDATE t SET v = 'b'"))
        assert _held(database)
        conn.rollback()
        assert not _held(database)
        conn.execute(text("DELETE FROM t"))
        assert _held(database)
    assert not _held(database)  # back to the pool uncommitted: rolled back and given back
    engine.dispose()


def test_a_waiting_writer_goes_on_once_the_turn_is_given_back(database):
    first, second = (make_engine(f"sqlite:///{database}") for _ in range(2))
    done: dict[str, float] = {}

    def later_writer():
        with second.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('second')"))
        done["second"] = time.monotonic()

    with first.connect() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('first')"))
        thread = threading.Thread(target=later_writer)
        thread.start()
        time.sleep(0.3)
        assert "second" not in done  # waiting for its turn, not failing with "locked"
        conn.commit()
        committed = time.monotonic()
    thread.join(timeout=10)
    assert done["second"] >= committed
    with first.connect() as conn:
        assert conn.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() == [
            "first", "second"]
    first.dispose()
    second.dispose()


def test_a_turn_never_given_back_is_waited_for_no_longer_than_the_busy_timeout(database):
    """A stuck holder (here: another descriptor that keeps the lock file) costs a writer the
    busy timeout at most; the write then goes ahead under SQLite's own locking."""
    engine = make_engine(f"sqlite:///{database}", Timeouts(statement_ms=400))
    fd = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        began = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('anyway')"))
        waited = time.monotonic() - began
    finally:
        os.close(fd)
    assert 0.35 <= waited < 5
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM t")).scalars().all() == ["anyway"]
    engine.dispose()


def test_an_in_memory_database_has_no_lock_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO t DEFAULT VALUES")
    assert list(tmp_path.iterdir()) == []
    engine.dispose()


def test_waiting_for_the_turn_comes_out_of_the_busy_timeout(database):
    """Behind a stuck turn and a locked database, a writer fails at the busy timeout, not at
    twice it (the turn's wait, then SQLite's busy handler again); the connection's busy
    timeout is whole again afterwards."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    engine = make_engine(f"sqlite:///{database}", Timeouts(statement_ms=600), pool_size=1,
                         max_overflow=0)  # one connection: the one whose timeout was cut
    fd = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # SQLite's own write lock, held elsewhere
    try:
        began = time.monotonic()
        with pytest.raises(OperationalError, match="locked"), engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('never')"))
        waited = time.monotonic() - began
    finally:
        other.execute("ROLLBACK")
        other.close()
        os.close(fd)
    assert 0.55 <= waited < 1.0  # 0.6 s in all, not 1.2 s
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 600
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()
