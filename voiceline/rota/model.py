"""Rota records: frozen values, instants aware in UTC, recurrence in local wall-clock time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Unit = Literal["hours", "days", "weeks", "months"]
OverrideKind = Literal["add", "remove", "replace"]

_UNIT_SUFFIX = {"hours": "h", "days": "d", "weeks": "w", "months": "mo"}
_UNIT_ALIASES = {
    **{a: "hours" for a in ("h", "hr", "hrs", "hour", "hours")},
    **{a: "days" for a in ("d", "day", "days")},
    **{a: "weeks" for a in ("w", "wk", "wks", "week", "weeks")},
    **{a: "months" for a in ("mo", "mon", "month", "months")},
}
_PERIOD_RE = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{n: i for i, n in enumerate(DAY_NAMES)},
    **{n: i for i, n in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
}


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name`, raising ValueError (not KeyError) when it is unknown."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"time zone must be a non-empty IANA name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # ZoneInfoNotFoundError is a KeyError; callers validating input expect ValueError.
        raise ValueError(f"unknown time zone {name!r}") from exc


def require_aware(value: datetime, what: str) -> datetime:
    """Return `value` converted to UTC; ValueError if it is naive."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """A rotation length: a count of hours, days, weeks or months."""

    count: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in _UNIT_SUFFIX:
            raise ValueError(f"period unit must be one of {sorted(_UNIT_SUFFIX)}, got {self.unit!r}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ValueError(f"period count must be an integer >= 1, got {self.count!r}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse "12h", "1d", "2w", "1mo" or "3 days" into a Period."""
        match = _PERIOD_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"period must look like 12h, 1d, 2w or 1mo, got {text!r}")
        count, word = int(match.group(1)), match.group(2).lower()
        if word not in _UNIT_ALIASES:
            hint = " (use 'mo' for months)" if word == "m" else ""
            raise ValueError(f"unknown period unit {word!r} in {text!r}{hint}; use h, d, w or mo")
        if count < 1:
            raise ValueError(f"period count must be >= 1, got {text!r}")
        return cls(count, _UNIT_ALIASES[word])  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.count}{_UNIT_SUFFIX[self.unit]}"


def _parse_time(value: object, key: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 22:00 as the sexagesimal integer 1320.
        raise ValueError(f"window {key} must be a quoted \"HH:MM\" string, got the number {value}")
    if not isinstance(value, str):
        raise ValueError(f"window {key} must be an \"HH:MM\" string, got {value!r}")
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"window {key} must be \"HH:MM\", got {value!r}") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"window {key} is local wall-clock time and takes no offset, got {value!r}")
    return parsed


@dataclass(frozen=True)
class Window:
    """A recurring local time window; `days` name the weekday it starts on (empty = every day)."""

    days: frozenset[int]
    start: time
    end: time  # end <= start: the window runs past midnight into the next day

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", frozenset(self.days))
        if any(not isinstance(d, int) or not 0 <= d <= 6 for d in self.days):
            raise ValueError(f"window days must be 0 (Mon) .. 6 (Sun), got {sorted(self.days)!r}")
        for key in ("start", "end"):
            value = getattr(self, key)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"window {key} must be a naive datetime.time, got {value!r}")

    @classmethod
    def parse(cls, mapping: object) -> Window:
        """Build a Window from {"days": ["mon"], "start": "22:00", "end": "06:00"}."""
        if not isinstance(mapping, dict):
            raise ValueError(f"window must be a mapping with start and end, got {mapping!r}")
        unknown = set(mapping) - {"days", "start", "end"}
        if unknown:
            raise ValueError(f"window has unknown keys {sorted(map(str, unknown))}")
        for key in ("start", "end"):
            if key not in mapping:
                raise ValueError(f"window needs {key!r} (\"HH:MM\")")
        raw_days = mapping.get("days") or []
        if isinstance(raw_days, str) or not isinstance(raw_days, list | tuple):
            raise ValueError(f"window days must be a list like [mon, tue], got {raw_days!r}")
        days = set()
        for day in raw_days:
            name = day.strip().lower() if isinstance(day, str) else day
            if name not in _DAY_ALIASES:
                raise ValueError(f"window day {day!r} is not one of {', '.join(DAY_NAMES)}")
            days.add(_DAY_ALIASES[name])
        return cls(frozenset(days), _parse_time(mapping["start"], "start"),
                   _parse_time(mapping["end"], "end"))

    def to_dict(self) -> dict:
        """Return the mapping that Window.parse reads back to an equal Window."""
        def fmt(t: time) -> str:
            return t.strftime("%H:%M") if not (t.second or t.microsecond) else t.isoformat()
        return {"days": [DAY_NAMES[d] for d in sorted(self.days)],
                "start": fmt(self.start), "end": fmt(self.end)}


