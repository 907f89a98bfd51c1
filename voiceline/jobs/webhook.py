"""The reachability call's webhook: Twilio posts the digit the responder pressed."""

from __future__ import annotations

import logging

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from voiceline import appdb
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
    response = VoiceResponse()
    digits = request.form.get("Digits", "")
    try:
        session = appdb.db_session()
        check = session.get(ReachabilityCheck, check_id)
        if check is None:
            response.say("This check is unknown. Goodbye.", language="en-US")
        elif digits == "1":
            confirm(session, check, request.form.get("CallSid"), utcnow())
            session.commit()
            response.say("Thank you. You are confirmed for hotline duty. Goodbye.", language="en-US")
        else:
            # Absolute, through the public URL: a relative path would drop a mount prefix.
            action = public_url(url_for(request.endpoint, **(request.view_args or {})))
            gather = response.gather(num_digits=1, action=action, method="POST", timeout=8)
            gather.say("Press 1 to confirm you can take hotline calls.", language="en-US")
            response.say("No confirmation received. Goodbye.", language="en-US")
    except Exception:  # the responder must hear a sentence, never an application error
        log.exception("reachability confirmation %s failed", check_id)
        response = VoiceResponse()
        response.say("Sorry, your answer could not be recorded. Goodbye.", language="en-US")
    response.hangup()
    return twiml_response(response)
