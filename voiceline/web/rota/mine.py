"""A responder's own page: their next shifts, swaps they could take, their calendar feed."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import render_template
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.models.web import FeedToken
from voiceline.oncall.store import load_rotas
from voiceline.rota import Rota, shifts
from voiceline.web.auth import current_user, has_role, login_required
from voiceline.web.rota.common import bp, people
from voiceline.web.rota.display import in_words
from voiceline.web.rota.forms import SwapTakeForm
from voiceline.web.timefmt import viewer_zone

AHEAD_DAYS = 28
SHOWN = 20


def own_shifts(rotas: dict[str, Rota], person: str, start: datetime, end: datetime) -> list[dict]:
    """The person's stretches on duty in [start, end) across rotas (adjacent segments merged)."""
    out = []
    for rid, rota in rotas.items():
        current: dict | None = None
        for seg in shifts(rota, start, end):
            if person not in seg.people:
                current = None
                continue
            if current is not None and current["end"] == seg.start:
                current["end"] = seg.end
                continue
            current = {"rota": rid, "start": seg.start, "end": seg.end}
            out.append(current)
    return sorted(out, key=lambda s: (s["start"], s["rota"]))


def _member_of(rota: m.Rota, person: str) -> bool:
    return any(person in (v.members or []) for layer in rota.layers for v in layer.versions)


@bp.get("/mine", endpoint="my_shifts")
@login_required
def my_shifts():
    """Next shifts of the viewer's person, open swaps in their rotas, and their feed."""
    user = current_user()
    assert user is not None  # behind @login_required
    zone = viewer_zone()
    pid = user.person_id
    if not pid:
        return render_template("rota/mine.html", person=None, zone=zone)
    db = appdb.db_session()
    now = utcnow()
    rotas = load_rotas(db)
    mine = own_shifts(rotas, pid, now, now + timedelta(days=AHEAD_DAYS))
    for s in mine:
        s["starts_in"] = "on duty now" if s["start"] <= now else in_words(s["start"] - now)
        s["hours"] = round((s["end"] - s["start"]).total_seconds() / 3600, 1)
    rows = {r.id: r for r in db.scalars(select(m.Rota))}
    offered = [s for s in db.scalars(select(m.Swap).where(
                   m.Swap.status == "open", m.Swap.end > now).order_by(m.Swap.start))
               if s.offered_by != pid and (s.offered_to == pid or (
                   s.offered_to is None and s.rota_id in rows and _member_of(rows[s.rota_id], pid)))]
    take = SwapTakeForm(prefix="take")
    feeds = db.scalars(select(FeedToken).where(
        FeedToken.kind == "person", FeedToken.target_id == pid,
        FeedToken.revoked_at.is_(None)).order_by(FeedToken.id.desc())).all()
    return render_template(
        "rota/mine.html", person=people().get(pid), pid=pid, zone=zone, shifts=mine[:SHOWN],
        more=max(len(mine) - SHOWN, 0), days=AHEAD_DAYS, rotas=rows, offered=offered,
        take=take, feeds=feeds, people=people(),
        can_swap=has_role(user, "responder", "rota_manager"),
        can_feed=has_role(user, "responder", "rota_manager"))
