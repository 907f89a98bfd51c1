"""One tick of the clock work, as of an explicit instant.

Each step runs in its own transaction, so a fault in one (logged, counted) does not
stop the others; every step is idempotent, so the next tick repairs what this one missed.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from twilio.http import HttpClient

from voiceline import appdb
from voiceline import models as m
from voiceline.calls.context import CallSettings, Context
from voiceline.calls.status import send_pending_notices
from voiceline.calls.store import close_stale_calls
from voiceline.db import session_scope
from voiceline.extensions import HTTP_CLIENT
from voiceline.instants import iso_z, utcnow
from voiceline.jobs import coverage, linetests, reachability
from voiceline.jobs.duty import upcoming_starts
from voiceline.jobs.handoffs import (
    RotaView,
    open_duty,
    queue_reminders,
    reminder_leads,
    sync_history,
)
from voiceline.jobs.messages import make_key
from voiceline.jobs.retention import Retention, apply_retention
from voiceline.jobs.settings import JobSettings
from voiceline.jobs.state import set_state
from voiceline.models.jobs import ReachabilityCheck
from voiceline.oncall.queries import Coverage, unreachable_among
from voiceline.oncall.store import load_policies, rota_to_engine
from voiceline.outbox.sender import send_due
from voiceline.rota import compile_rota

log = logging.getLogger(__name__)
RETRIES = 3  # SQLite answers "database is locked" when two writers race; a step is retried


@dataclass
class TickReport:
    """What one tick did: counts per kind of work and the steps that failed."""

    at: datetime
    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"at": iso_z(self.at), "counts": dict(sorted(self.counts.items())),
                "errors": self.errors}


def _run_step(report: TickReport, name: str, step: Callable[[], Any]) -> None:
    for attempt in range(1, RETRIES + 1):
        try:
            result = step()
        except OperationalError as exc:
            if "locked" in str(exc).lower() and attempt < RETRIES:
                time.sleep(0.05 * attempt)
                continue
            log.exception("tick step %s failed", name)
            report.errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            return
        except Exception as exc:  # one broken step must not stop the clock
            log.exception("tick step %s failed", name)
            report.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
            return
        if isinstance(result, Counter):
            report.counts.update({f"{name}.{k}": v for k, v in result.items() if v})
        elif isinstance(result, int) and result:
            report.counts[name] += result
        return


def confirm_url_for(app: Flask, public_url: str) -> Callable[[int], str]:
    """The reachability webhook's public URL for a check, built from its route as url_for does
    (the scheduler has no request to build against)."""
    urls = app.url_map.bind("localhost")
    return lambda check_id: public_url.rstrip("/") + urls.build(
        "reachability.confirm_view", {"check_id": check_id})


def _duty_step(factory: sessionmaker[Session], settings: JobSettings, view: RotaView,
               people: dict[str, m.Person], lead: dict[str, timedelta], at: datetime,
               confirm_url: Callable[[int], str]) -> Counter:
    with session_scope(factory) as session:
        counts = sync_history(session, settings, view, people, at)
        counts["reminders"] += queue_reminders(session, view, people, at, lead)
        counts["reachability_calls"] += reachability.queue_checks(session, settings, view, people, at,
                                                               confirm_url)
        return counts


@dataclass
class Loaded:
    """What a tick reads once for all its rotas (detached, read-only)."""

    views: list[RotaView]
    people: dict[str, m.Person]
    lead: dict[str, timedelta]  # reminder lead per person
    open_duty: dict[str, set[str]]  # rota id -> people with an open history row
    coverage: Coverage


def _load(factory: sessionmaker[Session]) -> Loaded:
    """Every rota (row and compiled engine value), person, policy and open history row:
    a handful of queries per tick, whatever the number of rotas."""
    with session_scope(factory) as session:
        rows = list(session.scalars(select(m.Rota).options(
            selectinload(m.Rota.layers).selectinload(m.Layer.versions),
            selectinload(m.Rota.overrides)).order_by(m.Rota.id)))
        people = {p.id: p for p in session.scalars(select(m.Person))}
        policies = load_policies(session)
        duty = open_duty(session)
    engine_rotas = {row.id: rota_to_engine(row) for row in rows}
    views = [RotaView(row, compile_rota(engine_rotas[row.id])) for row in rows]
    coverage = Coverage(engine_rotas, policies, unreachable_among(people.values()))
    return Loaded(views, people, reminder_leads(people), duty, coverage)


@dataclass
class _Wanted:
    """What a rota's duty step would queue now, by key (reminders) and shift (reachability)."""

    history_differs: bool
    reminders: set[str]
    checks: set[tuple[str, str, datetime]]


