"""Named values the scheduler keeps between ticks (JobState rows), safe under concurrent ticks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceline.models.jobs import JobState


def get_state(session: Session, name: str) -> dict[str, Any]:
    """The stored value of `name`, or an empty dict."""
    row = session.get(JobState, name)
    return dict(row.value) if row is not None else {}


def set_state(session: Session, name: str, value: dict[str, Any], at: datetime) -> None:
    """Store `value` under `name` (insert or update; a concurrent insert is absorbed)."""
    row = session.get(JobState, name)
    if row is None:
        try:
            with session.begin_nested():
                session.add(JobState(name=name, value=value, updated_at=at))
            return
        except IntegrityError:
            row = session.get(JobState, name, populate_existing=True)
            assert row is not None  # the insert that won the race
    row.value, row.updated_at = value, at
