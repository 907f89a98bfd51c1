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
from typing import Any, cast

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
    rest: Any = None  # conference mode: the fake REST transport whose calls this side plays

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
            elif element.tag == "Conference" and element.get("waitUrl"):
                self.latest["wait"] = element.get("waitUrl")
            elif element.tag == "Redirect":
                self.latest["redirect"] = (element.text or "").strip()
            elif element.tag == "Record":
                self.latest["record"] = element.get("action")
                self.latest["recording"] = element.get("recordingStatusCallback")

    def follow(self, name: str) -> str:
        """The URL named by a fixture's `follow`: gather, dial, record, recording, wait, redirect,
        number[i][.status], and in conference mode created[i][.status] (the i-th calls.create's
        screening or status URL) and rest_redirect (where a REST update moved the caller)."""
        if name.startswith("created["):
            index = int(name[len("created["):name.index("]")])
            made = self.rest.created() if self.rest is not None else []
            if index >= len(made):
                raise KeyError(f"no {name}: voiceline made {len(made)} calls.create so far")
            return str(made[index]["StatusCallback" if name.endswith(".status") else "Url"])
        if name == "rest_redirect":
            urls = [data["Url"] for _sid, data in (self.rest.updates() if self.rest else [])
                    if "Url" in data]
            if not urls:
                raise KeyError("no REST redirect of the caller so far")
            return str(urls[-1])
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


# What a rung leg does: accept (1 at the screening), decline (another key), voicemail picks
# up (the screening hears nothing), or no answer (it rings until the <Dial> ends).
ACCEPT, DECLINE, VOICEMAIL, NO_ANSWER = "a", "d", "v", "n"
PICKS_UP = {ACCEPT, DECLINE, VOICEMAIL}


@dataclass
class Leg:
    """One <Number> of a <Dial> as Twilio rings it."""

    sid: str
    to: str
    url: str | None  # the screening URL (None: unscreened, the error fallback's dial)
    status_url: str | None
    seq: int = 0
    ended: str | None = None  # the final CallStatus sent for it


