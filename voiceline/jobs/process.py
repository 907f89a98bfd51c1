"""The `voiceline scheduler` process: APScheduler jobs that tick under the scheduler lock.

Never started in web workers (each gunicorn worker would run every job again). Jobs are
plain functions that open their own app context per run.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import update

from voiceline import appdb
from voiceline import models as m
from voiceline.db import rowcount, session_scope
from voiceline.extensions import HTTP_CLIENT
from voiceline.instants import utcnow
from voiceline.jobs.lock import SchedulerLock
from voiceline.jobs.settings import JobSettings
from voiceline.jobs.tick import TickReport, run_tick
from voiceline.outbox.sender import send_due

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 300  # a tick up to 5 minutes late still runs (once: coalesce)


class Standby(RuntimeError):
    """Another scheduler holds the lock."""


def tick_job(app: Flask, lock: SchedulerLock, at: datetime | None = None) -> TickReport | None:
    """One tick if this process holds (or can take) the lock; None while in standby."""
    with app.app_context():
        was_held = lock.held
        if not lock.acquire():
            if was_held or not lock._said_standby:
                log.info("standby: another scheduler holds the lock; retrying every tick")
                lock._said_standby = True
            return None
        if not was_held:
            log.info("this scheduler is now active (holds the lock)")
            take_over_claims(app)
        report = run_tick(app, at or utcnow())
        level = logging.WARNING if report.errors else logging.DEBUG
        log.log(level, "tick %s: %s", report.at.isoformat(), report.as_dict())
        return report


def take_over_claims(app: Flask) -> int:
    """Put back messages a previous lock holder claimed and never settled (it died mid-send).

    Only the lock holder sends, so a claim older than our lock is a dead scheduler's: its
    message goes out again now, not when its 5-minute lease runs out. Twilio had not accepted
    it unless the kill fell between Twilio's answer and the commit (then it is sent twice).
    """
    with session_scope(appdb.session_factory(app)) as session:
        released = rowcount(session.execute(
            update(m.OutboxMessage).where(m.OutboxMessage.status == "sending")
            .values(status="pending", next_attempt_at=utcnow(),
                    last_error="interrupted while sending (the scheduler stopped); sent again "
                               "by the standby")))
    if released:
        log.warning("took over %d message(s) the previous scheduler was sending", released)
    return released


def outbox_job(app: Flask, lock: SchedulerLock) -> None:
    """Send due outbox messages between ticks (webhook alerts, retries), only when active."""
    with app.app_context():
        if not lock.held:
            return
        settings = JobSettings.from_config(app.config)
        send_due(appdb.session_factory(app), settings, utcnow(),
                 http_client=app.extensions.get(HTTP_CLIENT))


def build_scheduler(app: Flask, lock: SchedulerLock) -> BlockingScheduler:
    """The scheduler with its two jobs: the minute tick and the outbox poll."""
    options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}
    scheduler = BlockingScheduler(timezone=UTC, job_defaults=options)
    # The minute tick (VOICELINE_TICK_SECONDS shortens it for tests only), on interval
    # boundaries: the interval counts from the next boundary. An immediate first run here
    # (next_run_time=now) would shift every later tick to the process's start second, so
    # run_forever ticks once at start instead.
    every = max(1, int(app.config.get("TICK_SECONDS") or 60))
    boundary = datetime.fromtimestamp((int(utcnow().timestamp()) // every + 1) * every, UTC)
    scheduler.add_job(tick_job, IntervalTrigger(seconds=every, start_date=boundary, timezone=UTC),
                      args=[app, lock], id="tick", name="minute tick", **options)
    poll = max(1, int(app.config.get("OUTBOX_POLL_SECONDS") or 10))
    scheduler.add_job(outbox_job, IntervalTrigger(seconds=poll, timezone=UTC), args=[app, lock],
                      id="outbox", name="outbox sender", **options)
    return scheduler


def run_forever(app: Flask) -> None:
    """Run the scheduler until SIGINT/SIGTERM; the lock goes with the process."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    lock = SchedulerLock(appdb.engine(app), app.instance_path)
    scheduler = build_scheduler(app, lock)

    def stop(signum, _frame):
        log.info("signal %s: stopping the scheduler", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    try:
        try:
            tick_job(app, lock)  # at once on start; then on every minute boundary
        except Exception:  # the minute ticks retry; a failing first one must not stop them
            log.exception("the first tick failed; ticking on every minute from now")
        scheduler.start()
    except KeyboardInterrupt:
        pass
    finally:
        lock.release()
