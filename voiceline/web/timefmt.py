"""Times in the UI: stored in UTC, shown and entered in the viewer's zone.

One rule for every page: the account's zone (set on the Account page, or the browser's zone
stored at the first login), else the linked person's, else UTC. Rota pages alone fall back
to the rota's zone before UTC, and say so beside the first time (`zone_note`). Forms read
in exactly the zone the page shows.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import known_zone


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _choose(fallback: str | None) -> tuple[ZoneInfo, str]:
    from voiceline.web.auth import current_user

    user = current_user()
    candidates = []
    if user is not None:
        candidates.append((user.timezone, "your account's zone"))
        if user.person_id:
            person = appdb.db_session().get(m.Person, user.person_id)
            candidates.append((person.timezone if person else None, "your person's zone"))
    candidates.append((fallback, "the rota's zone: your account has none"))
    for name, source in candidates:
        zone = _zone(name)
        if zone is not None:
            return zone, source
    return ZoneInfo("UTC"), "UTC: your account has no zone"


def viewer_zone(fallback: str | None = None) -> ZoneInfo:
    """The viewer's zone: their own, else their person's, else `fallback` (a rota's), else UTC."""
    return _choose(fallback)[0]


def zone_note(fallback: str | None = None) -> str:
    """The zone times are shown in and why, e.g. "Europe/Paris (your account's zone)"."""
    zone, source = _choose(fallback)
    return f"{zone.key} ({source})"


def valid_zone_name(name: str | None) -> str | None:
    """`name` if it is a known IANA zone, else None (for the browser's zone sent at login)."""
    return known_zone(name)


def local(instant: datetime | None, zone: ZoneInfo | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as text in `zone` (default: the viewer's)."""
    if instant is None:
        return ""
    zone = zone or viewer_zone()
    return instant.astimezone(zone).strftime(fmt)


def to_input(instant: datetime | None, zone: ZoneInfo) -> str:
    """The value of a datetime-local input for `instant` in `zone`."""
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if instant else ""


def from_input(text: str, zone: ZoneInfo) -> datetime:
    """Parse a datetime-local value (wall-clock time in `zone`) to an aware UTC instant.

    ValueError when it is not a date-time; InstantRangeError when it lies outside the house's
    range (its message says so)."""
    from voiceline.instants import parse_instant

    return parse_instant(text, zone)


def register_filters(app: Flask) -> None:
    """Jinja: `{{ instant|local }}` and `{{ viewer_zone() }}`."""
    app.add_template_filter(local, "local")
    app.add_template_global(viewer_zone, "viewer_zone")
    app.add_template_global(zone_note, "zone_note")
