"""Two schedulers at once: the lock makes one a standby, and the keys hold even without it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from voiceline import appdb, create_app
from voiceline import models as m
from voiceline.jobs.lock import SchedulerLock
from voiceline.jobs.process import tick_job
from voiceline.jobs.tick import run_tick
from voiceline.models.jobs import DutyRecord


@pytest.fixture
def app_config(app_config, any_db_url):
    return {**app_config, "DATABASE_URL": any_db_url}


@pytest.fixture
def second_app(rota, app_config):
    """Another scheduler process's app on the same database."""
    other = create_app(app_config)
    yield other
    appdb.engine(other).dispose()


def count(app, model, *where):
    with appdb.session_factory(app)() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def tick_together(apps, at):
    """Run one tick per app in threads released at the same moment."""
    barrier = threading.Barrier(len(apps))
    reports = []

    def worker(app):
        barrier.wait()
        reports.append(run_tick(app, at))

    threads = [threading.Thread(target=worker, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return reports


def test_two_schedulers_ticking_at_the_same_instant_without_the_lock_send_once(
        rota, second_app, h, fake_twilio):
    with appdb.session_factory(rota)() as session:
        session.get(m.Rota, "daily").notify_outgoing = True
        session.commit()
    run_tick(rota, h.utc("2026-03-05T13:59"))
    for instant in ("2026-03-05T14:00", "2026-03-05T14:01", "2026-03-06T13:30"):
        reports = tick_together([rota, second_app], h.utc(instant))
        assert [r.errors for r in reports] == [[], []]
    keys = [msg.key for msg in h.outbox(rota)]
    assert sorted(keys) == sorted([
        "handoff:daily:ben:2026-03-05T14:00:00Z",
        "handoff-end:daily:ann:2026-03-04T14:00:00Z",
        "reminder:daily:ann:2026-03-06T14:00:00Z",
    ])
    assert [msg.status for msg in h.outbox(rota)] == ["sent"] * 3
    assert sorted(d["To"] for d in fake_twilio.sent()) == ["+12025550111", "+12025550111",
                                                           "+12025550112"]
    assert count(rota, DutyRecord, DutyRecord.person_id == "ben") == 1


def test_the_lock_makes_the_second_scheduler_a_hot_standby(rota, second_app, h, fake_twilio):
    first = SchedulerLock(appdb.engine(rota), rota.instance_path)
    standby = SchedulerLock(appdb.engine(second_app), rota.instance_path)
    try:
        assert tick_job(rota, first, h.utc("2026-03-05T14:00")) is not None
        assert tick_job(second_app, standby, h.utc("2026-03-05T14:00")) is None
        assert tick_job(second_app, standby, h.utc("2026-03-05T14:01")) is None
        assert first.held and not standby.held
        first.release()  # the active scheduler stops: the standby takes over at its next tick
        report = tick_job(second_app, standby, h.utc("2026-03-05T14:02"))
        assert report is not None and report.errors == []
        assert standby.held
    finally:
        first.release()
        standby.release()
    assert len(h.outbox(rota, purpose="handoff")) == 1
    assert len(fake_twilio.sent()) == 1


def test_the_standby_takes_over_when_the_active_scheduler_dies(rota, second_app, h):
    from sqlalchemy import text

    first = SchedulerLock(appdb.engine(rota), rota.instance_path)
    standby = SchedulerLock(appdb.engine(second_app), rota.instance_path)
    try:
        assert first.acquire() and not standby.acquire()
        if appdb.engine(rota).dialect.name == "postgresql":
            # the active scheduler's host vanishes: its connection, and the lock, go with it
            # (waiting up to 5 s for the backend to exit: without the timeout the call returns
            # once the signal is sent, and the lock may still be held when the standby asks)
            pid = first._conn.execute(text("SELECT pg_backend_pid()")).scalar()
            with appdb.engine(second_app).connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
                conn.commit()
        else:
            import os

            os.close(first._fd)  # what the kernel does when the process dies
            first._fd = None
        assert tick_job(second_app, standby, h.utc("2026-03-05T14:00")) is not None
        assert standby.held
        assert not first.acquire()  # the old one, if it comes back, is now the standby
    finally:
        first.release()
        standby.release()
