"""The rota page: a timeline of the coming weeks (layers, overrides, final schedule, gaps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from flask import abort, render_template, request
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import InstantRangeError, local_day_start
from voiceline.oncall.store import layer_to_engine, rota_to_engine
from voiceline.rota import Rota, shifts
from voiceline.web.auth import current_user, has_role, login_required
from voiceline.web.rota.common import bp, people, rota_or_404
from voiceline.web.rota.forms import format_members, format_windows
from voiceline.web.timefmt import viewer_zone

PALETTE = 8


@dataclass
class Block:
    """One coloured stretch of a timeline row, placed in percent of the range."""

    left: float
    width: float
    label: str
    title: str
    css: str


@dataclass
class Row:
    """A timeline row: a layer, the overrides or the final schedule."""

    label: str
    blocks: list[Block] = field(default_factory=list)


class Scale:
    """Maps instants of [start, end) to percentages of the timeline's width."""

    def __init__(self, start: datetime, end: datetime, zone: ZoneInfo):
        self.start, self.end, self.zone = start, end, zone
        self.total = (end - start).total_seconds()

    def block(self, lo: datetime, hi: datetime, label: str, css: str) -> Block:
        lo, hi = max(lo, self.start), min(hi, self.end)
        left = (lo - self.start).total_seconds() / self.total * 100
        width = (hi - lo).total_seconds() / self.total * 100
        span = f"{lo.astimezone(self.zone):%a %d %b %H:%M} – {hi.astimezone(self.zone):%a %d %b %H:%M}"
        return Block(round(left, 4), round(width, 4), label, f"{label}: {span}", css)

    def ticks(self) -> list[tuple[float, str]]:
        """One tick per local midnight in the range."""
        out: list[tuple[float, str]] = []
        day = self.start.astimezone(self.zone).date()
        while True:
            instant = datetime.combine(day, time(0), self.zone)
            if instant >= self.end:
                return out
            if instant >= self.start:
                left = (instant - self.start).total_seconds() / self.total * 100
                out.append((round(left, 4), instant.strftime("%a %d")))
            day += timedelta(days=1)


def _colour(ids: list[str]):
    index = {pid: i % PALETTE for i, pid in enumerate(sorted(ids))}
    return lambda people_on: f"c{index.get(people_on[0], 7)}" if people_on else "gap"


def build_rows(row: m.Rota, rota: Rota, scale: Scale, names: dict[str, str]) -> list[Row]:
    """Rows of the timeline: each layer alone, the overrides, then the final schedule."""
    def label(ids):
        return ", ".join(names.get(p, p) for p in ids) or "nobody"

    colour = _colour(list(names))
    rows = []
    for layer in row.layers:
        if not layer.versions:
            continue
        alone = Rota(rota.id, rota.timezone, (layer_to_engine(layer),))
        blocks = [scale.block(s.start, s.end, label(s.people), colour(s.people))
                  for s in shifts(alone, scale.start, scale.end) if s.people]
        if not blocks and all(v.valid_until and v.valid_until <= scale.start for v in layer.versions):
            continue  # ended before the range: history only
        title = layer.name or f"layer {layer.position + 1}"
        rows.append(Row(f"{title}" + (f" (priority {layer.priority})" if layer.priority else ""),
                        blocks))
    overrides = Row("overrides")
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
    final = Row("final schedule")
    for s in shifts(rota, scale.start, scale.end):
        final.blocks.append(scale.block(s.start, s.end, label(s.people), colour(s.people)))
    rows.append(final)
    return rows


def _range(zone: ZoneInfo) -> tuple[datetime, datetime, int]:
    try:
        weeks = min(max(int(request.args.get("weeks", 2)), 1), 6)
        first = (date.fromisoformat(request.args["start"]) if request.args.get("start")
                 else datetime.now(zone).date())
    except ValueError:
        abort(400, "start is a date like 2026-03-02; weeks is 1 to 6")
    try:
        local_day_start(first, zone, 7 * weeks)
        local_day_start(first, zone)
    except InstantRangeError as exc:
        abort(400, f"start: {exc}")
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(first + timedelta(weeks=weeks), time(0), zone)
    return start, end, weeks


@bp.get("/<rota_id>", endpoint="rota")
@login_required
def rota_page(rota_id: str):
    """One rota: timeline, layers, overrides and open swaps."""
    row = rota_or_404(rota_id)
    zone = viewer_zone(row.timezone)
    start, end, weeks = _range(zone)
    scale = Scale(start, end, zone)
    directory = people()
    names = {pid: p.name for pid, p in directory.items()}
    rota = rota_to_engine(row)
    final = shifts(rota, start, end)
    swaps = appdb.db_session().scalars(
        select(m.Swap).where(m.Swap.rota_id == row.id, m.Swap.status.in_(("open", "pending")))
        .order_by(m.Swap.start)).all()
    user = current_user()
    return render_template(
        "rota/rota.html", rota=row, zone=zone, start=start, end=end, weeks=weeks,
        rows=build_rows(row, rota, scale, names), ticks=scale.ticks(), final=final, names=names,
        prev_start=(start - timedelta(weeks=weeks)).date(), next_start=end.date(),
        format_members=format_members, format_windows=format_windows, swaps=swaps,
        can_edit=has_role(user, "rota_manager"))
