"""The /voice/ blueprint: thin views that check the signature, call the flow and answer TwiML.

Whatever fails while a caller is on the line, the answer is valid TwiML: the fallback
dial (or a message), never an application error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, abort, current_app, request
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import ImmutableMultiDict

from voiceline import appdb
from voiceline.calls import conference, machine, status
from voiceline.calls.capture import write as capture_write
from voiceline.calls.context import Context
from voiceline.calls.machine import Step
from voiceline.calls.states import CallState
from voiceline.calls.store import add_event, call_by_sid, leg_by_sid, write_changes
from voiceline.calls.twiml import (
    Reply,
    fallback_goodbye,
    fallback_record,
    fallback_screen,
    fallback_screen_answer,
    fallback_twiml,
)
from voiceline.extensions import CLOCK
from voiceline.models.calls import CallLeg
from voiceline.phones import try_e164
from voiceline.webhooks.dialer import call_settings, links, request_context, run_after
from voiceline.webhooks.edge import clean_form
from voiceline.webhooks.params import DialEnded, Incoming, Keys, LegKeys, Recording, Status
from voiceline.webhooks.signature import twilio_signed, twiml_response

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")
MAX_BODY = 64 * 1024  # Twilio's requests are a few KB; refuse anything absurd before parsing


def form() -> ImmutableMultiDict:
    """The request's Twilio values, cleaned at the edge (the signature was checked on the raw ones)."""
    # Kept on the request, not on g: a CLI replaying calls inside one app context shares g.
    cleaned = request.environ.get("voiceline.form")
    if cleaned is None:
        cleaned = request.environ["voiceline.form"] = clean_form(request.form)
    return cleaned


def _now():
    return current_app.extensions[CLOCK]()  # tests and replays pin the instant


def _fallback() -> str:
    settings = call_settings()
    hotline = try_e164(form().get("To"), settings.region)
    return fallback_twiml(list(settings.fallback_numbers), hotline,
                          done_url=links("fallback_done"), record_url=links("fallback_done"),
                          recording_status_url=links("recording"),
                          max_length=settings.record_max_seconds,
                          screen_url=links("fallback_screen"))


@bp.before_request
def _limit_body():
    if (request.content_length or 0) > MAX_BODY:
        abort(413)


@bp.after_request
def _capture(response):
    directory = current_app.config.get("CAPTURE_DIR")
    if directory and request.method == "POST" and response.status_code != 403:
        try:
            capture_write(directory, request.full_path.rstrip("?"), form().to_dict(),
                          response.status_code, response.get_data(as_text=True),
                          bool(current_app.config.get("CAPTURE_REDACT", True)))
        except Exception:  # capturing is a diagnostic; it never changes an answer
            log.exception("could not capture a webhook request")
    return response


def _sid() -> str:
    sid = form().get("CallSid", "")
    if not sid or len(sid) > 64:
        abort(400, "CallSid missing")
    return sid


def request_session() -> Session:
    """The session of one webhook request: everything it loads stays loaded until it ends.

    A session's identity map holds objects weakly, so a hotline or person read in one helper
    and dropped was read again by the next; held here, a second look-up of the same row by
    primary key costs no statement (the session, and the objects, end with the request).
    No autoflush: the call's row is written once, at the commit, not again before every
    read in between (a step that needs new rows' ids flushes them itself).
    """
    session = appdb.session_factory()(autoflush=False)
    session.info["held"] = []
    return session


@event.listens_for(Session, "loaded_as_persistent")
def _hold(session: Session, instance: object) -> None:
    """What a webhook request's session loads stays referenced until the request ends (one
    listener for every session: one per request cost more than the look-up it saves)."""
    held = session.info.get("held")
    if held is not None:
        held.append(instance)


