"""SharedKey webhook signatures (X-Twilio-Webhooks-Signature-Settings) and the bodySHA256 variant.

Vectors: twilio-python's own tests (tests/unit/test_request_validator.py: token 12345, the
mycompany.com URL, the JSON body and its hash); HMAC-SHA256 is checked against an
independent HMAC of the same signed string, since upstream ships no SHA256 vector.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from voiceline import models as m
from voiceline.models.calls import Call

from .conftest import params

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"}
BODY = '{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
KEYS = {"webhooks_sharedkey_old": "old-shared-secret", "webhooks_sharedkey_new": "new-shared-secret"}
INCOMING = "https://hotline.example.org/voice/incoming"


def _hmac256(secret: str, url: str, form: dict[str, str]) -> str:
    signed = url + "".join(k + form[k] for k in sorted(form))
    return base64.b64encode(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()).decode()


def test_upstream_vectors_sha1_and_body_hash():
    validator = RequestValidator("12345")
    assert validator.compute_signature(URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.compute_hash(BODY) == BODY_HASH
    assert validator.validate(URL + "&bodySHA256=" + BODY_HASH, BODY, "a9nBmqA0ju/hNViExpshrM61xv4=")
    assert not validator.validate(URL + "&bodySHA256=" + BODY_HASH, BODY + " ",
                                  "a9nBmqA0ju/hNViExpshrM61xv4=")


def test_sdk_sha256_matches_an_independent_hmac():
    signature = RequestValidator("12345").compute_signature(URL, VECTOR_PARAMS, "HMAC_SHA256")
    assert signature == _hmac256("12345", URL, VECTOR_PARAMS)
    assert RequestValidator("12345").validate(URL, VECTOR_PARAMS, signature, "HMAC_SHA256")


@pytest.fixture
def keyed(hotline):
    hotline.config["WEBHOOK_KEYS"] = dict(KEYS)
    return hotline


def _post(app, body, secret, key_id, algorithm="HMAC_SHA256", url=INCOMING):
    signature = RequestValidator(secret).compute_signature(url, body, algorithm)
    headers = {"X-Twilio-Signature": signature,
               "X-Twilio-Webhooks-Signature-Settings": f"key={key_id},algorithm={algorithm}"}
    return app.test_client().post(url.removeprefix("https://hotline.example.org"), data=body,
                                  headers=headers)


@pytest.mark.parametrize("key_id", sorted(KEYS))
def test_either_key_of_a_rotation_is_accepted(keyed, db, key_id):
    body = params(f"CAkey{key_id[-3:]}")
    response = _post(keyed, body, KEYS[key_id], key_id)
    assert response.status_code == 200
    assert ET.fromstring(response.get_data(as_text=True)).find("Gather") is not None
    assert db.scalar(select(func.count()).select_from(Call)) == 1


def test_the_shared_key_may_also_sign_with_sha1(keyed):
    response = _post(keyed, params("CAkeysha1"), KEYS["webhooks_sharedkey_new"],
                     "webhooks_sharedkey_new", algorithm="HMAC_SHA1")
    assert response.status_code == 200


def test_a_request_naming_a_key_is_not_verified_with_the_auth_token(keyed, db):
    response = _post(keyed, params("CAkeytok"), "test-auth-token", "webhooks_sharedkey_new")
    assert response.status_code == 403
    assert db.scalar(select(func.count()).select_from(Call)) == 0


def test_an_unknown_key_id_is_refused_and_audited(keyed, db):
    response = _post(keyed, params("CAkeyunk"), "guessed", "webhooks_sharedkey_stolen")
    assert response.status_code == 403
    entry = db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "webhook.bad_signature")).one()
    assert entry.detail["signing_key"] == "webhooks_sharedkey_stolen"
    assert "guessed" not in str(entry.detail)
    assert db.scalar(select(func.count()).select_from(Call)) == 0


def test_without_configured_keys_a_keyed_request_is_refused(hotline):
    response = _post(hotline, params("CAkeynone"), "anything", "webhooks_sharedkey_new")
    assert response.status_code == 403


def test_a_json_body_is_verified_through_body_sha256(keyed):
    url = f"https://hotline.example.org/voice/status?bodySHA256={BODY_HASH}"
    signature = RequestValidator(KEYS["webhooks_sharedkey_new"]).compute_signature(
        url, {}, "HMAC_SHA256")
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json",
               "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_new,algorithm=HMAC_SHA256"}
    client = keyed.test_client()
    path = url.removeprefix("https://hotline.example.org")
    # Signed and intact: past the signature check (a voice step then wants a CallSid: 400).
    assert client.post(path, data=BODY, headers=headers).status_code == 400
    assert client.post(path, data=BODY.replace("value", "other"), headers=headers).status_code == 403


def test_the_settings_parse_id_secret_pairs():
    from voiceline.config import load_settings

    config = load_settings({"VOICELINE_TWILIO_WEBHOOK_KEYS": "a=one, b=two=2"})
    assert config["WEBHOOK_KEYS"] == {"a": "one", "b": "two=2"}
    for bad in ("a", "a=", "=x", "a=1,a=2"):
        with pytest.raises(ValueError, match="VOICELINE_TWILIO_WEBHOOK_KEYS"):
            load_settings({"VOICELINE_TWILIO_WEBHOOK_KEYS": bad})
