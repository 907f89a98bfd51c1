"""Twilio's request parameters, parsed once into frozen values the call flow is given.

Only this module knows Twilio's parameter names ("Digits", "DialCallStatus", ...); the
views build these values from request.form (and the query voiceline put in its own URLs)
and the flow, escalation and status folding never read a form themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType

# Kept on the call record (as Twilio names them) for the call page and the API.
META_FIELDS = ("Caller", "Called", "CallerName", "FromCity", "FromState", "FromZip", "FromCountry",
               "ToCity", "ToState", "ToZip", "ToCountry", "StirVerstat", "CallToken",
               "ForwardedFrom", "CalledVia", "Direction", "ApiVersion", "AccountSid")


def _int(text: str | None, max_len: int = 9) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < max_len + 1 else None


def _timestamp(text: str | None) -> datetime | None:
    try:
        value = parsedate_to_datetime(text or "")
    except (TypeError, ValueError, IndexError):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Incoming:
    """A call comes in (/voice/incoming)."""

    call_sid: str
    to_number: str
    from_number: str
    meta: Mapping[str, str] = field(default_factory=dict)  # META_FIELDS present, each ≤ 2000 chars

    @classmethod
    def of(cls, form: Mapping[str, str]) -> Incoming:
        """Parse an incoming-call request."""
        meta = {key: form[key][:2000] for key in META_FIELDS if form.get(key)}
        return cls(form.get("CallSid", "")[:64], form.get("To", ""), form.get("From", ""),
                   MappingProxyType(meta))


@dataclass(frozen=True)
class Keys:
    """What a caller keyed in a <Gather> (language, identify, PIN, priority)."""

    digits: str = ""
    attempt: str | None = None  # the try the <Gather> was emitted for (?attempt= on our URL)

    @classmethod
    def of(cls, form: Mapping[str, str], query: Mapping[str, str]) -> Keys:
        """Parse a <Gather> action request."""
        return cls(form.get("Digits", "")[:64], query.get("attempt"))


@dataclass(frozen=True)
class DialEnded:
    """A <Dial> ended (its action URL): how, and for which (round, step, group) it was emitted."""

    dial_status: str = ""
    call_status: str = ""
    dial_call_sid: str | None = None
    bridged: str | None = None  # "true" / "false" as Twilio reported it, None when absent
    talk_seconds: int | None = None
    token: tuple[str | None, str | None, str | None] = (None, None, None)  # step, group, round

    @property
    def was_bridged(self) -> bool:
        """Twilio says the caller was bridged to a leg."""
        return self.bridged == "true"

    @classmethod
    def of(cls, form: Mapping[str, str], query: Mapping[str, str]) -> DialEnded:
        """Parse a <Dial> action request."""
        return cls(form.get("DialCallStatus", "")[:20], form.get("CallStatus", "")[:20],
                   form.get("DialCallSid", "")[:64] or None, form.get("DialBridged"),
                   _int(form.get("DialCallDuration"), 8),
                   (query.get("step"), query.get("group"), query.get("round")))


@dataclass(frozen=True)
class LegKeys:
    """A request on a responder's leg (screening): its child CallSid and what was keyed."""

    leg_sid: str | None = None
    digits: str = ""

    @classmethod
    def of(cls, form: Mapping[str, str]) -> LegKeys:
        """Parse a screening request (the <Number url> or its <Gather> action)."""
        return cls(form.get("CallSid", "")[:64] or None, form.get("Digits", "")[:16])


@dataclass(frozen=True)
class Status:
    """A status callback of the parent call or of a leg."""

    call_sid: str
    status: str = ""
    sequence: int | None = None
    duration: int | None = None
    timestamp: datetime | None = None  # Twilio's Timestamp, when it parses
    to_number: str = ""
    from_number: str = ""

    @classmethod
    def of(cls, form: Mapping[str, str]) -> Status:
        """Parse a status callback."""
        return cls(form.get("CallSid", "")[:64], form.get("CallStatus", "")[:20],
                   _int(form.get("SequenceNumber")), _int(form.get("CallDuration")),
                   _timestamp(form.get("Timestamp")), form.get("To", ""), form.get("From", ""))


@dataclass(frozen=True)
class Recording:
    """A recording: the <Record> action or its recordingStatusCallback."""

    status: str = ""
    url: str = ""
    sid: str = ""
    seconds: int | None = None
    call_sid: str = ""  # the parent call (a recording may name a call never stored)

    @classmethod
    def of(cls, form: Mapping[str, str]) -> Recording:
        """Parse a <Record> action or recording status callback."""
        return cls(form.get("RecordingStatus", ""), form.get("RecordingUrl", ""),
                   form.get("RecordingSid", "")[:64], _int(form.get("RecordingDuration")),
                   form.get("CallSid", "")[:64])
