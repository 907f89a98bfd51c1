"""The front of the call: incoming, language, identification, PIN and priority.

Each handler takes the request's parsed values, moves the Call row (the source of truth)
one step on and returns TwiML or a Prompt (machine.render says where the call is now).
Stale and repeated requests never reach a handler: calls/machine.py answers them.
"""

from __future__ import annotations

import logging
from typing import Any

from voiceline import audit, directory, outbox
from voiceline.calls import alerts, auth, prompts
from voiceline.calls.context import Context
from voiceline.calls.escalation import dial_current, fallback_reply
from voiceline.calls.states import Answer, CallState, Prompt
from voiceline.calls.store import add_event, finish
from voiceline.calls.twiml import Reply
from voiceline.directory import caller_by_number, hotline_by_number, people_with_role
from voiceline.models.calls import Call
from voiceline.models.directory import Caller, Hotline
from voiceline.phones import region_of, try_e164
from voiceline.webhooks.params import Incoming, Keys

log = logging.getLogger(__name__)


def incoming(ctx: Context, request: Incoming, call: Call | None = None) -> tuple[Call, Answer]:
    """A new CallSid: create its record and greet or refuse; returns the call and its answer.

    Without `call`, the new record is added (not written: machine.incoming's flush writes it,
    and answers a CallSid stored before as a repeat). With `call`, a bare record a status
    callback made first, this request runs the whole step on it (authentication included),
    never the fallback.
    """
    sid = request.call_sid
    region = ctx.settings.region
    to_e164 = try_e164(request.to_number, region)
    from_e164 = try_e164(request.from_number, region)
    hotline = hotline_by_number(ctx.session, to_e164)
    caller = caller_by_number(ctx.session, from_e164, shared=True)  # only read here
    fields = dict(hotline_id=hotline.id if hotline else None,
                  to_number=(to_e164 or request.to_number)[:32], from_number=request.from_number[:64],
                  caller_id=caller.id if caller else None,
                  stir_verstat=request.meta.get("StirVerstat", "")[:64] or None,
                  meta=_meta(request, from_e164))
    if call is None:
        # Written once, with its final state, by machine.incoming's flush (which also finds a
        # CallSid another worker or a status callback stored first).
        call = Call(sid=sid, started_at=ctx.at, state=CallState.NEW, **fields)
        ctx.session.add(call)
    elif made_by_status(call):  # a status callback came first and made a bare record
        for name, value in fields.items():
            setattr(call, name, value)
        call.meta = {**call.meta, "status_first": True}
        call.started_at = min(call.started_at, ctx.at)
    if ctx.settings.linetest_from and from_e164 == try_e164(ctx.settings.linetest_from, region):
        return call, _line_test(ctx, call)
    if hotline is None:
        add_event(ctx.session, call, "unknown_hotline", ctx.at, to=call.to_number)
        call.state = CallState.FALLBACK
        return call, fallback_reply(ctx, call.to_number or None)
    add_event(ctx.session, call, "greeted", ctx.at, dedupe_key=f"greeted:{sid}",
              caller=call.caller_id, policy=hotline.caller_policy)
    lock = (auth.current_lock(ctx.session, call.caller_id, auth.lockout_key(call), ctx.at)
            if hotline.caller_policy == "pin" else None)
    if lock is not None:
        call.language = _known_language(hotline, caller) or prompts.hotline_languages(hotline.languages)[0]
        return call, _reject_locked(ctx, call, lock)
    call.language = _known_language(hotline, caller)
    if call.language is None:
        languages = prompts.hotline_languages(hotline.languages)
        if len(languages) > 1:
            call.state = CallState.LANGUAGE
            return call, Prompt()
        call.language = languages[0]
    return call, _authenticate(ctx, call, hotline, caller, greet=True)


def _meta(request: Incoming, from_e164: str | None) -> dict:
    meta = {**request.meta, "from_e164": from_e164}
    if len(request.to_number) > 32:  # a SIP URI: the column keeps 32 characters, the record all
        meta["To"] = request.to_number[:2000]
    return meta


def made_by_status(call: Call) -> bool:
    """A record a status callback created before /voice/incoming ran (nothing answered yet)."""
    return call.state == CallState.NEW and bool((call.meta or {}).get("unseen"))


