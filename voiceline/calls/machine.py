"""The call's state machine: its states, ONE table of the webhook steps, and render.

Each step Twilio can request names the states in which it is fresh, an optional check of
the request against the call (the PIN try or the <Dial> it was emitted for), its handler
and the states the handler may move the call to. A request that does not fit (Twilio
retried it, or it arrived after the call moved on) is answered here, before any handler
runs: it changes nothing and hears where the call is now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError, PendingRollbackError

from voiceline import directory
from voiceline.calls import conference_legs, escalation, flow, prompts, status
from voiceline.calls.context import Context
from voiceline.calls.escalation import dial_current, enter_voicemail, fallback_reply
from voiceline.calls.states import Answer, CallState, Prompt
from voiceline.calls.store import call_by_sid, write_new
from voiceline.calls.twiml import Reply
from voiceline.models.calls import Call, CallLeg
from voiceline.webhooks.params import Incoming

__all__ = ["STEPS", "CallState", "IllegalTransition", "Step", "incoming", "render", "run", "run_leg"]

S = CallState


class Step(StrEnum):
    """The webhook steps of a call (the /voice/ routes that move it)."""

    LANGUAGE = "language"
    IDENTIFY = "identify"
    PIN = "pin"
    PRIORITY = "priority"
    DIAL = "dial"
    VOICEMAIL = "voicemail"
    SCREEN = "screen"
    SCREEN_ANSWER = "screen_answer"
    CONFERENCE_SCREEN = "conference_screen"
    CONFERENCE_ANSWER = "conference_answer"


class IllegalTransition(RuntimeError):
    """A handler moved the call to a state its step does not allow (a bug: the fallback answers)."""


def _always(_call: Call, _leg: CallLeg | None, _request: Any) -> bool:
    return True


def _this_try(call: Call, _leg: CallLeg | None, request: Any) -> bool:
    return request.attempt == str(call.pin_attempts + 1)


def _this_dial(call: Call, _leg: CallLeg | None, request: Any) -> bool:
    return request.token == escalation.dial_token(call)


def _not_screened(_call: Call, leg: CallLeg | None, _request: Any) -> bool:
    return leg is not None and leg.screen is None


def _where_it_is(ctx: Context, call: Call, _leg: CallLeg | None) -> str:
    return render(ctx, call)


def _hang_up(ctx: Context, call: Call, _leg: CallLeg | None) -> str:
    return str(Reply(call.language).hangup())


def _leg_hangs_up(ctx: Context, _call: Call, leg: CallLeg | None) -> str:
    assert leg is not None  # leg steps only come through run_leg, which passes the leg
    return str(Reply(escalation.leg_language(ctx, leg)).hangup())


def _screened_before(ctx: Context, _call: Call, leg: CallLeg | None) -> str:
    assert leg is not None  # leg steps only come through run_leg, which passes the leg
    return escalation.screen_repeated(ctx, leg)


def _call_step(handler: Callable[..., Answer]) -> Callable[[Context, Call, CallLeg | None, Any], Answer]:
    return lambda ctx, call, _leg, request: handler(ctx, call, request)


def _leg_step(handler: Callable[..., Answer]) -> Callable[[Context, Call, CallLeg | None, Any], Answer]:
    return lambda ctx, _call, leg, request: handler(ctx, leg, request)


@dataclass(frozen=True)
class Rule:
    """One row of the step table."""

    fresh_in: frozenset[CallState]  # the states in which the step is expected
    handler: Callable[[Context, Call, CallLeg | None, Any], Answer]
    moves_to: frozenset[CallState]  # where the handler may leave the call (staying is allowed)
    fits: Callable[[Call, CallLeg | None, Any], bool] = _always  # the request is this step's own
    stale: Callable[[Context, Call, CallLeg | None], str] = _where_it_is  # the answer otherwise


_AFTER_AUTH = frozenset({S.PRIORITY, S.RINGING, S.VOICEMAIL, S.DONE})

STEPS: dict[Step, Rule] = {
    Step.LANGUAGE: Rule(frozenset({S.LANGUAGE}), _call_step(flow.choose_language),
                        frozenset({S.PIN, S.IDENTIFY}) | _AFTER_AUTH),
    Step.IDENTIFY: Rule(frozenset({S.IDENTIFY}), _call_step(flow.identify),
                        frozenset({S.PIN, S.DONE}), fits=_this_try),
    Step.PIN: Rule(frozenset({S.PIN}), _call_step(flow.enter_pin), _AFTER_AUTH, fits=_this_try),
    Step.PRIORITY: Rule(frozenset({S.PRIORITY}), _call_step(flow.choose_priority),
                        frozenset({S.RINGING, S.VOICEMAIL})),
    Step.DIAL: Rule(frozenset({S.RINGING, S.CONNECTED}), _call_step(escalation.dial_result),
                    frozenset({S.RINGING, S.VOICEMAIL, S.DONE}), fits=_this_dial),
    Step.VOICEMAIL: Rule(frozenset({S.VOICEMAIL, S.DONE}), _call_step(status.voicemail),
                         frozenset({S.VOICEMAIL, S.DONE}),
                         fits=lambda call, _leg, _request: status.voicemail_fresh(call),
                         stale=_hang_up),
    # Legs: a responder picks up (screen) and keys (screen_answer). A pick-up after the call
    # left ringing hears a hang-up; a second answer for a screened leg hears the first again.
    Step.SCREEN: Rule(frozenset({S.RINGING}), _leg_step(escalation.screen), frozenset(),
                      fits=_not_screened, stale=_leg_hangs_up),
    Step.SCREEN_ANSWER: Rule(frozenset(CallState), _leg_step(escalation.screen_answer),
                             frozenset({S.CONNECTED}), fits=_not_screened, stale=_screened_before),
    # Conference legs (calls/conference_legs.py): a responder's pick-up is fresh while the call rings,
    # a colleague's or a supervisor's while it is connected; the handler tells the rest.
    Step.CONFERENCE_SCREEN: Rule(frozenset(CallState), _leg_step(conference_legs.screen), frozenset(),
                                 fits=_not_screened, stale=_leg_hangs_up),
    # (a decline can end the step: the next rings, or after the last the call is at voicemail)
    Step.CONFERENCE_ANSWER: Rule(frozenset(CallState), _leg_step(conference_legs.screen_answer),
                                 frozenset({S.CONNECTED, S.VOICEMAIL}), fits=_not_screened,
                                 stale=conference_legs.answer_repeated),
}


def run(ctx: Context, step: Step, call: Call, request: Any, leg: CallLeg | None = None) -> str:
    """Answer one step: stale or repeated requests here, fresh ones by the step's handler."""
    rule = STEPS[step]
    if call.state not in rule.fresh_in or not rule.fits(call, leg, request):
        return rule.stale(ctx, call, leg)
    before = call.state
    answer = rule.handler(ctx, call, leg, request)
    if call.state != before and call.state not in rule.moves_to:
        raise IllegalTransition(f"call {call.sid}: step {step} moved {before} to {call.state}")
    return _finish(ctx, call, answer)


