"""The front of the call: incoming, language, identification, PIN and priority.

Each function takes the request's plain form values, moves the Call row (the source of
truth) one step on and returns TwiML. A request for a step the call has already left
(Twilio retried it) changes nothing and answers where the call is now.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from voiceline import audit, outbox
from voiceline.calls import auth, prompts
from voiceline.calls.context import Context
from voiceline.calls.escalation import dial_current, enter_voicemail, fallback_reply
from voiceline.calls.store import add_event, call_by_sid, finish
from voiceline.calls.twiml import Reply
from voiceline.directory import caller_by_number, hotline_by_number, people_with_role
from voiceline.models.calls import Call
from voiceline.models.directory import Caller, Hotline
from voiceline.phones import try_e164

log = logging.getLogger(__name__)

META_FIELDS = ("Caller", "Called", "CallerName", "FromCity", "FromState", "FromZip", "FromCountry",
               "ToCity", "ToState", "ToZip", "ToCountry", "StirVerstat", "CallToken",
               "ForwardedFrom", "CalledVia", "Direction", "ApiVersion", "AccountSid")


def _meta(form: Mapping[str, str], from_e164: str | None) -> dict:
    meta = {key: form[key][:2000] for key in META_FIELDS if form.get(key)}
    meta["from_e164"] = from_e164
    return meta


def incoming(ctx: Context, form: Mapping[str, str]) -> str:
    """A call comes in: create its record (once per CallSid) and greet or refuse."""
    sid = form["CallSid"][:64]
    call = call_by_sid(ctx.session, sid)
    if call is not None:  # Twilio repeated the request: the same first answer, nothing new
        return render(ctx, call, greet=call.pin_attempts == 0 and call.priority is None)
    region = ctx.settings.region
    to_e164 = try_e164(form.get("To"), region)
    from_e164 = try_e164(form.get("From"), region)
    hotline = hotline_by_number(ctx.session, to_e164)
    caller = caller_by_number(ctx.session, from_e164)
    call = Call(sid=sid, hotline_id=hotline.id if hotline else None,
                to_number=(to_e164 or form.get("To", ""))[:32], from_number=form.get("From", "")[:64],
                caller_id=caller.id if caller else None, started_at=ctx.at, state="new",
                meta=_meta(form, from_e164))
    try:
        with ctx.session.begin_nested():
            ctx.session.add(call)
    except IntegrityError:  # the same CallSid is being answered by another worker
        return render(ctx, call_by_sid(ctx.session, sid))
    if ctx.settings.linetest_from and from_e164 == try_e164(ctx.settings.linetest_from, region):
        return _line_test(ctx, call)
    if hotline is None:
        add_event(ctx.session, call, "unknown_hotline", ctx.at, to=call.to_number)
        call.state = "fallback"
        return fallback_reply(ctx, call.to_number or None)
    add_event(ctx.session, call, "greeted", ctx.at, dedupe_key=f"greeted:{sid}",
              caller=call.caller_id, policy=hotline.caller_policy)
    if hotline.caller_policy == "pin" and auth.locked_until(ctx.session, auth.lockout_key(call), ctx.at):
        call.language = _known_language(hotline, caller) or prompts.hotline_languages(hotline.languages)[0]
        return _reject_locked(ctx, call)
    call.language = _known_language(hotline, caller)
    if call.language is None:
        languages = prompts.hotline_languages(hotline.languages)
        if len(languages) > 1:
            call.state = "language"
            return render(ctx, call)
        call.language = languages[0]
    return _authenticate(ctx, call, hotline, caller, greet=True)


def _known_language(hotline: Hotline, caller: Caller | None) -> str | None:
    if caller is None:
        return None
    return prompts.supported(caller.language)


def _reject_locked(ctx: Context, call: Call) -> str:
    add_event(ctx.session, call, "locked", ctx.at, number=auth.lockout_key(call))
    finish(call, "rejected", ctx.at)
    return str(Reply(call.language).say("locked").hangup())


def _line_test(ctx: Context, call: Call) -> str:
    call.is_test = True
    call.language = prompts.DEFAULT_LANGUAGE
    add_event(ctx.session, call, "line_test", ctx.at, dedupe_key=f"line_test:{call.sid}")
    finish(call, "answered", ctx.at)
    return str(Reply("en-US").say("line_test").hangup())


def choose_language(ctx: Context, call: Call, form: Mapping[str, str]) -> str:
    """The caller pressed a digit in the language menu (silence or junk: the first language)."""
    if call.state != "language":
        return render(ctx, call)
    hotline = ctx.session.get(Hotline, call.hotline_id)
    languages = prompts.hotline_languages(hotline.languages)
    digits = form.get("Digits", "")
    index = int(digits) - 1 if digits.isdigit() and len(digits) == 1 else -1
    call.language = languages[index] if 0 <= index < len(languages) else languages[0]
    add_event(ctx.session, call, "language", ctx.at, language=call.language,
              chosen=0 <= index < len(languages))
    caller = ctx.session.get(Caller, call.caller_id) if call.caller_id else None
    return _authenticate(ctx, call, hotline, caller, greet=True)


def _authenticate(ctx: Context, call: Call, hotline: Hotline, caller: Caller | None,
                  greet: bool) -> str:
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
        finish(call, "rejected", ctx.at)
        return str(Reply(call.language).say("not_allowed").hangup())
    call.state = "pin" if caller is not None else "identify"
    return render(ctx, call, greet=greet)


def identify(ctx: Context, call: Call, form: Mapping[str, str], attempt: str | None) -> str:
    """An unknown number keyed the number it is registered with."""
    if call.state != "identify" or attempt != str(call.pin_attempts + 1):
        return render(ctx, call)
    if auth.locked_until(ctx.session, auth.lockout_key(call), ctx.at):
        return _reject_locked(ctx, call)  # locked by a parallel call since this one began
    digits = form.get("Digits", "")
    number = try_e164("+" + digits, ctx.settings.region) if digits.isdigit() and len(digits) <= 15 else None
    caller = caller_by_number(ctx.session, number)
    if caller is None or not caller.pin_hash:
        return _failed_try(ctx, call, "identify_failed", "unknown_number")
    call.caller_id = caller.id
    call.state = "pin"
    add_event(ctx.session, call, "identified", ctx.at, caller=caller.id)
    return render(ctx, call)


def enter_pin(ctx: Context, call: Call, form: Mapping[str, str], attempt: str | None) -> str:
    """The caller keyed a PIN: the real one or the duress one go on, anything else is a failed try."""
    if call.state != "pin" or attempt != str(call.pin_attempts + 1):
        return render(ctx, call)
    if auth.locked_until(ctx.session, auth.lockout_key(call), ctx.at):
        return _reject_locked(ctx, call)  # parallel calls must not each get their own tries
    caller = ctx.session.get(Caller, call.caller_id) if call.caller_id else None
    result = auth.check_pin(caller, form.get("Digits", "")[:64])
    if not result.ok:
        return _failed_try(ctx, call, "pin_failed", "pin_wrong")
    call.verified = True
    auth.record_success(ctx.session, auth.lockout_key(call), ctx.at)
    add_event(ctx.session, call, "pin_ok", ctx.at, attempt=call.pin_attempts + 1)
    if result.duress:
        _duress(ctx, call, caller)
    hotline = ctx.session.get(Hotline, call.hotline_id)
    return _after_auth(ctx, call, hotline, greet=False)


def _duress(ctx: Context, call: Call, caller: Caller) -> None:
    call.duress = True
    body = (f"voiceline DURESS: {caller.name} ({caller.org}) entered the duress PIN calling from "
            f"{call.from_number}. The call goes on as normal. {ctx.call_link(call.sid)}")
    try:
        with ctx.session.begin_nested():
            audit.record(ctx.session, "twilio", "call.duress", f"call {call.sid}", caller=caller.id)
            for person in people_with_role(ctx.session, "supervisor"):
                outbox.enqueue(ctx.session, key=f"duress:{call.sid}:{person.id}", kind="sms",
                               recipient=person.phone, body=body, purpose="duress",
                               meta={"call": call.sid})
    except Exception:
        # Failing the step would send this caller to the fallback, which the real PIN never
        # does: keep the flag and a timeline entry, answer as usual, and shout in the log.
        log.exception("call %s: the duress alert could not be queued", call.sid)
        add_event(ctx.session, call, "duress_alert_failed", ctx.at)


def _failed_try(ctx: Context, call: Call, kind: str, sentence: str) -> str:
    call.pin_attempts += 1
    number = auth.lockout_key(call)
    add_event(ctx.session, call, kind, ctx.at, attempt=call.pin_attempts)
    until = auth.record_failure(ctx.session, number, ctx.at, ctx.settings.pin_tries,
                                ctx.settings.lockout_minutes)
    if until is None and call.pin_attempts < ctx.settings.pin_tries:
        return render(ctx, call, prefix=sentence)
    if until is not None:
        add_event(ctx.session, call, "pin_locked", ctx.at, number=number,
                  until=until.isoformat())
        audit.record(ctx.session, "twilio", "call.pin_locked", number, call=call.sid,
                     until=until.isoformat())
    finish(call, "rejected", ctx.at)
    return str(Reply(call.language).say(sentence).say("pin_locked",
                                                      minutes=ctx.settings.lockout_minutes).hangup())


def _after_auth(ctx: Context, call: Call, hotline: Hotline, greet: bool) -> str:
    if hotline.ask_priority:
        call.state = "priority"
        return render(ctx, call, greet=greet)
    return start_ringing(ctx, call, greet=greet)


def choose_priority(ctx: Context, call: Call, form: Mapping[str, str]) -> str:
    """1 urgent, 2 routine; silence or any other key counts as urgent (the faster path to a human)."""
    if call.state != "priority":
        return render(ctx, call)
    digits = form.get("Digits", "")
    call.priority = 2 if digits == "2" else 1
    add_event(ctx.session, call, "priority", ctx.at, priority=call.priority, keyed=digits in {"1", "2"})
    return start_ringing(ctx, call, greet=False)


def start_ringing(ctx: Context, call: Call, greet: bool = False) -> str:
    """Begin the escalation at step 1 of the first round."""
    call.state, call.step, call.dial_group, call.round = "ringing", 1, 0, 0
    reply = Reply(call.language)
    if greet:
        reply.say("welcome")
    return dial_current(ctx, call, reply.say("connecting"))


def render(ctx: Context, call: Call, *, greet: bool = False, prefix: str | None = None) -> str:
    """The TwiML for where the call is now (used for first answers and for repeated requests)."""
    reply = Reply(call.language)
    if prefix:
        reply.say(prefix)
    links, state = ctx.links, call.state
    if state == "language":
        hotline = ctx.session.get(Hotline, call.hotline_id)
        keys = [("choose", lang, {"digit": i}) for i, lang in
                enumerate(prompts.hotline_languages(hotline.languages), start=1)]
        return str(reply.gather(links("language"), keys, num_digits=1))
    welcome = ["welcome"] if greet else []
    if state == "identify":
        return str(reply.gather(links("identify", attempt=call.pin_attempts + 1),
                                [*welcome, "identify"], timeout=10))
    if state == "pin":
        return str(reply.gather(links("pin", attempt=call.pin_attempts + 1),
                                [*welcome, "enter_pin"], timeout=10))
    if state == "priority":
        return str(reply.gather(links("priority"), [*welcome, "priority"], num_digits=1))
    if state == "ringing":
        return dial_current(ctx, call, reply)
    if state == "voicemail":
        return enter_voicemail(ctx, call)
    if state in {"fallback", "new"}:
        return fallback_reply(ctx, call.to_number or None)
    if state == "done" and call.outcome == "rejected":
        return str(reply.say("goodbye").hangup())
    return str(reply.hangup())
