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
    """Database, schema and scheduler state; ok only when the database is usable and no
    scheduler that has run before has gone quiet."""
    report: dict[str, Any] = {"ok": True}
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
    else:
        stale = utcnow() - last_tick > SCHEDULER_STALE
        report["scheduler"] = {"last_tick": iso_z(last_tick), "stale": stale}
        if stale:
            report["ok"] = False
            report["error"] = "the scheduler has not ticked for over 10 minutes"
    return report
