"""Health report for /healthz: database reachable and migrated, scheduler ticking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from voiceline import appdb, migrate
from voiceline.db import utcnow
from voiceline.models.jobs import JobState
from voiceline.oncall import iso_z, parse_instant

SCHEDULER_STALE = timedelta(minutes=10)


def health_report() -> dict[str, Any]:
    """Database, schema, scheduler and Twilio setup; ok only when the database is usable, the
    scheduler ticks and nothing in the setup would fail a call."""
    report: dict[str, Any] = {"ok": True}
    _check_twilio_setup(report)
    try:
        with appdb.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            current = migrate.current_revision(appdb.engine())
            report["schema"] = current
            if current != migrate.head_revision():
                report["ok"] = False
                report["error"] = "database not migrated: run `voiceline db upgrade`"
                return report
            state = conn.scalar(select(JobState.value).where(JobState.name == "tick")) or {}
    except Exception as exc:  # health must answer, whatever broke
        report["ok"] = False
        report["error"] = f"database unreachable: {type(exc).__name__}"
        return report
    # ran_at is the wall clock of the last tick (a `--once --at` tick may be "as of" any instant)
    last_tick = parse_instant(state["ran_at"]) if state.get("ran_at") else None
    if last_tick is None:
        report["scheduler"] = {"last_tick": None, "warning": "the scheduler has never ticked: "
                               "run `voiceline scheduler`"}
        _check_scheduler_ticked(report)
    else:
        stale = utcnow() - last_tick > SCHEDULER_STALE
        report["scheduler"] = {"last_tick": iso_z(last_tick), "stale": stale}
        if stale:
            report["ok"] = False
            report["error"] = "the scheduler has not ticked for over 10 minutes"
    return report


def _problem(report: dict[str, Any], check: str, message: str) -> None:
    report["ok"] = False
    report.setdefault("problems", []).append({"check": check, "problem": message})


def _check_twilio_setup(report: dict[str, Any]) -> None:
    """PUBLIC_URL, auth token, fallback numbers, connection overrides (voiceline.webhooks.checks)."""
    from flask import current_app

    from voiceline.webhooks.checks import twilio_setup_problems

    for problem in twilio_setup_problems(current_app.config):
        _problem(report, problem.check, problem.message)


def _check_scheduler_ticked(report: dict[str, Any]) -> None:
    """A scheduler that never ran sends no handoffs, reminders or line tests."""
    _problem(report, "scheduler", "the scheduler has never ticked: no handoff, reminder, coverage "
             "alert or line test is sent; run `voiceline scheduler`")
