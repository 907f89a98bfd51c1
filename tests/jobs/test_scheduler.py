"""The `voiceline scheduler` command and process: --once, the lock, APScheduler job settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from voiceline import appdb
from voiceline.jobs.lock import SchedulerLock
from voiceline.jobs.process import MISFIRE_GRACE_SECONDS, build_scheduler
from voiceline.models.jobs import JobState


def test_once_at_runs_one_tick_as_of_that_instant(rota, runner, h):
    result = runner.invoke(args=["scheduler", "--once", "--at", "2026-03-05T14:00:00Z", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["at"] == "2026-03-05T14:00:00Z"
    assert report["errors"] == []
    assert report["counts"]["duty.announced"] == 1
    assert [m.key for m in h.outbox(rota)] == ["handoff:daily:ben:2026-03-05T14:00:00Z"]
    again = runner.invoke(args=["scheduler", "--once", "--at", "2026-03-05T14:00:00Z"])
    assert again.exit_code == 0
    assert again.output.startswith("tick at 2026-03-05T14:00:00Z: ")
    assert len(h.outbox(rota)) == 1


def test_once_refuses_while_another_scheduler_is_active(rota, runner):
    active = SchedulerLock(appdb.engine(rota), rota.instance_path)
    assert active.acquire()
    try:
        result = runner.invoke(args=["scheduler", "--once", "--at", "2026-03-05T14:00:00Z"])
    finally:
        active.release()
    assert result.exit_code == 2
    assert "another scheduler holds the lock" in result.output


def test_option_errors(rota, runner):
    assert runner.invoke(args=["scheduler", "--at", "2026-03-05T14:00:00Z"]).exit_code == 2
    bad = runner.invoke(args=["scheduler", "--once", "--at", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_file_lock_is_exclusive_and_released(tmp_path, app):
    first = SchedulerLock(appdb.engine(app), tmp_path)
    second = SchedulerLock(appdb.engine(app), tmp_path)
    assert first.acquire() and first.acquire()  # re-confirming our own lock
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_the_scheduler_ticks_every_minute_in_utc_with_coalescing(app):
    lock = SchedulerLock(appdb.engine(app), app.instance_path)
    scheduler = build_scheduler(app, lock)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    tick = jobs["tick"]
    assert isinstance(tick.trigger, IntervalTrigger)
    assert tick.trigger.interval.total_seconds() == 60
    assert str(tick.trigger.timezone) == "UTC"
    assert (tick.coalesce, tick.max_instances, tick.misfire_grace_time) == (True, 1, MISFIRE_GRACE_SECONDS)
    assert MISFIRE_GRACE_SECONDS >= 120
    assert jobs["outbox"].trigger.interval.total_seconds() == app.config["OUTBOX_POLL_SECONDS"]
    assert not scheduler.running


def test_ticks_fall_on_the_minute_whenever_the_process_started(app):
    scheduler = build_scheduler(app, SchedulerLock(appdb.engine(app), app.instance_path))
    tick = {job.id: job for job in scheduler.get_jobs()}["tick"]
    assert getattr(tick, "next_run_time", None) is None  # not "now": that shifts every tick
    started = datetime(2026, 12, 1, 10, 0, 17, 250000, tzinfo=UTC)
    first = tick.trigger.get_next_fire_time(None, started)
    assert (first.second, first.microsecond) == (0, 0)
    later = tick.trigger.get_next_fire_time(first, first + timedelta(seconds=3))
    assert later - first == timedelta(minutes=1) and later.second == 0


def test_web_app_creation_starts_no_scheduler(app_config):
    from voiceline import create_app

    before = {t.name for t in threading.enumerate()}
    application = create_app(app_config)
    assert {"scheduler", "outbox", "linetests"} <= set(application.cli.commands)
    assert {t.name for t in threading.enumerate()} == before
    appdb.engine(application).dispose()


def test_scheduler_process_ticks_and_a_second_one_stands_by(rota, tmp_path):
    """Two real `voiceline scheduler` processes on one SQLite database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELINE_", "TWILIO_"))}
    env.update(VOICELINE_DATABASE_URL=rota.config["DATABASE_URL"], PYTHONUNBUFFERED="1")
    cli = [sys.executable, "-c", "from voiceline.cli import main; main()", "scheduler"]
    instance = Path(rota.instance_path)
    procs = [subprocess.Popen(cli, cwd=instance, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 30
        ticked = None
        while time.monotonic() < deadline and ticked is None:
            with appdb.session_factory(rota)() as session:
                ticked = session.scalar(select(JobState).where(JobState.name == "tick"))
            time.sleep(0.2)
        assert ticked is not None, "no tick within 30 s"
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=30)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert sum("now active" in out for out in outputs) == 1, outputs
    assert sum("standby" in out for out in outputs) == 1, outputs
