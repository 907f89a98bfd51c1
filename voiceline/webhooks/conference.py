"""Conference mode's /voice/ routes (on the voice blueprint): the responders' screening and
answer, their status callbacks, the caller's waitUrl and end, the REST redirect's target, and
the taker's * menu to bring in a colleague. The dialer is webhooks/dialer.py."""

from __future__ import annotations

import logging

from flask import request

from voiceline.calls import conference, conference_legs, machine
from voiceline.calls.context import Context
from voiceline.calls.escalation import resolve
from voiceline.calls.machine import Step
from voiceline.calls.store import call_by_sid
from voiceline.calls.twiml import Reply
from voiceline.webhooks.params import LegKeys, Status
from voiceline.webhooks.signature import twilio_signed
from voiceline.webhooks.views import _answer, _callback, _leg, bp, form, links

log = logging.getLogger(__name__)


def _own_leg(session):
    """The ?leg= of a REST-created call, only when the request comes from that call: such a call
    has no ParentCallSid to check, so its CallSid must be the leg's (once known)."""
    leg = _leg(session)
    sid = form().get("CallSid")
    if leg is not None and leg.sid and sid != leg.sid:
        log.warning("conference leg %s is call %s, not %s", leg.id, leg.sid, sid)
        return None
    return leg


def _screen_fallback() -> str:
    # Without the database the whisper is plain; the answer then cannot join (no room known).
    return str(Reply().gather(links("conference_answer", leg=request.args.get("leg", "0")),
                              ["whisper_plain", "whisper_plain"], num_digits=1))


def _leg_step(step: Step):
    values = LegKeys.of(form())

    def run(ctx: Context) -> str:
        leg = _own_leg(ctx.session)
        return machine.run_leg(ctx, step, leg, values) if leg else str(Reply().hangup())
    return run


@bp.post("/conference/screen")
@twilio_signed
def conference_screen():
    """A responder (colleague, supervisor) called by conference mode picked up: the whisper."""
    return _answer("conference_screen", _leg_step(Step.CONFERENCE_SCREEN),
                   on_error=_screen_fallback)


@bp.post("/conference/answer")
@twilio_signed
def conference_answer():
    """1 joins the conference (the first claims the call); anything else hangs up."""
    return _answer("conference_answer", _leg_step(Step.CONFERENCE_ANSWER),
                   on_error=lambda: str(Reply().hangup()))


@bp.post("/conference/leg-status")
@twilio_signed
def conference_leg_status():
    """A conference leg's status callback: recorded as in dial mode; the step may be over."""
    from voiceline.calls import status

    values = Status.of(form())

    def run(ctx: Context) -> None:
        leg = _own_leg(ctx.session)
        if leg is None:
            log.warning("status for unknown conference leg %s ignored", request.args.get("leg"))
            return
        status.leg_status(ctx, leg, values)
        conference_legs.leg_changed(ctx, leg)
    return _callback("conference-leg-status", run)


def _caller_call(ctx: Context):
    call = call_by_sid(ctx.session, form().get("CallSid"))
    if call is None:
        raise LookupError(f"no call {form().get('CallSid')!r} for {request.path}")
    return call


def _fetch() -> int:
    n = request.args.get("n", "0")
    return min(int(n), 10_000) if n.isdigit() and len(n) < 6 else 1


@bp.post("/conference/wait")
@twilio_signed
def conference_wait():
    """The caller's waitUrl: the hold prompt once, then silence; each re-fetch is the backstop."""
    fetch = _fetch()

    def run(ctx: Context) -> str:
        call = _caller_call(ctx)
        conference_legs.waiting(ctx, call, int((call.meta or {}).get("ring_seconds") or 25))
        return conference.wait_music(ctx, call, fetch)
    return _answer("conference_wait", run,
                   on_error=lambda: str(Reply().pause(conference.WAIT_PAUSE)
                                        .redirect(links("conference_wait", n=fetch + 1))))


@bp.post("/conference/end")
@twilio_signed
def conference_end():
    """The caller's <Dial><Conference> ended (they hung up, or the room ended)."""
    call_status = form().get("CallStatus", "")
    return _answer("conference_end", lambda ctx: conference.caller_left(ctx, _caller_call(ctx), call_status),
                   on_error=lambda: str(Reply().hangup()))


@bp.post("/conference/resume")
@twilio_signed
def conference_resume():
    """Where a REST redirect sends the caller: the TwiML for where the call is (voicemail)."""
    return _answer("conference_resume", lambda ctx: machine.render(ctx, _caller_call(ctx)))


@bp.post("/conference/star")
@twilio_signed
def conference_star():
    """The taker pressed * (or the room ended): the bring-in menu, or hang up."""
    def run(ctx: Context) -> str:
        leg = _own_leg(ctx.session)
        return conference_legs.star(ctx, leg) if leg else str(Reply().hangup())
    return _answer("conference_star", run, on_error=lambda: str(Reply().hangup()))


@bp.post("/conference/bring")
@twilio_signed
def conference_bring():
    """*N: ring step N's responders (0: the next step) to join; the taker goes back in."""
    digits = LegKeys.of(form()).digits

    def run(ctx: Context) -> str:
        leg = _own_leg(ctx.session)
        if leg is None:
            return str(Reply().hangup())
        return conference_legs.bring(ctx, leg, digits, resolve(ctx, leg.call).steps)
    return _answer("conference_bring", run, on_error=lambda: str(Reply().hangup()))
