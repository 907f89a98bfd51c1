"""The rota page: a timeline of the coming days or weeks (layers, overrides, final schedule)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from flask import abort, render_template, request
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import InstantRangeError, local_day_start, parse_instant, utcnow
from voiceline.oncall.store import layer_to_engine, rota_to_engine
from voiceline.rota import Rota, shifts
from voiceline.web.auth import current_user, has_role, login_required
from voiceline.web.rota.common import bp, people, rota_or_404
from voiceline.web.rota.forms import format_members, format_windows
from voiceline.web.rota.scale import Block, Scale, colour, min_width_rem
from voiceline.web.timefmt import viewer_zone

ZOOMS = [("1 day", {"days": 1}), ("3 days", {"days": 3}), ("1 week", {"weeks": 1}),
         ("2 weeks", {"weeks": 2}), ("4 weeks", {"weeks": 4})]


@dataclass
class Row:
    """A timeline row: a layer, the overrides or the final schedule."""

    label: str
    kind: str = "layer"
    blocks: list[Block] = field(default_factory=list)

    @property
    def unlabelled(self) -> list[Block]:
        """Blocks too narrow for their label: listed below the row instead."""
        return [b for b in self.blocks if not b.show_label]


def build_rows(row: m.Rota, rota: Rota, scale: Scale, names: dict[str, str]) -> list[Row]:
    """Rows of the timeline: each layer alone, the overrides, then the final schedule."""
    def label(ids):
        return ", ".join(names.get(p, p) for p in ids) or "nobody"

    def first(ids):
        return ids[0] if ids else None

    rows = []
    for layer in row.layers:
        if not layer.versions:
            continue
        alone = Rota(rota.id, rota.timezone, (layer_to_engine(layer),))
        blocks = [scale.block(s.start, s.end, label(s.people), colour(first(s.people)), s.people)
                  for s in shifts(alone, scale.start, scale.end) if s.people]
        if not blocks and all(v.valid_until and v.valid_until <= scale.start for v in layer.versions):
            continue  # ended before the range: history only
        title = layer.name or f"layer {layer.position + 1}"
        rows.append(Row(f"{title}" + (f" (priority {layer.priority})" if layer.priority else ""),
                        "layer", blocks))
    overrides = Row("overrides", "overrides")
    # replaces_id is None off "replace" overrides only; a None key would just miss
    by_id = cast(dict[str | None, str | None], names)
    for o in row.overrides:
        if o.end <= scale.start or o.start >= scale.end:
            continue
        text = {"add": f"+ {names.get(o.person_id, o.person_id)}",
                "remove": f"− {names.get(o.person_id, o.person_id)}",
                "replace": f"{by_id.get(o.replaces_id, o.replaces_id)} → "
                           f"{names.get(o.person_id, o.person_id)}"}[o.kind]
        overrides.blocks.append(scale.block(o.start, o.end, text, "override"))
    rows.append(overrides)
    final = Row("final schedule", "final")
    for s in shifts(rota, scale.start, scale.end):
        final.blocks.append(scale.block(s.start, s.end, label(s.people), colour(first(s.people)),
                                        s.people))
    rows.append(final)
    return rows


def _range(zone: ZoneInfo) -> tuple[datetime, datetime, dict]:
    """[start, end) from ?start=DATE and ?days=1..7 or ?weeks=1..6, and the zoom arguments."""
    try:
        if request.args.get("days"):
            zoom = {"days": min(max(int(request.args["days"]), 1), 7)}
        else:
            zoom = {"weeks": min(max(int(request.args.get("weeks", 2)), 1), 6)}
        first = (date.fromisoformat(request.args["start"]) if request.args.get("start")
                 else datetime.now(zone).date())
    except ValueError:
        abort(400, "start is a date like 2026-03-02; days is 1 to 7, weeks 1 to 6")
    span = zoom.get("days") or 7 * zoom["weeks"]
    try:
        local_day_start(first, zone, span)
        local_day_start(first, zone)
    except InstantRangeError as exc:
        abort(400, f"start: {exc}")
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(first + timedelta(days=span), time(0), zone)
    return start, end, zoom


def _mark(scale: Scale) -> tuple[datetime, float] | None:
    """The instant a link asked to show (?mark=ISO, e.g. a gap from On duty) and where it sits."""
    text = request.args.get("mark")
    if not text:
        return None
    try:
        instant = parse_instant(text)
    except ValueError:
        abort(400, "mark must be ISO 8601, e.g. 2026-03-08T07:30:00Z")
    spot = scale.percent(instant)
    return (instant, spot) if spot is not None else None


@bp.get("/<rota_id>", endpoint="rota")
@login_required
def rota_page(rota_id: str):
    """One rota: timeline, legend, layers, overrides and open swaps."""
    row = rota_or_404(rota_id)
    zone = viewer_zone(row.timezone)
    start, end, zoom = _range(zone)
    scale = Scale(start, end, zone)
    directory = people()
    names = {pid: p.name for pid, p in directory.items()}
    rota = rota_to_engine(row)
    final = shifts(rota, start, end)
    swaps = appdb.db_session().scalars(
        select(m.Swap).where(m.Swap.rota_id == row.id, m.Swap.status.in_(("open", "pending")))
        .order_by(m.Swap.start)).all()
    waiting = appdb.db_session().scalars(
        select(m.Proposal).where(m.Proposal.rota_id == row.id, m.Proposal.status == "open")
        .order_by(m.Proposal.id)).all()
    user = current_user()
    rows = build_rows(row, rota, scale, names)
    on = sorted({p for r in rows for b in r.blocks for p in b.people}, key=lambda p: names.get(p, p))
    step = timedelta(days=zoom.get("days") or 7 * zoom["weeks"])
    return render_template(
        "rota/rota.html", rota=row, zone=zone, start=start, end=end, zoom=zoom, zooms=ZOOMS,
        rows=rows, ticks=scale.ticks(), final=final, names=names,
        legend=[(p, names.get(p, p), colour(p)) for p in on],
        now=scale.percent(utcnow()), mark=_mark(scale), min_width=min_width_rem(scale.days),
        prev_start=(start - step).date(), next_start=end.date(),
        format_members=format_members, format_windows=format_windows, swaps=swaps, waiting=waiting,
        can_edit=has_role(user, "rota_manager"))
