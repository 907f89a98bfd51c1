"""Folding Twilio's callbacks into the call log: status of the call and its legs, recordings.

Callbacks may come twice or out of order: each (CallSid, CallStatus) is recorded once
(CallEvent.dedupe_key), an older SequenceNumber never overwrites a newer state, and a
finished call keeps its outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from voiceline import directory, outbox
from voiceline.calls.context import Context
from voiceline.calls.escalation import resolve
from voiceline.calls.states import CallState
from voiceline.calls.store import add_event, call_by_sid, finish
from voiceline.calls.twiml import Reply
from voiceline.directory import hotline_by_number, people_with_role
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.models.directory import Person
from voiceline.phones import try_e164
from voiceline.webhooks.params import Recording, Status

TERMINAL = {"completed", "busy", "failed", "no-answer", "canceled"}


def call_status(ctx: Context, callback: Status) -> Call:
    """A status callback of the parent (inbound) call; returns the call it was for.

    The callback is folded into the call in memory first and its timeline entry, whose unique
    key finds a duplicate, is the first write: on SQLite the database's write lock is then held
    only for that INSERT, the call's UPDATE and the commit (a writer waiting on it sleeps
    in SQLite's busy handler); a duplicate drops the folded changes, unwritten.
    """
    sid = callback.call_sid
    call = call_by_sid(ctx.session, sid)
    if call is None:
        call = _unseen_call(ctx, callback)
    status = callback.status
    at = callback.timestamp or ctx.at
    awaits_recording = _fold(call, callback, at)
    event = add_event(ctx.session, call, "call_status", at, dedupe_key=f"status:{sid}:{status}",
                      status=status, sequence=callback.sequence, duration=callback.duration)
    if event is None:  # a duplicate: changes nothing
        ctx.session.expire(call)
        return call
    if awaits_recording:
        await_recording(ctx, call)  # the caller was at <Record>: its callback may still come
    return call


def _fold(call: Call, callback: Status, at: datetime) -> bool:
    """Apply one parent status callback to the call (in memory); True when the call ended at
    <Record> with no recording yet (its missed-call notice waits for one)."""
    status = callback.status
    sequence = callback.sequence
    newer = sequence is None or sequence > call.last_sequence
    if sequence is not None and newer:
        call.last_sequence = sequence
    if status not in TERMINAL:
        return False
    if not newer and call.state == "done":
        return False  # an older callback (canceled after completed) never rewrites a finished call
    # The end of the parent call is final whatever order the events came in.
    call.ended_at = at
    duration = callback.duration
    if duration is not None:
        call.duration_seconds = duration
    if call.state == CallState.DONE:
        return False  # a finished call is never reopened
    awaits = False  # finish keeps the ended_at and duration set above
    if status in {"failed", "busy", "no-answer"} or call.state in {CallState.FALLBACK, CallState.NEW}:
        # NEW: only a status callback ever saw this call (its incoming request never stored)
        finish(call, "failed", at)
    elif call.state == CallState.CONNECTED:
        finish(call, "answered", at)
    elif call.state == CallState.VOICEMAIL:
        finish(call, "voicemail" if call.recording_url else "missed", at)
        awaits = call.outcome == "missed"
    else:
        finish(call, "abandoned", at)
    return awaits


def _unseen_call(ctx: Context, callback: Status) -> Call:
    """A callback for a call /voice/incoming has not stored (yet, or ever): keep a bare record.

    Its state is NEW: an incoming request that arrives later runs its step on this record
    (authentication included); if none ever does, the call's end closes it as failed.
    """
    to_e164 = try_e164(callback.to_number, ctx.settings.region)
    hotline = hotline_by_number(ctx.session, to_e164)
    call = Call(sid=callback.call_sid, hotline_id=hotline.id if hotline else None,
                to_number=(to_e164 or callback.to_number)[:32], from_number=callback.from_number[:64],
                started_at=ctx.at, state=CallState.NEW, meta={"unseen": True})
    try:
        with ctx.session.begin_nested():
            ctx.session.add(call)
    except IntegrityError:  # /voice/incoming stored it at the same moment
        stored = call_by_sid(ctx.session, call.sid)
        assert stored is not None  # the unique CallSid we collided with
        return stored
    add_event(ctx.session, call, "unseen_call", ctx.at)
    return call


def leg_status(ctx: Context, leg: CallLeg, callback: Status) -> None:
    """A status callback of one responder's leg."""
    call = leg.call
    if leg.sid is None and callback.call_sid:
        leg.sid = callback.call_sid
    status = callback.status
    sequence = callback.sequence
    at = callback.timestamp or ctx.at
    event = add_event(ctx.session, call, "leg_status", at, step=leg.step, person_id=leg.person_id,
                      leg_sid=leg.sid, dedupe_key=f"status:{leg.sid or leg.id}:{status}",
                      status=status, sequence=sequence)
    if event is None:
        return
    if status in {"in-progress", "answered"} and leg.answered_at is None:
        leg.answered_at = at
    newer = sequence is None or sequence > leg.last_sequence
    if status in TERMINAL:
        # The newest terminal callback sets the end; an older one only fills a missing end.
        leg.ended_at = at if newer or leg.ended_at is None else leg.ended_at
        add_event(ctx.session, call, "leg_result", at, step=leg.step, person_id=leg.person_id,
                  leg_sid=leg.sid, dedupe_key=f"result:{leg.id}", result=leg_result(leg, status))
    if not newer:
        return  # older than what we know: recorded, but it does not move the state back
    if sequence is not None:
        leg.last_sequence = sequence
    if leg.status not in TERMINAL or status in TERMINAL:
        leg.status = status