@dataclass(frozen=True)
class LayerVersion:
    """One version of a layer, in force over [valid_from, valid_until).

    `priority` and `timezone` are versioned like the rest (a priority or zone change starts a
    new version and leaves the past as it was); None means the layer's priority / the rota's zone.
    """

    members: tuple[str | None, ...]
    anchor: datetime  # naive local date-time of a handoff; members[0] starts here
    period: Period
    windows: tuple[Window, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    priority: int | None = None
    timezone: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        object.__setattr__(self, "windows", tuple(self.windows))
        if not self.members:
            raise ValueError("a layer needs at least one member slot (None is an empty slot)")
        if not isinstance(self.anchor, datetime) or self.anchor.tzinfo is not None:
            raise ValueError(f"anchor must be a naive local datetime, got {self.anchor!r}")
        if self.timezone is not None:
            load_zone(self.timezone)
        for key in ("valid_from", "valid_until"):
            if getattr(self, key) is not None:
                object.__setattr__(self, key, require_aware(getattr(self, key), key))
        if (self.valid_from is not None and self.valid_until is not None
                and self.valid_from >= self.valid_until):
            raise ValueError(f"valid_from {self.valid_from} must be before valid_until {self.valid_until}")


@dataclass(frozen=True)
class Layer:
    """A rotation layer: its versions do not overlap and are sorted by valid_from."""

    id: str
    priority: int
    versions: tuple[LayerVersion, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "versions", tuple(self.versions))
        for before, after in zip(self.versions, self.versions[1:], strict=False):
            if (before.valid_until is None or after.valid_from is None
                    or after.valid_from < before.valid_until):
                raise ValueError(f"layer {self.id!r}: versions overlap or are out of order")


@dataclass(frozen=True)
class Override:
    """A half-open UTC range that adds, removes or replaces a person."""

    start: datetime
    end: datetime
    kind: OverrideKind
    person: str
    replaces: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        # Normalised to UTC so equal instants compare and print the same.
        object.__setattr__(self, "start", require_aware(self.start, "override start"))
        object.__setattr__(self, "end", require_aware(self.end, "override end"))
        if self.start >= self.end:
            raise ValueError(f"override start {self.start} must be before its end {self.end}")
        if self.kind not in ("add", "remove", "replace"):
            raise ValueError(f"override kind must be add, remove or replace, got {self.kind!r}")
        if not self.person:
            raise ValueError("override needs a person")
        if self.kind == "replace" and not self.replaces:
            raise ValueError("a replace override needs `replaces` (the person replaced)")
        if self.kind != "replace" and self.replaces is not None:
            raise ValueError(f"only a replace override takes `replaces`, not {self.kind!r}")


@dataclass(frozen=True)
class Rota:
    """A rota: a time zone, layers and overrides."""

    id: str
    timezone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        load_zone(self.timezone)


@dataclass(frozen=True)
class PolicyStep:
    """One escalation step: rotas and named people rung together."""

    rotas: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    ring_seconds: int = 25


@dataclass(frozen=True)
class Policy:
    """An escalation policy: steps tried in order, the whole list repeated `repeat` times."""

    id: str
    steps: tuple[PolicyStep, ...]
    repeat: int = 0
    ring: str = "dial"  # "dial" or "conference"


@dataclass(frozen=True)
class OnDuty:
    """Who is on duty, since and until when that set of people last/next changes."""

    people: tuple[str, ...]
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class Segment:
    """A half-open range with one set of people on duty."""

    start: datetime
    end: datetime
    people: tuple[str, ...]


@dataclass(frozen=True)
class Gap:
    """A half-open range with nobody on duty for a rota or a policy step (1-based).

    `unreachable` names the people on duty in the gap who cannot be rung (a step with only
    those is a gap all the same: a call would skip it).
    """

    start: datetime
    end: datetime
    rota: str | None = None
    policy: str | None = None
    step: int | None = None
    unreachable: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolvedStep:
    """A policy step (1-based index) with its responders at one instant."""

    index: int
    ring_seconds: int
    responders: tuple[str, ...]


def merge_ranges(ranges: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The union of [lo, hi) ranges as sorted, non-touching ranges."""
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
