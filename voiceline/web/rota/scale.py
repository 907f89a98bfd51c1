"""The timeline's geometry: instants to percentages, ticks that stay readable, colours, labels.

Widths are decided on the server for the narrowest the timeline gets (its CSS min-width), so a
label shown is never cut to a few letters: a block too narrow for its label shows none and its
shift is listed in the row's list below (rota-timeline.js re-checks in the browser).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from voiceline.instants import iso_z

COLOURS = 12
LABEL_REM = 9  # .tl-label's width
CHAR_PX = 6.6  # an upper bound of one character at the blocks' font size (0.75em of 15px)
REM = 16


def min_width_rem(days: int) -> int:
    """The timeline's min-width (the page scrolls it in its own box below that)."""
    return 40 if days <= 7 else 56


def track_px(days: int) -> float:
    """The narrowest the track (the timeline minus the label column) ever is, in pixels."""
    return (min_width_rem(days) - LABEL_REM) * REM


def colour(person: str | None) -> str:
    """A person's colour class, the same on every page and range (a hash of the id)."""
    if person is None:
        return "gap"
    return f"c{zlib.crc32(person.encode()) % COLOURS}"


def fits(label: str, width_percent: float, days: int) -> bool:
    """True when `label` fits whole into a block `width_percent` wide at the narrowest track."""
    return width_percent / 100 * track_px(days) >= len(label) * CHAR_PX + 8


@dataclass
class Tick:
    """A tick line at `left` percent; `label` is shown when set; `day` links a day's zoom."""

    left: float
    major: bool
    label: str = ""
    day: str = ""


@dataclass
class Block:
    """One coloured stretch of a timeline row, placed in percent of the range."""

    left: float
    width: float
    label: str
    title: str
    css: str
    start: str  # ISO Z, for the shift's page
    end: str
    people: tuple[str, ...] = ()
    show_label: bool = True


class Scale:
    """Maps instants of [start, end) to percentages of the timeline's width."""

    def __init__(self, start: datetime, end: datetime, zone: ZoneInfo):
        self.start, self.end, self.zone = start, end, zone
        self.total = (end - start).total_seconds()
        self.days = max(round(self.total / 86400), 1)

    def percent(self, instant: datetime) -> float | None:
        """Where `instant` sits, or None outside the range."""
        if not self.start <= instant < self.end:
            return None
        return round((instant - self.start).total_seconds() / self.total * 100, 4)

    def span_text(self, lo: datetime, hi: datetime) -> str:
        """ "Mon 05 Jan 09:00 – Mon 12 Jan 09:00 (Asia/Tokyo)": start, end and zone."""
        a, b = lo.astimezone(self.zone), hi.astimezone(self.zone)
        return f"{a:%a %d %b %H:%M} – {b:%a %d %b %H:%M} ({self.zone.key})"

    def block(self, lo: datetime, hi: datetime, label: str, css: str,
              people: tuple[str, ...] = ()) -> Block:
        """A block for [lo, hi) cut to the range; its hover text says start, end and zone."""
        title = f"{label}: {self.span_text(lo, hi)}"
        lo, hi = max(lo, self.start), min(hi, self.end)
        left = (lo - self.start).total_seconds() / self.total * 100
        width = (hi - lo).total_seconds() / self.total * 100
        return Block(round(left, 4), round(width, 4), label, title, css, iso_z(lo) or "",
                     iso_z(hi) or "", people, fits(label, width, self.days))

    def _every(self) -> tuple[int, int, str]:
        """(minor tick hours, labelled-hour step, day label format) for the range's length."""
        if self.days <= 1:
            return 1, 2, "%a %d %b"
        if self.days <= 3:
            return 3, 6, "%a %d %b"
        if self.days <= 7:
            return 6, 12, "%a %d"
        return 12, 0, "%a %d"

    def ticks(self) -> list[Tick]:
        """Local midnights (labelled, or only Mondays past two weeks) and hour ticks between."""
        minor, labelled, day_fmt = self._every()
        out: list[Tick] = []
        day = self.start.astimezone(self.zone).date()
        while True:
            midnight = datetime.combine(day, time(0), self.zone)
            if midnight >= self.end:
                return out
            left = self.percent(midnight)
            if left is not None:
                show = self.days <= 14 or day.weekday() == 0
                out.append(Tick(left, True, f"{midnight:{day_fmt}}" if show else "",
                                day.isoformat()))
            for hour in range(minor, 24, minor):
                instant = datetime.combine(day, time(hour), self.zone)
                spot = self.percent(instant)
                if spot is not None and instant.astimezone(self.zone).hour == hour:
                    text = f"{hour:02d}:00" if labelled and hour % labelled == 0 else ""
                    out.append(Tick(spot, False, text))
            day += timedelta(days=1)
