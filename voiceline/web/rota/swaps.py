"""Swaps: a responder offers a range of their duty (or a whole shift), to one person or to
anyone; another takes it (a replace override, or the approval queue where the rota asks).

Rota managers may offer and take on anyone's behalf, and approve or refuse. The rules
live in oncall/swaps.py (shared with the API).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectField

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import parse_instant, utcnow
from voiceline.oncall import swaps as sw
from voiceline.web.auth import actor, current_user, has_role, role_required
from voiceline.web.choices import options
from voiceline.web.confirm import confirm_page, confirmed
from voiceline.web.rota.common import bp, local_field, person_choices, watch
from voiceline.web.rota.forms import SwapOfferForm, SwapTakeForm
from voiceline.web.timefmt import local, viewer_zone

SWAPPERS = ("responder", "rota_manager")


class OfferForm(SwapOfferForm):
    rota = SelectField("Rota", choices=[])


def _manager() -> bool:
    return has_role(current_user(), "rota_manager")


def _own_choices(blank: str | None = None) -> list:
    """Whose behalf the user may act on: anyone for managers, else only their own person."""
    choices = person_choices(blank)
    if _manager():
        return choices
    user = current_user()
    assert user is not None  # only called from views behind @role_required
    mine = user.person_id
    return [c for c in choices if c.value == mine]


def _shift_choices(person_ids: list[str]) -> list:
    """Whole shifts to offer: value "rota|start|end" (UTC ISO), label in the viewer's zone."""
    zone = viewer_zone()
    db = appdb.db_session()
    out = [("", "— a range, below —")]
    for pid in person_ids:
        for x in sw.own_shifts(db, pid, utcnow()):
            label = f"{x.rota}: {local(x.start, zone)} – {local(x.end, zone)} ({zone.key})"
            if len(person_ids) > 1:
                label = f"{pid}, {label}"
            out.append((f"{x.rota}|{x.start.isoformat()}|{x.end.isoformat()}", label))
    return options(out)


def _forms():
    offer = OfferForm(prefix="offer")
    offer.person.choices = _own_choices()
    user = current_user()
    mine = [user.person_id] if user is not None and user.person_id else []
    offer.shift.choices = _shift_choices(mine)
    offer.offered_to.choices = person_choices("anyone (an open shift)")
    offer.rota.choices = options((r.id, r.name or r.id) for r in
                                 appdb.db_session().scalars(select(m.Rota).order_by(m.Rota.id)))
    take = SwapTakeForm(prefix="take")
    take.person.choices = _own_choices()
    return offer, take


def _render(offer, take, status=200):
    db = appdb.db_session()
    open_swaps = db.scalars(select(m.Swap).where(m.Swap.status == "open", m.Swap.end > utcnow())
                            .order_by(m.Swap.start)).all()
    pending = db.scalars(select(m.Swap).where(m.Swap.status == sw.PENDING)
                         .order_by(m.Swap.start)).all()
    recent = db.scalars(select(m.Swap).where(m.Swap.status.not_in(("open", sw.PENDING)))
                        .order_by(m.Swap.id.desc()).limit(20)).all()
    names = {p.id: p.name for p in db.scalars(select(m.Person))}
    return render_template("rota/swaps.html", offer=offer, take=take, open_swaps=open_swaps,
                           pending=pending, recent=recent, names=names, zone=viewer_zone(),
                           me=current_user(), manager=_manager()), status


@bp.get("/swaps", endpoint="swaps")
@role_required(*SWAPPERS)
def swaps():
    """Open swap offers and the form to offer one (prefilled from a shift's "Offer as a swap")."""
    offer, take = _forms()
    for name in ("rota", "person", "start", "end"):
        if request.args.get(name):
            getattr(offer, name).data = request.args[name]
    return _render(offer, take)


