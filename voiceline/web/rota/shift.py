"""One shift of a rota (clicked on the timeline): who is on duty, override it, offer it as a swap."""

from __future__ import annotations

from flask import abort, render_template, request

from voiceline.instants import parse_instant
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
    return render_template(
        "rota/shift.html", rota=row, start=start, end=end, segments=segments, on=on,
        names={pid: p.name for pid, p in people().items()}, zone=rota_zone,
        manager=manager,
        can_offer=[p for p in on if swapper and (manager or (user and user.person_id == p))],
        override_args={"start": to_input(start, rota_zone), "end": to_input(end, rota_zone)},
        swap_args={"rota": row.id, "start": to_input(start, own_zone), "end": to_input(end, own_zone)})
