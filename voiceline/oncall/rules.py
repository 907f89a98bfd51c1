"""The override rules, written once: the rota file, the web UI and the API all check overrides here.

Each caller words a broken rule for its audience (a rota-file path, a form field, an API
problem); what the rules are lives only in this module.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

OVERRIDE_KINDS = ("add", "remove", "replace")
# A start this close before now is taken as now ("from 14:00", typed at 14:20);
# earlier is the past, which stays as it was recorded.
PAST_GRACE = timedelta(hours=1)
PAST_WORDS = ("is in the past: the past stays as it was recorded (an admin can correct the "
              "record, with a reason)")
FUTURE_CORRECTION_WORDS = ("is after now: correcting the record covers the past only (what is "
                           "still to come is an ordinary override, under the rota's rules)")


@dataclass(frozen=True)
class Draft:
    """An override as proposed: any field may still be missing or wrong."""

    kind: str
    person: str | None
    replaces: str | None
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Problem:
    """One broken rule: the field it is about, which rule, and the person or other override involved."""

    field: str  # kind, person, replaces, start or end
    rule: str  # kind, order, missing, unknown, self, overlap
    person: str | None = None
    other: object | None = None


def involved(kind: str, person: str | None, replaces: str | None) -> set[str]:
    """The people an override names: its person and, for a replace, the one replaced."""
    return {person, replaces if kind == "replace" else None} - {None}  # type: ignore[return-value]


def spans_overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether two half-open ranges share an instant."""
    return a_start < b_end and b_start < a_end


def shape_problems(draft: Draft, known: Container[str]) -> list[Problem]:
    """Kind, order, and the people an override names: known, present, not replacing themselves."""
    problems: list[Problem] = []
    if draft.kind not in OVERRIDE_KINDS:
        problems.append(Problem("kind", "kind"))
    if draft.start is not None and draft.end is not None and draft.end <= draft.start:
        problems.append(Problem("end", "order"))
    if not draft.person:
        problems.append(Problem("person", "missing"))
    elif draft.person not in known:
        problems.append(Problem("person", "unknown", draft.person))
    if draft.kind == "replace":
        if not draft.replaces:
            problems.append(Problem("replaces", "missing"))
        elif draft.replaces not in known:
            problems.append(Problem("replaces", "unknown", draft.replaces))
        if draft.replaces and draft.replaces == draft.person:
            problems.append(Problem("person", "self", draft.person))
    return problems


def first_overlap(draft: Draft, others: Iterable[tuple[object, Draft]]) -> Problem | None:
    """One person may not be in two overlapping overrides of a rota: the first clash, if any."""
    if draft.start is None or draft.end is None:
        return None
    mine = involved(draft.kind, draft.person, draft.replaces)
    for ref, other in others:
        if other.start is None or other.end is None:
            continue
        shared = mine & involved(other.kind, other.person, other.replaces)
        if shared and spans_overlap(other.start, other.end, draft.start, draft.end):
            return Problem("start", "overlap", sorted(shared)[0], ref)
    return None


def starts_in_the_past(start: datetime | None, now: datetime) -> bool:
    """Whether an override or swap starting at `start` would rewrite who was on duty before now."""
    return start is not None and start < now - PAST_GRACE


def corrects_the_future(end: datetime | None, now: datetime) -> bool:
    """Whether a correction of the record (an admin's override in the past) would reach past
    now: what is still to come is changed as an ordinary override (the two-person rule too)."""
    return end is not None and end > now


def from_now(start: datetime, now: datetime) -> datetime:
    """The start actually stored: a start within the grace before now becomes now (to the
    second, as the rota file writes it, so an export imports back unchanged)."""
    return max(start, now.replace(microsecond=0))
