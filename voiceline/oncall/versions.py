"""Versioned rota-wide changes: a layer's priority, the rota's zone, a new layer.

What decides who is on duty changes only from the end of the current shift (or a
chosen later instant), never in the past: the shift in progress keeps its person and
the past reads as it was recorded. Shared by the rota file (and so the API) and the UI.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.oncall.edit import store_layer_versions
from voiceline.oncall.store import layer_to_engine, rota_to_engine
from voiceline.rota import restamp_layer, shift_end


class InThePast(ValueError):
    """A change asked to take effect before now."""


def change_point(rota: m.Rota, at: datetime, effective: datetime | None = None) -> datetime:
    """When a change made at `at` takes effect: `effective` (not before `at`), else the end of
    the rota's shift in progress (`at` when nobody is on duty)."""
    if effective is not None:
        if effective < at:
            raise InThePast(f"takes effect {effective:%Y-%m-%d %H:%MZ}, which is in the past; "
                            "the past stays as it was recorded")
        return effective
    return shift_end(rota_to_engine(rota), at)


def change_layer_priority(session: Session, rota: m.Rota, layer: m.Layer, priority: int,
                          cut: datetime, created_by: str | None = None) -> bool:
    """Give the layer `priority` from `cut` on (earlier versions keep theirs); True if changed."""
    engine = layer_to_engine(layer)
    later = [layer.priority if v.priority is None else v.priority
             for v in engine.versions if v.valid_until is None or v.valid_until > cut]
    if layer.priority == priority and all(p == priority for p in later):
        return False
    restamped = restamp_layer(engine, cut, priority=priority, rota_timezone=rota.timezone)
    _store(session, rota, layer, restamped, rota.timezone, created_by)
    layer.priority = priority
    session.flush()
    return True


def change_rota_zone(session: Session, rota: m.Rota, zone: str, cut: datetime,
                     created_by: str | None = None) -> bool:
    """Run every layer in `zone` from `cut` on (earlier versions keep the old zone); True if changed."""
    if zone == rota.timezone:
        return False
    old = rota.timezone
    for layer in rota.layers:
        restamped = restamp_layer(layer_to_engine(layer), cut, timezone=zone, rota_timezone=old)
        _store(session, rota, layer, restamped, old, created_by)
    rota.timezone = zone
    session.flush()
    return True


def _store(session: Session, rota: m.Rota, layer: m.Layer, engine_layer, zone: str,
           created_by: str | None) -> None:
    before = {row.id for row in layer.versions}
    store_layer_versions(session, layer, engine_layer.versions, zone, layer.priority)
    for row in layer.versions:
        if row.id is None or row.id not in before:
            row.created_by = created_by


def new_layer_start(rota: m.Rota, at: datetime, effective: datetime | None = None,
                    *, new_rota: bool = False) -> datetime | None:
    """Where a layer added to `rota` at `at` begins: None (from its anchor) for a rota being
    created, else the change point, so it cannot change the shift in progress or the past."""
    if new_rota:
        return effective
    return change_point(rota, at, effective)
