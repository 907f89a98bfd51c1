"""Who is on duty now: per rota, per escalation-policy step, and the gaps ahead."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.oncall.queries import unreachable_people
from voiceline.oncall.store import load_policies, load_rotas
from voiceline.rota import gaps, on_duty, policy_gaps, resolve_policy
from voiceline.web.auth import login_required
from voiceline.web.rota.common import bp, people, request_instant

GAP_DAYS = 14


@bp.get("/now", endpoint="now")
@login_required
def now_page():
    """On duty now in every rota and every policy step; gaps in the next two weeks."""
    at = request_instant()
    db = appdb.db_session()
    rotas = load_rotas(db)
    rows = {r.id: r for r in db.scalars(select(m.Rota))}
    names = people()
    end = at + timedelta(days=GAP_DAYS)
    by_rota = []
    for rid, rota in rotas.items():
        answer = on_duty(rota, at)
        by_rota.append({"id": rid, "name": rows[rid].name or rid, "timezone": rota.timezone,
                        "people": answer.people, "until": answer.until,
                        "gaps": gaps(rota, at, end)})
    by_policy = []
    unreachable = unreachable_people(db)
    for pid, policy in load_policies(db).items():
        try:
            steps = resolve_policy(policy, rotas, at)
            step_gaps = policy_gaps(policy, rotas, at, end, unreachable=unreachable)
        except ValueError:  # a step names a rota that no longer exists
            steps, step_gaps = [], []
        by_policy.append({"id": pid, "steps": steps, "gaps": step_gaps,
                          "hotlines": db.scalars(select(m.Hotline).where(m.Hotline.policy_id == pid)).all()})
    return render_template("rota/now.html", at=at, rotas=by_rota, policies=by_policy, people=names,
                           gap_days=GAP_DAYS, unreachable=unreachable)
