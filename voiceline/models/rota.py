"""Rotas, their versioned layers, overrides, swaps and escalation policies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voiceline.db import Base, UTCDateTime
from voiceline.instants import utcnow


class Rota(Base):
    """A schedule of responders in one time zone."""

    __tablename__ = "rotas"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    # clock work: opt-in reachability check N minutes before a handoff
    reachability_minutes: Mapped[int | None] = mapped_column()
    notify_outgoing: Mapped[bool] = mapped_column(Boolean, default=False)
    # coverage rules: {"min_people", "max_shift_hours", "min_rest_hours"} (oncall/coverage_rules.py)
    coverage: Mapped[dict | None] = mapped_column(JSON)
    swap_approval: Mapped[bool] = mapped_column(Boolean, default=False)  # a manager approves swaps
    # the two-person rule: an edit through the UI or API waits for a second person's approval
    two_person: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    layers: Mapped[list[Layer]] = relationship(
        back_populates="rota", cascade="all, delete-orphan", order_by="Layer.position"
    )
    overrides: Mapped[list[Override]] = relationship(
        back_populates="rota", cascade="all, delete-orphan", order_by="Override.start"
    )


class Layer(Base):
    """A rotation within a rota; its content lives in versions."""

    __tablename__ = "layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    rota_id: Mapped[str] = mapped_column(ForeignKey("rotas.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[int] = mapped_column(default=0)

    rota: Mapped[Rota] = relationship(back_populates="layers")
    versions: Mapped[list[LayerVersion]] = relationship(
        back_populates="layer", cascade="all, delete-orphan", order_by="LayerVersion.id"
    )


class LayerVersion(Base):
    """One version of a layer, valid over [valid_from, valid_until) in UTC; past ones never change."""

    __tablename__ = "layer_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"), index=True)
    members: Mapped[list[str | None]] = mapped_column(JSON)  # person ids; null = empty slot
    anchor: Mapped[str] = mapped_column(String(19))  # local ISO date-time "2026-01-05T09:00"
    period: Mapped[str] = mapped_column(String(16))  # "12h", "1d", "1w", "1mo"
    windows: Mapped[list[dict]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Versioned like the rest (null: the layer's priority / the rota's zone, rows from before 0011)
    priority: Mapped[int | None] = mapped_column()
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))

    layer: Mapped[Layer] = relationship(back_populates="versions")


class RotaState(Base):
    """What decided who is on duty in a rota from `recorded_at` on: a snapshot per change.

    Written by every committed change to a rota, its layers, versions or overrides (whatever
    wrote it), so the rota can be read as it stood at any past instant. Append-only; no
    foreign key, so a deleted rota's history stays.
    """

    __tablename__ = "rota_states"
    __table_args__ = (Index("ix_rota_states_rota_recorded", "rota_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rota_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64), default="")
    digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict] = mapped_column(JSON)


class Proposal(Base):
    """An edit of a rota under the two-person rule, waiting for a second person's approval.

    `edit` is the edit as data (oncall/proposals.py replays it when approved); `base_digest`
    and `base_state` are the rota's state (oncall.history.state_of) it was proposed against.
    """

    __tablename__ = "rota_proposals"
    __table_args__ = (Index("ix_rota_proposals_rota_status", "rota_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rota_id: Mapped[str] = mapped_column(ForeignKey("rotas.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # layer.create, override.delete, rota.put, ...
    edit: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(String(200))  # the audit actor, user:NAME
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    via: Mapped[str] = mapped_column(String(8), default="web")  # web | api
    base_digest: Mapped[str] = mapped_column(String(64))
    base_state: Mapped[dict] = mapped_column(JSON)
    # open | approved | rejected | withdrawn | stale (no longer applies; `reason` says why)
    status: Mapped[str] = mapped_column(String(12), default="open")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")


class Override(Base):
    """A UTC range that adds, removes or replaces a person in a rota."""

    __tablename__ = "overrides"
    __table_args__ = (Index("ix_overrides_rota_range", "rota_id", "start", "end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rota_id: Mapped[str] = mapped_column(ForeignKey("rotas.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # add | remove | replace
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))  # added / removed / the one taking over
    replaces_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))

    rota: Mapped[Rota] = relationship(back_populates="overrides")


class Swap(Base):
    """A responder offers a range of their duty; when taken it becomes a replace override."""

    __tablename__ = "swaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    rota_id: Mapped[str] = mapped_column(ForeignKey("rotas.id", ondelete="CASCADE"), index=True)
    offered_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    taken_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    offered_to: Mapped[str | None] = mapped_column(ForeignKey("people.id"))  # None: anyone may take it
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    # open | pending (taken, waiting for a manager's approval) | taken | refused | cancelled
    status: Mapped[str] = mapped_column(String(12), default="open")
    decided_by: Mapped[str | None] = mapped_column(String(64))  # who approved or refused it
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    override_id: Mapped[int | None] = mapped_column(ForeignKey("overrides.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Policy(Base):
    """An escalation policy: ordered steps, repeated `repeat` more times."""

    __tablename__ = "policies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    repeat: Mapped[int] = mapped_column(default=0)
    # how a step rings: "dial" (one <Dial> of <Number>s) or "conference" (the caller waits in a
    # conference, responders are called through the REST API; needs Twilio credentials)
    ring: Mapped[str] = mapped_column(String(12), default="dial", server_default="dial")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    steps: Mapped[list[PolicyStep]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="PolicyStep.position"
    )


class PolicyStep(Base):
    """One escalation step: rotas and/or named people rung for `ring_seconds`."""

    __tablename__ = "policy_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    rotas: Mapped[list[str]] = mapped_column(JSON, default=list)
    people: Mapped[list[str]] = mapped_column(JSON, default=list)
    ring_seconds: Mapped[int] = mapped_column(default=25)
    coverage: Mapped[dict | None] = mapped_column(JSON)  # coverage rules, as on a rota

    policy: Mapped[Policy] = relationship(back_populates="steps")