def _answer(step: str, handler: Callable[[Context], str], on_error: Callable[[], str] = _fallback):
    """Run one step in a transaction; any failure is logged and answered with `on_error`."""
    sid = _sid()
    # A session of its own per request (not the app context's): a CLI that posts many requests
    # inside one app context (simulate, replay) must still see each request's fresh state.
    session = request_session()
    try:
        ctx = request_context(session)
        twiml = handler(ctx)
        _commit(session)
        _run_after(ctx)
        return twiml_response(twiml)
    except Exception:
        log.exception("call %s: step %s failed; answering with the fallback", sid, step)
        session.rollback()
        _note_failure(sid, step)
        return twiml_response(on_error())
    finally:
        session.close()


def _commit(session: Session) -> None:
    """End a step: the changed call and legs in one UPDATE each (calls.store), then COMMIT."""
    write_changes(session)
    session.commit()


def _run_after(ctx: Context) -> None:
    """The REST work a committed step queued (conference mode); never changes the answer."""
    if not ctx.after:
        return
    try:
        run_after(ctx.after)
    except Exception:
        log.exception("conference work after the answer failed; the waitUrl backstop retries")


def _note_failure(sid: str, step: str) -> None:
    """Best effort: mark the call as handed to the fallback (the database may be the failure)."""
    if appdb.database_given_up():  # it timed out or is unreachable: the log says it all
        log.warning("call %s: database unavailable; the fallback is not recorded", sid)
        return
    try:
        with appdb.session_factory()() as session:
            call = call_by_sid(session, sid)
            if call is not None and call.state != CallState.DONE:
                call.state = CallState.FALLBACK
                add_event(session, call, "fallback", _now(), failed_step=step)
                session.commit()
    except Exception:
        log.warning("call %s: could not record the fallback either", sid)


def _step(step: Step, values) -> Callable[[Context], str]:
    """One step of the call named by the request's CallSid, through the state machine."""
    def run(ctx: Context) -> str:
        call = call_by_sid(ctx.session, form()["CallSid"])
        if call is None:
            raise LookupError(f"no call {form()['CallSid']!r} for step {request.path}")
        return machine.run(ctx, step, call, values)
    return run


@bp.post("/incoming")
@twilio_signed
def incoming():
    values = Incoming.of(form())
    return _answer("incoming", lambda ctx: machine.incoming(ctx, values))


@bp.post("/language")
@twilio_signed
def language():
    return _answer("language", _step(Step.LANGUAGE, Keys.of(form(), request.args)))


@bp.post("/identify")
@twilio_signed
def identify():
    return _answer("identify", _step(Step.IDENTIFY, Keys.of(form(), request.args)))


@bp.post("/pin")
@twilio_signed
def pin():
    return _answer("pin", _step(Step.PIN, Keys.of(form(), request.args)))


@bp.post("/priority")
@twilio_signed
def priority():
    return _answer("priority", _step(Step.PRIORITY, Keys.of(form(), request.args)))


@bp.post("/dial")
@twilio_signed
def dial_result():
    return _answer("dial", _step(Step.DIAL, DialEnded.of(form(), request.args)))


@bp.post("/voicemail")
@twilio_signed
def voicemail():
    return _answer("voicemail", _step(Step.VOICEMAIL, Recording.of(form())),
                   on_error=lambda: str(fallback_goodbye(bool(form().get("RecordingUrl")))))


def _leg(session) -> CallLeg | None:
    """The leg named by ?leg= , only when it belongs to the parent call Twilio names."""
    leg_id = request.args.get("leg", "")
    leg = session.get(CallLeg, int(leg_id)) if leg_id.isdigit() and len(leg_id) < 12 else None
    parent = form().get("ParentCallSid")
    if leg is not None and parent and leg.call.sid != parent:
        log.warning("leg %s does not belong to call %s", leg_id, parent)
        return None
    return leg


def _screen_fallback() -> str:
    return str(Reply().gather(links("screen_answer", leg=request.args.get("leg", "0")),
                              ["whisper_plain", "whisper_plain"], num_digits=1))