def _known_language(hotline: Hotline, caller: Caller | None) -> str | None:
    if caller is None:
        return None
    return prompts.supported(caller.language)


def _reject_locked(ctx: Context, call: Call, lock: auth.Lock) -> str:
    reason = ("the caller is locked after repeated wrong PINs (from any numbers)"
              if lock.scope == "caller" else "the calling number is locked after wrong PINs")
    add_event(ctx.session, call, "locked", ctx.at, scope=lock.scope, until=lock.until.isoformat(),
              reason=reason, **_lock_subject(lock))
    finish(call, "rejected", ctx.at)
    return str(Reply(call.language).say("locked").hangup())


def _line_test(ctx: Context, call: Call) -> str:
    call.is_test = True
    call.language = prompts.DEFAULT_LANGUAGE
    add_event(ctx.session, call, "line_test", ctx.at, dedupe_key=f"line_test:{call.sid}")
    finish(call, "answered", ctx.at)
    return str(Reply("en-US").say("line_test").hangup())


def choose_language(ctx: Context, call: Call, keys: Keys) -> Answer:
    """The caller pressed a digit in the language menu (silence or junk: the first language)."""
    hotline = directory.hotline(ctx.session, call.hotline_id)
    assert hotline is not None  # the language menu is only offered on a known hotline
    languages = prompts.hotline_languages(hotline.languages)
    digits = keys.digits
    index = int(digits) - 1 if digits.isdigit() and len(digits) == 1 else -1
    call.language = languages[index] if 0 <= index < len(languages) else languages[0]
    add_event(ctx.session, call, "language", ctx.at, language=call.language,
              chosen=0 <= index < len(languages))
    caller = directory.caller(ctx.session, call.caller_id) if call.caller_id else None
    return _authenticate(ctx, call, hotline, caller, greet=True)


def _authenticate(ctx: Context, call: Call, hotline: Hotline, caller: Caller | None,
                  greet: bool) -> Answer:
    policy = hotline.caller_policy
    if policy == "open":
        call.verified = False
        return _after_auth(ctx, call, hotline, greet)
    if policy == "allowlist":
        if caller is None:
            add_event(ctx.session, call, "not_allowed", ctx.at, number=call.from_number)
            finish(call, "rejected", ctx.at)
            return str(Reply(call.language).say("not_allowed").hangup())
        call.verified = True
        add_event(ctx.session, call, "allowlisted", ctx.at)
        return _after_auth(ctx, call, hotline, greet)
    if caller is not None and not caller.pin_hash:
        add_event(ctx.session, call, "pin_not_set", ctx.at, caller=caller.id)
        alerts.queue_pin_not_set(ctx, call, caller)
        finish(call, "rejected", ctx.at)
        return str(Reply(call.language).say("pin_not_set").hangup())
    call.state = CallState.PIN if caller is not None else CallState.IDENTIFY
    return Prompt(greet=greet)


def identify(ctx: Context, call: Call, keys: Keys) -> Answer:
    """An unknown number keyed the number it is registered with: the PIN is asked next whatever
    was keyed. Registered or not, without a PIN or locked: nothing the caller hears tells
    before a right PIN (the PIN step refuses the claim as it refuses a wrong PIN)."""
    if (lock := auth.current_lock(ctx.session, None, auth.lockout_key(call), ctx.at)) is not None:
        return _reject_locked(ctx, call, lock)  # the calling number was locked meanwhile
    caller = _keyed_caller(ctx, directory.hotline(ctx.session, call.hotline_id), keys.digits)
    call.caller_id = caller.id if caller is not None else None
    call.state = CallState.PIN
    add_event(ctx.session, call, "identified", ctx.at, caller=call.caller_id,
              registered=caller is not None, pin_set=bool(caller and caller.pin_hash))
    return Prompt()


def _keyed_claim(call: Call, caller: Caller | None) -> bool:
    """The call's caller was named by keyed digits (identify), not by its own number."""
    return caller is None or (call.meta or {}).get("from_e164") not in caller.numbers


