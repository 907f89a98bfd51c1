"""Coverage rules: a minimum of people on duty, a maximum shift length, a minimum rest.

Pure functions over merged segments (what `shifts` returns). A rule is checked per rota
or per policy step; a broken rule is a Violation over a half-open range:

- `understaffed`: fewer than `min_people` (but not nobody: that is a gap) on duty;
- `long_shift`: one person on duty without a break for longer than `max_shift`;
- `short_rest`: a person's break between two stretches on duty shorter than `min_rest`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Gap, Segment, merge_ranges

KINDS = ("understaffed", "long_shift", "short_rest")


@dataclass(frozen=True)
class CoverageRule:
    """What a rota or a policy step must keep to; None means no such rule."""

    min_people: int | None = None
    max_shift: timedelta | None = None
    min_rest: timedelta | None = None

    def __post_init__(self) -> None:
        if self.min_people is not None and self.min_people < 1:
            raise ValueError(f"min_people must be >= 1, got {self.min_people!r}")
        for key in ("max_shift", "min_rest"):
            value = getattr(self, key)
            if value is not None and value <= timedelta(0):
                raise ValueError(f"{key} must be positive, got {value!r}")

    @property
    def empty(self) -> bool:
        return self.min_people is None and self.max_shift is None and self.min_rest is None


@dataclass(frozen=True)
class Violation:
    """A broken rule over [start, end); `person` for shift and rest rules, `people` on duty otherwise."""

    kind: str
    start: datetime
    end: datetime
    rota: str | None = None
    policy: str | None = None
    step: int | None = None
    person: str | None = None
    people: tuple[str, ...] = ()
    count: int = 0  # understaffed: the most people on duty (who count) at any instant of it
    # The range's real bounds where a window cut it (None: open, beyond any search).
    real_start: datetime | None = None
    real_end: datetime | None = None




def stretches(segments: Iterable[Segment], person: str) -> list[tuple[datetime, datetime]]:
    """The person's unbroken stretches on duty, merged across handoffs that keep them on."""
    return merge_ranges((s.start, s.end) for s in segments if person in s.people)


def understaffed(segments: Iterable[Segment], minimum: int, *,
                 count: Callable[[tuple[str, ...]], int] = len
                 ) -> list[tuple[datetime, datetime, tuple[str, ...], int]]:
    """Ranges with at least one but fewer than `minimum` people on duty, merged: (start, end,
    everyone on duty in it, the most who count at any instant)."""
    out: list[tuple[datetime, datetime, tuple[str, ...], int]] = []
    for s in segments:
        n = count(s.people)
        if not 0 < n < minimum:
            continue
        if out and out[-1][1] == s.start:
            lo, _, people, most = out[-1]
            out[-1] = (lo, s.end, tuple(dict.fromkeys(people + s.people)), max(most, n))
        else:
            out.append((s.start, s.end, s.people, n))
    return out


def stretch_finder(shifts_of: Callable[[datetime, datetime], list[Segment]],
                   person: str) -> Callable[[datetime, datetime], list[Gap]]:
    """A `find(lo, hi)` for `real_bounds`: the person's stretches in [lo, hi) as Gap values."""
    def find(lo: datetime, hi: datetime) -> list[Gap]:
        return [Gap(a, b) for a, b in stretches(shifts_of(lo, hi), person)]
    return find


def rule_violations(segments: list[Segment], rule: CoverageRule, window_start: datetime,
                    window_end: datetime, *, exempt: Collection[str] = (),
                    count: Callable[[tuple[str, ...]], int] = len,
                    real: Callable[[str, datetime, datetime], tuple[datetime | None, datetime | None]] | None = None,
                    rota: str | None = None, policy: str | None = None,
                    step: int | None = None) -> list[Violation]:
    """Every broken rule in segments tiling [window_start, window_end).

    A stretch the window cuts is measured by its real bounds: `real(person, lo, hi)` answers
    them (None: open, longer than any rule); without it a cut stretch counts as it is seen.
    A rest the window cuts is not judged. People in `exempt` (named in a policy step: always
    on) have no shift or rest rule.
    """
    def where(v: Violation) -> Violation:
        return dataclasses.replace(v, rota=rota, policy=policy, step=step)
    found: list[Violation] = []
    if rule.min_people is not None:
        for lo, hi, people, most in understaffed(segments, rule.min_people, count=count):
            found.append(where(Violation("understaffed", lo, hi, people=people, count=most,
                                         real_start=lo, real_end=hi)))
    if rule.max_shift is None and rule.min_rest is None:
        return found
    for person in sorted({p for s in segments for p in s.people} - set(exempt)):
        runs = stretches(segments, person)
        for lo, hi in runs:
            if rule.max_shift is None:
                break
            real_lo: datetime | None = lo
            real_hi: datetime | None = hi
            if real is not None and (lo <= window_start or hi >= window_end):
                real_lo, real_hi = real(person, lo, hi)
            if real_lo is None or real_hi is None or real_hi - real_lo > rule.max_shift:
                found.append(where(Violation("long_shift", lo, hi, person=person,
                                             real_start=real_lo, real_end=real_hi)))
        if rule.min_rest is None:
            continue
        for (_, end_a), (start_b, _) in zip(runs, runs[1:], strict=False):
            if start_b - end_a < rule.min_rest:
                found.append(where(Violation("short_rest", end_a, start_b, person=person,
                                             real_start=end_a, real_end=start_b)))
    return found