def run_leg(ctx: Context, step: Step, leg: CallLeg, request: Any) -> str:
    """Answer one step on a responder's leg (learning its child CallSid first)."""
    escalation.note_leg_sid(leg, request)
    return run(ctx, step, leg.call, request, leg)


def incoming(ctx: Context, request: Incoming) -> str:
    """A call comes in: a CallSid seen before hears the same first answer and nothing changes.

    A new CallSid is the common case, so the record is written first and the unique index
    finds a repeat (no read before): on a clash the whole transaction is rolled back (nothing
    it did counts) and the step runs again on the stored record.
    """
    try:
        call, answer = flow.incoming(ctx, request)
        write_new(ctx.session, call)
    except (IntegrityError, PendingRollbackError):  # the CallSid is stored (checked below):
        # Twilio repeated the request, a status callback came first, or another worker is
        # answering it now. A savepoint's flush may have met the clash first (PendingRollback).
        ctx.session.rollback()
        ctx.after.clear()
        stored = call_by_sid(ctx.session, request.call_sid)
        if stored is None:
            raise
        if not flow.made_by_status(stored):
            return render(ctx, stored, greet=stored.pin_attempts == 0 and stored.priority is None)
        call, answer = flow.incoming(ctx, request, stored)  # bare: the whole step runs on it
    return _finish(ctx, call, answer)


def _finish(ctx: Context, call: Call, answer: Answer) -> str:
    if isinstance(answer, Prompt):
        return render(ctx, call, greet=answer.greet, prefix=answer.prefix)
    return answer


def render(ctx: Context, call: Call, *, greet: bool = False, prefix: str | None = None) -> str:
    """The TwiML for where the call is now (used for first answers and for repeated requests)."""
    reply = Reply(call.language)
    if prefix:
        reply.say(prefix)
    links, state = ctx.links, call.state
    if state == S.LANGUAGE:
        hotline = directory.hotline(ctx.session, call.hotline_id)
        assert hotline is not None  # a call in progress belongs to a configured hotline
        keys = [("choose", lang, {"digit": i}) for i, lang in
                enumerate(prompts.hotline_languages(hotline.languages), start=1)]
        return str(reply.gather(links("language"), keys, num_digits=1))
    welcome = ["welcome"] if greet else []
    if state == S.IDENTIFY:
        return str(reply.gather(links("identify", attempt=call.pin_attempts + 1),
                                [*welcome, "identify"], timeout=10))
    if state == S.PIN:
        return str(reply.gather(links("pin", attempt=call.pin_attempts + 1),
                                [*welcome, "enter_pin"], timeout=10))
    if state == S.PRIORITY:
        return str(reply.gather(links("priority"), [*welcome, "priority"], num_digits=1))
    if state == S.RINGING:
        return dial_current(ctx, call, reply)
    if state == S.VOICEMAIL:
        return enter_voicemail(ctx, call)
    if state in {S.FALLBACK, S.NEW}:
        hotline = directory.hotline(ctx.session, call.hotline_id) if call.hotline_id else None
        return fallback_reply(ctx, hotline.number if hotline else call.to_number or None)
    if state == S.DONE and call.outcome == "rejected":
        return str(reply.say("goodbye").hangup())
    return str(reply.hangup())
