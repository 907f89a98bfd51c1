"""Instants for the whole house: the current time, one ISO 8601 UTC format with a Z, and the
bounded parser every outside value goes through."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


# The instants the house accepts from outside (query strings, forms, the CLI). Wide enough for
# any real call log or rota, narrow enough that every range built from them (+ days, a zone's
# offset, a rota's shifts) stays far from datetime's year 1 and year 9999 edges.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive


class InstantRangeError(ValueError):
    """A well-formed date or time outside [EARLIEST, LATEST); its message says the range."""

    def __init__(self, text: str):
        super().__init__(f"{text!r} is out of range: from {EARLIEST:%Y-%m-%d} to "
                         f"{LATEST - timedelta(days=1):%Y-%m-%d} (UTC)")


def iso_z(instant: datetime | None) -> str | None:
    """An instant as ISO 8601 UTC with a Z, seconds precision (the year always 4 digits)."""
    if instant is None:
        return None
    # Not strftime("%Y"): it does not zero-pad years before 1000 on every platform.
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def bounded(value: datetime, text: str = "") -> datetime:
    """`value` (aware) as UTC when it lies in [EARLIEST, LATEST), else InstantRangeError."""
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise InstantRangeError(text or str(value)) from None
    if not EARLIEST <= value < LATEST:
        raise InstantRangeError(text or str(iso_z(value)))
    return value


def local_day_start(day: date, zone: str | tzinfo, plus_days: int = 0) -> datetime:
    """The UTC instant a local day (plus `plus_days`) begins in `zone`; InstantRangeError outside
    the house's range."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    try:
        day = day + timedelta(days=plus_days)
    except OverflowError:
        raise InstantRangeError(day.isoformat()) from None
    return bounded(datetime.combine(day, time(0), tzinfo=tz), day.isoformat())


def parse_instant(text: str, default_zone: str | tzinfo = "UTC") -> datetime:
    """Parse ISO 8601; a value without offset is taken in `default_zone`. Returns aware UTC.

    ValueError when it is not ISO 8601; InstantRangeError (a ValueError) when it lies outside
    [EARLIEST, LATEST).
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        zone = ZoneInfo(default_zone) if isinstance(default_zone, str) else default_zone
        value = value.replace(tzinfo=zone)
    return bounded(value, text.strip())


def known_zone(name: str | None) -> str | None:
    """`name` if it is a known IANA zone (at most 64 characters), else None."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = (name or "").strip()[:64]
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name
