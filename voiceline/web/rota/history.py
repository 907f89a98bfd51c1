"""A rota as it stood at a past instant, and what changed between two instants (who, when,
and what it did to who is on duty)."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from voiceline import appdb
from voiceline.instants import InstantRangeError, utcnow
from voiceline.oncall.history import diff_between
from voiceline.rota import shifts
from voiceline.web.auth import login_required
from voiceline.web.rota.common import bp, people, rota_or_404
from voiceline.web.timefmt import from_input, to_input, viewer_zone


@bp.get("/<rota_id>/history", endpoint="history")
@login_required
def history_page(rota_id: str):
    """The schedule as it stood at `as_of` and the changes up to `compare` (default now)."""
    row = rota_or_404(rota_id)
    zone = viewer_zone(row.timezone)
    now = utcnow()
    problems: list[str] = []

    def instant(name: str, default):
        text = (request.args.get(name) or "").strip()
        if not text:
            return default
        try:
            return from_input(text, zone)
        except (ValueError, InstantRangeError):
            problems.append(f"{name}: a date and time like 2026-12-24T09:00")
            return default

    as_of = instant("as_of", now - timedelta(days=1))
    compare = instant("compare", now)
    start = instant("from", as_of)
    days = min(max(request.args.get("days", 7, type=int) or 7, 1), 31)
    end = start + timedelta(days=days)
    found = diff_between(appdb.db_session(), row, as_of, compare, start, end, now)
    stood = (found.stood, found.recorded_at) if found else None
    schedule = shifts(found.stood, start, end) if found else []
    diff = found.duty if found else []
    names = {pid: p.name for pid, p in people().items()}
    return render_template(
        "rota/history.html", rota=row, zone=zone, problems=problems, stood=stood,
        schedule=schedule, diff=diff, names=names, days=days,
        changes=found.changes if found else [],
        form={"as_of": to_input(as_of, zone), "compare": to_input(compare, zone),
              "from": to_input(start, zone)})