def _keyed_caller(ctx: Context, hotline: Hotline | None, digits: str) -> Caller | None:
    """The caller registered with the keyed number: national in the hotline's region (its
    number's, else VOICELINE_DEFAULT_REGION), or international with the country code."""
    if not digits.isdigit() or len(digits) > 15:
        return None
    region = region_of(hotline.number if hotline else None) or ctx.settings.region
    for number in dict.fromkeys((try_e164(digits, region), try_e164("+" + digits, region))):
        caller = caller_by_number(ctx.session, number)
        if caller is not None:
            return caller
    return None


def enter_pin(ctx: Context, call: Call, keys: Keys) -> Answer:
    """The caller keyed a PIN: the real one or the duress one go on, anything else is a failed try."""
    number = auth.lockout_key(call)
    caller = directory.caller(ctx.session, call.caller_id) if call.caller_id else None
    keyed = _keyed_claim(call, caller)
    # A plain read first when the caller still has an argon2 hash: a locked caller then costs
    # no slow hashing. Keyed hashes cost microseconds, so the locked rows read below decide.
    lock = (auth.current_lock(ctx.session, call.caller_id, number, ctx.at)
            if auth.has_legacy_hash(caller) else None)
    if lock is not None and not (keyed and lock.scope == "caller"):
        return _reject_locked(ctx, call, lock)
    # A keyed claim of a locked caller is refused like a wrong PIN (unchecked: no guess counts
    # during a lock); telling "locked" would tell a prober that the number is registered.
    result = auth.check_pin(caller if lock is None else None, keys.digits, ctx.settings.pin_keys)
    # Check and count are one step: the buckets are re-read under a row lock held until this
    # answer is committed, so of parallel calls (any numbers claiming this caller) no more
    # results are acted on than the limits allow; a result that comes too late is discarded.
    guard = auth.hold(ctx.session, call.caller_id, number, ctx.at)
    if (lock := guard.lock(ctx.at)) is not None:
        if not (keyed and lock.scope == "caller"):
            return _reject_locked(ctx, call, lock)
        return _failed_try(ctx, call, auth.Guard(ctx.session, None, guard.number), "pin_refused", "pin_wrong",
                           keyed=True, reason="the claimed caller is locked: the PIN was not checked",
                           scope=lock.scope, until=lock.until.isoformat(), **_lock_subject(lock))
    if not result.ok:
        return _failed_try(ctx, call, guard, "pin_failed", "pin_wrong", keyed=keyed)
    for column, new_hash in result.rehash:
        setattr(caller, column, new_hash)  # an argon2 (or old-key) hash upgraded to the current key
    call.verified = True
    guard.succeed(ctx.at)
    add_event(ctx.session, call, "pin_ok", ctx.at, attempt=call.pin_attempts + 1)
    assert caller is not None  # check_pin is never ok without a caller
    if result.duress:
        _duress(ctx, call, caller)
    hotline = directory.hotline(ctx.session, call.hotline_id)
    assert hotline is not None  # the PIN is only asked for on a known hotline
    return _after_auth(ctx, call, hotline, greet=False)


def _duress(ctx: Context, call: Call, caller: Caller) -> None:
    call.duress = True
    try:
        with ctx.session.begin_nested():
            audit.record(ctx.session, "twilio", "call.duress", f"call {call.sid}", caller=caller.id)
            alerts.queue_duress(ctx, call, caller)
    except Exception:
        # Failing the step would send this caller to the fallback, which the real PIN never
        # does: keep the flag and a timeline entry, answer as usual, and shout in the log.
        log.exception("call %s: the duress alert could not be queued", call.sid)
        add_event(ctx.session, call, "duress_alert_failed", ctx.at)


def _lock_subject(lock: auth.Lock) -> dict:
    if lock.scope == "caller":
        return {"caller": lock.key.removeprefix(auth.CALLER_PREFIX)}
    return {"number": lock.key}


