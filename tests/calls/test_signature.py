"""X-Twilio-Signature: Twilio's published test vectors, and 403 + audit + no call on a bad one."""

from __future__ import annotations

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from voiceline import models as m
from voiceline.calls.twilio_side import sign
from voiceline.models.calls import Call

from .conftest import params

VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"}
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def test_published_vectors_validate():
    validator = RequestValidator("12345")
    assert sign("12345", URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.validate(URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert validator.validate("https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_PARAMS,
                              "kvajT1Ptam85bY51eRf/AJRuM3w=")
    assert validator.validate(URL, VECTOR_PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")
    assert not validator.validate(URL, {**VECTOR_PARAMS, "Digits": "1235"},
                                  "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_signature_checked_against_public_url(hotline, client, db):
    body = params("CAsig1")
    good = sign("test-auth-token", "https://hotline.example.org/voice/incoming", body)
    as_local = sign("test-auth-token", "http://localhost/voice/incoming", body)
    assert client.post("/voice/incoming", data=body, headers={"X-Twilio-Signature": as_local}).status_code == 403
    assert client.post("/voice/incoming", data=body, headers={"X-Twilio-Signature": good}).status_code == 200


def test_without_public_url_the_request_url_is_used(hotline, db):
    hotline.config["PUBLIC_URL"] = None
    body = params("CAsig2")
    signature = sign("test-auth-token", "http://localhost/voice/incoming", body)
    response = hotline.test_client().post("/voice/incoming", data=body,
                                          headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200


def test_every_voice_route_refuses_unsigned_and_touches_nothing(hotline, client, db):
    routes = ["incoming", "language", "identify", "pin", "priority", "dial", "screen",
              "screen/answer", "voicemail", "recording", "status", "leg-status", "fallback",
              "fallback/done", "fallback/screen", "fallback/screen/answer"]
    for route in routes:
        response = client.post(f"/voice/{route}", data=params("CAunsigned"),
                               headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
        assert response.status_code == 403, route
    assert db.scalar(select(func.count()).select_from(Call)) == 0
    entries = db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "webhook.bad_signature")).all()
    assert len(entries) == len(routes)
    assert entries[0].detail["call_sid"] == "CAunsigned"


def test_a_flood_of_forged_requests_is_audited_once_a_minute_with_a_count(hotline, client, db,
                                                                          monkeypatch):
    from voiceline.webhooks import signature

    clock = [1000.0]
    monkeypatch.setattr(signature, "_clock", lambda: clock[0])
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    for _ in range(5):
        assert client.post("/voice/incoming", data=params("CAflood"), headers=forged).status_code == 403
    clock[0] += 61
    assert client.post("/voice/incoming", data=params("CAflood"), headers=forged).status_code == 403
    entries = db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "webhook.bad_signature")
                         .order_by(m.AuditEntry.id)).all()
    assert [e.detail["earlier_refusals_not_listed"] for e in entries] == [0, 4]
    assert db.scalar(select(func.count()).select_from(Call)) == 0
