"""Overrides: an index answering "which overrides are active at T" in O(log n)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import datetime

from .model import Override


class OverrideIndex:
    """Overrides cut into elementary intervals between all their boundaries.

    Each elementary interval stores the overrides covering it, in start order,
    so a point query is one bisect and never scans the whole list. Memory is
    the sum over overrides of the boundaries they span: linear while overrides
    overlap little, as they do in practice.
    """

    __slots__ = ("bounds", "_active")

    def __init__(self, overrides: tuple[Override, ...]) -> None:
        # Composition order is start order; ties keep the order they were given in.
        ordered = sorted(overrides, key=lambda o: o.start)
        self.bounds: list[datetime] = sorted({o.start for o in ordered} | {o.end for o in ordered})
        slots: list[list[Override]] = [[] for _ in self.bounds]
        for override in ordered:
            first = bisect_left(self.bounds, override.start)
            last = bisect_left(self.bounds, override.end)
            for i in range(first, last):
                slots[i].append(override)
        self._active = [tuple(s) for s in slots]

    def active_at(self, at: datetime) -> tuple[Override, ...]:
        """Overrides whose [start, end) contains `at`, in start order."""
        i = bisect_right(self.bounds, at) - 1
        return self._active[i] if i >= 0 else ()

    def change_points(self, at: datetime, *, forward: bool) -> Iterator[datetime]:
        """Override boundaries after `at` ascending, or at/before it descending."""
        i = bisect_right(self.bounds, at)
        if forward:
            return (self.bounds[j] for j in range(i, len(self.bounds)))
        return (self.bounds[j] for j in range(i - 1, -1, -1))


def apply_overrides(people: list[str], active: tuple[Override, ...]) -> tuple[str, ...]:
    """Apply active overrides in start order to the layers' people.

    A replace takes effect only while the replaced person is on duty at that
    point of the composition (so a replace of someone an earlier override
    brought in also works); the newcomer takes the replaced person's place in
    rota order. Added people go after the layers' people.
    """
    result = list(people)
    for override in active:
        if override.kind == "remove":
            if override.person in result:
                result.remove(override.person)
        elif override.kind == "add":
            if override.person not in result:
                result.append(override.person)
        elif override.replaces in result:
            i = result.index(override.replaces)
            if override.person in result:
                del result[i]
            else:
                result[i] = override.person
    return tuple(result)
