"""Conference mode's responder calls: screening, the atomic claim, the end of a step, bringing
in a colleague, a supervisor listening in, and the placing of each call (calls/conference.py
has the caller's side and the overview)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select, update

from voiceline import directory
from voiceline.calls.conference import (
    COLLEAGUE,
    COLLEAGUE_GROUP,
    ENDED,
    GRACE,
    LISTEN,
    LIVE,
    RING,
    End,
    Redirect,
    end_pending,
    group_legs,
    in_conference,
    place,
    room,
)
from voiceline.calls.context import Context
from voiceline.calls.escalation import dial_current
from voiceline.calls.escalation import leg_language as _leg_language
from voiceline.calls.escalation import screen as whisper
from voiceline.calls.states import CallState
from voiceline.calls.store import add_event
from voiceline.calls.twiml import Reply
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.models.directory import Person
from voiceline.phones import try_e164
from voiceline.webhooks.params import LegKeys


def _over(leg: CallLeg, ctx: Context, ring_seconds: int) -> bool:
    if leg.screen in {"declined", "silent"} or leg.status in ENDED:
        return True
    return leg.answered_at is None and ctx.at - leg.started_at > timedelta(seconds=ring_seconds) + GRACE

def check_step(ctx: Context, call: Call) -> None:
    """A leg ended, declined or its ring time passed: once the whole group is over, ring on."""
    if call.state != CallState.RINGING or not in_conference(call):
        return
    ring_seconds = int((call.meta or {}).get("ring_seconds") or 25)
    legs = group_legs(ctx, call)
    if not legs or not all(_over(leg, ctx, ring_seconds) for leg in legs):
        return
    if add_event(ctx.session, call, "conference_step_over", ctx.at, step=call.step,
                 round=call.round, group=call.dial_group,
                 dedupe_key=f"conf_over:{call.sid}:{call.round}:{call.step}:{call.dial_group}") is None:
        return  # another request (a leg's callback, the waitUrl) saw it first and rang on
    for leg in legs:  # ended by the deadline without a callback: hang it up, it is not wanted
        if leg.sid and leg.status not in ENDED:
            ctx.after.append(End(leg.sid, "canceled" if leg.answered_at is None else "completed"))
    call.dial_group += 1
    dial_current(ctx, call, Reply(call.language))
    if call.state == CallState.VOICEMAIL:  # nobody left to ring: out of the conference, to voicemail
        ctx.after.append(Redirect(call.sid, ctx.links("conference_resume")))

def leg_changed(ctx: Context, leg: CallLeg) -> None:
    """After a conference leg's status callback: the step may be over; or the one who took the
    call hung up, and the caller must not be left alone in a silent room (a taker does not end
    the conference on leaving, so that * can bring a colleague in: their call ending does)."""
    if leg.purpose == RING:
        check_step(ctx, leg.call)
    call = leg.call
    if (call.state == CallState.CONNECTED and leg.purpose in {RING, COLLEAGUE}
            and leg.screen == "accepted" and leg.status in ENDED
            and not any(o.purpose in {RING, COLLEAGUE} and o.screen == "accepted"
                        and o.status not in ENDED for o in call.legs)):
        if add_event(ctx.session, call, "taker_left", ctx.at, step=leg.step, person_id=leg.person_id,
                     dedupe_key=f"taker_left:{call.sid}") is not None:
            ctx.after.append(End(call.sid, "completed"))

def screen(ctx: Context, leg: CallLeg, request: LegKeys) -> str:
    """A conference leg picked up: a ringing leg while the call rings, a colleague's while it is
    connected; anything else (the call moved on) hears who took it and is hung up."""
    call = leg.call
    wanted_state = CallState.RINGING if leg.purpose == RING else CallState.CONNECTED
    if call.state != wanted_state:
        leg.screen = "declined"
        add_event(ctx.session, call, "screen_declined", ctx.at, step=leg.step, person_id=leg.person_id,
                  leg_sid=leg.sid, dedupe_key=f"decline:{leg.id}", too_late=True)
        return str(Reply(leg_language(ctx, leg)).say("conference_taken").hangup())
    if leg.purpose == LISTEN:
        language = leg_language(ctx, leg)
        leg.answered_at = leg.answered_at or ctx.at
        return str(Reply(language).gather(ctx.links("conference_answer", leg=leg.id),
                                          ["conference_listen", "conference_listen"], num_digits=1,
                                          timeout=ctx.settings.screen_seconds))
    return whisper(ctx, leg, request, answer_endpoint="conference_answer")

def leg_language(ctx: Context, leg: CallLeg) -> str:
    """The language a leg hears (as in dial mode)."""
    return _leg_language(ctx, leg)

def screen_answer(ctx: Context, leg: CallLeg, request: LegKeys) -> str:
    """1 joins the conference (the first ringing leg claims the call); anything else declines."""
    call = leg.call
    language = leg_language(ctx, leg)
    if request.digits != "1":
        leg.screen = "declined" if request.digits else "silent"
        add_event(ctx.session, call, "screen_declined", ctx.at, step=leg.step, person_id=leg.person_id,
                  leg_sid=leg.sid, dedupe_key=f"decline:{leg.id}", silent=not request.digits)
        if leg.purpose == RING:
            check_step(ctx, call)
        return str(Reply(language).hangup())
    if leg.purpose == RING and not _claim(ctx, call, leg):
        leg.screen = "declined"
        add_event(ctx.session, call, "screen_declined", ctx.at, step=leg.step, person_id=leg.person_id,
                  leg_sid=leg.sid, dedupe_key=f"decline:{leg.id}", too_late=True)
        return str(Reply(language).say("conference_taken").hangup())
    if leg.purpose != RING and (call.state != CallState.CONNECTED or call.ended_at is not None):
        return str(Reply(language).say("conference_ended").hangup())
    leg.screen = "accepted"
    if leg.purpose == RING:
        add_event(ctx.session, call, "screen_accepted", ctx.at, step=leg.step,
                  person_id=leg.person_id, leg_sid=leg.sid, dedupe_key=f"accept:{leg.id}")
        end_pending(ctx, call, keep=leg)
    add_event(ctx.session, call, "conference_joined", ctx.at, step=leg.step, person_id=leg.person_id,
              leg_sid=leg.sid, dedupe_key=f"joined:{leg.id}", role=leg.purpose,
              text=f"{_name(ctx, leg)} joined ({_ROLE_WORDS[leg.purpose]})")
    return str(join(ctx, leg, Reply(language).say("accepted")))

_ROLE_WORDS = {RING: "took the call", COLLEAGUE: "brought in by a colleague",
               LISTEN: "listening, muted"}

def _name(ctx: Context, leg: CallLeg) -> str:
    person = directory.person(ctx.session, leg.person_id) if leg.person_id else None
    return person.name if person is not None else leg.number

def _claim(ctx: Context, call: Call, leg: CallLeg) -> bool:
    """The atomic claim: only one UPDATE can move the call from ringing to connected."""
    claimed = ctx.session.execute(
        update(Call).where(Call.id == call.id, Call.state == CallState.RINGING)
        .values(state=CallState.CONNECTED, answered_by=leg.person_id, answered_at=ctx.at)
        .execution_options(synchronize_session=False))
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    call.state, call.answered_by, call.answered_at = CallState.CONNECTED, leg.person_id, ctx.at
    return True

def join(ctx: Context, leg: CallLeg, reply: Reply) -> Reply:
    """A leg's <Dial><Conference>: the taker can press * to bring in a colleague; a supervisor
    listens muted; nobody but the caller ends the room by leaving."""
    call = leg.call
    if leg.purpose == LISTEN:
        return reply.conference(room(call), muted=True, start_on_enter=False, end_on_exit=False)
    return reply.conference(room(call), action=ctx.links("conference_star", leg=leg.id),
                            hangup_on_star=leg.purpose == RING, start_on_enter=True,
                            end_on_exit=False)

def answer_repeated(ctx: Context, _call: Call, leg: CallLeg | None) -> str:
    """A screening answer already decided (Twilio repeated it): the same answer again."""
    assert leg is not None  # leg steps only come through run_leg
    reply = Reply(leg_language(ctx, leg))
    if leg.screen == "accepted" and leg.call.state == CallState.CONNECTED:
        return str(join(ctx, leg, reply.say("accepted")))
    return str(reply.hangup())

def star(ctx: Context, leg: CallLeg) -> str:
    """The taker left the room with *: the bring-in menu, unless the call is over."""
    call = leg.call
    reply = Reply(leg_language(ctx, leg))
    if call.state != CallState.CONNECTED or call.ended_at is not None or leg.purpose != RING:
        return str(reply.hangup())
    reply.gather(ctx.links("conference_bring", leg=leg.id), ["conference_bring_menu"], num_digits=1,
                 timeout=8)
    return str(join(ctx, leg, reply))

def bring(ctx: Context, leg: CallLeg, digits: str, steps: list[tuple[int, list[Person]]]) -> str:
    """*N (or *0 for the step after the one that rang): ring that step's responders, screened,
    to join this conference; then the taker goes back into the room."""
    call = leg.call
    reply = Reply(leg_language(ctx, leg))
    if call.state != CallState.CONNECTED or call.ended_at is not None:
        return str(reply.hangup())
    number = (leg.step + 1) if digits == "0" else int(digits) if digits.isdigit() else -1
    if not 1 <= number <= len(steps):
        return str(join(ctx, leg, reply.say("conference_no_step")))
    ring_seconds, people = steps[number - 1]
    busy = {other.person_id for other in call.legs if other.purpose in {RING, COLLEAGUE}
            and other.screen == "accepted"} | {o.person_id for o in call.legs
                                              if o.purpose == COLLEAGUE and o.status in LIVE}
    people = [p for p in people if p.id not in busy]
    if not people:
        return str(join(ctx, leg, reply.say("conference_no_step")))
    legs = [CallLeg(call_id=call.id, person_id=p.id, number=cast(str, try_e164(p.phone)),
                    step=number, round=call.round, dial_group=COLLEAGUE_GROUP, status="queued",
                    purpose=COLLEAGUE, started_at=ctx.at) for p in people]
    ctx.session.add_all(legs)
    ctx.session.flush()
    add_event(ctx.session, call, "colleague_rung", ctx.at, step=number, person_id=leg.person_id,
              people=[p.id for p in people],
              text=f"{_name(ctx, leg)} brought in step {number}: {', '.join(p.name for p in people)}")
    place(ctx, call, legs, ring_seconds)
    return str(join(ctx, leg, reply.say("conference_bringing")))

def listen(ctx: Context, call: Call, person: Person, user: str) -> CallLeg | None:
    """A supervisor listens in muted: their phone is called and joins the room muted, screened
    (a voicemail box must never record the call). None when the call is not live."""
    number = try_e164(person.phone)
    if not in_conference(call) or call.state != CallState.CONNECTED or call.ended_at or not number:
        return None
    leg = CallLeg(call_id=call.id, person_id=person.id, number=number, step=call.step or 0,
                  round=call.round, dial_group=COLLEAGUE_GROUP, status="queued", purpose=LISTEN,
                  started_at=ctx.at)
    ctx.session.add(leg)
    ctx.session.flush()
    add_event(ctx.session, call, "listen_requested", ctx.at, person_id=person.id, by=user,
              text=f"{person.name} asked to listen in (muted)")
    place(ctx, call, [leg], 30)
    return leg

def _wanted(leg: CallLeg) -> bool:
    """Whether the call still wants this leg rung: it is in the state the leg's role needs, and
    a ringing leg belongs to the group ringing now (not one that is over)."""
    call = leg.call
    if leg.purpose != RING:
        return call.state == CallState.CONNECTED
    return (call.state == CallState.RINGING
            and (leg.round, leg.step, leg.dial_group) == (call.round, call.step, call.dial_group))


def claim_leg(ctx: Context, leg_id: int) -> CallLeg | None:
    """Take a queued leg for placing (one worker only); None when it is not to be placed now."""
    leg = ctx.session.get(CallLeg, leg_id)
    if leg is None:
        return None
    if not _wanted(leg):
        if leg.status == "queued" and leg.sid is None:
            leg.status = "canceled"  # the call moved on before this leg's turn
        return None
    taken = ctx.session.execute(
        update(CallLeg).where(CallLeg.id == leg_id, CallLeg.status == "queued", CallLeg.sid.is_(None))
        .values(status="dialing").execution_options(synchronize_session=False))
    if getattr(taken, "rowcount", 0) != 1:
        return None
    leg.status = "dialing"
    return leg

def still_wanted(ctx: Context, leg_id: int) -> bool:
    """Right before calls.create (after waiting for its slot): a claimed leg the call no longer
    wants is canceled, not placed (its phone would ring for a call already taken or over)."""
    leg = ctx.session.get(CallLeg, leg_id)
    if leg is None:
        return False
    if leg.status == "dialing" and leg.sid is None and not _wanted(leg):
        leg.status = "canceled"
    return leg.status == "dialing"


def release(ctx: Context, leg_id: int) -> None:
    """A claimed leg that could not be placed now goes back to the queue."""
    leg = ctx.session.get(CallLeg, leg_id)
    if leg is not None and leg.status == "dialing" and leg.sid is None:
        leg.status = "queued"


def placed(ctx: Context, leg_id: int, sid: str, slot: datetime | None = None) -> None:
    """Twilio accepted the call: keep its CallSid (a callback may have brought it already);
    the timeline keeps the calls-per-second slot it was placed in. Its ring time starts now,
    not when it was queued: the step's backstop deadline counts from here (a leg paced behind
    others, retried after a 429 or placed by the waitUrl for a dead worker rings in full)."""
    leg = ctx.session.get(CallLeg, leg_id)
    if leg is None:
        return
    leg.sid = leg.sid or sid
    leg.started_at = ctx.at
    if leg.status == "dialing":
        leg.status = "initiated"
    add_event(ctx.session, leg.call, "leg_placed", ctx.at, step=leg.step, person_id=leg.person_id,
              leg_sid=sid, dedupe_key=f"placed:{leg.id}", role=leg.purpose,
              slot=slot.isoformat(timespec="milliseconds") if slot else None)
    wanted_state = CallState.RINGING if leg.purpose == RING else CallState.CONNECTED
    if leg.call.state != wanted_state and leg.screen != "accepted":
        ctx.after.append(End(sid, "canceled"))  # taken (or over) while calls.create ran

def create_failed(ctx: Context, leg_id: int, reason: str, again: bool) -> None:
    """calls.create failed: queue the leg again (429, 5xx, network) or give it up; a step whose
    legs all failed is over."""
    leg = ctx.session.get(CallLeg, leg_id)
    if leg is None or leg.status != "dialing":
        return
    if again:
        leg.status = "queued"
        add_event(ctx.session, leg.call, "leg_create_retry", ctx.at, step=leg.step,
                  person_id=leg.person_id, reason=reason)
        return
    leg.status, leg.ended_at = "failed", ctx.at
    add_event(ctx.session, leg.call, "leg_create_failed", ctx.at, step=leg.step,
              person_id=leg.person_id, dedupe_key=f"create_failed:{leg.id}", reason=reason)
    if leg.purpose == RING:
        check_step(ctx, leg.call)

def retries(ctx: Context, leg_id: int) -> int:
    """How often placing this leg was retried (since it was queued: the same person's leg of an
    earlier round or group had retries of its own)."""
    leg = ctx.session.get(CallLeg, leg_id)
    if leg is None:
        return 0
    return len(ctx.session.scalars(select(CallEvent.id).where(
        CallEvent.call_id == leg.call_id, CallEvent.kind == "leg_create_retry",
        CallEvent.person_id == leg.person_id, CallEvent.step == leg.step,
        CallEvent.at >= leg.started_at)).all())

def pending(ctx: Context, call: Call) -> list[CallLeg]:
    """Legs still waiting to be placed (the waitUrl's backstop places them)."""
    return [leg for leg in call.legs if leg.status == "queued" and leg.sid is None
            and leg.purpose != LISTEN]

def waiting(ctx: Context, call: Call, ring_seconds: int) -> None:
    """On each waitUrl fetch: queue legs not placed yet, and end the step when it is over."""
    if call.state != CallState.RINGING:
        return
    check_step(ctx, call)
    if call.state != CallState.RINGING:
        return
    queued = [leg for leg in pending(ctx, call) if leg.purpose == RING]
    # Only legs the dialer should have placed by now (their slots plus a margin): a worker's
    # thread still pacing them is not raced by a second one.
    due = timedelta(seconds=len(queued) / max(ctx.settings.calls_per_second, 0.01) + 5)
    place(ctx, call, [leg for leg in queued if ctx.at - leg.started_at > due], ring_seconds)
