"""Calls as JSON-ready values and CSV rows, and a call's merged timeline, for the UI and the API."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.calllog.story import PRIORITY_WORDS, plain_detail
from voiceline.instants import iso_z
from voiceline.models.calls import Call

CSV_COLUMNS = ("sid", "started_at", "answered_at", "ended_at", "hotline", "to_number", "from_number",
               "caller", "caller_name", "verified", "priority", "duress", "test", "outcome",
               "answered_by", "answered_by_name", "seconds_to_answer", "duration_seconds",
               "has_recording", "recording_seconds")


@dataclass
class Names:
    """Display names of the people, callers and hotlines a set of calls refers to."""

    people: dict[str, str] = field(default_factory=dict)
    callers: dict[str, str] = field(default_factory=dict)
    hotlines: dict[str, str] = field(default_factory=dict)

    def person(self, pid: str | None) -> str | None:
        return self.people.get(pid, pid) if pid else None

    def caller(self, cid: str | None) -> str | None:
        return self.callers.get(cid, cid) if cid else None

    def hotline(self, hid: str | None) -> str | None:
        return self.hotlines.get(hid, hid) if hid else None


def load_names(session: Session) -> Names:
    """Every name (the directory is small next to the call log, so one query per table)."""
    return Names(
        people=dict(session.execute(select(m.Person.id, m.Person.name)).all()),
        callers=dict(session.execute(select(m.Caller.id, m.Caller.name)).all()),
        hotlines={hid: name or hid for hid, name in
                  session.execute(select(m.Hotline.id, m.Hotline.name))},
    )


def seconds_to_answer(call: Call) -> int | None:
    """Whole seconds from the call's start to a responder accepting it."""
    if call.answered_at is None:
        return None
    return round((call.answered_at - call.started_at).total_seconds())


def call_summary(call: Call, names: Names) -> dict[str, Any]:
    """One call as a JSON-ready mapping (no recording URL: that stays server-side)."""
    return {
        "sid": call.sid, "started_at": iso_z(call.started_at), "answered_at": iso_z(call.answered_at),
        "ended_at": iso_z(call.ended_at), "hotline": call.hotline_id,
        "hotline_name": names.hotline(call.hotline_id), "to_number": call.to_number,
        "from_number": call.from_number, "caller": call.caller_id,
        "caller_name": names.caller(call.caller_id), "verified": call.verified,
        "language": call.language, "priority": call.priority, "duress": call.duress,
        "test": call.is_test, "state": call.state, "outcome": call.outcome,
        "answered_by": call.answered_by, "answered_by_name": names.person(call.answered_by),
        "seconds_to_answer": seconds_to_answer(call), "duration_seconds": call.duration_seconds,
        "has_recording": bool(call.recording_url), "recording_seconds": call.recording_seconds,
    }


_FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![\d ().-]*$)")


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (phone numbers stay as they are)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if not text or text[0] not in "=@\t\r+-":  # the common case, without the regex
        return text
    return "'" + text if _FORMULA.match(text) else text


def csv_row(call: Call | Row[Any], names: Names) -> list[str]:
    """One call (a record, or a row of query.EXPORT_COLUMNS) as a CSV row in CSV_COLUMNS order.

    Built directly rather than from call_summary: an export writes it a million times."""
    return [csv_cell(value) for value in (
        call.sid, iso_z(call.started_at), iso_z(call.answered_at), iso_z(call.ended_at),
        call.hotline_id, call.to_number, call.from_number, call.caller_id,
        names.caller(call.caller_id), call.verified,
        PRIORITY_WORDS.get(call.priority or 0, ""),  # words, not 1/2
        call.duress, call.is_test, call.outcome, call.answered_by, names.person(call.answered_by),
        None if call.answered_at is None else round((call.answered_at - call.started_at).total_seconds()),
        call.duration_seconds, bool(call.recording_url), call.recording_seconds)]


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a call's timeline."""

    at: datetime
    what: str
    who: str | None = None
    step: int | None = None
    detail: str = ""


