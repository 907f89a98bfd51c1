"""Versioned layer edits that never move the person on duty now.

`edit_layer(layer, zone, at=T, ...)` ends the version in force at T at the end
of the current shift, i.e. its next handoff after T (or T itself when T is
exactly a handoff), and starts a new version there with the changed fields;
fields not given are copied. So whoever is on duty at T stays on duty until
their shift ends, and the new version decides from then on. The new version
keeps the old anchor unless a new one is given, so the rotation count carries
on. Earlier versions are never rewritten; later (already scheduled) versions
are kept and the new version ends where the next one begins. `priority` is a
layer-wide attribute, not versioned: changing it changes the past as well.
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
    versions = list(layer.versions)

    current = next((i for i, v in enumerate(versions)
                    if (v.valid_from is None or v.valid_from <= at)
                    and (v.valid_until is None or at < v.valid_until)), None)
    if current is None:
        # Nobody from this layer is on duty at T, so the edit can start right away.
        later = next((i for i, v in enumerate(versions) if v.valid_from and v.valid_from > at), None)
        source = versions[later if later is not None else -1] if versions else None
        if source is None:
            missing = {"members", "anchor", "period"} - set(changes)
            if missing:
                raise ValueError(f"layer {layer.id!r} has no version; give {sorted(missing)}")
            new = LayerVersion(valid_from=at, **changes)
        else:
            until = versions[later].valid_from if later is not None else None
            new = replace(source, valid_from=at, valid_until=until, **changes)
        position = later if later is not None else len(versions)
        versions.insert(position, new)
        return Layer(layer.id, new_priority, tuple(versions))

    old = versions[current]
    k = shift_index(old, zone, at)
    start_of_shift = nth_handoff(old, zone, k)
    cut = at if start_of_shift == at else nth_handoff(old, zone, k + 1)
    if old.valid_until is not None and cut >= old.valid_until:
        raise ValueError(f"layer {layer.id!r}: the version in force at {at} ends before its "
                         f"current shift does ({old.valid_until}); edit the next version instead")
    new = replace(old, valid_from=cut, **changes)
    if old.valid_from is not None and cut <= old.valid_from:
        versions[current] = new  # the old version never took effect: replace it outright
    else:
        versions[current] = replace(old, valid_until=cut)
        versions.insert(current + 1, new)
    return Layer(layer.id, new_priority, tuple(versions))
