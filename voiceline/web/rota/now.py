"""Who is on duty now and next: per rota, per escalation-policy step, and the gaps ahead."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.oncall.queries import unreachable_people
from voiceline.oncall.store import load_policies, load_rotas
from voiceline.rota import Policy, Rota, gaps, on_duty, policy_gaps, resolve_policy
from voiceline.web.auth import login_required
from voiceline.web.rota.common import bp, people, request_instant
from voiceline.web.rota.display import rota_at_url, until_text
from voiceline.web.timefmt import viewer_zone

GAP_DAYS = 14
GAPS_SHOWN = 5


def _step_rows(policy: Policy, rotas: dict[str, Rota], at: datetime, zone: ZoneInfo) -> list[dict]:
    """Each step now and next: its responders, when that changes, and who comes then."""
    now = resolve_policy(policy, rotas, at)
    rows = []
    for step, resolved in zip(policy.steps, now, strict=True):
        changes = [u for u in (on_duty(rotas[r], at).until for r in step.rotas) if u is not None]
        until = min(changes) if changes else None
        after = resolve_policy(policy, rotas, until)[resolved.index - 1] if until else None
        rows.append({"index": resolved.index, "ring_seconds": resolved.ring_seconds,
                     "people": resolved.responders, "until": until_text(until, at, zone),
                     "next": after.responders if after else None, "rotas": step.rotas})
    return rows


@bp.get("/now", endpoint="now")
@login_required
def now_page():
    """On duty now and next in every rota and every policy step; gaps in the next two weeks."""
    at = request_instant()
    zone = viewer_zone()
    db = appdb.db_session()
    rotas = load_rotas(db)
    rows = {r.id: r for r in db.scalars(select(m.Rota))}
    end = at + timedelta(days=GAP_DAYS)
    by_rota = []
    for rid, rota in rotas.items():
        answer = on_duty(rota, at)
        after = on_duty(rota, answer.until) if answer.until else None
        found = gaps(rota, at, end)
        by_rota.append({
            "id": rid, "name": rows[rid].name or rid, "timezone": rota.timezone,
            "people": answer.people, "until": until_text(answer.until, at, zone),
            "next": after.people if after else None,
            "next_until": until_text(after.until, at, zone) if after else None,
            "gaps": [(g, rota_at_url(rid, g.start, zone, g.end)) for g in found[:GAPS_SHOWN]],
            "gap_count": len(found)})
    by_policy = []
    unreachable = unreachable_people(db)
    for pid, policy in load_policies(db).items():
        try:
            steps = _step_rows(policy, rotas, at, zone)
            step_gaps = policy_gaps(policy, rotas, at, end, unreachable=unreachable)
        except (KeyError, ValueError):  # a step names a rota that no longer exists
            steps, step_gaps = [], []
        links = []
        for g in step_gaps[:GAPS_SHOWN]:
            step = policy.steps[(g.step or 1) - 1]
            links.append((g, rota_at_url(step.rotas[0], g.start, zone, g.end) if step.rotas else None))
        by_policy.append({"id": pid, "steps": steps, "gaps": links, "gap_count": len(step_gaps),
                          "hotlines": db.scalars(select(m.Hotline).where(m.Hotline.policy_id == pid)).all()})
    return render_template("rota/now.html", at=at, zone=zone, rotas=by_rota, policies=by_policy,
                           people=people(), gap_days=GAP_DAYS, unreachable=unreachable)
