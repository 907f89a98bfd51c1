"""Reachability checks: a "press 1" call N minutes before a handoff, answered or not."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.models.jobs import ReachabilityCheck


@pytest.fixture
def checked(db, rota):
    """The daily rota with a 15-minute reachability check before every handoff."""
    def enable(session):
        session.get(m.Rota, "daily").reachability_minutes = 15
        session.commit()
    db(enable)
    return rota


def checks(db):
    return db(lambda s: list(s.scalars(select(ReachabilityCheck).order_by(ReachabilityCheck.id))))


def alerts(h, app):
    """The SMS to managers about reachability (the calls themselves share the purpose)."""
    return [x for x in h.outbox(app, purpose="reachability") if x.kind == "sms"]


def confirm_post(h, client, check_id, digits):
    return h.signed_post(client, f"/voice/reachability/{check_id}/confirm",
                         {"CallSid": "CA" + "7" * 32, "AccountSid": h.ACCOUNT_SID, "Digits": digits,
                          "From": "+12025550100", "To": "+12025550112", "CallStatus": "in-progress"})


def test_the_check_calls_the_incoming_responder_n_minutes_before(checked, tick, db, h, fake_twilio):
    tick("2026-03-05T13:44")  # ben starts at 14:00Z
    assert checks(db) == [] and fake_twilio.sent("Calls") == []
    tick("2026-03-05T13:45")
    tick("2026-03-05T13:46")
    [check] = checks(db)
    assert (check.rota_id, check.person_id, check.shift_start) == ("daily", "ben", h.utc("2026-03-05T14:00"))
    assert (check.status, check.placed_at) == ("calling", h.utc("2026-03-05T13:45"))
    [call] = fake_twilio.sent("Calls")
    assert (call["To"], call["From"]) == ("+12025550112", "+12025550100")
    twiml = ET.fromstring(call["Twiml"])
    gathers = twiml.findall("Gather")
    assert len(gathers) == 2
    assert gathers[0].get("numDigits") == "1"
    assert gathers[0].get("action") == (f"{h.PUBLIC_URL}/voice/reachability/{check.id}/confirm"
                                        "#ct=2000&rt=10000&rc=2")
    assert "Press 1 to confirm you can take hotline calls" in gathers[0].find("Say").text
    assert "Daily desk at Thu 05 Mar 14:00 GMT" in gathers[0].find("Say").text  # ben's zone
    assert twiml[-1].tag == "Hangup"


def test_answered_check_is_confirmed_and_nobody_is_alerted(checked, tick, db, h, client):
    tick("2026-03-05T13:45")
    [check] = checks(db)
    response = confirm_post(h, client, check.id, "1")
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    twiml = ET.fromstring(response.data)
    assert [el.tag for el in twiml] == ["Say", "Hangup"]
    assert "confirmed" in twiml.find("Say").text
    [check] = checks(db)
    assert check.status == "confirmed" and check.confirmed_at is not None
    assert check.call_sid == "CA" + "7" * 32
    for minute in ("13:55", "13:56", "14:00", "14:10"):
        tick(f"2026-03-05T{minute}")
    assert alerts(h, checked) == []


def test_unanswered_check_alerts_the_managers_once(checked, tick, db, h, fake_twilio):
    tick("2026-03-05T13:45")
    tick("2026-03-05T13:54")  # within the 10-minute answer time
    assert alerts(h, checked) == []
    tick("2026-03-05T13:55")
    tick("2026-03-05T13:56")
    [alert] = alerts(h, checked)
    assert alert.recipient == "+12025550119"
    assert alert.body == ("voiceline: Ben Brown did not confirm reachability for Daily desk "
                          "(shift at Thu 05 Mar 08:00 CST): no 1 pressed within 10 minutes.")
    assert alert.status == "sent"
    [check] = checks(db)
    assert (check.status, check.alerted_at) == ("unconfirmed", h.utc("2026-03-05T13:55"))


def test_a_late_confirmation_after_the_alert_is_told_to_the_managers(checked, tick, db, h, client):
    tick("2026-03-05T13:45")
    tick("2026-03-05T13:55")
    [check] = checks(db)
    assert confirm_post(h, client, check.id, "1").status_code == 200
    texts = [x.body for x in alerts(h, checked)]
    assert texts[-1] == "voiceline: Ben Brown has now confirmed reachability for rota daily."
    assert checks(db)[0].status == "confirmed"


def test_another_key_asks_again(checked, tick, db, h, client):
    tick("2026-03-05T13:45")
    [check] = checks(db)
    twiml = ET.fromstring(confirm_post(h, client, check.id, "7").data)
    gather = twiml.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == (f"{h.PUBLIC_URL}/voice/reachability/{check.id}/confirm"
                                    "#ct=2000&rt=10000&rc=2")
    assert checks(db)[0].status == "calling"


def test_unsigned_or_forged_confirmation_is_refused(checked, tick, db, client):
    tick("2026-03-05T13:45")
    [check] = checks(db)
    path = f"/voice/reachability/{check.id}/confirm"
    assert client.post(path, data={"Digits": "1"}).status_code == 403
    forged = client.post(path, data={"Digits": "1"}, headers={"X-Twilio-Signature": "bm90IGl0"})
    assert forged.status_code == 403
    assert checks(db)[0].confirmed_at is None


def test_unknown_check_still_answers_twiml(checked, h, client):
    response = confirm_post(h, client, 999, "1")
    assert response.status_code == 200
    assert ET.fromstring(response.data).find("Say").text.startswith("This check is unknown")


def test_a_call_twilio_refuses_alerts_at_once(checked, tick, db, h, fake_twilio):
    fake_twilio.script = [(400, {"code": 21217, "message": "Phone number does not appear to be valid",
                                 "status": 400})]
    tick("2026-03-05T13:45")
    [check] = checks(db)
    assert check.status == "failed"
    [alert] = alerts(h, checked)
    assert "could not be placed (Twilio 21217" in alert.body


def test_without_credentials_the_call_is_held_and_nobody_is_alerted(checked, tick, db, h, app):
    app.config["TWILIO_ACCOUNT_SID"] = None
    for minute in ("13:45", "13:55", "14:05"):
        tick(f"2026-03-05T{minute}")
    [check] = checks(db)
    assert check.status == "held"
    assert [x.status for x in h.outbox(checked, purpose="reachability")] == ["held"]


def test_no_check_for_a_rota_without_the_option(tick, db):
    tick("2026-03-05T13:45")
    assert checks(db) == []


def test_the_check_speaks_the_responders_language(checked, tick, db, h, client, fake_twilio):
    """Prompts come from the catalogue in the responder's language, call and webhook alike."""
    def russian(session):
        session.get(m.Person, "ben").languages = ["ru-RU"]
        session.commit()
    db(russian)
    tick("2026-03-05T13:45")
    [call] = fake_twilio.sent("Calls")
    twiml = ET.fromstring(call["Twiml"])
    says = twiml.findall("Gather/Say") + twiml.findall("Say")
    assert {say.get("language") for say in says} == {"ru-RU"}
    assert {say.get("voice") for say in says} == {"Polly.Tatyana"}
    assert "Нажмите 1" in twiml.find("Gather/Say").text
    assert "Daily desk" in twiml.find("Gather/Say").text
    [check] = checks(db)
    again = ET.fromstring(confirm_post(h, client, check.id, "7").data)
    assert again.find("Gather/Say").get("language") == "ru-RU"
    answer = ET.fromstring(confirm_post(h, client, check.id, "1").data)
    assert [el.tag for el in answer] == ["Say", "Hangup"]
    assert answer.find("Say").get("language") == "ru-RU"
    assert answer.find("Say").text.startswith("Спасибо")