def _wanted(view: RotaView, loaded: Loaded, at: datetime) -> _Wanted:
    """Compute, without the database, what the duty step would try for this rota: the same
    selection as queue_reminders and reachability.queue_checks make."""
    rota = view.row
    differs = set(view.compiled.people_at(at)) != loaded.open_duty.get(rota.id, set())
    reminders: set[str] = set()
    if loaded.lead:
        for pid, start in upcoming_starts(view.compiled, at, max(loaded.lead.values())):
            if pid in loaded.lead and start - at <= loaded.lead[pid]:
                reminders.add(make_key("reminder", rota.id, pid, start))
    checks: set[tuple[str, str, datetime]] = set()
    if rota.reachability_minutes and rota.reachability_minutes > 0:
        window = timedelta(minutes=rota.reachability_minutes)
        for pid, start in upcoming_starts(view.compiled, at, window):
            person = loaded.people.get(pid)
            if person is not None and person.active:
                checks.add((rota.id, pid, start))
    return _Wanted(differs, reminders, checks)


def _due_views(factory: sessionmaker[Session], loaded: Loaded, at: datetime) -> list[RotaView]:
    """The rotas whose duty step has something to do: history to record, or a reminder or
    reachability check not yet queued (one query each for every rota). The others are not
    run at all: their step would find every key already there and change nothing."""
    wanted = {view.row.id: _wanted(view, loaded, at) for view in loaded.views}
    keys = sorted({k for w in wanted.values() for k in w.reminders})
    checks = {c for w in wanted.values() for c in w.checks}
    known_keys: set[str] = set()
    known_checks: set[tuple[str, str, datetime]] = set()
    with session_scope(factory) as session:
        for i in range(0, len(keys), 500):
            known_keys.update(session.scalars(select(m.OutboxMessage.key).where(
                m.OutboxMessage.key.in_(keys[i:i + 500]))))
        if checks:
            starts = [start for _, _, start in checks]
            known_checks.update(
                (r, p, s) for r, p, s in session.execute(
                    select(ReachabilityCheck.rota_id, ReachabilityCheck.person_id,
                           ReachabilityCheck.shift_start)
                    .where(ReachabilityCheck.shift_start >= min(starts),
                           ReachabilityCheck.shift_start <= max(starts))))
    return [view for view in loaded.views
            if (w := wanted[view.row.id]).history_differs or w.reminders - known_keys
            or w.checks - known_checks]


def _no_links(endpoint: str, **params) -> str:
    raise RuntimeError(f"the clock work builds no webhook links ({endpoint})")


def _call_context(app: Flask, session: Session, at: datetime) -> Context:
    """What the call flow's notice code needs, outside a webhook request."""
    return Context(session=session, at=at, links=_no_links,
                   settings=CallSettings.from_config(app.config, app.config.get("PUBLIC_URL") or ""))


def run_tick(app: Flask, at: datetime, *, http_client: HttpClient | None = None) -> TickReport:
    """Run every job once as of `at`: history and handoffs, reminders, reachability, coverage,
    line tests, then send what is due and follow up on calls."""
    settings = JobSettings.from_config(app.config)
    factory = appdb.session_factory(app)
    http_client = http_client or app.extensions.get(HTTP_CLIENT)
    report = TickReport(at)

    loaded: list[Loaded] = []
    _run_step(report, "load", lambda: loaded.append(_load(factory)))
    confirm_url = confirm_url_for(app, settings.public_url or "")
    due: list[RotaView] = []
    if loaded:  # when this planning read fails, every rota's step runs (each is idempotent)
        _run_step(report, "plan", lambda: due.extend(_due_views(factory, loaded[0], at)))
        if report.errors and report.errors[-1].startswith("plan:"):
            due = list(loaded[0].views)
    for view in due:
        _run_step(report, "duty", functools.partial(_duty_step, factory, settings, view,
                                                    loaded[0].people, loaded[0].lead, at,
                                                    confirm_url))
    known = loaded[0].coverage if loaded else None

    def scoped(work: Callable[[Session], Any]) -> Callable[[], Any]:
        def run():
            with session_scope(factory) as session:
                return work(session)
        return run

    _run_step(report, "coverage_gaps", scoped(lambda s: coverage.scan_coverage(s, settings, at,
                                                                             coverage=known)))
    _run_step(report, "linetests_queued", scoped(lambda s: linetests.schedule_tests(s, settings, at)))
    send = lambda: send_due(factory, settings, at, http_client=http_client)  # noqa: E731
    _run_step(report, "outbox", send)
    _run_step(report, "reachability", scoped(lambda s: reachability.follow_up(s, settings, at)))
    _run_step(report, "linetest", scoped(lambda s: linetests.follow_up(s, settings, at)))
    _run_step(report, "missed_notices", scoped(lambda s: send_pending_notices(_call_context(app, s, at))))
    _run_step(report, "outbox", send)  # alerts raised by the follow-ups leave in the same tick
    _run_step(report, "stale_calls", scoped(lambda s: close_stale_calls(s, at)))
    retention = Retention.from_config(app.config)
    if retention != Retention():
        _run_step(report, "retention", scoped(lambda s: apply_retention(
            s, settings, retention, at, http_client=http_client)))
    _run_step(report, "state", scoped(
        lambda s: set_state(s, "tick", {"at": iso_z(at), "ran_at": iso_z(utcnow()),
                                  "errors": report.errors}, at)))
    return report
