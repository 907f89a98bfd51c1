"""The coverage page: every gap and broken coverage rule of the coming weeks, rotas and policy steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import abort, current_app, render_template, request, url_for
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.oncall.coverage_rules import describe_rule, load_rules, rule_for, violations
from voiceline.oncall.present import why_nobody
from voiceline.oncall.queries import load_coverage
from voiceline.rota import load_zone
from voiceline.web.auth import login_required
from voiceline.web.rota.common import bp, people, request_instant
from voiceline.web.timefmt import viewer_zone


@dataclass(frozen=True)
class Entry:
    """One line of the page: where, what is wrong, when, and links to the rotas at that instant."""

    where: str
    what: str
    start: datetime
    end: datetime
    kind: str  # gap | understaffed | long_shift | short_rest
    links: list[tuple[str, str]]  # (label, url)


def _links(rota_ids: list[str], names: dict[str, str], at: datetime,
           zones: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for rid in rota_ids:
        day = at.astimezone(load_zone(zones.get(rid, "UTC"))).date().isoformat()
        out.append((names.get(rid, rid), url_for("rota.rota", rota_id=rid, start=day)))
    return out


@bp.get("/coverage", endpoint="coverage")
@login_required
def coverage_page():
    """Gaps and broken rules from now (or ?at=) over ?days= (default: the alert horizon)."""
    at = request_instant()
    try:
        days = int(request.args.get("days") or current_app.config.get("COVERAGE_DAYS") or 14)
    except ValueError:
        abort(400, "days is a whole number from 1 to 92")
    if not 1 <= days <= 92:
        abort(400, "days is a whole number from 1 to 92")
    end = at + timedelta(days=days)
    db = appdb.db_session()
    coverage = load_coverage(db)
    rules = load_rules(db)
    rows = {r.id: r for r in db.scalars(select(m.Rota))}
    names = {rid: row.name or rid for rid, row in rows.items()}
    zones = {rid: row.timezone for rid, row in rows.items()}
    who = {pid: p.name for pid, p in people().items()}

    def step_rotas(policy_id: str | None, step: int | None) -> list[str]:
        policy = coverage.policies.get(policy_id or "")
        if policy is None or step is None or not 0 < step <= len(policy.steps):
            return []
        return [r for r in policy.steps[step - 1].rotas if r in rows]

    entries: list[Entry] = []
    for gap in coverage.gaps(at, end):
        where = (f"Rota {names.get(gap.rota or '', gap.rota)}" if gap.policy is None
                 else f"Policy {gap.policy}, step {gap.step}")
        rota_ids = [gap.rota] if gap.rota else step_rotas(gap.policy, gap.step)
        entries.append(Entry(where, why_nobody(gap, coverage.unreachable).capitalize(), gap.start,
                             gap.end, "gap", _links(rota_ids, names, gap.start, zones)))
    for v in violations(coverage, rules, at, end) if rules else []:
        where = (f"Rota {names.get(v.rota or '', v.rota)}" if v.policy is None
                 else f"Policy {v.policy}, step {v.step}")
        what = describe_rule(v, rule_for(rules, v))
        if v.person:
            what = what.replace(v.person, who.get(v.person, v.person), 1)
        rota_ids = [v.rota] if v.rota else step_rotas(v.policy, v.step)
        entries.append(Entry(where, what[:1].upper() + what[1:], v.start, v.end, v.kind,
                             _links(rota_ids, names, v.start, zones)))
    entries.sort(key=lambda e: (e.start, e.end, e.where))
    return render_template("rota/coverage.html", at=at, days=days, entries=entries,
                           zone=viewer_zone(), has_rules=bool(rules))
