"""The call log: one record per call, its legs (responders rung) and its event timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voiceline.db import Base, UTCDateTime
from voiceline.instants import utcnow

OUTCOMES = ("answered", "voicemail", "missed", "rejected", "abandoned", "failed")


class Call(Base):
    """One inbound hotline call (idempotent on Twilio's CallSid)."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started_id", "started_at", "id"),
        Index("ix_calls_outcome_started", "outcome", "started_at"),
        Index("ix_calls_hotline_started", "hotline_id", "started_at"),
        Index("ix_calls_caller_started", "caller_id", "started_at"),
        Index("ix_calls_answered_by_started", "answered_by", "started_at"),
        Index("ix_calls_duress_started", "duress", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    hotline_id: Mapped[str | None] = mapped_column(ForeignKey("hotlines.id", ondelete="SET NULL"))
    to_number: Mapped[str] = mapped_column(String(32), default="")
    from_number: Mapped[str] = mapped_column(String(64), default="")  # as Twilio sent it
    caller_id: Mapped[str | None] = mapped_column(ForeignKey("callers.id", ondelete="SET NULL"))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # STIR/SHAKEN as Twilio reported it (TN-Validation-Passed-A, No-TN-Validation, ...): shown to
    # reviewers and in the whisper, never a substitute for the caller policy
    stir_verstat: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[int | None] = mapped_column()  # 1 urgent, 2 routine
    duress: Mapped[bool] = mapped_column(Boolean, default=False)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)  # a scheduled line test
    state: Mapped[str] = mapped_column(String(24), default="new")  # where the call is in the flow
    step: Mapped[int | None] = mapped_column()  # current escalation step (1-based)
    round: Mapped[int] = mapped_column(default=0)  # 0 = first pass, then repeats
    pin_attempts: Mapped[int] = mapped_column(default=0)
    # added by the call flow: the dial group within a step (routine rings one responder per
    # group; -1-g rings again whoever group g's first pick-up cut short, calls/rering.py) and
    # the newest parent-call status SequenceNumber folded in
    dial_group: Mapped[int] = mapped_column(default=0)
    last_sequence: Mapped[int] = mapped_column(default=-1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    answered_by: Mapped[str | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    duration_seconds: Mapped[int | None] = mapped_column()
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    recording_url: Mapped[str | None] = mapped_column(Text)
    recording_seconds: Mapped[int | None] = mapped_column()
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # geo fields, StirVerstat, CallToken...

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallEvent.id"
    )
    legs: Mapped[list[CallLeg]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallLeg.id"
    )


class CallLeg(Base):
    """One responder rung for a call (a <Number> child of a <Dial>)."""

    __tablename__ = "call_legs"
    # who is on a live call now (calls/busy.py): a person's legs that have not ended
    __table_args__ = (Index("ix_call_legs_person_ended", "person_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)  # child CallSid once known
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(20))
    step: Mapped[int] = mapped_column()
    round: Mapped[int] = mapped_column(default=0)
    dial_group: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="ringing")
    # conference mode: "ring" (a step's responder), "colleague" (brought in by a responder),
    # "listen" (a supervisor listening muted); dial-mode legs are all "ring"
    purpose: Mapped[str] = mapped_column(String(12), default="ring", server_default="ring")
    screen: Mapped[str | None] = mapped_column(String(12))  # accepted | declined | silent
    last_sequence: Mapped[int] = mapped_column(default=-1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="legs")


class CallEvent(Base):
    """One entry of a call's timeline; `dedupe_key` makes a repeated callback a no-op."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # greeted, pin_ok, step_rang, leg_result, ...
    step: Mapped[int | None] = mapped_column()
    person_id: Mapped[str | None] = mapped_column(String(64))
    leg_sid: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    call: Mapped[Call] = relationship(back_populates="events")


class PinLockout(Base):
    """Failed PIN tries per bucket: a calling number, or "caller:<id>" (any numbers claiming it)."""

    __tablename__ = "pin_lockouts"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the flow's `at`


class CallPacing(Base):
    """The next instant a REST call may be placed (one row per account): every worker and server
    reserves its calls.create slot here, so together they keep to the calls-per-second limit."""

    __tablename__ = "call_pacing"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
