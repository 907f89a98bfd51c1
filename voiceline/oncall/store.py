"""Load rotas and policies from the database into the pure engine's values (outside the pure rota/ package)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from voiceline import models as m
from voiceline.rota import (
    Layer,
    LayerVersion,
    Override,
    Period,
    Policy,
    PolicyStep,
    Rota,
    Window,
)
from voiceline.rota.model import OverrideKind


def version_to_engine(row: m.LayerVersion) -> LayerVersion:
    """One stored layer version as an engine value."""
    return LayerVersion(
        members=tuple(row.members),
        anchor=datetime.fromisoformat(row.anchor),
        period=Period.parse(row.period),
        windows=tuple(Window.parse(w) for w in row.windows or ()),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        priority=row.priority,
        timezone=row.timezone,
    )


def layer_to_engine(row: m.Layer) -> Layer:
    """A stored layer with all its versions."""
    versions = sorted(row.versions, key=lambda v: (v.valid_from is not None, v.valid_from or 0))
    return Layer(id=str(row.id), priority=row.priority,
                 versions=tuple(version_to_engine(v) for v in versions))


def override_to_engine(row: m.Override) -> Override:
    """A stored override as an engine value."""
    return Override(start=row.start, end=row.end, kind=cast(OverrideKind, row.kind),
                    person=row.person_id,
                    replaces=row.replaces_id, id=str(row.id))


def rota_to_engine(row: m.Rota) -> Rota:
    """A stored rota with layers and overrides."""
    return Rota(
        id=row.id, timezone=row.timezone,
        layers=tuple(layer_to_engine(layer) for layer in row.layers),
        overrides=tuple(override_to_engine(o) for o in row.overrides),
    )


def load_rotas(session: Session, ids: Iterable[str] | None = None) -> dict[str, Rota]:
    """Every rota (or those named), keyed by id, ready for engine queries."""
    query = select(m.Rota).options(
        selectinload(m.Rota.layers).selectinload(m.Layer.versions),
        selectinload(m.Rota.overrides),
    ).order_by(m.Rota.id)
    if ids is not None:
        query = query.where(m.Rota.id.in_(list(ids)))
    return {row.id: rota_to_engine(row) for row in session.scalars(query)}


def policy_to_engine(row: m.Policy) -> Policy:
    """A stored escalation policy as an engine value."""
    return Policy(
        id=row.id, repeat=row.repeat, ring=row.ring or "dial",
        steps=tuple(PolicyStep(rotas=tuple(s.rotas), people=tuple(s.people),
                               ring_seconds=s.ring_seconds) for s in row.steps),
    )


def load_policy(session: Session, policy_id: str) -> tuple[Policy, dict[str, Rota]] | None:
    """A policy and the rotas its steps name, or None when the policy does not exist."""
    row = session.scalar(select(m.Policy).options(selectinload(m.Policy.steps))
                         .where(m.Policy.id == policy_id))
    if row is None:
        return None
    names = {rota for step in row.steps for rota in step.rotas}
    return policy_to_engine(row), load_rotas(session, names)


def load_policies(session: Session) -> dict[str, Policy]:
    """Every escalation policy keyed by id."""
    rows = session.scalars(select(m.Policy).options(selectinload(m.Policy.steps)).order_by(m.Policy.id))
    return {row.id: policy_to_engine(row) for row in rows}
