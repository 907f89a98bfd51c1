"""What an edit does to who is on duty, before it is saved: every instant of the next 14 days
at which the final schedule's duty changes, from whom to whom (and who today's schedule has
then). Used by the layer form's preview and by the two-person rule's proposals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from voiceline.rota import Rota, on_duty, shifts

PREVIEW_DAYS = 14
SHOWN = 40


@dataclass
class Change:
    """At `at` duty passes from `before` to `after`; `was` is who the current schedule has then."""

    at: datetime
    before: tuple[str, ...]
    after: tuple[str, ...]
    was: tuple[str, ...]

    @property
    def differs(self) -> bool:
        """True when the edit changes who is on duty from this instant."""
        return set(self.after) != set(self.was)


def duty_changes(old: Rota, new: Rota, at: datetime, days: int = PREVIEW_DAYS) -> list[Change]:
    """Each instant of [at, at + days) where `new`'s duty changes (at most SHOWN of them)."""
    segments = shifts(new, at, at + timedelta(days=days))
    out = [Change(seg.start, before.people, seg.people, on_duty(old, seg.start).people)
           for before, seg in zip(segments, segments[1:], strict=False)]
    return out[:SHOWN]
