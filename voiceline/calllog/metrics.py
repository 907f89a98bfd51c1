"""Call metrics for a range: pure functions over call and leg rows, plus the loader.

Definitions (the README repeats them):
- line tests are left out of every figure;
- *offered* calls are the finished calls (an outcome is set) that were not
  rejected at authentication: a rejected caller was never meant to reach anyone;
- *answer rate* = answered / offered (None when nothing was offered);
- *time to answer* = answered_at - started_at of answered calls; the median and
  the 90th percentile use the nearest-rank method (a value that really occurred);
- per responder: calls rung (a leg rang them), answered, declined at the
  screen, and their own median / p90 time to answer;
- by hour: offered and answered calls by the local hour the call started in
  the viewer's time zone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline.instants import iso_z
from voiceline.models.calls import OUTCOMES, Call, CallLeg


@dataclass(frozen=True)
class CallRow:
    """The columns the metrics need from one call."""

    started_at: datetime
    answered_at: datetime | None
    outcome: str | None
    answered_by: str | None
    is_test: bool = False


@dataclass(frozen=True)
class LegRow:
    """The columns the metrics need from one leg: who was rung and what they did."""

    call_id: int
    person_id: str | None
    screen: str | None


def nearest_rank(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile (0 < pct <= 100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _tta(rows: Iterable[CallRow]) -> list[float]:
    return [(r.answered_at - r.started_at).total_seconds() for r in rows
            if r.outcome == "answered" and r.answered_at is not None]


def _rate(answered: int, offered: int) -> float | None:
    return round(answered / offered, 4) if offered else None


def summarize(calls: Iterable[CallRow], legs: Iterable[LegRow] = (),
              zone: str = "UTC") -> dict[str, Any]:
    """Every figure for the calls given and their legs (both already limited to the range)."""
    tz = ZoneInfo(zone)
    rows = [r for r in calls if not r.is_test]
    finished = [r for r in rows if r.outcome is not None]
    offered = [r for r in finished if r.outcome != "rejected"]
    outcomes = Counter(r.outcome for r in finished)
    answered = [r for r in offered if r.outcome == "answered"]
    times = _tta(answered)

    by_hour: list[dict[str, Any]] = [{"hour": h, "offered": 0, "answered": 0} for h in range(24)]
    for r in offered:
        slot = by_hour[r.started_at.astimezone(tz).hour]
        slot["offered"] += 1
        slot["answered"] += r.outcome == "answered"
    for slot in by_hour:
        slot["answer_rate"] = _rate(slot["answered"], slot["offered"])

    people: dict[str, dict[str, Any]] = defaultdict(lambda: {"rung": 0, "answered": 0, "declined": 0})
    rung_calls: dict[str, set[int]] = defaultdict(set)
    for leg in legs:
        if leg.person_id is None:
            continue
        rung_calls[leg.person_id].add(leg.call_id)
        people[leg.person_id]["declined"] += leg.screen == "declined"
    for pid, ids in rung_calls.items():
        people[pid]["rung"] = len(ids)
    answered_by: dict[str, list[CallRow]] = defaultdict(list)
    for r in answered:
        if r.answered_by:
            answered_by[r.answered_by].append(r)
    for pid, mine in answered_by.items():
        people[pid]["answered"] = len(mine)
    per_responder = []
    for pid in sorted(people):
        mine_t = _tta(answered_by.get(pid, []))
        per_responder.append({"person": pid, **people[pid],
                              "median_seconds_to_answer": nearest_rank(mine_t, 50),
                              "p90_seconds_to_answer": nearest_rank(mine_t, 90)})
    return {
        "calls": len(rows), "offered": len(offered), "answered": len(answered),
        "answer_rate": _rate(len(answered), len(offered)),
        "median_seconds_to_answer": nearest_rank(times, 50),
        "p90_seconds_to_answer": nearest_rank(times, 90),
        "missed": outcomes["missed"], "voicemail": outcomes["voicemail"],
        "outcomes": {o: outcomes[o] for o in OUTCOMES},
        "in_progress": len(rows) - len(finished),
        "per_responder": per_responder, "by_hour": by_hour, "timezone": zone,
    }


def load_metrics(session: Session, start: datetime, end: datetime, zone: str = "UTC",
                 hotline: str | None = None) -> dict[str, Any]:
    """Load the calls started in [start, end) (and their legs) and summarise them."""
    query = select(Call.id, Call.started_at, Call.answered_at, Call.outcome, Call.answered_by,
                   Call.is_test).where(Call.started_at >= start, Call.started_at < end)
    if hotline:
        query = query.where(Call.hotline_id == hotline)
    calls, ids = [], []
    for cid, started, answered, outcome, by, is_test in session.execute(query):
        calls.append(CallRow(_aware(started), _aware(answered), outcome, by, bool(is_test)))
        if not is_test:
            ids.append(cid)
    legs = []
    # Chunked so the IN list stays within every database's parameter limit.
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        legs += [LegRow(*row) for row in session.execute(
            select(CallLeg.call_id, CallLeg.person_id, CallLeg.screen)
            .where(CallLeg.call_id.in_(chunk)))]
    out = summarize(calls, legs, zone)
    out["from"] = iso_z(start)
    out["to"] = iso_z(end)
    out["hotline"] = hotline
    return out


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: None) -> None: ...
def _aware(value: datetime | None) -> datetime | None:
    # Column selects go through UTCDateTime already; this guards raw drivers.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
