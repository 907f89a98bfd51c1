"""Words for times on the rota pages: "19:00 (in 4 h)", next changes, links to an instant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for

from voiceline.instants import iso_z


def in_words(delta: timedelta) -> str:
    """A duration ahead as people say it: "in 35 min", "in 4 h", "in 2 h 15 min", "in 3 days"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 1:
        return "now"
    if minutes < 60:
        return f"in {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"in {hours} h" if rest == 0 or hours >= 10 else f"in {hours} h {rest} min"
    days = round(minutes / 1440)
    return f"in {days} days"


def clock(instant: datetime, at: datetime, zone: ZoneInfo) -> str:
    """The wall-clock time of `instant` in `zone`, with the day only when it is not `at`'s day."""
    local, today = instant.astimezone(zone), at.astimezone(zone)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if timedelta(0) <= local - today < timedelta(days=6):
        return f"{local:%a %H:%M}"
    return f"{local:%a %d %b %H:%M}"


def until_text(instant: datetime | None, at: datetime, zone: ZoneInfo) -> str:
    """ "19:00 (in 4 h)", or "no change ahead" when nothing changes."""
    if instant is None:
        return "no change ahead"
    return f"{clock(instant, at, zone)} ({in_words(instant - at)})"


def rota_at_url(rota_id: str, instant: datetime, zone: ZoneInfo, end: datetime | None = None) -> str:
    """The rota's timeline around `instant`: that local day (a week for a long stretch), marked."""
    long = end is not None and end - instant > timedelta(hours=20)
    day = instant.astimezone(zone).date().isoformat()
    args: dict[str, Any] = {"weeks": 1} if long else {"days": 1}
    return url_for("rota.rota", rota_id=rota_id, start=day, mark=iso_z(instant),
                   **args) + "#timeline"