def _screen_answer_fallback() -> str:
    # Without the database a responder who pressed 1 is still connected: a human beats a record.
    return str(Reply() if form().get("Digits") == "1" else Reply().hangup())


@bp.post("/screen")
@twilio_signed
def screen():
    values = LegKeys.of(form())

    def run(ctx: Context) -> str:
        leg = _leg(ctx.session)
        return machine.run_leg(ctx, Step.SCREEN, leg, values) if leg else str(Reply().hangup())
    return _answer("screen", run, on_error=_screen_fallback)


@bp.post("/screen/answer")
@twilio_signed
def screen_answer():
    values = LegKeys.of(form())

    def run(ctx: Context) -> str:
        leg = _leg(ctx.session)
        return machine.run_leg(ctx, Step.SCREEN_ANSWER, leg, values) if leg else str(Reply().hangup())
    return _answer("screen_answer", run, on_error=_screen_answer_fallback)


def _callback(step: str, handler: Callable[[Context], None]):
    """Status-type callbacks: nobody listens to the answer, but a failure is logged in full."""
    _sid()
    session = request_session()
    try:
        ctx = request_context(session)
        handler(ctx)
        _commit(session)
        _run_after(ctx)
    except Exception:
        session.rollback()
        safe = {k: v for k, v in form().items() if k != "Digits"}
        log.exception("%s callback could not be stored: %s", step, safe)
    finally:
        session.close()
    return twiml_response(str(Reply()))


@bp.post("/status")
@twilio_signed
def call_status():
    values = Status.of(form())

    def run(ctx: Context) -> None:
        leg = leg_by_sid(ctx.session, values.call_sid) if form().get("ParentCallSid") else None
        if leg is not None:
            status.leg_status(ctx, leg, values)
        else:
            conference.parent_ended(ctx, status.call_status(ctx, values))
    return _callback("status", run)


@bp.post("/leg-status")
@twilio_signed
def leg_status():
    values = Status.of(form())

    def run(ctx: Context) -> None:
        leg = _leg(ctx.session)
        if leg is None:
            log.warning("status for unknown leg %s ignored", request.args.get("leg"))
            return
        status.leg_status(ctx, leg, values)
    return _callback("leg-status", run)


@bp.post("/recording")
@twilio_signed
def recording():
    values = Recording.of(form())

    def run(ctx: Context) -> None:
        status.recording(ctx, call_by_sid(ctx.session, form().get("CallSid")), values)
    return _callback("recording", run)


@bp.post("/fallback")
@twilio_signed
def fallback():
    """Twilio's Fallback URL: the fallback answer, without touching the database."""
    return twiml_response(_fallback())


@bp.post("/fallback/done")
@twilio_signed
def fallback_done():
    """After the fallback dial or message: hang up, or take a message when nobody answered."""
    settings = call_settings()
    dial_status = form().get("DialCallStatus")
    # A leg that declined at the screening also ends the <Dial>: only a bridge counts as taken.
    bridged = form().get("DialBridged") != "false"
    if dial_status is None:  # the message was taken: nothing here knows whether anyone is told
        return twiml_response(str(fallback_goodbye(bool(form().get("RecordingUrl")))))
    if dial_status in {"completed", "answered"} and bridged:
        return twiml_response(str(Reply().hangup()))
    return twiml_response(str(fallback_record(links("fallback_done"), links("recording"),
                                              settings.record_max_seconds)))


@bp.post("/fallback/screen", endpoint="fallback_screen")
@twilio_signed
def fallback_screen_view():
    """A fallback number picked up during an outage: the whisper, needing no database."""
    return twiml_response(str(fallback_screen(links("fallback_screen_answer"))))


@bp.post("/fallback/screen/answer", endpoint="fallback_screen_answer")
@twilio_signed
def fallback_screen_answer_view():
    """Only 1 connects a fallback number; its voicemail (or anyone else) is hung up."""
    return twiml_response(str(fallback_screen_answer(form().get("Digits"))))