def _failed_try(ctx: Context, call: Call, guard: auth.Guard, kind: str, sentence: str, *,
                keyed: bool = False, **detail: Any) -> Answer:
    """Count a wrong try; ask again or end the call. On a `keyed` claim (identify) the caller
    hears the same whether the claimed caller exists and whether this try locked them: a lock
    of the caller ends the call only when a number lock or the per-call tries would, and the
    minutes said are the number's."""
    call.pin_attempts += 1
    add_event(ctx.session, call, kind, ctx.at, attempt=call.pin_attempts, **detail)
    settings = ctx.settings
    locks = guard.fail(ctx.at, tries=settings.pin_tries, minutes=settings.lockout_minutes,
                       caller_failures=settings.caller_lock_failures,
                       caller_minutes=settings.caller_lock_minutes)
    _record_locks(ctx, call, guard, locks)
    ends = any(lock.scope == "number" for lock in locks) or (bool(locks) and not keyed)
    if not ends and call.pin_attempts < settings.pin_tries:
        return Prompt(prefix=sentence)
    finish(call, "rejected", ctx.at)
    minutes = max([settings.lockout_minutes] + [settings.caller_lock_minutes for lock in locks
                                                if lock.scope == "caller" and not keyed])
    return str(Reply(call.language).say(sentence).say("pin_locked", minutes=minutes).hangup())


def _record_locks(ctx: Context, call: Call, guard: auth.Guard, locks: list[auth.Lock]) -> None:
    settings = ctx.settings
    for lock in locks:
        if lock.scope == "caller":
            assert guard.caller is not None  # a caller-scope lock comes from the caller's bucket
            reason = (f"{guard.caller.failures} wrong PINs for this caller within 24 h, "
                      f"from any numbers (limit {settings.caller_lock_failures})")
        else:
            reason = f"{settings.pin_tries} wrong tries from this number"
        add_event(ctx.session, call, "pin_locked", ctx.at, scope=lock.scope,
                  until=lock.until.isoformat(), reason=reason, **_lock_subject(lock))
        audit.record(ctx.session, "twilio", "call.pin_locked",
                     lock.key if lock.scope == "number" else f"caller {call.caller_id}",
                     call=call.sid, scope=lock.scope, until=lock.until.isoformat(), reason=reason)
        if lock.scope == "caller":
            _alert_caller_locked(ctx, call, lock, reason)


def _alert_caller_locked(ctx: Context, call: Call, lock: auth.Lock, reason: str) -> None:
    """Tell the rota managers and supervisors that a caller is locked (someone may be guessing)."""
    caller = directory.caller(ctx.session, call.caller_id)
    name = f"{caller.name} ({caller.org})" if caller is not None else call.caller_id
    body = (f"voiceline: caller {name} is locked until {lock.until:%Y-%m-%d %H:%M} UTC: {reason}. "
            f"Last try from {call.from_number or 'a withheld number'}. {ctx.call_link(call.sid)}")
    recipients = {p.id: p for role in ("manager", "supervisor")
                  for p in people_with_role(ctx.session, role)}
    try:
        with ctx.session.begin_nested():
            for person in recipients.values():
                outbox.enqueue(ctx.session, key=f"caller-locked:{call.caller_id}:{lock.until.isoformat()}"
                               f":{person.id}", kind="sms", recipient=person.phone, body=body,
                               purpose="caller_locked", meta={"call": call.sid, "caller": call.caller_id})
    except Exception:
        # The caller is locked either way; a failed alert must not hand the call to the fallback.
        log.exception("call %s: the caller lock-out alert could not be queued", call.sid)
        add_event(ctx.session, call, "caller_lock_alert_failed", ctx.at)


def _after_auth(ctx: Context, call: Call, hotline: Hotline, greet: bool) -> Answer:
    if hotline.ask_priority:
        call.state = CallState.PRIORITY
        return Prompt(greet=greet)
    return start_ringing(ctx, call, greet=greet)


def choose_priority(ctx: Context, call: Call, keys: Keys) -> Answer:
    """1 urgent, 2 routine; silence or any other key counts as urgent (the faster path to a human)."""
    digits = keys.digits
    call.priority = 2 if digits == "2" else 1
    add_event(ctx.session, call, "priority", ctx.at, priority=call.priority, keyed=digits in {"1", "2"})
    return start_ringing(ctx, call, greet=False)


def start_ringing(ctx: Context, call: Call, greet: bool = False) -> str:
    """Begin the escalation at step 1 of the first round."""
    call.state, call.step, call.dial_group, call.round = CallState.RINGING, 1, 0, 0
    reply = Reply(call.language)
    if greet:
        reply.say("welcome")
    return dial_current(ctx, call, reply.say("connecting"))

