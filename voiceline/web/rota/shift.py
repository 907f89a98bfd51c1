"""One shift of a rota (clicked on the timeline): who is on duty, override it, offer it as a swap."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for

from voiceline.instants import iso_z, parse_instant, utcnow
from voiceline.oncall.store import rota_to_engine
from voiceline.rota import shifts
from voiceline.web.auth import current_user, has_role, login_required
from voiceline.web.rota.common import bp, people, rota_or_404
from voiceline.web.timefmt import to_input, viewer_zone


@bp.get("/<rota_id>/shift", endpoint="shift")
@login_required
def shift_page(rota_id: str):
    """The stretch [start, end) of the final schedule and what can be done with it."""
    row = rota_or_404(rota_id)
    if "start" not in request.args and "end" not in request.args:  # no range: the shift now
        now = utcnow()
        current = [s for s in shifts(rota_to_engine(row), now - timedelta(days=7),
                                     now + timedelta(days=7)) if s.start <= now < s.end]
        if not current:
            flash("Nobody is on duty in this rota now: pick a shift on the timeline.")
            return redirect(url_for("rota.rota", rota_id=rota_id))
        return redirect(url_for("rota.shift", rota_id=rota_id, start=iso_z(current[0].start),
                                end=iso_z(current[0].end)))
    try:
        start, end = parse_instant(request.args["start"]), parse_instant(request.args["end"])
    except (KeyError, ValueError):
        abort(400, "start and end are ISO 8601 instants, e.g. 2026-03-08T07:30:00Z")
    if end <= start:
        abort(400, "end must be after start")
    segments = shifts(rota_to_engine(row), start, end)
    on = sorted({p for s in segments for p in s.people})
    user = current_user()
    manager = has_role(user, "rota_manager")
    swapper = has_role(user, "responder", "rota_manager")
    rota_zone, own_zone = viewer_zone(row.timezone), viewer_zone()
    # An override or a swap covers only what is still to come of a shift in progress (the past
    # stays as it was recorded).
    ahead = max(start, utcnow())
    return render_template(
        "rota/shift.html", rota=row, start=start, end=end, segments=segments, on=on,
        names={pid: p.name for pid, p in people().items()}, zone=rota_zone,
        manager=manager,
        can_offer=[p for p in on if swapper and (manager or (user and user.person_id == p))],
        override_args={"start": to_input(ahead, rota_zone), "end": to_input(end, rota_zone)},
        swap_args={"rota": row.id, "start": to_input(ahead, own_zone), "end": to_input(end, own_zone)})
