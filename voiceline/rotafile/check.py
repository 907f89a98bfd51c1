"""The rota file's checking vocabulary: the Checker that records every problem, RotaFileError,
and the Plan of typed, normalised values a valid file becomes.

Problems name the entry and key (`rotas[primary].layers[0].members[1]: unknown person 'zed'`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voiceline.phones import InvalidNumber, to_e164
from voiceline.rota import Period, Window

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
TOP_KEYS = {"timezone", "people", "callers", "rotas", "policies", "hotlines"}


class RotaFileError(ValueError):
    """The rota file is invalid; `problems` lists each one as 'where: what'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class PersonSpec:
    """A responder as the file gives it (phone in E.164)."""

    id: str
    name: str
    phone: str | None
    languages: list[str]
    timezone: str | None = None
    reminder_minutes: int | None = None
    roles: list[str] = field(default_factory=list)


@dataclass
class CallerSpec:
    """A caller with their numbers in E.164."""

    id: str
    name: str
    org: str
    phones: list[str]
    language: str | None


@dataclass
class LayerSpec:
    """A layer: members, a local anchor (YYYY-MM-DDTHH:MM), a period and windows, canonical."""

    name: str = ""
    members: list[str | None] = field(default_factory=list)
    anchor: str = ""
    every: str = ""
    windows: list[dict[str, Any] | None] = field(default_factory=list)
    priority: int = 0


@dataclass
class OverrideSpec:
    """An override; `where` names it in the file (for problems)."""

    kind: str
    person: str | None
    replaces: str | None
    start: datetime | None
    end: datetime | None
    note: str
    where: str


@dataclass
class RotaSpec:
    """A rota with its layers and overrides."""

    id: str
    name: str
    timezone: str | None
    notify_outgoing: bool
    swap_approval: bool = False
    two_person: bool = False
    reachability_minutes: int | None = None
    coverage: dict[str, int] | None = None
    layers: list[LayerSpec] = field(default_factory=list)
    overrides: list[OverrideSpec] = field(default_factory=list)


@dataclass
class StepSpec:
    """One escalation step."""

    rotas: list[str]
    people: list[str]
    ring_seconds: int
    coverage: dict[str, int] | None = None


@dataclass
class PolicySpec:
    """An escalation policy."""

    id: str
    name: str
    steps: list[StepSpec]
    repeat: int
    ring: str = "dial"  # "dial" or "conference"


@dataclass
class HotlineSpec:
    """A dialled number and how it treats callers."""

    id: str
    number: str
    policy: str
    name: str
    languages: list[str]
    caller_policy: str
    ask_priority: bool


@dataclass
class Plan:
    """A validated rota file, every value normalised (E.164 numbers, parsed periods...).

    While a document is checked, a value that failed its check is left empty ("" or None);
    such a document raises RotaFileError, so a Plan that is returned holds only good values."""

    people: list[PersonSpec] = field(default_factory=list)
    callers: list[CallerSpec] = field(default_factory=list)
    rotas: list[RotaSpec] = field(default_factory=list)
    policies: list[PolicySpec] = field(default_factory=list)
    hotlines: list[HotlineSpec] = field(default_factory=list)
    # Problems the database already holds (e.g. two overlapping overrides stored before writes
    # were serialised): reported, never a reason to refuse the file.
    warnings: list[str] = field(default_factory=list)


class Checker:
    """Collects every problem of a document as 'where: what'; each check returns the clean value."""

    def __init__(self, region: str, stored: frozenset[tuple] = frozenset()):
        self.region = region
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.stored = stored  # (rota, kind, person, replaces, start, end) of stored overrides

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def keys(self, where: str, entry: Any, allowed: set[str], required: set[str]) -> bool:
        if not isinstance(entry, dict):
            self.fail(where, "must be a mapping")
            return False
        for key in sorted(set(entry) - allowed):
            self.fail(f"{where}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(entry)):
            self.fail(f"{where}.{key}", "missing")
        return True

    def ident(self, where: str, value: Any) -> str | None:
        if not isinstance(value, str) or not ID_RE.match(value):
            self.fail(where, f"{value!r} is not an id (lower-case letters, digits, . _ -)")
            return None
        return value

    def text(self, where: str, value: Any, default: str = "") -> str:
        if value is None:
            return default
        if not isinstance(value, str | int | float):
            self.fail(where, "must be text")
            return default
        return str(value).strip()

    def zone(self, where: str, value: Any) -> str | None:
        try:
            ZoneInfo(str(value))
            return str(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(where, f"unknown time zone {value!r}")
            return None

    def phone(self, where: str, value: Any) -> str | None:
        try:
            return to_e164(str(value) if value is not None else "", self.region)
        except InvalidNumber as exc:
            self.fail(where, str(exc))
            return None

    def languages(self, where: str, value: Any, full: bool = False) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, "must be a list")
            return []
        good = []
        for i, lang in enumerate(value):
            ok = isinstance(lang, str) and LANGUAGE_RE.match(lang) and (not full or "-" in lang)
            if not ok:
                shape = "like en-US" if full else "like en or en-US"
                self.fail(f"{where}[{i}]", f"{lang!r} is not a language tag ({shape})")
            else:
                good.append(lang)
        return good

    def integer(self, where: str, value: Any, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(where, f"{value!r} must be a whole number from {low} to {high}")
            return None
        return value

    def instant(self, where: str, value: Any) -> datetime | None:
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                self.fail(where, f"{value!r} is not an ISO 8601 date-time")
                return None
        if parsed.tzinfo is None:
            self.fail(where, f"{value!r} needs a UTC offset or Z")
            return None
        return parsed.astimezone(UTC)

    def unique(self, where: str, seen: set, value: Any, what: str) -> None:
        if not isinstance(value, Hashable):
            return  # not an id at all (a list, a mapping): ident() or the caller says so
        if value in seen:
            self.fail(where, f"duplicate {what} {value!r}")
        seen.add(value)

    def items(self, doc: dict, key: str) -> list[tuple[str, dict]]:
        value = doc.get(key) or []
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return []
        out = []
        for i, entry in enumerate(value):
            label = entry.get("id") if isinstance(entry, dict) and entry.get("id") else i
            if key == "hotlines" and isinstance(entry, dict) and entry.get("number"):
                label = entry.get("id") or entry["number"]
            out.append((f"{key}[{label}]", entry))
        return out


def parse_period(check: Checker, where: str, value: Any) -> str | None:
    """A period as its canonical text ('1w'), or None after recording the problem."""
    try:
        return str(Period.parse(str(value)))
    except (ValueError, TypeError) as exc:
        check.fail(where, f"bad period {value!r}: {exc}")
        return None


def parse_window(check: Checker, where: str, value: Any) -> dict | None:
    """A window in canonical dict form, or None after recording the problem."""
    try:
        return Window.parse(value).to_dict()
    except (ValueError, TypeError, AttributeError) as exc:
        check.fail(where, f"bad window: {exc}")
        return None


class Names(frozenset):
    """Ids defined in the file; a value that cannot be an id (a list, a mapping) is not one."""

    def __contains__(self, value: object) -> bool:
        try:
            return super().__contains__(value)
        except TypeError:  # unhashable: a broken file, reported by the caller as unknown
            return False
