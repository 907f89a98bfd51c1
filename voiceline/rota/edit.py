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
last version ended) starts at T itself. `priority` is versioned like the rest:
the new version carries it and earlier versions keep the priority they had.

`restamp_layer(layer, cut, priority=..., timezone=...)` gives every version from
`cut` on a new priority and/or zone (splitting the one in force at `cut`);
`shift_end(rota, at)` is the end of the rota's current shift, where a priority or
zone change takes effect so that whoever is on duty at T stays until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from .model import Layer, LayerVersion, Period, Rota, Window, load_zone, require_aware
from .query import compile_rota, on_duty
from .recurrence import nth_handoff, shift_index


class Unchanged(Enum):
    """The type of UNCHANGED: a field the edit leaves as it is (None is a real member)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True)
class _Changes:
    """The fields an edit gives; the rest are copied from the version it builds on."""

    members: tuple[str | None, ...] | None = None
    anchor: datetime | None = None
    period: Period | None = None
    windows: tuple[Window, ...] | None = None

    def given(self) -> set[str]:
        return {k for k in ("members", "anchor", "period", "windows") if getattr(self, k) is not None}

    def onto(self, source: LayerVersion, valid_from: datetime) -> LayerVersion:
        return replace(source, valid_from=valid_from, valid_until=None,
                       members=self.members if self.members is not None else source.members,
                       anchor=self.anchor if self.anchor is not None else source.anchor,
                       period=self.period if self.period is not None else source.period,
                       windows=self.windows if self.windows is not None else source.windows)


def edit_layer(layer: Layer, rota_timezone: str, *, at: datetime,
               members: Iterable[str | None] | Unchanged = UNCHANGED,
               anchor: datetime | Unchanged = UNCHANGED,
               period: Period | Unchanged = UNCHANGED,
               windows: Iterable[Window] | Unchanged = UNCHANGED,
               priority: int | Unchanged = UNCHANGED) -> Layer:
    """Return the layer with a new version from the end of the shift in progress at `at`."""
    zone, at = load_zone(rota_timezone), require_aware(at, "at")
    changes = _Changes(
        members=None if isinstance(members, Unchanged) else tuple(members),
        anchor=None if isinstance(anchor, Unchanged) else anchor,
        period=None if isinstance(period, Unchanged) else period,
        windows=None if isinstance(windows, Unchanged) else tuple(windows))
    new_priority = layer.priority if isinstance(priority, Unchanged) else priority
    # Earlier versions keep the priority they had when the layer's default changes.
    versions = tuple(v if v.priority is not None or new_priority == layer.priority
                     else replace(v, priority=layer.priority) for v in layer.versions)

    old = next((v for v in versions if (v.valid_from is None or v.valid_from <= at)
                and (v.valid_until is None or at < v.valid_until)), None)
    cut = at
    if old is not None:
        old_zone = load_zone(old.timezone) if old.timezone else zone
        k = shift_index(old, old_zone, at)
        if nth_handoff(old, old_zone, k) != at:
            cut = nth_handoff(old, old_zone, k + 1)
        if old.valid_until is not None:
            cut = min(cut, old.valid_until)
    kept = [v for v in versions if v.valid_from is None or v.valid_from < cut]
    pending = [v for v in versions if v.valid_from is not None and v.valid_from >= cut]
    # Unchanged fields come from whatever would have been in force at the cut.
    source: LayerVersion | None
    if pending and pending[0].valid_from == cut:
        source = pending[0]
    else:
        source = old or (kept[-1] if kept else pending[0] if pending else None)
    if source is None:
        missing = {"members", "anchor", "period"} - changes.given()
        if missing or changes.members is None or changes.anchor is None or changes.period is None:
            raise ValueError(f"layer {layer.id!r} has no version to copy; give {sorted(missing)}")
        new = LayerVersion(members=changes.members, anchor=changes.anchor, period=changes.period,
                           windows=changes.windows or (), valid_from=cut)
    else:
        new = changes.onto(source, cut)
    if not isinstance(priority, Unchanged):
        new = replace(new, priority=priority)
    kept = [v if v.valid_until is not None and v.valid_until <= cut else replace(v, valid_until=cut)
            for v in kept]
    return Layer(layer.id, new_priority, (*kept, new))


def restamp_layer(layer: Layer, cut: datetime, *, priority: int | Unchanged = UNCHANGED,
                  timezone: str | Unchanged = UNCHANGED,
                  rota_timezone: str | None = None) -> Layer:
    """The layer with `priority` / `timezone` in force from `cut` on; versions before keep theirs.

    The version in force at `cut` is split there; later versions are changed too. Earlier
    versions that relied on the layer's priority or the rota's zone get it written down, so
    the past reads as it did. The layer's own (default) priority becomes the new one.
    """
    cut = require_aware(cut, "cut")
    if not isinstance(timezone, Unchanged):
        load_zone(timezone)
    old_priority = layer.priority
    new_priority = old_priority if isinstance(priority, Unchanged) else priority

    def before(v: LayerVersion) -> LayerVersion:
        return replace(v, priority=old_priority if v.priority is None else v.priority,
                       timezone=v.timezone or rota_timezone)

    def after(v: LayerVersion, valid_from: datetime | None) -> LayerVersion:
        return replace(v, valid_from=valid_from,
                       priority=v.priority if isinstance(priority, Unchanged) else priority,
                       timezone=(v.timezone or rota_timezone) if isinstance(timezone, Unchanged)
                       else timezone)

    out: list[LayerVersion] = []
    for v in layer.versions:
        starts_before = v.valid_from is None or v.valid_from < cut
        ends_after = v.valid_until is None or v.valid_until > cut
        if starts_before and ends_after:
            out += [replace(before(v), valid_until=cut), after(v, cut)]
        elif starts_before:
            out.append(before(v))
        else:
            out.append(after(v, v.valid_from))
    return Layer(layer.id, new_priority, tuple(out))


def shift_end(rota: Rota, at: datetime) -> datetime:
    """When the shift in progress at `at` ends: the next change of who is on duty (`at` itself
    when nobody is on duty; the next handoff of a layer in force when nothing changes for a
    long while)."""
    at = require_aware(at, "at")
    answer = on_duty(rota, at)
    if not answer.people:
        return at
    if answer.until is not None:
        return answer.until
    compiled = compile_rota(rota)
    handoffs = []
    for layer in compiled.layers:
        version = layer.version_at(at)
        if version is not None:
            zone = layer.zone_of(version, compiled.zone)
            handoffs.append(nth_handoff(version, zone, shift_index(version, zone, at) + 1))
    return min(handoffs, default=at)
