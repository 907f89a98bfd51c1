"""Rota history: every committed change to what decides who is on duty is kept as a state.

A session hook notes the rotas whose rows (the rota, its layers, versions, overrides) a
flush touched; before the commit each such rota's state is written to `rota_states` when
it differs from the last one. Whatever wrote the change (UI, API, import, swaps, undo),
`rota_as_of(session, rota_id, T)` then gives the rota as it stood at T.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.instants import iso_z, parse_instant, utcnow
from voiceline.oncall.store import load_rotas, rota_to_engine
from voiceline.rota import Layer, LayerVersion, Override, Period, Rota, Window, on_duty, shifts

_TOUCHED = "voiceline.rotas_touched"


def state_of(rota: m.Rota) -> dict[str, Any]:
    """The engine-relevant content of a stored rota as JSON."""
    engine = rota_to_engine(rota)
    return {"timezone": engine.timezone,
            "layers": [{"id": layer.id, "priority": layer.priority, "versions": [
                {"members": list(v.members), "anchor": v.anchor.isoformat(),
                 "period": str(v.period), "windows": [w.to_dict() for w in v.windows],
                 "valid_from": iso_z(v.valid_from), "valid_until": iso_z(v.valid_until),
                 "priority": v.priority, "timezone": v.timezone} for v in layer.versions]}
                for layer in engine.layers],
            "overrides": [{"id": o.id, "kind": o.kind, "person": o.person, "replaces": o.replaces,
                           "start": iso_z(o.start), "end": iso_z(o.end)} for o in engine.overrides]}


def state_to_engine(rota_id: str, state: dict[str, Any]) -> Rota:
    """A recorded state as an engine Rota."""
    def instant(text: str | None) -> datetime | None:
        return parse_instant(text) if text else None
    layers = tuple(Layer(layer["id"], layer["priority"], tuple(
        LayerVersion(tuple(v["members"]), datetime.fromisoformat(v["anchor"]),
                     Period.parse(v["period"]), tuple(Window.parse(w) for w in v["windows"]),
                     instant(v["valid_from"]), instant(v["valid_until"]), v["priority"],
                     v["timezone"]) for v in layer["versions"])) for layer in state["layers"])
    overrides = tuple(Override(start=instant(o["start"]), end=instant(o["end"]),  # type: ignore[arg-type]
                               kind=o["kind"], person=o["person"], replaces=o["replaces"], id=o["id"])
                      for o in state["overrides"])
    return Rota(rota_id, state["timezone"], layers, overrides)


def _rota_id(obj: object) -> str | None:
    if isinstance(obj, m.Rota):
        return obj.id
    if isinstance(obj, m.Layer | m.Override):
        return obj.rota_id
    if isinstance(obj, m.LayerVersion):
        return obj.layer.rota_id if obj.layer is not None else None
    return None


def _note(session: Session, flush_context, instances=None) -> None:
    touched = session.info.setdefault(_TOUCHED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        rota_id = _rota_id(obj)
        if rota_id and rota_id not in touched:
            touched.add(rota_id)
            _baseline(session, rota_id)


def _baseline(session: Session, rota_id: str) -> None:
    """A rota stored before history was kept gets its stored state as a first record (from
    its creation), read from the database before this flush writes the change."""
    known = session.scalar(select(m.RotaState.id).where(m.RotaState.rota_id == rota_id).limit(1))
    if known is not None:
        return
    with Session(bind=session.connection()) as before:
        rota = before.get(m.Rota, rota_id)
        if rota is None:
            return
        state = state_of(rota)
        created = rota.created_at
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    session.add(m.RotaState(rota_id=rota_id, recorded_at=created, digest=digest, state=state,
                            actor="", action="baseline"))


def _record(session: Session) -> None:
    # Flushed first (the commit would flush next anyway): changes still pending at the commit
    # are noted by _note like those flushed before.
    session.flush()
    if not session.info.get(_TOUCHED):
        return
    touched = session.info.pop(_TOUCHED, set())
    for rota_id in sorted(touched):
        rota = session.get(m.Rota, rota_id)
        if rota is None:
            continue
        session.expire(rota)
        state = state_of(rota)
        digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
        last = session.scalar(select(m.RotaState.digest).where(m.RotaState.rota_id == rota_id)
                              .order_by(m.RotaState.id.desc()).limit(1))
        if last != digest:
            session.add(m.RotaState(rota_id=rota_id, recorded_at=utcnow(), digest=digest,
                                    state=state, actor=str(session.info.get("actor", ""))[:200],
                                    action=str(session.info.get("action", ""))[:64]))
    session.flush()
    for key in (_TOUCHED, "actor", "action"):
        session.info.pop(key, None)


def _forget(session: Session, previous_transaction) -> None:
    """A rolled-back transaction's touched rotas, actor and action go with it (a later commit
    in the same session must not record them)."""
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        for key in (_TOUCHED, "actor", "action"):
            session.info.pop(key, None)


def init_history() -> None:
    """Install the hooks on every Session (once)."""
    if not event.contains(Session, "before_flush", _note):
        event.listen(Session, "before_flush", _note)
        event.listen(Session, "before_commit", _record)
        event.listen(Session, "after_soft_rollback", _forget)


def rota_as_of(session: Session, rota_id: str, at: datetime) -> tuple[Rota, datetime] | None:
    """The rota as it stood at `at` and when that state was recorded (None: no record so early)."""
    row = session.scalar(select(m.RotaState).where(m.RotaState.rota_id == rota_id,
                                                   m.RotaState.recorded_at <= at)
                         .order_by(m.RotaState.recorded_at.desc(), m.RotaState.id.desc()).limit(1))
    if row is None:
        return None
    return state_to_engine(rota_id, row.state), row.recorded_at


@dataclass(frozen=True)
class DutyThenAndNow:
    """One rota at a past instant: who it put on duty as it stood then, and as it stands now."""

    rota: str
    then: tuple[str, ...] | None  # None: no recorded state that early
    now: tuple[str, ...]
    recorded_at: datetime | None

    @property
    def same(self) -> bool:
        """Whether today's rota says the same as the rota of the time."""
        return self.then is not None and set(self.then) == set(self.now)


