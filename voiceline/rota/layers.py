"""Layers: which version is in force, whose turn it is, and precedence between layers.

Precedence: at an instant each layer has the priority of its version in force (a
priority change is a new version, so the past keeps the priorities it had). The
highest priority with someone on duty decides. The first group in
which some layer has a person on duty decides; equal-priority layers in that
group union their people in layer order. A layer counts as *active* only while
it has someone on duty: outside its windows, outside its versions, or on an
empty slot (None) it hides nothing and lower layers show through. An empty slot
therefore only makes a gap when no lower layer has anyone either; to force
nobody on duty, use a remove override.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

from .model import Layer, LayerVersion, load_zone
from .recurrence import handoffs, in_windows, member_at, window_edges

_EPOCH_MIN = datetime.min.replace(tzinfo=UTC)
_TICK = timedelta(microseconds=1)


class CompiledLayer:
    """A layer with a bisectable index of its versions' start instants, zones and priorities."""

    __slots__ = ("layer", "_froms", "_zones", "_priorities", "zone_list", "priority_list",
                 "top_priority", "position")

    def __init__(self, layer: Layer, zone: ZoneInfo | None = None) -> None:
        self.layer = layer
        self._froms = [v.valid_from or _EPOCH_MIN for v in layer.versions]
        # A version's own zone (a zone change is a new version); else the rota's.
        self._zones = {id(v): load_zone(v.timezone) if v.timezone else zone for v in layer.versions}
        self._priorities = {id(v): layer.priority if v.priority is None else v.priority
                            for v in layer.versions}
        # The same, by version index (the hot path of layer_people).
        self.zone_list = [self._zones[id(v)] or zone for v in layer.versions]
        self.priority_list = [self._priorities[id(v)] for v in layer.versions]
        self.top_priority = max(self.priority_list, default=layer.priority)
        self.position = 0

    def zone_of(self, version: LayerVersion, zone: ZoneInfo) -> ZoneInfo:
        """The zone a version's recurrence runs in."""
        return self._zones.get(id(version)) or zone

    def priority_of(self, version: LayerVersion) -> int:
        """The priority a version gives its layer while in force."""
        return self._priorities.get(id(version), self.layer.priority)

    def index_at(self, at: datetime) -> int:
        """The index of the version in force at `at`, -1 outside every version."""
        i = bisect_right(self._froms, at) - 1
        if i < 0:
            return -1
        until = self.layer.versions[i].valid_until
        return -1 if until is not None and at >= until else i

    def version_at(self, at: datetime) -> LayerVersion | None:
        """The version in force at `at`, None outside every version."""
        i = self.index_at(at)
        return None if i < 0 else self.layer.versions[i]

    def person_at(self, zone: ZoneInfo, at: datetime) -> str | None:
        """The person this layer puts on duty at `at`, None if none (inactive or empty slot)."""
        version = self.version_at(at)
        if version is None:
            return None
        zone = self.zone_of(version, zone)
        if not in_windows(version.windows, zone, at):
            return None
        return member_at(version, zone, at)

    def priority_at(self, at: datetime) -> int:
        """The layer's priority at `at` (that of the version in force)."""
        version = self.version_at(at)
        return self.layer.priority if version is None else self.priority_of(version)

    def change_points(self, zone: ZoneInfo, at: datetime, limit: datetime, *,
                      forward: bool) -> list[Iterator[datetime]]:
        """Sorted iterators of every instant where this layer may change, beyond `at`.

        Forward: instants in (at, ...); backward: instants in (..., at], descending.
        `limit` only prunes versions that lie wholly beyond the search range.
        """
        out: list[Iterator[datetime]] = []
        rota_zone = zone
        for version in self.layer.versions:
            vf, vu = version.valid_from, version.valid_until
            zone = self.zone_of(version, rota_zone)
            if forward:
                if (vu is not None and vu <= at) or (vf is not None and vf > limit):
                    continue
                out.append(iter(sorted(p for p in (vf, vu) if p is not None and p > at)))
                lo = at if vf is None or vf < at else vf
                bounded = _bounded(vu, forward=True)
            else:
                if (vf is not None and vf > at) or (vu is not None and vu <= limit):
                    continue
                out.append(iter(sorted((p for p in (vf, vu) if p is not None and p <= at),
                                       reverse=True)))
                lo = at if vu is None or at < vu else vu - _TICK
                bounded = _bounded(vf, forward=False)
            if len(set(version.members)) > 1:
                out.append(bounded(handoffs(version, zone, lo, forward=forward)))
            for window in version.windows:
                out.append(bounded(window_edges(window, zone, lo, forward=forward)))
        return out


def _bounded(edge: datetime | None, *, forward: bool):
    """Cut an iterator at a version boundary (exclusive), which is emitted on its own."""
    if edge is None:
        return lambda it: it
    if forward:
        return lambda it: takewhile(lambda t: t < edge, it)
    return lambda it: takewhile(lambda t: t > edge, it)


def compile_layers(layers: tuple[Layer, ...], zone: ZoneInfo) -> list[CompiledLayer]:
    """Compiled layers, highest possible priority first (rota order kept in `position`)."""
    compiled = []
    for position, layer in enumerate(layers):
        one = CompiledLayer(layer, zone)
        one.position = position
        compiled.append(one)
    return sorted(compiled, key=lambda c: (-c.top_priority, c.position))


def layer_people(layers: list[CompiledLayer], zone: ZoneInfo, at: datetime) -> list[str]:
    """People on duty at `at` from layers alone, in rota order: the highest priority in force
    that has someone on duty decides; equal priorities union their people in layer order.
    `layers` come from compile_layers, so the search stops at the first layer that cannot
    reach the priority already found."""
    best: int | None = None
    found: list[tuple[int, str]] = []
    for layer in layers:
        if best is not None and layer.top_priority < best:
            break
        i = layer.index_at(at)
        if i < 0:
            continue
        priority = layer.priority_list[i]
        if best is not None and priority < best:
            continue
        version, own_zone = layer.layer.versions[i], layer.zone_list[i] or zone
        if not in_windows(version.windows, own_zone, at):
            continue
        person = member_at(version, own_zone, at)
        if person is None:
            continue
        if best is None or priority > best:
            best, found = priority, [(layer.position, person)]
        else:
            found.append((layer.position, person))
    people: list[str] = []
    for _, person in sorted(found):
        if person not in people:
            people.append(person)
    return people
