"""The IANA time-zone list for zone pickers, grouped by region (the part before the first /)."""

from __future__ import annotations

from functools import cache
from itertools import groupby
from zoneinfo import available_timezones

from flask import Flask


@cache
def iana_zones() -> list[tuple[str, list[str]]]:
    """[(region, [zone, ...]), ...] sorted; zones without a region (UTC) under "Other"."""
    names = sorted(z for z in available_timezones() if not z.startswith(("Etc/", "SystemV/")))
    def region(name: str) -> str:
        return name.split("/", 1)[0] if "/" in name else "Other"
    return [(key, list(group)) for key, group in groupby(sorted(names, key=region), key=region)]


def register(app: Flask) -> None:
    """`iana_zones()` in every template."""
    app.add_template_global(iana_zones, "iana_zones")
