"""Conference mode: the caller waits in a conference, each responder is called through the REST API.

The first responder to press 1 claims the call with one conditional UPDATE (state ringing ->
connected), so of two pressing 1 at once exactly one joins; the other hears "Another officer
has taken this call". Every other pending leg is ended through the REST API. A step is over
when each of its legs has ended or declined (their status callbacks and screenings say so) or
its ring time plus a grace has passed (checked on each re-fetch of the caller's waitUrl):
then the next group, step or round rings as in dial mode, and after the last the caller is
moved out of the conference by a REST redirect to voicemail.

This module is the caller's side (ringing a group, the room, the waitUrl, the caller leaving);
calls/conference_legs.py the responders' calls. REST work is never done inside the transaction: handlers append Work to ctx.after, which the
webhook layer runs once the answer is committed (calls/dialer.py paces the calls.create).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import select

from voiceline import directory
from voiceline.calls import ringmode
from voiceline.calls.context import Context
from voiceline.calls.states import CallState
from voiceline.calls.store import add_event, finish, written
from voiceline.calls.twiml import Reply
from voiceline.models.calls import Call, CallLeg
from voiceline.models.directory import Person
from voiceline.phones import try_e164

RING, COLLEAGUE, LISTEN = "ring", "colleague", "listen"
LIVE = {"queued", "dialing", "initiated", "ringing", "in-progress", "answered"}
ENDED = {"completed", "busy", "failed", "no-answer", "canceled"}
GRACE = timedelta(seconds=15)  # a leg's ring time plus this, without a callback: it is over
WAIT_PAUSE = 5  # seconds of silence between re-fetches of the waitUrl (the backstop's clock)
COLLEAGUE_GROUP = 1000  # colleague legs' dial_group (never an escalation group)


@dataclass(frozen=True)
class Place:
    """Place these legs (ids) through calls.create, paced; they carry their URLs and ring time."""

    call_id: int
    legs: tuple[tuple[int, str, str, str, str, int], ...]  # id, to, from, url, status url, timeout


@dataclass(frozen=True)
class End:
    """End a responder's call (canceled while ringing, completed once answered)."""

    sid: str
    status: str


@dataclass(frozen=True)
class Redirect:
    """Move the caller's call to new TwiML (out of the conference, to voicemail)."""

    sid: str
    url: str


Work = Place | End | Redirect

def room(call: Call) -> str:
    """The conference's name: the caller's CallSid, no personal data (Twilio's advice)."""
    return f"vl-{call.sid}"


def in_conference(call: Call) -> bool:
    """The call rings in conference mode (decided when its first step rang, kept to the end)."""
    return (call.meta or {}).get("ring") == ringmode.CONFERENCE


def wanted(ctx: Context, call: Call, policy_ring: str) -> bool:
    """Ring this call in conference mode: already so, or its policy says so and it can be placed."""
    return in_conference(call) or ringmode.served(policy_ring, ctx.settings.conference) == ringmode.CONFERENCE


def _hotline_number(ctx: Context, call: Call) -> str:
    hotline = directory.hotline(ctx.session, call.hotline_id)
    assert hotline is not None  # a call being escalated belongs to a configured hotline
    return hotline.number


def group_legs(ctx: Context, call: Call, purpose: str = RING, group: int | None = None) -> list[CallLeg]:
    query = select(CallLeg).where(CallLeg.call_id == written(ctx.session, call), CallLeg.purpose == purpose)
    if purpose == RING:
        query = query.where(CallLeg.round == call.round, CallLeg.step == call.step,
                            CallLeg.dial_group == (call.dial_group if group is None else group))
    return list(ctx.session.scalars(query.order_by(CallLeg.id)))


def place(ctx: Context, call: Call, legs: list[CallLeg], ring_seconds: int) -> None:
    """Queue the placing of `legs` still waiting to be placed (after the commit)."""
    number = _hotline_number(ctx, call)
    todo = tuple((leg.id, leg.number, number, ctx.links("conference_screen", leg=leg.id),
                  ctx.links("conference_leg_status", leg=leg.id), ring_seconds)
                 for leg in legs if leg.status == "queued" and leg.sid is None)
    if todo:
        ctx.after.append(Place(call.id, todo))


