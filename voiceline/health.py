"""Health report for /healthz: a list of named checks (database, schema, scheduler, Twilio setup).

Each check is a function taking the facts gathered by the checks before it and answering a
Check (or None when it does not apply, e.g. the schema when the database is unreachable).
The report is ok only when every check is; `problems` names each failing check and what it
means, and `error` is the first failing check's message.
/healthz runs under the webhooks' database budget (voiceline.appdb): with the database hung it
still answers within seconds, ok false, with the reason.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from voiceline import appdb, dbguard, migrate
from voiceline.calls.alerts import NO_DURESS_RECIPIENT, duress_recipients
from voiceline.instants import iso_z, parse_instant, utcnow
from voiceline.models.jobs import JobState

log = logging.getLogger(__name__)
SCHEDULER_STALE = timedelta(minutes=10)
# A scheduler started beside this process (`make run`) ticks within seconds; until this long
# after the start, one that has not ticked yet is a warning, not a failure.
SCHEDULER_START_GRACE = timedelta(minutes=1)


@dataclass
class Check:
    """One check's answer: ok, why not (or a warning), and what it found."""

    ok: bool
    message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # named problems when one check finds several (the Twilio setup); default: its own message
    problems: Sequence[Mapping[str, str | None]] | None = None


HealthCheck = Callable[[dict[str, Any]], Check | None]


def database_problem(exc: BaseException) -> str:
    """A short, public reason for a database failure (details go to the log only)."""
    if isinstance(exc, dbguard.BudgetExceeded):
        return str(exc)
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    message = str(original).lower()
    path = appdb.storage_state().sqlite_path
    if path and not os.path.exists(path):
        return (f"database file {path} is missing: restore it, or run `voiceline db upgrade` "
                "to create an empty one")
    for needle, reason in (
        ("statement timeout", "statement timeout: the database is busy or locked"),
        ("lock timeout", "lock timeout: a table is locked"),
        ("database is locked", "database is locked (busy timeout)"),
        ("timeout", "connection timed out"),
        ("timed out", "connection timed out"),
    ):
        if needle in message:
            return reason
    return f"database unreachable: {type(original).__name__}"


def check_database(facts: dict[str, Any]) -> Check:
    """Reachable within the budget; gathers the schema revision and the scheduler's state."""
    try:
        with appdb.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            facts["revision"] = migrate.current_revision(appdb.engine())
            if facts["revision"] == migrate.head_revision():
                facts["tick"] = conn.scalar(
                    select(JobState.value).where(JobState.name == "tick")) or {}
    except Exception as exc:  # health must answer, whatever broke
        log.warning("health: database check failed: %s", exc)
        return Check(False, database_problem(exc), _events())
    return Check(True, None, _events())


def _events() -> dict[str, Any]:
    """What the engine lived through lately (a replaced or missing SQLite file)."""
    events = list(appdb.storage_state().notices)
    return {"events": events} if events else {}


def check_schema(facts: dict[str, Any]) -> Check | None:
    if "revision" not in facts:
        return None
    if facts["revision"] != migrate.head_revision():
        return Check(False, "database not migrated: run `voiceline db upgrade`",
                     {"revision": facts["revision"]})
    return Check(True, None, {"revision": facts["revision"]})


def check_scheduler(facts: dict[str, Any]) -> Check | None:
    if "tick" not in facts:
        return None
    state = facts["tick"]
    # ran_at is the wall clock of the last tick (a `--once --at` tick may be "as of" any instant)
    last_tick = parse_instant(state["ran_at"]) if state.get("ran_at") else None
    if last_tick is None:
        up = facts.get("seconds_up")
        if up is not None and up < SCHEDULER_START_GRACE.total_seconds():
            wait = (f"the scheduler has not ticked yet (this process started {int(up)} s ago; "
                    f"it is a problem after {int(SCHEDULER_START_GRACE.total_seconds())} s)")
            return Check(True, wait, {"last_tick": None, "warning": wait})
        # a scheduler that never ran sends no handoffs, reminders or line tests
        return Check(False, "the scheduler has never ticked: no handoff, reminder, coverage "
                     "alert or line test is sent; run `voiceline scheduler`",
                     {"last_tick": None,
                      "warning": "the scheduler has never ticked: run `voiceline scheduler`"})
    stale = utcnow() - last_tick > SCHEDULER_STALE
    return Check(not stale, "the scheduler has not ticked for over 10 minutes" if stale else None,
                 {"last_tick": iso_z(last_tick), "stale": stale})