@bp.post("/swaps/offer", endpoint="offer_swap")
@role_required(*SWAPPERS)
def offer_swap():
    """Offer a range of one's duty in a rota."""
    offer, take = _forms()
    if not offer.validate_on_submit():
        return _render(offer, take, 400)
    db = appdb.db_session()
    zone = viewer_zone()  # the zone the page shows (its label): never the rota's
    rota_id = offer.rota.data
    start: datetime | None
    end: datetime | None
    if offer.shift.data:  # a whole shift from the offerer's own list
        try:
            rota_id, first, last = offer.shift.data.split("|")
            start, end = parse_instant(first), parse_instant(last)
        except ValueError:
            abort(400, "shift: pick one from the list")
    else:
        start, end = local_field(offer.start, zone), local_field(offer.end, zone)
        for field in (offer.start, offer.end):
            if not field.data and not field.errors:
                field.errors = ["a date and time, or pick a whole shift above"]
    if any(f.errors for f in offer):
        return _render(offer, take, 400)
    assert start is not None and end is not None  # no field errors
    try:
        sw.offer(db, rota_id=rota_id, offered_by=offer.person.data, start=start, end=end,
                 at=utcnow(), actor=actor(), offered_to=offer.offered_to.data or None,
                 note=offer.note.data or "")
    except sw.SwapProblem as exc:
        target = {"end": offer.end, "offered_to": offer.offered_to, "rota": offer.rota,
                  "person": offer.person}.get(exc.field, offer.start)
        target.errors = [exc.message]
        return _render(offer, take, 400)
    db.commit()
    flash("Swap offered.")
    return redirect(url_for("rota.swaps"))


def _open_swap(swap_id: int) -> m.Swap:
    swap = appdb.db_session().get(m.Swap, swap_id)
    if swap is None:
        abort(404)
    return swap


@bp.post("/swaps/<int:swap_id>/take", endpoint="take_swap")
@role_required(*SWAPPERS)
def take_swap(swap_id: int):
    """Take an offered range: it becomes a replace override."""
    swap = _open_swap(swap_id)
    offer, take = _forms()
    db = appdb.db_session()
    if not take.validate_on_submit():
        return _render(offer, take, 400)
    taker = take.person.data
    problem = sw.take_problems(db, swap, taker)
    if problem:
        take.person.errors = [problem]
        return _render(offer, take, 400)
    approval = sw.needs_approval(db, swap)
    if not confirmed():
        return confirm_page("Take this swap?",
                            # taker is one of the form's people choices; offered_by is a foreign key
                            f"{cast(m.Person, db.get(m.Person, taker)).name} takes {swap.rota_id} from "
                            f"{cast(m.Person, db.get(m.Person, swap.offered_by)).name}, "
                            f"{local(swap.start)} – {local(swap.end)} ({viewer_zone().key}): "
                            + ("it waits for a rota manager's approval, then becomes an override."
                               if approval else
                               "an override in the rota, on duty for every call in that range."),
                            "Take it", url_for("rota.swaps"))
    watch(swap.rota_id)
    try:
        sw.take(db, swap, taker, at=utcnow(), actor=actor())
    except sw.SwapProblem as exc:
        take.person.errors = [exc.message]
        return _render(offer, take, 400)
    db.commit()
    flash("Swap taken: it waits for a rota manager's approval." if approval
          else "Swap taken: the override is in the rota.")
    return redirect(url_for("rota.swaps"))


@bp.post("/swaps/<int:swap_id>/approve", endpoint="approve_swap")
@role_required("rota_manager")
def approve_swap(swap_id: int):
    """Approve a taken swap: the override is written."""
    return _decide(swap_id, approve=True)


@bp.post("/swaps/<int:swap_id>/refuse", endpoint="refuse_swap")
@role_required("rota_manager")
def refuse_swap(swap_id: int):
    """Refuse a taken swap: the rota stays as it was."""
    return _decide(swap_id, approve=False)


def _decide(swap_id: int, *, approve: bool):
    swap = _open_swap(swap_id)
    db = appdb.db_session()
    watch(swap.rota_id)
    try:
        sw.decide(db, swap, approve=approve, at=utcnow(), actor=actor())
    except sw.SwapProblem as exc:
        flash(f"Not done: {exc.message}")
        return redirect(request.referrer or url_for("rota.swaps"))
    db.commit()
    flash("Swap approved: the override is in the rota." if approve else "Swap refused.")
    return redirect(request.referrer or url_for("rota.swaps"))


@bp.post("/swaps/<int:swap_id>/cancel", endpoint="cancel_swap")
@role_required(*SWAPPERS)
def cancel_swap(swap_id: int):
    """Withdraw an open offer (the offerer, or a rota manager)."""
    swap = _open_swap(swap_id)
    user = current_user()
    assert user is not None  # @role_required let the request through, so someone is logged in
    if not _manager() and user.person_id != swap.offered_by:
        abort(403)
    db = appdb.db_session()
    if sw.cancel(db, swap, actor=actor()):
        db.commit()
        flash("Offer withdrawn.")
    return redirect(url_for("rota.swaps"))
