"""A call told in a few lines for a reviewer: who called, verified or not, priority, each step
and round as one line, who answered after how long, how long they talked, the voicemail.

Rounds and steps are counted from 1 here as everywhere in the UI; `fmt` formats an instant
(the viewer's zone) so no raw ISO text reaches the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voiceline.models.calls import Call, CallLeg

PRIORITY_WORDS = {1: "urgent", 2: "routine"}
_LEG_ENDINGS = {"no-answer": "no answer", "busy": "busy", "failed": "could not be rung",
                "canceled": "stopped ringing (someone else answered)", "completed": "hung up"}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")
_HIDDEN_KEYS = {"pin", "digits", "text", "group", "leg_sid", "sequence", "language"}


def seconds_text(seconds: float | int | None) -> str:
    """42 -> "42 s", 185 -> "3 min 5 s"."""
    if seconds is None:
        return "?"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _between(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a and b else None


def _leg_line(leg: CallLeg, who: str) -> str:
    rang = seconds_text(_between(leg.started_at, leg.answered_at or leg.ended_at))
    if leg.screen == "accepted":
        talked = _between(leg.answered_at, leg.ended_at)
        tail = f", talked {seconds_text(talked)}" if talked is not None else ", talking"
        return f"{who} rang {rang}, answered and accepted{tail}"
    if leg.screen == "declined":
        return f"{who} rang {rang}, picked up and declined"
    if leg.screen == "silent":
        return f"{who} rang {rang}, picked up but pressed nothing"
    if leg.answered_at:
        return f"{who} rang {rang}, picked up, did not accept"
    if leg.ended_at is None:
        return f"{who} ringing"
    return f"{who} rang {rang}, {_LEG_ENDINGS.get(leg.status, leg.status)}"


@dataclass
class CallStory:
    """The summary lines of one call, in reading order."""

    caller: str
    verified: str
    priority: str
    steps: list[str] = field(default_factory=list)
    answered: str = ""
    voicemail: str = ""


def call_story(call: Call, person_name: Callable[[str | None], str | None],
               caller_name: str | None) -> CallStory:
    """The five-second summary of `call`."""
    caller = f"{caller_name or 'Unknown caller'} from {call.from_number or 'a withheld number'}"
    story = CallStory(caller=caller, verified="verified" if call.verified else "not verified",
                      priority=PRIORITY_WORDS.get(call.priority or 0, "not asked"))
    rounds: dict[tuple[int, int], list[str]] = {}
    for leg in sorted(call.legs, key=lambda lg: (lg.round, lg.step, lg.started_at)):
        who = person_name(leg.person_id) or leg.number
        rounds.setdefault((leg.round, leg.step), []).append(_leg_line(leg, who))
    for event in call.events:
        if event.kind == "step_empty":
            key = ((event.detail or {}).get("round", 0), event.step or 0)
            rounds.setdefault(key, []).append("nobody on duty")
        elif event.kind == "skipped_busy":  # calls/busy.py: left out while on another call
            key = ((event.detail or {}).get("round", 0), event.step or 0)
            name = person_name(event.person_id) or event.person_id
            rounds.setdefault(key, []).append(f"{name} skipped, on another hotline call")
    for (rnd, step), lines in sorted(rounds.items()):
        where = "Fallback numbers" if step == 0 else f"Step {step}, round {rnd + 1}"
        story.steps.append(f"{where}: " + "; ".join(lines))
    if call.answered_at and call.answered_by:
        after = seconds_text(_between(call.started_at, call.answered_at))
        talked = _between(call.answered_at, call.ended_at)
        story.answered = (f"{person_name(call.answered_by)} answered after {after}"
                          + (f", talked {seconds_text(talked)}" if talked is not None else ""))
    else:
        story.answered = "Nobody answered"
    if call.recording_url:
        story.voicemail = f"Voicemail left, {seconds_text(call.recording_seconds)}"
    elif call.outcome == "voicemail":
        story.voicemail = "Voicemail offered"
    return story


def plain_detail(detail: dict[str, Any] | None, fmt: Callable[[datetime], str],
                 person_name: Callable[[str], str | None] = lambda pid: pid) -> str:
    """An event's details in words: rounds from 1, times formatted, internal fields left out."""
    words = []
    for key, value in sorted((detail or {}).items()):
        if key in _HIDDEN_KEYS or value is None or value in ("", []) or (
                value is False and key != "bridged"):
            continue  # (a round of 0 is the first round: kept, shown as "round 1")
        if key == "round":
            words.append(f"round {int(value) + 1}")
        elif key == "together":
            words.append("rung together")
        elif key == "people" and isinstance(value, list):
            words.append("rang " + ", ".join(person_name(v) or str(v) for v in value))
        elif isinstance(value, bool):
            words.append(key.replace("_", " ") if value else f"not {key.replace('_', ' ')}")
        elif isinstance(value, str) and _ISO.match(value):
            instant = datetime.fromisoformat(value)
            instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
            words.append(f"{key.replace('_', ' ')} {fmt(instant)}")
        else:
            words.append(f"{key.replace('_', ' ')}: {value}")
    return ", ".join(words)


REJECTION_KINDS = {"locked": "caller or number locked", "pin_locked": "too many wrong PINs",
                   "not_allowed": "not on the allowlist", "pin_not_set": "caller has no PIN set",
                   "unknown_hotline": "dialled number is no hotline"}


def rejection_reasons(session, calls) -> dict[int, str]:
    """Why each rejected call among `calls` was turned away, by call id (one query)."""
    from sqlalchemy import select

    from voiceline.models.calls import CallEvent

    ids = [c.id for c in calls if c.outcome == "rejected"]
    if not ids:
        return {}
    rows = session.execute(select(CallEvent.call_id, CallEvent.kind)
                           .where(CallEvent.call_id.in_(ids),
                                  CallEvent.kind.in_(REJECTION_KINDS))
                           .order_by(CallEvent.id)).all()
    return {call_id: REJECTION_KINDS[kind] for call_id, kind in rows}


def active_filters(f, names) -> list[str]:
    """The filter in words, one item per active filter (for the line above the list)."""
    if f is None:
        return []
    out = []
    if f.start:
        out.append(f"from {f.raw.get('from')}")
    if f.end:
        out.append(f"to {f.raw.get('to')}")
    if f.hotline:
        out.append(f"hotline {names.hotline(f.hotline)}")
    if f.caller or f.number:
        out.append(f"caller {names.caller(f.caller) if f.caller else f.number}")
    if f.responder:
        out.append(f"answered by {names.person(f.responder)}")
    if f.outcomes:
        out.append("outcome " + " or ".join(f.outcomes))
    if f.priority:
        out.append(f"priority {PRIORITY_WORDS.get(f.priority, f.priority)}")
    if f.duress is not None:
        out.append("duress only" if f.duress else "no duress")
    if f.tests != "include":
        out.append({"exclude": "line tests left out", "only": "line tests only"}[f.tests])
    return out