def ring_group(ctx: Context, call: Call, reply: Reply, people: list[Person], ring_seconds: int,
               choose: Callable[[list[Person]], list[Person]] = lambda group: group) -> str | None:
    """Ring one group in conference mode; the caller's TwiML puts (or keeps) them in the room.
    `choose` picks whom to ring the first time (busy awareness); None when it picks nobody."""
    legs = group_legs(ctx, call)
    if not legs:  # first time this group rings (a repeated request reuses the legs)
        people = choose(people)
        if not people:
            return None
        legs = [CallLeg(call_id=written(ctx.session, call), person_id=p.id, number=cast(str, try_e164(p.phone)),
                        step=call.step, round=call.round, dial_group=call.dial_group,
                        status="queued", purpose=RING, started_at=ctx.at) for p in people]
        ctx.session.add_all(legs)
        ctx.session.flush()
        add_event(ctx.session, call, "step_rang", ctx.at, step=call.step,
                  dedupe_key=f"rang:{call.sid}:{call.round}:{call.step}:{call.dial_group}",
                  round=call.round, group=call.dial_group, people=[p.id for p in people],
                  ring_seconds=ring_seconds, mode=ringmode.CONFERENCE)
    if not in_conference(call):
        call.meta = {**(call.meta or {}), "ring": ringmode.CONFERENCE}
        add_event(ctx.session, call, "conference_waiting", ctx.at, dedupe_key=f"conf_wait:{call.sid}",
                  room=room(call))
    call.meta = {**call.meta, "ring_seconds": ring_seconds, "group_at": ctx.at.isoformat()}
    place(ctx, call, legs, ring_seconds)
    return str(caller_joins(ctx, call, reply))


def caller_joins(ctx: Context, call: Call, reply: Reply) -> Reply:
    """The caller's <Dial><Conference>: waits (not starting it), the room ends when they leave."""
    return reply.conference(room(call), action=ctx.links("conference_end"),
                            wait_url=ctx.links("conference_wait", n=0),
                            start_on_enter=False, end_on_exit=True)


def wait_music(ctx: Context, call: Call | None, fetch: int) -> str:
    """The waitUrl's TwiML (only Say, Play, Pause, Redirect are allowed there): the hold prompt
    once, then silence, re-fetched every few seconds (each fetch checks the step's deadline);
    when a new step or round rings, "Still trying…" as in dial mode."""
    reply = Reply(call.language if call else None)
    if fetch == 0:
        reply.say("conference_hold")
    if call is not None and call.state == CallState.RINGING:
        ringing = f"{call.round}:{call.step}"
        told = (call.meta or {}).get("told")
        if told is None or (told != ringing and fetch > 0):
            call.meta = {**(call.meta or {}), "told": ringing}
            if told is not None:
                reply.say("still_trying")
    return str(reply.pause(WAIT_PAUSE).redirect(ctx.links("conference_wait", n=fetch + 1)))


def end_pending(ctx: Context, call: Call, keep: CallLeg | None = None, *,
                everyone: bool = False) -> None:
    """End every other live ringing leg (REST), and drop those not placed yet; `everyone`:
    the taker, colleagues and listeners too (the caller is gone: the room is over)."""
    for leg in call.legs:
        if leg is keep or leg.status not in LIVE:
            continue
        if not everyone and (leg.purpose != RING or leg.screen == "accepted"):
            continue
        if leg.sid is None:
            leg.status = "canceled"  # never placed: the dialer only places queued legs
            continue
        ctx.after.append(End(leg.sid, "canceled" if leg.answered_at is None else "completed"))


def caller_left(ctx: Context, call: Call, call_status: str) -> str:
    """The caller's <Dial><Conference> ended: they hung up (or the room ended). Twilio also
    requests this action when our REST redirect moved the caller to voicemail (and ignores the
    answer): the call is at voicemail then, and stays so."""
    if call.state == CallState.CONNECTED:
        add_event(ctx.session, call, "bridged", ctx.at, step=call.step, person_id=call.answered_by,
                  dedupe_key=f"bridged:{call.sid}", mode=ringmode.CONFERENCE)
        finish(call, "answered", ctx.at)
    elif call.state == CallState.RINGING:
        finish(call, "abandoned", ctx.at)
        add_event(ctx.session, call, "caller_hung_up", ctx.at, step=call.step, status=call_status)
    # Everyone: a taker whose <Dial> action comes after the room ended would otherwise be
    # put into a new, empty room of the same name.
    end_pending(ctx, call, everyone=True)
    return str(Reply(call.language).hangup())


def parent_ended(ctx: Context, call: Call) -> None:
    """The caller's call ended (status callback): no responder should still be ringing."""
    if in_conference(call) and call.state == CallState.DONE:
        end_pending(ctx, call)
