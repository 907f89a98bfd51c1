"""API: swaps, offered, taken, approved or refused (the same rules as the Swaps page).

A responder acts for the person their account is linked to; a rota manager for anyone,
and only rota managers approve or refuse.
"""

from __future__ import annotations

from flask import g, jsonify, request
from sqlalchemy import select

from voiceline import models as m
from voiceline.accounts import has_role
from voiceline.appdb import db_session
from voiceline.instants import parse_instant, utcnow
from voiceline.oncall import swaps as sw

from . import schemas as s
from .base import MANAGERS, ApiError, actor, api, json_body
from .writes import watch

SWAPPERS = ("rota_manager", "responder")


def _swap_or_404(swap_id: int) -> m.Swap:
    row = db_session().get(m.Swap, swap_id)
    if row is None:
        raise ApiError(404, f"no swap {swap_id}")
    return row


def _on_behalf(person: str | None) -> str:
    """The person acted for: the named one (managers), else the token's own."""
    user = g.api_user
    if has_role(user, "rota_manager"):
        if person:
            return person
    elif person and person != user.person_id:
        raise ApiError(403, "a responder acts only for their own person")
    if not user.person_id and not person:
        raise ApiError(422, "validation failed", ["person: this account is linked to no person"])
    chosen = person or user.person_id
    assert chosen is not None  # checked just above
    return chosen


def _instant(body: dict, key: str, required: bool = True):
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(422, "validation failed", [f"{key}: an ISO 8601 instant"])
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise ApiError(422, "validation failed", [f"{key}: {exc}"]) from None


def _problem(exc: sw.SwapProblem, status: int = 422) -> ApiError:
    if exc.field == "status":
        return ApiError(409, exc.message)
    return ApiError(status, "validation failed", [f"{exc.field}: {exc.message}"])


@api.route("/swaps", "GET", summary="Swaps: open offers, the approval queue, recent ones",
           roles=SWAPPERS, tag="swaps", response={"type": "array", "items": s.SWAP})
def list_swaps():
    query = select(m.Swap).order_by(m.Swap.start, m.Swap.id)
    if request.args.get("rota"):
        query = query.where(m.Swap.rota_id == request.args["rota"])
    if request.args.get("status"):
        query = query.where(m.Swap.status.in_(request.args["status"].split(",")))
    return jsonify([sw.swap_json(x) for x in db_session().scalars(query)])


@api.route("/swaps", "POST", summary="Offer a range of duty, or a whole shift, to one person or "
           "to anyone", roles=SWAPPERS, tag="swaps", body=s.SWAP_IN, response=s.SWAP, status=201,
           errors=(400, 422))
def offer_swap():
    session = db_session()
    body = json_body()
    rota_id = body.get("rota")
    if not isinstance(rota_id, str) or not rota_id:
        raise ApiError(422, "validation failed", ["rota: missing (the rota id)"])
    offered_by = _on_behalf(body.get("offered_by"))
    now = utcnow()
    if body.get("shift") is not None:
        at = _instant(body, "shift")
        whole = sw.shift_at(session, rota_id, offered_by, at)
        if whole is None:
            raise ApiError(422, "validation failed",
                           [f"shift: {offered_by} has no shift in {rota_id} at that instant"])
        start, end = whole.start, whole.end
    else:
        start, end = _instant(body, "start"), _instant(body, "end")
    offered_to = body.get("offered_to")
    if offered_to is not None and not isinstance(offered_to, str):
        raise ApiError(422, "validation failed", ["offered_to: a person id or null"])
    try:
        swap = sw.offer(session, rota_id=rota_id, offered_by=offered_by, start=start, end=end,
                        at=now, actor=actor(), offered_to=offered_to or None,
                        note=str(body.get("note") or ""))
    except sw.SwapProblem as exc:
        raise _problem(exc) from None
    session.commit()
    return jsonify(sw.swap_json(swap)), 201


@api.route("/swaps/<int:swap_id>/take", "POST", summary="Take an offer (into the approval queue "
           "where the rota asks for approval)", roles=SWAPPERS, tag="swaps", body=s.SWAP_TAKE,
           response=s.SWAP, errors=(400, 409, 422))
def take_swap(swap_id: int):
    session = db_session()
    swap = _swap_or_404(swap_id)
    body = json_body() if request.data else {}
    taker = _on_behalf(body.get("person"))
    watch(swap.rota_id)
    try:
        sw.take(session, swap, taker, at=utcnow(), actor=actor())
    except sw.SwapProblem as exc:
        raise _problem(exc) from None
    session.commit()
    return jsonify(sw.swap_json(swap))


def _decide(swap_id: int, approve: bool):
    session = db_session()
    swap = _swap_or_404(swap_id)
    watch(swap.rota_id)
    try:
        sw.decide(session, swap, approve=approve, at=utcnow(), actor=actor())
    except sw.SwapProblem as exc:
        raise _problem(exc, 409) from None
    session.commit()
    return jsonify(sw.swap_json(swap))


@api.route("/swaps/<int:swap_id>/approve", "POST", summary="Approve a taken swap: the override "
           "is written", roles=MANAGERS, tag="swaps", response=s.SWAP, errors=(409,))
def approve_swap(swap_id: int):
    return _decide(swap_id, True)


@api.route("/swaps/<int:swap_id>/refuse", "POST", summary="Refuse a taken swap: the rota stays",
           roles=MANAGERS, tag="swaps", response=s.SWAP, errors=(409,))
def refuse_swap(swap_id: int):
    return _decide(swap_id, False)


@api.route("/swaps/<int:swap_id>/cancel", "POST", summary="Withdraw an offer (the offerer or a "
           "rota manager)", roles=SWAPPERS, tag="swaps", response=s.SWAP, errors=(409,))
def cancel_swap(swap_id: int):
    session = db_session()
    swap = _swap_or_404(swap_id)
    user = g.api_user
    if not has_role(user, "rota_manager") and user.person_id != swap.offered_by:
        raise ApiError(403, "only the offerer or a rota manager withdraws an offer")
    if not sw.cancel(session, swap, actor=actor()):
        raise ApiError(409, f"swap {swap.id} is {swap.status}")
    session.commit()
    return jsonify(sw.swap_json(swap))
