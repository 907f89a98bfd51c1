"""Swaps: a responder offers a range of their duty, another takes it (a replace override).

Rota managers may offer and take on anyone's behalf.
"""

from __future__ import annotations

from typing import cast

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from wtforms import SelectField

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.oncall.edit import lock_rota, override_problems
from voiceline.oncall.store import rota_to_engine
from voiceline.rota import shifts
from voiceline.web.auth import actor, current_user, has_role, role_required
from voiceline.web.choices import options
from voiceline.web.confirm import confirm_page, confirmed
from voiceline.web.rota.common import bp, local_field, person_choices
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


def _forms():
    offer = OfferForm(prefix="offer")
    offer.person.choices = _own_choices()
    offer.rota.choices = options((r.id, r.name or r.id) for r in
                                 appdb.db_session().scalars(select(m.Rota).order_by(m.Rota.id)))
    take = SwapTakeForm(prefix="take")
    take.person.choices = _own_choices()
    return offer, take


def _render(offer, take, status=200):
    db = appdb.db_session()
    open_swaps = db.scalars(select(m.Swap).where(m.Swap.status == "open", m.Swap.end > utcnow())
                            .order_by(m.Swap.start)).all()
    recent = db.scalars(select(m.Swap).where(m.Swap.status != "open")
                        .order_by(m.Swap.id.desc()).limit(20)).all()
    names = {p.id: p.name for p in db.scalars(select(m.Person))}
    return render_template("rota/swaps.html", offer=offer, take=take, open_swaps=open_swaps,
                           recent=recent, names=names, zone=viewer_zone(),
                           me=current_user(), manager=_manager()), status


@bp.get("/swaps", endpoint="swaps")
@role_required(*SWAPPERS)
def swaps():
    """Open swap offers and the form to offer one."""
    offer, take = _forms()
    return _render(offer, take)


@bp.post("/swaps/offer", endpoint="offer_swap")
@role_required(*SWAPPERS)
def offer_swap():
    """Offer a range of one's duty in a rota."""
    offer, take = _forms()
    if not offer.validate_on_submit():
        return _render(offer, take, 400)
    db = appdb.db_session()
    rota = db.get(m.Rota, offer.rota.data)
    assert rota is not None  # the form validated: its choices are the existing rotas
    zone = viewer_zone()  # the zone the page shows (its label): never the rota's
    start, end = local_field(offer.start, zone), local_field(offer.end, zone)
    if start and end:
        if end <= start:
            offer.end.errors = ["must be after the start"]
        elif end <= utcnow():
            offer.end.errors = ["this range is over already"]
        elif not any(offer.person.data in s.people
                     for s in shifts(rota_to_engine(rota), start, end)):
            offer.start.errors = [f"{offer.person.data} is not on duty in {rota.id} in this range"]
    if any(f.errors for f in offer):
        return _render(offer, take, 400)
    swap = m.Swap(rota_id=rota.id, offered_by=offer.person.data, start=start, end=end,
                  status="open", note=(offer.note.data or "").strip())
    db.add(swap)
    db.flush()
    audit.record(db, actor(), "swap.offer", f"swap {swap.id}", after={
        "rota": rota.id, "offered_by": swap.offered_by, "start": start, "end": end})
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
    if swap.status != "open":
        take.person.errors = [f"swap {swap.id} is {swap.status} already"]
    elif taker == swap.offered_by:
        take.person.errors = ["the person who offered it cannot take it"]
    else:
        rota = lock_rota(db, swap.rota_id)  # check and write as one step
        assert rota is not None  # swaps.rota_id is a foreign key to rotas
        problems = override_problems(db, rota, kind="replace", person=taker,
                                     replaces=swap.offered_by, start=swap.start, end=swap.end)
        if problems:
            take.person.errors = list(problems.values())
    if take.person.errors:
        return _render(offer, take, 400)
    assert rota is not None  # no errors: the else branch above ran and found the rota
    if not confirmed():
        return confirm_page("Take this swap?",
                            # taker is one of the form's people choices; offered_by is a foreign key
                            f"{cast(m.Person, db.get(m.Person, taker)).name} takes {rota.id} from "
                            f"{cast(m.Person, db.get(m.Person, swap.offered_by)).name}, "
                            f"{local(swap.start)} – {local(swap.end)} ({viewer_zone().key}): "
                            "an override in the rota, on duty for every call in that range.",
                            "Take it", url_for("rota.swaps"))
    override = m.Override(kind="replace", person_id=taker, replaces_id=swap.offered_by,
                          start=swap.start, end=swap.end, note=f"swap {swap.id}",
                          created_by=actor()[:64])
    rota.overrides.append(override)
    db.flush()
    swap.status, swap.taken_by, swap.override_id = "taken", taker, override.id
    audit.record(db, actor(), "swap.take", f"swap {swap.id}", before={"status": "open"},
                 after={"status": "taken", "taken_by": taker, "override": override.id})
    db.commit()
    flash("Swap taken: the override is in the rota.")
    return redirect(url_for("rota.swaps"))


@bp.post("/swaps/<int:swap_id>/cancel", endpoint="cancel_swap")
@role_required(*SWAPPERS)
def cancel_swap(swap_id: int):
    """Withdraw an open offer (the offerer, or a rota manager)."""
    swap = _open_swap(swap_id)
    user = current_user()
    assert user is not None  # @role_required let the request through, so someone is logged in
    if not _manager() and user.person_id != swap.offered_by:
        abort(403)
    if swap.status == "open":
        db = appdb.db_session()
        swap.status = "cancelled"
        audit.record(db, actor(), "swap.cancel", f"swap {swap.id}", before={"status": "open"},
                     after={"status": "cancelled"})
        db.commit()
        flash("Offer withdrawn.")
    return redirect(url_for("rota.swaps"))