def leg_result(leg: CallLeg, status: str) -> str:
    """What became of a leg: completed (talked), declined/silent at screening, or Twilio's status."""
    if leg.screen == "accepted":
        return "completed"
    if leg.screen in {"declined", "silent"}:
        return "declined" if leg.screen == "declined" else "no-answer-at-screen"
    return status


def voicemail_fresh(call: Call) -> bool:
    """The <Record> action is expected: the call is at voicemail (or closed meanwhile as missed,
    or as voicemail by a recording callback that came first: the caller still hears the thanks)."""
    return call.outcome in {None, "missed", "voicemail"}


def voicemail(ctx: Context, call: Call, recorded: Recording) -> str:
    """The <Record> ended: keep the recording, close the call, tell the responders."""
    _keep_recording(ctx, call, recorded)  # a no-op when the recording callback came first
    reply = Reply(call.language)
    if call.recording_url:
        return str(reply.say("voicemail_thanks").hangup())
    if call.state != CallState.DONE:
        finish(call, "missed", ctx.at)
    await_recording(ctx, call)
    return str(reply.say("goodbye").hangup())


# How long a call that ended at <Record> without a recording waits for the recording callback
# before its responders are told of a missed call: Twilio posts it once the file is stored,
# usually within seconds; the scheduler's minute tick adds up to a minute more.
RECORDING_GRACE = timedelta(minutes=2)


def await_recording(ctx: Context, call: Call) -> None:
    """Hold the missed-call notice: a recording may still arrive, and each call gets one notice."""
    add_event(ctx.session, call, "notice_pending", ctx.at, dedupe_key=f"notice_pending:{call.sid}",
              until=(ctx.at + RECORDING_GRACE).isoformat())


def send_pending_notices(ctx: Context) -> int:
    """Scheduler step: calls still "missed" once the grace has passed get their missed-call notice."""
    later = aliased(CallEvent)
    told = select(later.id).where(later.call_id == Call.id, later.kind.in_(["notified", "notice_due"]))
    pending = ctx.session.scalars(
        select(Call).join(CallEvent, CallEvent.call_id == Call.id)
        .where(CallEvent.kind == "notice_pending", CallEvent.at <= ctx.at - RECORDING_GRACE,
               Call.outcome == "missed", ~told.exists())).all()
    sent = 0
    for call in pending:  # (a "notified" call was told already: the recording said "absent")
        if add_event(ctx.session, call, "notice_due", ctx.at, dedupe_key=f"notice_due:{call.sid}",
                     reason="no recording arrived") is not None:
            sent += notify(ctx, call, "missed")
    return sent