def duty_then_and_now(session: Session, policy_id: str | None, at: datetime) -> list[DutyThenAndNow]:
    """For each rota of a policy: who was supposed to be on duty at `at`, by the rota as it stood
    then and by the rota as it stands now (a later edit of the past shows as a difference)."""
    if not policy_id:
        return []
    policy = session.get(m.Policy, policy_id)
    if policy is None:
        return []
    rota_ids = list(dict.fromkeys(r for step in policy.steps for r in step.rotas))
    current = load_rotas(session, rota_ids)
    out = []
    for rota_id in rota_ids:
        stood = rota_as_of(session, rota_id, at)
        now = on_duty(current[rota_id], at).people if rota_id in current else ()
        then = on_duty(stood[0], at).people if stood else None
        out.append(DutyThenAndNow(rota_id, then, now, stood[1] if stood else None))
    return out


@dataclass(frozen=True)
class DutyChange:
    """A range where two versions of a rota put different people on duty."""

    start: datetime
    end: datetime
    before: tuple[str, ...]
    after: tuple[str, ...]


def duty_diff(before: Rota, after: Rota, start: datetime, end: datetime) -> list[DutyChange]:
    """Where `after` puts other people on duty than `before` within [start, end), merged."""
    a, b = shifts(before, start, end), shifts(after, start, end)
    points = sorted({s.start for s in a} | {s.start for s in b} | {end})
    out: list[DutyChange] = []
    for lo, hi in zip(points, points[1:], strict=False):
        was = next(s.people for s in a if s.start <= lo < s.end)
        now = next(s.people for s in b if s.start <= lo < s.end)
        if set(was) == set(now):
            continue
        if out and out[-1].end == lo and out[-1].before == was and out[-1].after == now:
            out[-1] = DutyChange(out[-1].start, hi, was, now)
        else:
            out.append(DutyChange(lo, hi, was, now))
    return out


def changes_between(session: Session, rota_id: str, lo: datetime, hi: datetime) -> list[m.RotaState]:
    """The recorded states of a rota written in (lo, hi]: who changed it, when, by which action."""
    if hi < lo:
        lo, hi = hi, lo
    return list(session.scalars(select(m.RotaState).where(
        m.RotaState.rota_id == rota_id, m.RotaState.recorded_at > lo,
        m.RotaState.recorded_at <= hi).order_by(m.RotaState.recorded_at, m.RotaState.id)))


@dataclass(frozen=True)
class HistoryDiff:
    """A rota between two instants: its state at the first, the changes recorded up to the
    second, and where the rota at the first and at the second put different people on duty."""

    stood: Rota
    recorded_at: datetime
    later: Rota
    changes: list[m.RotaState]
    duty: list[DutyChange]


def diff_between(session: Session, rota: m.Rota, as_of: datetime, compare: datetime,
                 start: datetime, end: datetime, now: datetime | None = None) -> HistoryDiff | None:
    """The rota as it stood at `as_of` against the rota at `compare` (the rota as it stands at
    `now` or later), duty compared within [start, end); None before its first recorded state."""
    now = now or utcnow()
    stood = rota_as_of(session, rota.id, as_of)
    if stood is None:
        return None
    if compare >= now:
        later = rota_to_engine(rota)
    else:
        found = rota_as_of(session, rota.id, compare)
        later = found[0] if found else rota_to_engine(rota)
    return HistoryDiff(stood[0], stood[1], later, changes_between(session, rota.id, as_of, compare),
                       duty_diff(stood[0], later, start, end))
