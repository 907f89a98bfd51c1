"""The reachability call's webhook: Twilio posts the digit the responder pressed."""

from __future__ import annotations

import logging

from flask import Blueprint, request, url_for

from voiceline import appdb
from voiceline import models as m
from voiceline.calls.twiml import reachability_answer
from voiceline.instants import utcnow
from voiceline.jobs.reachability import confirm
from voiceline.models.jobs import ReachabilityCheck
from voiceline.webhooks.signature import public_url, twilio_signed, twiml_response

log = logging.getLogger(__name__)
bp = Blueprint("reachability", __name__, url_prefix="/voice/reachability")


@bp.post("/<int:check_id>/confirm")
@twilio_signed
def confirm_view(check_id: int):
    """Record a 1 as confirmation; any other key asks again. Always answers valid TwiML."""
    digits = request.form.get("Digits", "")
    language = None
    try:
        session = appdb.db_session()
        check = session.get(ReachabilityCheck, check_id)
        person = session.get(m.Person, check.person_id) if check is not None else None
        language = person.languages[0] if person is not None and person.languages else None
        if check is None:
            reply = reachability_answer(language, "unknown")
        elif digits == "1":
            confirm(session, check, request.form.get("CallSid"), utcnow())
            session.commit()
            reply = reachability_answer(language, "confirmed")
        else:
            # Absolute, through the public URL: a relative path would drop a mount prefix.
            action = public_url(url_for("reachability.confirm_view", check_id=check_id))
            reply = reachability_answer(language, "again", action)
    except Exception:  # the responder must hear a sentence, never an application error
        log.exception("reachability confirmation %s failed", check_id)
        reply = reachability_answer(language, "failed")
    return twiml_response(reply.response)
