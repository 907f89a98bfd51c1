"""Writing rota edits to the database through the engine: layer versions, override checks and retiring.

Shared by the rota-file import and the web UI, so both version layers exactly as
`voiceline.rota.edit_layer` decides and refuse the same overrides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.oncall.rules import (
    FUTURE_CORRECTION_WORDS,
    PAST_WORDS,
    Draft,
    corrects_the_future,
    first_overlap,
    shape_problems,
    starts_in_the_past,
)
from voiceline.oncall.store import layer_to_engine
from voiceline.rota import edit_layer


def write_layer_edit(session: Session, rota: m.Rota, layer: m.Layer, *, at: datetime,
                     created_by: str | None = None, **changes: Any) -> None:
    """Version a stored layer with `edit_layer(..., at=at, **changes)` and store the result."""
    edited = edit_layer(layer_to_engine(layer), rota.timezone, at=at, **changes)
    before = {row.id for row in layer.versions}
    store_layer_versions(session, layer, edited.versions, rota.timezone, edited.priority)
    for row in layer.versions:
        if row.id not in before or row.id is None:
            row.created_by = created_by
    layer.priority = edited.priority
    session.flush()


def assign_changed(row: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; True when any did (untouched rows keep updated_at)."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def store_layer_versions(session: Session, layer: m.Layer, versions, zone: str,
                         priority: int) -> None:
    """Make the layer's version rows equal the engine's versions (in time order).

    Versions in force keep their rows (only an end date may change); a version that had not
    started yet may be replaced by a newer edit, so its row is rewritten or deleted. Every
    row has its priority and zone written down (`priority` and `zone` where the engine's
    version leaves them to the layer and the rota).
    """
    rows = sorted(layer.versions, key=lambda v: (v.valid_from is not None, v.valid_from, v.id))
    for index, version in enumerate(versions):
        values = {"members": list(version.members),
                  "anchor": version.anchor.strftime("%Y-%m-%dT%H:%M"),
                  "period": str(version.period), "windows": [w.to_dict() for w in version.windows],
                  "valid_from": version.valid_from, "valid_until": version.valid_until,
                  "priority": priority if version.priority is None else version.priority,
                  "timezone": version.timezone or zone}
        if index < len(rows):
            assign_changed(rows[index], values)
        else:
            layer.versions.append(m.LayerVersion(**values))
    for row in rows[len(versions):]:
        layer.versions.remove(row)
        session.delete(row)
    session.flush()


def end_layer(session: Session, layer: m.Layer, at: datetime) -> None:
    """End a layer at `at`: the version in force ends there, versions not yet begun are dropped."""
    for row in list(layer.versions):
        if row.valid_from is not None and row.valid_from >= at:
            layer.versions.remove(row)
        elif row.valid_until is None or row.valid_until > at:
            row.valid_until = at
    session.flush()


class KnownPeople:
    """`id in KnownPeople(session)`: whether a person with that id exists."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __contains__(self, person_id: object) -> bool:
        return isinstance(person_id, str) and self.session.get(m.Person, person_id) is not None


def draft_of(row: m.Override) -> Draft:
    """A stored override in the rules' terms."""
    return Draft(row.kind, row.person_id, row.replaces_id, row.start, row.end)


UI_WORDS = {("kind", "kind"): "must be add, remove or replace",
            ("end", "order"): "must be after the start",
            ("person", "missing"): "missing",
            ("replaces", "missing"): "missing: who is replaced",
            ("person", "self"): "a person cannot replace themselves"}


def lock_rota(session: Session, rota_id: str) -> m.Rota | None:
    """Hold one rota's override writes until this transaction ends; the rota, read fresh.

    Two servers checking overlapping overrides at once would both pass the check and both
    write: the check and the write must be one step. PostgreSQL locks the rota's row
    (`SELECT ... FOR UPDATE`); SQLite takes the database's write lock with a no-op UPDATE
    (what `BEGIN IMMEDIATE` does). A second writer waits (lock or busy timeout) and then sees
    the first one's override. The rota's overrides are re-read after the lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        rota = session.scalar(select(m.Rota).where(m.Rota.id == rota_id).with_for_update()
                              .execution_options(populate_existing=True))
    else:
        session.execute(text("UPDATE rotas SET id = id WHERE id = :id"), {"id": rota_id})
        rota = session.get(m.Rota, rota_id)
    if rota is not None:
        session.expire(rota, ["overrides"])
    return rota


def override_problems(session: Session, rota: m.Rota, *, kind: str, person: str | None,
                      replaces: str | None, start: datetime | None, end: datetime | None,
                      exclude_id: int | None = None, now: datetime | None = None,
                      correcting: bool = False) -> dict[str, str]:
    """Why an override cannot be saved, keyed by field ('' when it can): the rules of oncall.rules.

    With `now`, one starting in the past is refused too; a correction of the record
    (`correcting`) may start in the past but must end by `now`.
    """
    draft = Draft(kind, person, replaces, start, end)
    problems: dict[str, str] = {}
    if now is not None and correcting and corrects_the_future(end, now):
        problems["end"] = f"{end:%Y-%m-%d %H:%MZ} {FUTURE_CORRECTION_WORDS}"
    elif now is not None and not correcting and starts_in_the_past(start, now):
        problems["start"] = f"{start:%Y-%m-%d %H:%MZ} {PAST_WORDS}"
    for problem in shape_problems(draft, KnownPeople(session)):
        # A field shows its first problem (an unknown person before replacing themselves).
        problems.setdefault(problem.field, f"unknown person {problem.person!r}"
                            if problem.rule == "unknown" else UI_WORDS[problem.field, problem.rule])
    if problems or start is None or end is None:
        return problems
    others = [(o, draft_of(o)) for o in rota.overrides
              if not (o.id is not None and o.id == exclude_id)]
    clash = first_overlap(draft, others)
    if clash is not None:
        other = clash.other
        assert isinstance(other, m.Override)
        problems["start"] = (f"overlaps another override for {clash.person} "
                             f"({other.start:%Y-%m-%d %H:%MZ} to {other.end:%Y-%m-%d %H:%MZ})")
    return problems


class OverrideIsHistory(ValueError):
    """A finished override is the record of who was on duty: it cannot be removed."""


def retire_override(session: Session, row: m.Override, now: datetime) -> str:
    """Remove an override without rewriting the past: "deleted" if it had not begun,
    "ended" (cut at `now`) if it is in progress; OverrideIsHistory if it is over.
    A swap that produced it is marked cancelled."""
    if row.end <= now:
        raise OverrideIsHistory("the override is over; past overrides stay as the record of "
                                "who was on duty")
    for swap in session.scalars(select(m.Swap).where(m.Swap.override_id == row.id)):
        swap.status = "cancelled"
    if row.start < now:
        row.end = now
        session.flush()
        return "ended"
    if row in row.rota.overrides:
        row.rota.overrides.remove(row)
    session.delete(row)
    session.flush()
    return "deleted"
