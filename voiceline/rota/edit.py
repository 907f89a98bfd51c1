"""Versioned layer edits that never move the person on duty now.

`edit_layer(layer, zone, at=T, ...)` ends the version in force at T at the end
of the current shift, i.e. its next handoff after T (or T itself when T is
exactly a handoff), and starts a new version there with the changed fields;
fields not given are copied. So whoever is on duty at T stays on duty until
their shift ends, and the new version decides from then on. The new version
keeps the old anchor unless a new one is given, so the rotation count carries
on. Versions already in force are never rewritten (only the current one gets
its end). Versions not yet in force at the cut, i.e. pending from an earlier
edit in the same shift, are superseded: the newest edit wins and copies their
fields. An edit where no version is in force (an empty layer, or after the
last version ended) starts at T itself. `priority` is a layer-wide attribute,
not versioned: changing it changes the past as well.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .model import Layer, LayerVersion, Period, Window, load_zone, require_aware
from .recurrence import nth_handoff, shift_index

_UNCHANGED: object = object()


def edit_layer(layer: Layer, rota_timezone: str, *, at: datetime,
               members: tuple[str | None, ...] | object = _UNCHANGED,
               anchor: datetime | object = _UNCHANGED,
               period: Period | object = _UNCHANGED,
               windows: tuple[Window, ...] | object = _UNCHANGED,
               priority: int | object = _UNCHANGED) -> Layer:
    """Return the layer with a new version from the end of the shift in progress at `at`."""
    zone, at = load_zone(rota_timezone), require_aware(at, "at")
    changes = {key: value for key, value in
               (("members", members), ("anchor", anchor), ("period", period), ("windows", windows))
               if value is not _UNCHANGED}
    if "members" in changes:
        changes["members"] = tuple(changes["members"])
    if "windows" in changes:
        changes["windows"] = tuple(changes["windows"])
    new_priority = layer.priority if priority is _UNCHANGED else priority
    versions = layer.versions

    old = next((v for v in versions if (v.valid_from is None or v.valid_from <= at)
                and (v.valid_until is None or at < v.valid_until)), None)
    cut = at
    if old is not None:
        k = shift_index(old, zone, at)
        if nth_handoff(old, zone, k) != at:
            cut = nth_handoff(old, zone, k + 1)
        if old.valid_until is not None:
            cut = min(cut, old.valid_until)
    kept = [v for v in versions if v.valid_from is None or v.valid_from < cut]
    pending = [v for v in versions if v.valid_from is not None and v.valid_from >= cut]
    # Unchanged fields come from whatever would have been in force at the cut.
    if pending and pending[0].valid_from == cut:
        source = pending[0]
    else:
        source = old or (kept[-1] if kept else pending[0] if pending else None)
    if source is None:
        missing = {"members", "anchor", "period"} - set(changes)
        if missing:
            raise ValueError(f"layer {layer.id!r} has no version to copy; give {sorted(missing)}")
        new = LayerVersion(valid_from=cut, **changes)
    else:
        new = replace(source, valid_from=cut, valid_until=None, **changes)
    kept = [v if v.valid_until is not None and v.valid_until <= cut else replace(v, valid_until=cut)
            for v in kept]
    return Layer(layer.id, new_priority, (*kept, new))