def check_twilio_setup(_facts: dict[str, Any]) -> Check:
    """PUBLIC_URL, auth token, fallback numbers, connection overrides (voiceline.webhooks.checks)."""
    from flask import current_app

    from voiceline.webhooks.checks import twilio_setup_problems

    problems = twilio_setup_problems(current_app.config)
    if not problems:
        return Check(True)
    return Check(False, problems[0].message, problems=[p.as_dict() for p in problems])


def duress_recipients_check() -> dict[str, Any]:
    """Who a duress alert reaches: the recipients' ids, and a warning when no supervisor is one."""
    try:
        with appdb.session_factory()() as session:
            people, instead = duress_recipients(session)
    except Exception as exc:  # health must answer, whatever broke
        return {"warning": f"duress alert recipients could not be checked: {type(exc).__name__}"}
    found: dict[str, Any] = {"recipients": [p.id for p in people]}
    if instead:
        found["warning"] = NO_DURESS_RECIPIENT if people else (
            "duress alerts have no recipient: no active supervisor, manager or admin with a valid phone")
    return found


def check_duress_recipients(facts: dict[str, Any]) -> Check | None:
    """A warning, never `ok: false`: calls still work, and a 503 here could take the hotline out
    of a load balancer."""
    if "tick" not in facts:  # the database is unusable or unmigrated: its own check says so
        return None
    found = duress_recipients_check()
    return Check(True, found.pop("warning", None), found)


def check_conference(facts: dict[str, Any]) -> Check | None:
    """Conference policies need Twilio credentials; without them they ring in dial mode."""
    from flask import current_app

    from voiceline.calls.ringmode import NO_CREDENTIALS, conference_without_credentials

    if "tick" not in facts:  # the database is unusable or unmigrated: its own check says so
        return None
    try:
        with appdb.session_factory()() as session:
            policies = conference_without_credentials(session, current_app.config)
    except Exception as exc:  # health must answer, whatever broke
        return Check(True, f"conference policies could not be checked: {type(exc).__name__}")
    if not policies:
        return Check(True)
    return Check(False, f"{NO_CREDENTIALS}: {', '.join(policies)}", {"policies": policies})


CHECKS: list[tuple[str, HealthCheck]] = [
    ("database", check_database),
    ("schema", check_schema),
    ("scheduler", check_scheduler),
    ("twilio_setup", check_twilio_setup),
    ("conference", check_conference),
    ("duress", check_duress_recipients),
]


def _seconds_up() -> float | None:
    """Seconds since this process made its app (None outside an app)."""
    from flask import current_app

    from voiceline.extensions import STARTED

    started = current_app.extensions.get(STARTED)
    return time.monotonic() - started if started is not None else None


def health_report(start_grace: bool = True) -> dict[str, Any]:
    """Every check's answer; ok only when all are ok. `schema` and `scheduler` are also given
    at the top level as before. With `start_grace` (a serving process), a scheduler that has
    not ticked yet is only a warning during the process's first minute; `voiceline twilio
    check` passes False (the servers' start says nothing about the scheduler then)."""
    report: dict[str, Any] = {"ok": True}
    facts: dict[str, Any] = {"seconds_up": _seconds_up() if start_grace else None}
    checks: dict[str, Any] = {}
    for name, check in CHECKS:
        result = check(facts)
        if result is None:
            continue
        entry = {"ok": result.ok, **result.data}
        if result.message:
            entry["error" if not result.ok else "warning"] = result.message
        checks[name] = entry
        if not result.ok:
            report["ok"] = False
            report.setdefault("error", result.message)
            report.setdefault("problems", []).extend(
                result.problems or [{"check": name, "problem": result.message}])
    if "revision" in facts:
        report["schema"] = facts["revision"]
    if "scheduler" in checks:
        report["scheduler"] = {k: v for k, v in checks["scheduler"].items() if k != "ok"}
    report["checks"] = checks
    return report
