"""Playing Twilio's side: signed form posts to voiceline, in-process or over HTTP, and the
parameter sets Twilio sends (used by replay, simulate, the tests and the bench)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 30 + "01"


def sign(token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a form POST of `params` to `url`."""
    return RequestValidator(token).compute_signature(url, dict(params))


def call_params(call_sid: str, from_number: str, to_number: str, **extra: str) -> dict[str, str]:
    """The parameter set of an inbound call request, as Twilio sends it (geo fields included)."""
    token = json.dumps({"parentCallInfo": None, "identityHeaderTokens": [],
                        "callSid": call_sid, "fromNumber": from_number})
    params = {
        "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": call_sid,
        "CallStatus": "ringing", "CallToken": urllib.parse.quote(token), "Called": to_number,
        "CalledCity": "WASHINGTON", "CalledCountry": "US", "CalledState": "DC", "CalledZip": "20001",
        "Caller": from_number, "CallerCity": "", "CallerCountry": "", "CallerState": "",
        "CallerZip": "", "Direction": "inbound", "From": from_number, "FromCity": "",
        "FromCountry": "", "FromState": "", "FromZip": "", "StirVerstat": "TN-Validation-Passed-A",
        "To": to_number, "ToCity": "WASHINGTON", "ToCountry": "US", "ToState": "DC",
        "ToZip": "20001",
    }
    params.update(extra)
    return params


def leg_params(parent_sid: str, leg_sid: str, hotline: str, responder: str,
               **extra: str) -> dict[str, str]:
    """The parameter set of a request about a responder's leg (a child call of the <Dial>)."""
    params = {
        "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": leg_sid,
        "CallStatus": "in-progress", "Called": responder, "Caller": hotline,
        "Direction": "outbound-dial", "From": hotline, "ParentCallSid": parent_sid,
        "To": responder, "CalledCountry": "", "CallerCountry": "US", "FromCountry": "US",
        "ToCountry": "",
    }
    params.update(extra)
    return params


@dataclass
class Answer:
    """One HTTP answer, with the TwiML parsed when there is any."""

    status: int
    text: str
    root: ET.Element | None = None

    @classmethod
    def of(cls, status: int, text: str) -> Answer:
        """Parse the body as TwiML when it is XML."""
        root = None
        if text.lstrip().startswith("<?xml") or text.lstrip().startswith("<Response"):
            root = ET.fromstring(text)
        return cls(status, text, root)


class InProcess:
    """Posts through a Flask test client."""

    def __init__(self, client) -> None:
        self.client = client

    def post(self, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> Answer:
        """POST form `params` to `path` (with query)."""
        response = self.client.post(path, data=dict(params), headers=dict(headers))
        return Answer.of(response.status_code, response.get_data(as_text=True))


class OverHTTP:
    """Posts to a running server."""

    def __init__(self, base_url: str, timeout: float = 15) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> Answer:
        """POST form `params` to base URL + `path`."""
        request = urllib.request.Request(self.base_url + path, method="POST",
                                         data=urllib.parse.urlencode(params).encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Answer.of(response.status, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read().decode(errors="replace"))


@dataclass
class Twilio:
    """Twilio's side of calls: signs each request for the URL the server validates against."""

    transport: Any
    token: str
    sign_base: str  # the server's public URL (or its own URL when it has none)
    latest: dict[str, Any] = field(default_factory=dict)

    def post(self, target: str, params: Mapping[str, str], signature: str = "valid") -> Answer:
        """POST to a path or an absolute URL voiceline emitted; remember the TwiML's links."""
        parts = urllib.parse.urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        url = self.sign_base.rstrip("/") + path
        headers = {}
        if signature == "valid":
            headers["X-Twilio-Signature"] = sign(self.token, url, params)
        elif signature == "bad":
            headers["X-Twilio-Signature"] = sign(self.token + "-wrong", url, params)
        answer = self.transport.post(path, params, headers)
        if answer.root is not None:
            self.remember(answer.root)
        return answer

    def remember(self, root: ET.Element) -> None:
        """Keep the URLs a TwiML answer asks Twilio to request next."""
        for element in root.iter():
            if element.tag == "Gather":
                self.latest["gather"] = element.get("action")
            elif element.tag == "Dial":
                self.latest["dial"] = element.get("action")
                self.latest["numbers"] = [
                    {"number": (n.text or "").strip(), "url": n.get("url"),
                     "status": n.get("statusCallback")} for n in element if n.tag == "Number"]
            elif element.tag == "Record":
                self.latest["record"] = element.get("action")
                self.latest["recording"] = element.get("recordingStatusCallback")

    def follow(self, name: str) -> str:
        """The URL named by a fixture's `follow`: gather, dial, record, recording, number[i][.status]."""
        if name.startswith("number["):
            index = int(name[len("number["):name.index("]")])
            numbers = self.latest.get("numbers") or []
            if index >= len(numbers):  # say what is missing, not a bare KeyError: 'numbers'
                raise KeyError(f"no {name} URL in the answers so far (no <Dial> rang that many numbers)")
            number = numbers[index]
            return number["status"] if name.endswith(".status") else number["url"]
        value = self.latest.get(name)
        if not value:
            raise KeyError(f"no {name} URL in the answers so far")
        return value
