"""Issue 10.5: bad values from the wire never reach TwiML or the database unchecked,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from voiceline import appdb
from voiceline.calls.replay import in_process_twilio
from voiceline.calls.twilio_side import call_params
from voiceline.models.calls import Call, CallEvent
from voiceline.passwords import hash_secret

HOTLINE = "+12025550100"
WATCH = "+12025550150"
DESK = "+12025550999"


@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": None,
            "FALLBACK_NUMBERS": [DESK]}


@pytest.fixture
def line(demo):
    with demo.app_context():
        session = appdb.session_factory(demo)()
        from voiceline import models as m

        for caller in session.query(m.Caller):
            caller.pin_hash = hash_secret("2468")
        session.commit()
        session.close()
    return demo


def _call(app, sid):
    with app.app_context():
        with appdb.session_factory(app)() as session:
            call = session.scalar(select(Call).where(Call.sid == sid))
            if call is None:
                return None, []
            kinds = [e.kind for e in session.scalars(select(CallEvent).where(CallEvent.call_id == call.id))]
            session.expunge(call)
            return call, kinds


def test_a_garbage_to_never_becomes_the_caller_id(line):
    twilio = in_process_twilio(line)
    answer = twilio.post("/voice/incoming", call_params("CAedge1", WATCH, "garbage\x00"))
    assert answer.status == 200
    root = ET.fromstring(answer.text)  # well-formed
    dial = root.find("Dial")
    assert dial is not None and dial.get("callerId") is None
    assert [n.text for n in dial.findall("Number")] == [DESK]
    call, kinds = _call(line, "CAedge1")
    assert call.to_number == "garbage" and "unknown_hotline" in kinds


def test_a_sip_to_is_kept_whole_in_the_record_and_not_cut_into_the_caller_id(line):
    sip = "sip:hotline-desk@voiceline-example.sip.twilio.com;transport=tls"
    answer = in_process_twilio(line).post("/voice/incoming", call_params("CAedge2", WATCH, sip))
    dial = ET.fromstring(answer.text).find("Dial")
    assert dial.get("callerId") is None
    call, _ = _call(line, "CAedge2")
    assert call.meta["To"] == sip and call.to_number == sip[:32]


def test_a_nul_in_from_keeps_the_record_and_the_pin_prompt(line):
    answer = in_process_twilio(line).post("/voice/incoming",
                                          call_params("CAedge3", WATCH + "\x00", HOTLINE))
    root = ET.fromstring(answer.text)
    gather = root.find("Gather")
    assert gather is not None and "/voice/pin" in gather.get("action")
    assert root.find("Dial") is None  # not the unauthenticated fallback
    call, kinds = _call(line, "CAedge3")
    assert call.from_number == WATCH and call.caller_id == "watch-officer" and call.state == "pin"
    assert "fallback" not in kinds


def test_a_status_callback_with_an_out_of_range_timestamp_is_kept(line):
    twilio = in_process_twilio(line)
    twilio.post("/voice/incoming", call_params("CAedge4", WATCH, HOTLINE))
    answer = twilio.post("/voice/status", call_params(
        "CAedge4", WATCH, HOTLINE, CallStatus="completed", CallDuration="7", SequenceNumber="3",
        Timestamp="Fri, 31 Dec 9999 23:59:59 -1000"))
    assert answer.status == 200
    call, kinds = _call(line, "CAedge4")
    assert "call_status" in kinds
    assert call.state == "done" and call.duration_seconds == 7 and call.ended_at is not None


def test_the_fallback_dial_uses_the_hotlines_own_number(line):
    """A call already in the fallback state re-answers with the hotline's number, not To."""
    twilio = in_process_twilio(line)
    twilio.post("/voice/incoming", call_params("CAedge5", WATCH, HOTLINE))
    with line.app_context():
        with appdb.session_factory(line)() as session:
            session.scalar(select(Call).where(Call.sid == "CAedge5")).state = "fallback"
            session.commit()
    answer = twilio.post("/voice/incoming", call_params("CAedge5", WATCH, "+1 (202) 555-0100"))
    assert ET.fromstring(answer.text).find("Dial").get("callerId") == HOTLINE


def test_clean_form_strips_controls_and_drops_an_unusable_timestamp():
    from werkzeug.datastructures import MultiDict

    from voiceline.webhooks.edge import clean_form

    form = clean_form(MultiDict([("From", "+1202\x00555\x1b0150\x7f"), ("Digits", "1"),
                                 ("Digits", "2"), ("CallerName", "Анна\u0085 B"),
                                 ("Timestamp", "Fri, 31 Dec 9999 23:59:59 -1000")]))
    assert form["From"] == "+12025550150" and form.getlist("Digits") == ["1", "2"]
    assert form["CallerName"] == "Анна B" and "Timestamp" not in form
    kept = clean_form({"Timestamp": "Tue, 10 Mar 2026 15:00:05 +0000"})
    assert kept["Timestamp"] == "Tue, 10 Mar 2026 15:00:05 +0000"


def test_a_forged_request_with_a_nul_is_still_audited(line):
    from voiceline import models as m

    response = line.test_client().post("/voice/incoming", data=call_params("CA\x00forged", WATCH, HOTLINE),
                                       headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert response.status_code == 403
    with line.app_context():
        with appdb.session_factory(line)() as session:
            entry = session.scalars(select(m.AuditEntry).where(
                m.AuditEntry.action == "webhook.bad_signature")).one()
            assert entry.detail["call_sid"] == "CAforged"