def recording(ctx: Context, call: Call | None, recorded: Recording) -> None:
    """recordingStatusCallback: completed keeps the recording; absent means no message."""
    if call is None:
        if recorded.status != "completed" or not recorded.call_sid:
            return
        # A message the error fallback took while the database was down, which is back now:
        # keep it on a bare record and tell the managers rather than leave it unseen in Twilio.
        call = _unseen_call(ctx, Status(recorded.call_sid))
        call.state = CallState.FALLBACK
    status = recorded.status
    add_event(ctx.session, call, "recording", ctx.at, status=status, seconds=recorded.seconds,
              dedupe_key=f"recording:{call.sid}:{recorded.sid}:{status}")
    if status == "completed":
        _keep_recording(ctx, call, recorded)
    elif (status == "absent" and call.state in {CallState.VOICEMAIL, CallState.DONE}
          and call.outcome in {None, "missed"}):
        finish(call, "missed", ctx.at)  # Twilio says no message will come: the notice goes now
        notify(ctx, call, "missed")


def _keep_recording(ctx: Context, call: Call, recorded: Recording) -> None:
    url, seconds = recorded.url, recorded.seconds
    if not url or not url.startswith("https://") or seconds == 0:
        return
    call.recording_url = url[:2000]
    call.recording_sid = recorded.sid or call.recording_sid
    call.recording_seconds = seconds
    # A recording that lands after the caller hung up still makes the call a voicemail.
    if call.outcome in {None, "missed"} and call.state in {CallState.VOICEMAIL, CallState.DONE,
                                                           CallState.FALLBACK, CallState.NEW}:
        was_fallback = call.state in {CallState.FALLBACK, CallState.NEW}  # NEW: incoming never ran
        call.outcome, call.state = None, CallState.VOICEMAIL
        finish(call, "failed" if was_fallback else "voicemail", ctx.at)
    elif call.outcome != "failed":  # a failed call's message is the error fallback's: tell them too
        return
    add_event(ctx.session, call, "voicemail_left", ctx.at, seconds=seconds,
              dedupe_key=f"vm_left:{call.sid}")
    notify(ctx, call, "voicemail")


def notify(ctx: Context, call: Call, kind: str) -> int:
    """Queue a message (once per call and person) to every responder of the policy and the managers."""
    recipients: dict[str, Person] = {}
    try:
        for _, people in resolve(ctx, call).steps:
            recipients.update({p.id: p for p in people})
    except Exception:  # a broken rota must not stop the notice: the legs and managers remain
        pass
    for leg in call.legs:
        person = directory.person(ctx.session, leg.person_id) if leg.person_id else None
        if person is not None and person.active:
            recipients[person.id] = person
    recipients.update({p.id: p for p in people_with_role(ctx.session, "manager")})
    caller = directory.caller(ctx.session, call.caller_id) if call.caller_id else None
    hotline = directory.hotline(ctx.session, call.hotline_id) if call.hotline_id else None
    who = (f"{caller.name} ({caller.org}) {call.from_number}" if caller
           else call.from_number or "a number not on record")
    what = {"voicemail": f"voicemail ({call.recording_seconds or 0} s)",
            "missed": "missed call"}[kind]
    line = (hotline.name or hotline.number) if hotline else call.to_number or "the hotline"
    about = f"voiceline: {what} from {who} on {line} at {call.started_at:%Y-%m-%d %H:%M}Z."
    body = f"{about} {ctx.call_link(call.sid)}"
    count = 0
    for person in recipients.values():
        phone = try_e164(person.phone)
        if not phone:
            continue
        # One key per call and person whatever the kind: a missed-call notice and a voicemail
        # notice for the same call can never both be queued.
        queued, created = outbox.enqueue(ctx.session, key=f"voicemail:{call.sid}:{person.id}",
                                         kind="sms", recipient=phone, body=body, purpose=kind,
                                         meta={"call": call.sid, "person": person.id})
        if not created and kind == "voicemail" and queued.purpose == "missed":
            # The recording came after the grace, when the missed-call notice had gone: the
            # voicemail still has to be told, once (its own key), never a third time.
            _, created = outbox.enqueue(
                ctx.session, key=f"voicemail:{call.sid}:{person.id}:late", kind="sms",
                recipient=phone,
                body=f"{about} Left after the missed-call notice. {ctx.call_link(call.sid)}",
                purpose=kind, meta={"call": call.sid, "person": person.id, "late": True})
        count += created
    add_event(ctx.session, call, "notified", ctx.at, dedupe_key=f"notified:{kind}:{call.sid}",
              about=kind, people=sorted(recipients), queued=count)
    return count
