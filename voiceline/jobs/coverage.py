"""Coverage alerts: gaps in the coming days, each told to the rota managers once.

A scan runs when the rota data changed (a fingerprint of every rota and policy and of who
can be rung, so no writer has to call us) and at least daily. A gap's key carries its real
start and end, searched beyond the scanned window where the window cuts it, so one
unchanged gap is alerted once however the window moves; only a bound more than about a
year away is "open". A policy step whose people on duty cannot be rung (no phone,
inactive) is a gap too, and the alert says why. Broken coverage rules (too few on duty, a
shift too long, a rest too short: oncall/coverage_rules.py) are alerted the same way, keyed
by the rule, the person and the range's real bounds.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.directory import people_with_role
from voiceline.instants import iso_z, parse_instant
from voiceline.jobs.messages import alert_managers, local_time, make_key
from voiceline.jobs.settings import JobSettings
from voiceline.jobs.state import get_state, set_state
from voiceline.models.jobs import CoverageGap
from voiceline.oncall.coverage_rules import Rules, describe_rule, load_rules, rule_for, violations
from voiceline.oncall.present import describe_gap, why_nobody
from voiceline.oncall.queries import Coverage, load_coverage
from voiceline.rota import Gap

log = logging.getLogger(__name__)
STATE = "coverage"
LOOKBACK = timedelta(days=7)
LOOKAHEAD_EXTRA = timedelta(days=14)
RESCAN_EVERY = timedelta(hours=24)
MAX_LINES = 5  # an SMS lists a few gaps; `voiceline gaps` lists them all


def fingerprint(coverage: Coverage, rules: Rules | None = None) -> str:
    """A hash of every rota, policy, unreachable person and rule; changes with any edit."""
    text = (repr(sorted(coverage.rotas.items())) + repr(sorted(coverage.policies.items()))
            + repr(sorted(coverage.unreachable.items())))
    if rules:
        text += repr(sorted(rules.rotas.items())) + repr(sorted(rules.steps.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _due(state: dict, print_: str, at: datetime) -> bool:
    if state.get("fingerprint") != print_ or not state.get("scanned_at"):
        return True
    last = parse_instant(state["scanned_at"])
    return at < last or at - last >= RESCAN_EVERY


def _zone_of(gap: Gap, rotas: dict[str, m.Rota], policies: dict[str, m.Policy]) -> str:
    if gap.rota is not None and gap.rota in rotas:
        return rotas[gap.rota].timezone
    policy = policies.get(gap.policy or "")
    if policy is not None and gap.step is not None and 0 < gap.step <= len(policy.steps):
        for rota_id in policy.steps[gap.step - 1].rotas:
            if rota_id in rotas:
                return rotas[rota_id].timezone
    return "UTC"


def scan_coverage(session: Session, settings: JobSettings, at: datetime, *,
                  force: bool = False, coverage: Coverage | None = None) -> int:
    """Scan the next COVERAGE_DAYS for gaps when due; alert new ones. Returns gaps newly alerted.

    `coverage` is what the tick already loaded (its rotas and people, read once per tick);
    without it, it is read here."""
    coverage = coverage if coverage is not None else load_coverage(session)
    rules = load_rules(session)
    print_ = fingerprint(coverage, rules)
    state = get_state(session, STATE)
    if not force and not _due(state, print_, at):
        return 0
    window_start = at - LOOKBACK
    days = LOOKBACK.days + settings.coverage_days + LOOKAHEAD_EXTRA.days
    window_end = window_start + timedelta(days=days)
    horizon = at + timedelta(days=settings.coverage_days)
    rotas = {r.id: r for r in session.scalars(select(m.Rota))}
    policies = {p.id: p for p in session.scalars(select(m.Policy))}

    new: list[tuple] = []  # (gap, row) or (gap-shaped range, row, what rule it breaks)
    found = coverage.gaps(window_start, window_end)
    broken = violations(coverage, rules, window_start, window_end) if rules else []
    if (found or broken) and not people_with_role(session, "manager"):
        # Recorded gaps are never told again, so wait (daily rescan) until someone can be told.
        log.warning("coverage: %d gap(s), %d broken rule(s) but no rota manager to tell",
                    len(found), len(broken))
        found, broken = [], []
    for found_gap in found:
        if found_gap.end <= at or found_gap.start >= horizon:
            continue
        # Keys and rows hold whole seconds, as the alerts and `voiceline gaps` show them.
        key_start, key_end = (None if b is None else b.replace(microsecond=0)
                              for b in coverage.real_bounds(found_gap, window_start, window_end))
        where = (("rota", found_gap.rota) if found_gap.policy is None
                 else ("policy", found_gap.policy, "step", found_gap.step))
        key = make_key("gap", *where, key_start or "open", key_end or "open")
        gap = CoverageGap(key=key, rota_id=found_gap.rota, policy_id=found_gap.policy,
                          step=found_gap.step, start=key_start, end=key_end, first_seen_at=at)
        try:
            with session.begin_nested():
                session.add(gap)
        except IntegrityError:
            continue  # already alerted (by an earlier scan or a concurrent tick)
        new.append((found_gap, gap))

    for v in sorted(broken, key=lambda v: (v.start, v.end)):
        if v.end <= at or v.start >= horizon:
            continue
        bounds = [None if b is None else b.replace(microsecond=0) for b in (v.real_start, v.real_end)]
        where = ("rota", v.rota) if v.policy is None else ("policy", v.policy, "step", v.step)
        key = make_key("rule", v.kind, *where, v.person or "-", bounds[0] or "open", bounds[1] or "open")
        row = CoverageGap(key=key, rota_id=v.rota, policy_id=v.policy, step=v.step,
                          start=bounds[0], end=bounds[1], first_seen_at=at)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        as_gap = Gap(v.start, v.end, rota=v.rota, policy=v.policy, step=v.step)
        new.append((as_gap, row, describe_rule(v, rule_for(rules, v))))

    if new:
        def text(manager: m.Person) -> str:
            lines = []
            for found_gap, gap, *rule in new[:MAX_LINES]:
                zone = _zone_of(found_gap, rotas, policies)
                what = (f"rota {rotas[found_gap.rota].name or found_gap.rota}"
                        if found_gap.rota is not None else describe_gap(found_gap))
                why = rule[0] if rule else why_nobody(found_gap, coverage.unreachable)
                begin = ("now" if gap.start is None or gap.start <= at
                         else local_time(gap.start, manager.timezone, zone))
                until = (f"past {local_time(window_end, manager.timezone, zone)}" if gap.end is None
                         else local_time(gap.end, manager.timezone, zone))
                lines.append(f"- {what}: {why} from {begin} to {until}")
            more = len(new) - MAX_LINES
            tail = f"\n...and {more} more." if more > 0 else ""
            gap_count = sum(1 for entry in new if len(entry) == 2)
            heading = f"{gap_count} new gap(s)"
            if gap_count < len(new):
                heading = (f"{heading} and {len(new) - gap_count} broken rule(s)" if gap_count
                           else f"{len(new)} broken coverage rule(s)")
            return (f"voiceline coverage: {heading} within {settings.coverage_days} days:\n"
                    + "\n".join(lines) + tail + "\nRun `voiceline gaps` for the full list.")

        ends = [entry[1].end for entry in new]
        known = [e for e in ends if e is not None]
        expires = max(known) if len(known) == len(ends) else None
        digest = hashlib.sha256("|".join(sorted(e[1].key for e in new)).encode()).hexdigest()[:24]
        alert_managers(session, key=make_key("coverage", digest), text=text, purpose="coverage",
                       at=at, expires_at=expires)
        log.info("coverage: %d new gap(s) alerted", len(new))
    set_state(session, STATE, {"fingerprint": print_, "scanned_at": iso_z(at)}, at)
    return len(new)