_EVENT_WORDS = {  # the call flow's event kinds (voiceline/calls) in reviewers' words
    "greeted": "caller greeted", "language": "language chosen", "identified": "caller keyed a number to identify",
    "allowlisted": "caller on the allowlist", "pin_ok": "PIN accepted",
    "pin_not_set": "caller has no PIN set", "pin_locked": "locked out after wrong PINs",
    "locked": "locked out (caller or number)", "caller_lock_alert_failed": "caller lock alert could not be queued", "not_allowed": "caller not allowed",
    "unknown_hotline": "dialled number is no hotline", "priority": "priority chosen",
    "step_rang": "escalation step rang", "step_empty": "escalation step had nobody on duty",
    "leg_answered": "responder picked up (screening)", "screen_accepted": "responder accepted",
    "screen_declined": "responder declined", "leg_status": "responder leg status",
    "leg_result": "responder leg ended", "dial_result": "step result", "bridged": "call connected",
    "voicemail_offered": "voicemail offered", "voicemail_left": "voicemail left",
    "recording": "recording stored", "notified": "responders and managers notified",
    "caller_hung_up": "caller hung up", "call_status": "call status", "fallback":
    "fallback numbers dialled", "line_test": "scheduled line test", "unseen_call": "call not seen before",
    "fallback_rang": "nobody on duty: fallback numbers rang", "closed_stale":
    "closed: Twilio's final status never came", "duress_alert_failed": "duress alert could not be queued",
    "rung_again": "rung again (cut short by another pick-up)",
    "skipped_busy": "skipped: on another hotline call",
    "pin_refused": "PIN not checked: the claimed caller is locked (the caller heard a wrong PIN)",
    "rung_busy": "rung although on another hotline call (nobody else free)",
    "conference_waiting": "caller waiting in the conference", "leg_placed": "responder called (REST)",
    "conference_step_over": "conference step over", "leg_create_retry": "call to responder retried",
    "leg_create_failed": "call to responder failed", "colleague_rung": "colleague called",
    "conference_joined": "joined the conference", "listen_requested": "supervisor listening in",
}


# Events the legs tell already (rang / picked up / accepted / declined / ended): shown once.
_LEG_TOLD = {"leg_answered", "screen_accepted", "screen_declined", "leg_result"}


def _told_by_a_leg(event, legs_by_sid: set[str], legs_by_person: set[tuple]) -> bool:
    if event.kind not in _LEG_TOLD:
        return False
    sid = (event.detail or {}).get("leg_sid")
    return (sid in legs_by_sid) if sid else ((event.step, event.person_id) in legs_by_person)


def timeline(call: Call, names: Names, fmt=None) -> list[TimelineEntry]:
    """The call's events and its legs (rung, answered, accepted/declined, ended) in time order,
    each told once, in words (`fmt` formats instants in details; default ISO-Z)."""
    fmt = fmt or iso_z
    legs_by_sid = {leg.sid for leg in call.legs if leg.sid}
    legs_by_person = {(leg.step, leg.person_id) for leg in call.legs}
    entries = [TimelineEntry(e.at, (e.detail or {}).get("text") or
                             _EVENT_WORDS.get(e.kind, e.kind.replace("_", " ")),
                             names.person(e.person_id), e.step,
                             plain_detail(e.detail, fmt, names.person))
               for e in call.events if not _told_by_a_leg(e, legs_by_sid, legs_by_person)]
    for leg in call.legs:
        who = names.person(leg.person_id) or leg.number
        where = "fallback number" if leg.step == 0 else f"round {leg.round + 1}"
        if leg.dial_group < 0:  # calls/rering.py: a ring-again of a responder cut short
            where += ", rung again"
        entries.append(TimelineEntry(leg.started_at, "rang", who, leg.step, f"{where}, {leg.number}"))
        if leg.answered_at:
            word = {"accepted": "accepted", "declined": "declined"}.get(leg.screen or "",
                                                                       "picked up")
            entries.append(TimelineEntry(leg.answered_at, word, who, leg.step,
                                         "" if leg.screen else "screening"))
        if leg.ended_at:
            entries.append(TimelineEntry(leg.ended_at, "leg ended", who, leg.step,
                                         f"{leg.status}" + (f", {leg.screen}" if leg.screen else "")))
    return sorted(entries, key=lambda e: e.at)


def call_detail(call: Call, names: Names) -> dict[str, Any]:
    """A call with its legs and events, for the API."""
    out = call_summary(call, names)
    out["legs"] = [{"person": leg.person_id, "person_name": names.person(leg.person_id),
                    "number": leg.number, "step": leg.step, "round": leg.round,
                    "status": leg.status, "screen": leg.screen, "started_at": iso_z(leg.started_at),
                    "answered_at": iso_z(leg.answered_at), "ended_at": iso_z(leg.ended_at)}
                   for leg in call.legs]
    out["events"] = [{"at": iso_z(e.at), "kind": e.kind, "step": e.step, "person": e.person_id,
                      "detail": {k: v for k, v in (e.detail or {}).items()
                                 if k not in {"pin", "digits"}}}
                     for e in call.events]
    return out


def sids(calls: Iterable[Call]) -> list[str]:
    """The CallSids of some calls (for audit details)."""
    return [c.sid for c in calls]
