"""Clock work: on-duty history, reachability checks, line tests and the scheduler's own state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voiceline.db import Base, UTCDateTime
from voiceline.instants import utcnow


class DutyRecord(Base):
    """One continuous stretch of a person on duty in a rota, as the ticks saw it."""

    __tablename__ = "duty_history"
    __table_args__ = (
        UniqueConstraint("rota_id", "person_id", "start"),
        Index("ix_duty_history_rota_end", "rota_id", "end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rota_id: Mapped[str] = mapped_column(ForeignKey("rotas.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(String(64))  # no FK: history outlives a person's removal
    start: Mapped[datetime] = mapped_column(UTCDateTime)  # the shift's own start, not the tick's
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while on duty
    announced: Mapped[bool] = mapped_column(default=False)  # False: found stale, recorded silently
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # tick that saw the start
    ended_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # tick that saw the end


class ReachabilityCheck(Base):
    """A "press 1 to confirm" call to an incoming responder before their shift."""

    __tablename__ = "reachability_checks"
    __table_args__ = (UniqueConstraint("rota_id", "person_id", "shift_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rota_id: Mapped[str] = mapped_column(ForeignKey("rotas.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(String(64))
    shift_start: Mapped[datetime] = mapped_column(UTCDateTime)
    # pending (queued) | held (no credentials) | calling | confirmed | unconfirmed | failed | skipped
    status: Mapped[str] = mapped_column(String(12), default="pending")
    outbox_key: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    call_sid: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)


class LineTest(Base):
    """A scheduled test call into a hotline and whether it arrived."""

    __tablename__ = "line_tests"
    __table_args__ = (UniqueConstraint("hotline_id", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hotline_id: Mapped[str] = mapped_column(ForeignKey("hotlines.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20))  # the hotline number called
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the interval slot
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # Twilio accepted the call
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # /voice/incoming saw it
    call_sid: Mapped[str | None] = mapped_column(String(64))  # the inbound call's sid
    # pending (queued or ringing) | held (no credentials) | ok | failed | expired
    status: Mapped[str] = mapped_column(String(12), default="pending")
    outbox_key: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str | None] = mapped_column(Text)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobState(Base):
    """Small named values the scheduler keeps between ticks (coverage fingerprint, last tick)."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CoverageGap(Base):
    """A coverage gap the managers were told about; `key` makes each gap alerted once."""

    __tablename__ = "coverage_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    rota_id: Mapped[str | None] = mapped_column(String(64))
    policy_id: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[int | None] = mapped_column()
    start: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: began before the scan window
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: lasts past the scan window
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
