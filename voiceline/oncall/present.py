"""The on-duty answers as JSON-ready values: one shape for the CLI's --json and the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from voiceline.instants import iso_z
from voiceline.oncall.history import HistoryDiff
from voiceline.oncall.queries import RotaOnDuty
from voiceline.rota import Gap, Segment


def on_duty_json(entry: RotaOnDuty) -> dict[str, Any]:
    """{rota, at, on_duty: [{id, name, phone}], until}."""
    people = entry.people
    return {
        "rota": entry.rota, "at": iso_z(entry.at),
        "on_duty": [{"id": pid, "name": people[pid].name if pid in people else pid,
                     "phone": people[pid].phone if pid in people else None}
                    for pid in entry.answer.people],
        "until": iso_z(entry.answer.until),
    }


def shift_json(segment: Segment) -> dict[str, Any]:
    """{start, end, on_duty: [ids]}."""
    return {"start": iso_z(segment.start), "end": iso_z(segment.end),
            "on_duty": list(segment.people)}


def gap_json(gap: Gap, unreachable: Mapping[str, str] | None = None) -> dict[str, Any]:
    """{rota, start, end} or {policy, step, start, end[, unreachable: [{id, reason}]]}."""
    if gap.policy is None:
        return {"rota": gap.rota, "start": iso_z(gap.start), "end": iso_z(gap.end)}
    out: dict[str, Any] = {"policy": gap.policy, "step": gap.step, "start": iso_z(gap.start),
                           "end": iso_z(gap.end)}
    if gap.unreachable:
        reasons = unreachable or {}
        out["unreachable"] = [{"id": p, "reason": reasons.get(p, "cannot be rung")}
                              for p in gap.unreachable]
    return out


def describe_gap(gap: Gap) -> str:
    """'rota X' or 'policy P step N'."""
    return f"rota {gap.rota}" if gap.policy is None else f"policy {gap.policy} step {gap.step}"


def why_nobody(gap: Gap, unreachable: Mapping[str, str]) -> str:
    """'nobody' or 'nobody reachable (alice: no phone)'."""
    if not gap.unreachable:
        return "nobody"
    who = ", ".join(f"{p}: {unreachable.get(p, 'cannot be rung')}" for p in gap.unreachable)
    return f"nobody reachable ({who})"


def diff_json(rota_id: str, found: HistoryDiff, as_of: datetime, compare: datetime,
              start: datetime, end: datetime) -> dict[str, Any]:
    """{rota, from, to, recorded_at, start, end, changes: [{at, actor, action}],
    duty: [{start, end, before, after}]}: the API's and `voiceline history --json`'s shape."""
    return {"rota": rota_id, "from": iso_z(as_of), "to": iso_z(compare),
            "recorded_at": iso_z(found.recorded_at), "start": iso_z(start), "end": iso_z(end),
            "changes": [{"at": iso_z(c.recorded_at), "actor": c.actor, "action": c.action}
                        for c in found.changes],
            "duty": [{"start": iso_z(d.start), "end": iso_z(d.end), "before": list(d.before),
                      "after": list(d.after)} for d in found.duty]}