@dataclass
class DialPlay:
    """Twilio's side of one <Dial>, by Twilio's documented rule for ringing several numbers:
    "The first call to pick up is connected to the current call and the rest are hung up"
    (TwiML <Number>). The first leg to pick up (a voicemail box, or a responder who then
    declines) cancels every other leg at once; `strict=False` plays the older, lenient
    model (the others ring on while one is screened).

    `choose(leg)` says what a leg does, in the order the legs pick up; `parent(**extra)`
    and `child(leg, status, **extra)` give the parent's and a leg's parameters; `wait(s)`
    advances the clock; `tell(event, leg, text)` narrates (simulate prints it).
    """

    twilio: Twilio
    parent: Any
    child: Any
    wait: Any = lambda _seconds: None
    tell: Any = lambda _event, _leg, _text="": None
    strict: bool = True
    new_sid: Any = None

    def status(self, leg: Leg, status: str, duration: int | None = None) -> None:
        """A status callback of one leg (none for a <Number> without statusCallback)."""
        if status in {"completed", "canceled", "no-answer", "busy", "failed"}:
            leg.ended = status
        if not leg.status_url:
            return
        extra = {"SequenceNumber": str(leg.seq), "CallbackSource": "call-progress-events"}
        if duration is not None:
            extra["CallDuration"] = str(duration)
        leg.seq += 1
        self.twilio.post(leg.status_url, self.child(leg, status, **extra))

    def play(self, dial: ET.Element, choose, talk=lambda: 60) -> Answer:
        """Ring every <Number>, play the pick-ups, then post the <Dial> action; returns its answer."""
        timeout = int(dial.get("timeout", "30"))
        legs = [Leg(self.new_sid(), (n.text or "").strip(), n.get("url"), n.get("statusCallback"))
                for n in dial if n.tag == "Number"]
        for leg in legs:
            self.status(leg, "initiated")
            self.status(leg, "ringing")
        winner, rang = None, 0
        for leg in legs:
            if leg.ended:  # hung up by Twilio when an earlier leg picked up
                continue
            choice = choose(leg)
            if choice not in PICKS_UP:
                if not self.strict:
                    self.wait(timeout // max(1, len(legs)))
                    self.status(leg, "no-answer")
                continue  # strict: it rings on until someone picks up or the <Dial> times out
            self.wait(6)
            rang += 6
            if self.strict:
                for other in legs:
                    if other is not leg and not other.ended:
                        self.tell("cut_short", other)
                        self.status(other, "canceled")
            if self._screen(leg, choice):
                winner = leg
                break
        for leg in legs:
            if not leg.ended and leg is not winner:
                if winner is None and self.strict:  # nobody picked up: all ring the full time
                    self.wait(max(0, timeout - rang))
                    rang = timeout
                self.status(leg, "canceled" if winner is not None else "no-answer")
        if winner is not None:
            seconds = max(1, talk())
            self.wait(seconds)
            self.status(winner, "completed", duration=seconds)
            # the app's own TwiML: every <Dial> and <Gather> it writes carries an action
            return self.twilio.post(cast(str, dial.get("action")), self.parent(
                CallStatus="in-progress", DialCallStatus="completed", DialCallSid=winner.sid,
                DialBridged="true", DialCallDuration=str(seconds)))
        return self.twilio.post(cast(str, dial.get("action")), self.parent(
            CallStatus="in-progress", DialCallStatus="no-answer", DialBridged="false"))

    def _screen(self, leg: Leg, choice: str) -> bool:
        """A leg picked up: run its screening; True when it is connected to the caller."""
        if not leg.url:  # unscreened (the error fallback's dial): whoever picks up talks
            connected = choice in {ACCEPT, VOICEMAIL}
            self.tell("connected_unscreened" if connected else "number_hangs_up", leg)
            if not connected:
                self.status(leg, "completed", duration=1)
            return connected
        whisper = self.twilio.post(leg.url, self.child(leg, "in-progress"))
        gather = whisper.root.find("Gather") if whisper.root is not None else None
        if gather is None:
            self.status(leg, "completed", duration=1)
            return False
        say = gather.find("Say")
        if say is not None:
            self.tell("whisper", leg, say)
        digits = {ACCEPT: "1", DECLINE: "9", VOICEMAIL: ""}[choice]
        self.wait(4)
        answer = self.twilio.post(cast(str, gather.get("action")), self.child(
            leg, "in-progress", **({"Digits": digits} if digits else {})))
        if answer.root is not None and answer.root.find("Hangup") is None:
            self.tell("connected", leg)
            self.status(leg, "in-progress")
            return True
        self.status(leg, "completed", duration=10)
        return False


def rest_leg_params(leg_sid: str, hotline: str, responder: str, **extra: str) -> dict[str, str]:
    """The parameter set of a REST-created responder call (conference mode): its own call, no
    ParentCallSid, Direction outbound-api."""
    params = {
        "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": leg_sid,
        "CallStatus": "in-progress", "Called": responder, "Caller": hotline,
        "Direction": "outbound-api", "From": hotline, "To": responder, "CallerCountry": "US",
        "FromCountry": "US", "CalledCountry": "", "ToCountry": "",
    }
    params.update(extra)
    return params


@dataclass
class ConferencePlay:
    """Twilio's side of a conference-mode call: the caller waits in the room while voiceline
    calls each responder through the REST API (`rest`: calls/fake_rest.FakeRest, which returns
    each call's CallSid); this plays those calls as Twilio would (status callbacks, screening,
    the join), the caller's waitUrl, and a REST redirect of the caller to voicemail.

    `choose(leg)` says what a responder does (ACCEPT, DECLINE, VOICEMAIL, NO_ANSWER); legs whose
    screening both happen before either presses 1 are given in `together` (the worst case
    Twilio's docs allow: two press 1 at once). `bring(leg)` may return a step number the taker
    keys after `*` (or None). Returns the answer voiceline gives the caller at the end (a
    <Record> when the call went to voicemail), or None when the call ended talking.
    """

    twilio: Twilio
    rest: Any
    parent: Any
    hotline: str
    wait: Any = lambda _seconds: None
    tell: Any = lambda _event, _leg, _text="": None
    together: int = 1
    bring: Any = lambda _leg: None
    played: int = 0
    legs: list[Leg] = field(default_factory=list)

    def _new_legs(self) -> list[Leg]:
        made = self.rest.placed()
        new = []
        for sid, data in made[self.played:]:
            new.append(Leg(sid, str(data["To"]), str(data["Url"]), str(data["StatusCallback"])))
        self.played = len(made)
        self.legs.extend(new)
        return new

    def child(self, leg: Leg, status: str, **extra: str) -> dict[str, str]:
        """A responder call's parameters."""
        return rest_leg_params(leg.sid, self.hotline, leg.to, CallStatus=status, **extra)

    def status(self, leg: Leg, status: str, duration: int | None = None) -> None:
        """One status callback of a responder call."""
        if status in {"completed", "canceled", "no-answer", "busy", "failed"}:
            leg.ended = status
        extra = {"SequenceNumber": str(leg.seq), "CallbackSource": "call-progress-events"}
        if duration is not None:
            extra["CallDuration"] = str(duration)
        leg.seq += 1
        self.twilio.post(cast(str, leg.status_url), self.child(leg, status, **extra))

    def _ended_by_rest(self) -> None:
        """calls(sid).update(status=...) ends a responder call: its status callback follows."""
        for sid, data in self.rest.updates():
            for leg in self.legs:
                if leg.sid == sid and not leg.ended and data.get("Status"):
                    self.tell("ended_by_voiceline", leg)
                    self.status(leg, "canceled" if data["Status"] == "canceled" else "completed")

    def _redirect(self) -> str | None:
        for sid, data in self.rest.updates():
            if data.get("Url") and sid == self.parent()["CallSid"]:
                return str(data["Url"])
        return None

    def play(self, dial: ET.Element, choose, talk=lambda: 60) -> Answer | None:
        """Play the caller's <Dial><Conference> to its end."""
        conference = dial.find("Conference")
        assert conference is not None  # the caller's answer held <Dial><Conference>
        wait_url = conference.get("waitUrl")
        if wait_url:
            hold = self.twilio.post(wait_url, self.parent(CallStatus="in-progress"))
            if hold.root is not None:
                for say in hold.root.iter("Say"):
                    self.tell("hold", None, say)
        winner = None
        for _ in range(20):  # steps and rounds: bounded like the policy is
            batch = self._new_legs()
            if not batch:
                break
            for leg in batch:
                self.status(leg, "initiated")
                self.status(leg, "ringing")
            winner = self._ring(batch, choose)
            if winner is not None or self._redirect():
                break
        if winner is not None:
            joined, leg = winner
            step = self.bring(leg)
            if step is not None:
                self.wait(5)
                menu = self.twilio.post(cast(str, joined.find(".//Dial").get("action")),
                                        self.child(leg, "in-progress"))
                gather = menu.root.find("Gather") if menu.root is not None else None
                if gather is not None:
                    self.twilio.post(cast(str, gather.get("action")),
                                     self.child(leg, "in-progress", Digits=str(step)))
                    colleagues = self._new_legs()
                    for other in colleagues:
                        self.status(other, "initiated")
                        self.status(other, "ringing")
                    self._ring(colleagues, choose, colleague=True)
            seconds = max(1, talk())
            self.wait(seconds)
            for other in self.legs:
                if other.ended is None and other.url and other is not leg:
                    self.status(other, "completed", duration=seconds)
            self.status(leg, "completed", duration=seconds)
            return self.twilio.post(cast(str, dial.get("action")), self.parent(CallStatus="completed"))
        url = self._redirect()
        if url:
            self.tell("moved_to_voicemail", None)
            return self.twilio.post(url, self.parent(CallStatus="in-progress"))
        return self.twilio.post(cast(str, dial.get("action")), self.parent(CallStatus="completed"))

    def _ring(self, batch: list[Leg], choose, colleague: bool = False):
        """Play one group's calls; returns (join TwiML, leg) of the one who joined as taker."""
        choices = [(leg, choose(leg)) for leg in batch]
        screened: list[tuple[Leg, str, ET.Element]] = []
        winner = None
        for leg, choice in choices:
            if choice not in PICKS_UP:
                continue
            self.wait(6)
            self.status(leg, "answered")
            whisper = self.twilio.post(cast(str, leg.url), self.child(leg, "in-progress"))
            gather = whisper.root.find("Gather") if whisper.root is not None else None
            if gather is None:  # the call moved on: voiceline told it and hung up
                for told in (whisper.root.iter("Say") if whisper.root is not None else []):
                    self.tell("told", leg, told)
                self.status(leg, "completed", duration=3)
                continue
            spoken = gather.find("Say")
            if spoken is not None:
                self.tell("whisper", leg, spoken)
            screened.append((leg, choice, gather))
            if len(screened) < self.together and leg is not choices[-1][0]:
                continue  # the next leg screens too before anyone keys (both at once)
            for done_leg, done_choice, done_gather in screened:
                digits = {ACCEPT: "1", DECLINE: "9", VOICEMAIL: ""}[done_choice]
                self.wait(2)
                answer = self.twilio.post(cast(str, done_gather.get("action")), self.child(
                    done_leg, "in-progress", **({"Digits": digits} if digits else {})))
                joined = answer.root is not None and answer.root.find(".//Conference") is not None
                if joined:
                    self.tell("joined", done_leg)
                    if not colleague and winner is None:
                        winner = (answer.root, done_leg)
                else:
                    for spoken in (answer.root.iter("Say") if answer.root is not None else []):
                        self.tell("told", done_leg, spoken)
                    self.status(done_leg, "completed", duration=10)
            screened = []
            self._ended_by_rest()
            if winner is not None and not colleague:
                break
        for leg, choice in choices:
            if leg.ended is None and choice not in PICKS_UP and winner is None:
                self.wait(25)
                self.status(leg, "no-answer")
        self._ended_by_rest()
        return winner
