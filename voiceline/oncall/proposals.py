"""The two-person rule: on a rota with `two_person`, an edit made through the UI or the API is
stored as a proposal and takes effect only when a second person approves it.

Every edit path builds its edit as data (`kind` plus a JSON-ready dict) and calls `gate`:
on a rota without the rule it returns None and the view writes the edit as always; with the
rule it stores a `Proposal` (who, when, the edit, the rota's state it was based on) and the
view says so. `approve` replays the edit with `apply_edit`, inside the rota's write lock and
against the rota as it stands then: an edit that no longer applies (its start is now in the
past, its layer or override is gone, the rota file's checks fail) is refused whole (the
transaction is rolled back) and the proposal is marked stale with the reason. `preview`
replays it the same way in a transaction that is thrown away, for the duty changes it makes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import audit
from voiceline import models as m
from voiceline.instants import iso_z, parse_instant
from voiceline.oncall.edit import (
    KnownPeople,
    OverrideIsHistory,
    end_layer,
    lock_rota,
    override_problems,
    retire_override,
    write_layer_edit,
)
from voiceline.oncall.history import state_of
from voiceline.oncall.notify import watch_rotas
from voiceline.oncall.preview import Change, duty_changes
from voiceline.oncall.rules import from_now
from voiceline.oncall.store import rota_to_engine
from voiceline.oncall.versions import (
    change_layer_priority,
    change_point,
    change_rota_zone,
    new_layer_start,
)
from voiceline.rota import Period, Window
from voiceline.rotafile.apply import newest_version
from voiceline.rotafile.check import RotaFileError
from voiceline.rotafile.put import put_entry

OPEN = "open"
STATUSES = ("open", "approved", "rejected", "withdrawn", "stale")


@dataclass(frozen=True)
class Context:
    """Who acts, when, and the settings an edit needs (no Flask here)."""

    actor: str
    now: datetime
    via: str = "web"  # web | api
    region: str = "US"
    notice_days: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # added to the edit's audit entry


class EditRefused(ValueError):
    """The edit cannot be applied to the rota as it stands (the problems say why)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class NotAllowed(PermissionError):
    """This person may not decide this proposal (the message says why)."""


class NotOpen(ValueError):
    """The proposal was decided already."""


def jsonable(value: Any) -> Any:
    """An edit's values as JSON: instants as ISO-Z, a naive local date-time (a layer's anchor)
    as YYYY-MM-DDTHH:MM, tuples as lists, windows as dicts."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M") if value.tzinfo is None else iso_z(value)
    if isinstance(value, Window):
        return value.to_dict()
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _via(ctx: Context) -> dict[str, str]:
    # An edit's audit entry says `via: api` for the API, nothing for the UI (as always).
    return {"via": ctx.via} if ctx.via != "web" else {}


def _digest(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


# Edits that carry a whole state (a layer's, or the rota's settings or file entry) rather than
# one change: replayed after the rota changed, they would silently undo that change.
WHOLE_STATE = frozenset({"layer.update", "rota.update", "rota.put"})
CHANGED_SINCE = ("the rota was changed after this proposal was made, and approving it now would "
                 "undo that change: propose it again from the rota as it stands")


def basis_digest(rota: m.Rota) -> str:
    """What a proposal was based on: the rota's schedule and its settings."""
    settings = {a.key: getattr(rota, a.key) for a in sa_inspect(m.Rota).column_attrs
                if a.key not in ("created_at", "updated_at")}
    return hashlib.sha256(json.dumps({"state": state_of(rota), "settings": settings},
                                     sort_keys=True, default=str).encode()).hexdigest()


# -- the shared pieces of the edit paths (also used by the UI's own writes) -------------------

@overload
def version_summary(v: m.LayerVersion) -> dict: ...
@overload
def version_summary(v: None) -> None: ...
@overload
def version_summary(v: m.LayerVersion | None) -> dict | None: ...
def version_summary(v: m.LayerVersion | None) -> dict | None:
    """A layer version as audited."""
    if v is None:
        return None
    return {"members": v.members, "anchor": v.anchor, "period": v.period, "windows": v.windows,
            "valid_from": v.valid_from, "valid_until": v.valid_until}


def current_version(layer: m.Layer, at: datetime) -> m.LayerVersion | None:
    """The version in force at `at`, else the newest one."""
    for v in layer.versions:
        if (v.valid_from is None or v.valid_from <= at) and (v.valid_until is None or at < v.valid_until):
            return v
    return max(layer.versions, key=lambda v: v.id or 0) if layer.versions else None


def same_content(current: m.LayerVersion | None, changes: dict) -> bool:
    """True when the edit keeps members, anchor, period and windows of the version in force."""
    return current is not None and bool(version_summary(current)) and (
        list(changes["members"]) == current.members
        and changes["anchor"].strftime("%Y-%m-%dT%H:%M") == current.anchor
        and str(changes["period"]) == current.period
        and [w.to_dict() for w in changes["windows"]] == (current.windows or []))


def rota_summary(rota: m.Rota) -> dict:
    """A rota's own settings as audited."""
    return {"name": rota.name, "timezone": rota.timezone,
            "reachability_minutes": rota.reachability_minutes,
            "notify_outgoing": rota.notify_outgoing, "coverage": rota.coverage,
            "swap_approval": rota.swap_approval, "two_person": rota.two_person}


def override_summary(o: m.Override) -> dict:
    """An override as audited."""
    return {"kind": o.kind, "person": o.person_id, "replaces": o.replaces_id,
            "start": o.start, "end": o.end, "note": o.note}


# -- replaying an edit ---------------------------------------------------------------------

def _instant(edit: dict, key: str) -> datetime | None:
    text = edit.get(key)
    if not text:
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise EditRefused([f"{key}: {exc}"]) from None


def _effective(edit: dict, now: datetime) -> datetime | None:
    when = _instant(edit, "effective")
    if when is not None and when < now:
        raise EditRefused([f"effective: {iso_z(when)} is now in the past; the past stays as it "
                           "was recorded"])
    return when


def _layer_changes(session: Session, edit: dict) -> dict[str, Any]:
    members = tuple(edit.get("members") or ())
    unknown = [p for p in members if p is not None and p not in KnownPeople(session)]
    if unknown:
        raise EditRefused([f"members: unknown person {unknown[0]!r}"])
    try:
        return {"members": members, "anchor": datetime.fromisoformat(edit["anchor"]),
                "period": Period.parse(edit["period"]),
                "windows": tuple(Window.parse(w) for w in edit.get("windows") or ())}
    except (KeyError, ValueError) as exc:
        raise EditRefused([f"layer: {exc}"]) from None


def _layer(rota: m.Rota, edit: dict, now: datetime) -> m.Layer:
    layer = next((la for la in rota.layers if la.id == edit.get("layer")), None)
    if layer is None or not any(v.valid_until is None or v.valid_until > now for v in layer.versions):
        raise EditRefused([f"layer {edit.get('layer')}: no longer exists or has ended"])
    return layer


def _layer_create(session: Session, rota: m.Rota, edit: dict, ctx: Context) -> str:
    effective = _effective(edit, ctx.now)
    changes = _layer_changes(session, edit)
    start = new_layer_start(rota, ctx.now, effective)
    assert start is not None  # an existing rota always has a change point
    position = max((la.position for la in rota.layers), default=-1) + 1
    layer = m.Layer(position=position, name=edit.get("name") or "",
                    priority=int(edit.get("priority") or 0))
    rota.layers.append(layer)
    session.flush()
    write_layer_edit(session, rota, layer, at=start, created_by=ctx.actor, **changes)
    audit.record(session, ctx.actor, "layer.create", f"rota {rota.id} layer {layer.id}",
                 **_via(ctx), after=(version_summary(newest_version(layer)) or {})
                 | {"name": layer.name, "priority": layer.priority}, **ctx.extra)
    return f"layer added: it starts {iso_z(start)}"


def _layer_update(session: Session, rota: m.Rota, edit: dict, ctx: Context) -> str:
    layer = _layer(rota, edit, ctx.now)
    effective = _effective(edit, ctx.now)
    changes = _layer_changes(session, edit)
    current = current_version(layer, ctx.now)
    before = (version_summary(current) or {}) | {"name": layer.name, "priority": layer.priority}
    layer.name = edit.get("name") or ""
    messages = []
    if not same_content(current, changes):
        write_layer_edit(session, rota, layer, at=effective or ctx.now, created_by=ctx.actor,
                         **changes)
        messages.append(f"the new version starts {iso_z(newest_version(layer).valid_from)}")
    cut = change_point(rota, ctx.now, effective)
    if change_layer_priority(session, rota, layer, int(edit.get("priority") or 0), cut,
                             ctx.actor[:64]):
        messages.append(f"priority {layer.priority} from {iso_z(cut)}")
    newest = max(layer.versions, key=lambda v: v.valid_from or ctx.now)
    after = (version_summary(newest) or {}) | {"name": layer.name, "priority": layer.priority}
    if after != before:
        audit.record(session, ctx.actor, "layer.update", f"rota {rota.id} layer {layer.id}",
                     **_via(ctx), before=before, after=after, **ctx.extra)
    return "layer saved" + (f": {'; '.join(messages)}" if messages else "")


def _layer_end(session: Session, rota: m.Rota, edit: dict, ctx: Context) -> str:
    layer = _layer(rota, edit, ctx.now)
    before = [version_summary(v) for v in layer.versions]
    end_layer(session, layer, ctx.now)
    audit.record(session, ctx.actor, "layer.end", f"rota {rota.id} layer {layer.id}",
                 **_via(ctx), before=before, after=[version_summary(v) for v in layer.versions],
                 **ctx.extra)
    return "Layer ended."


def _override_create(session: Session, rota: m.Rota, edit: dict, ctx: Context) -> str:
    start, end = _instant(edit, "start"), _instant(edit, "end")
    problems = override_problems(session, rota, kind=edit.get("kind") or "",
                                 person=edit.get("person"), replaces=edit.get("replaces"),
                                 start=start, end=end, now=ctx.now)
    if problems or start is None or end is None:
        raise EditRefused([f"{k}: {v}" for k, v in problems.items()] or ["start, end: missing"])
    row = m.Override(kind=edit["kind"], person_id=edit["person"], replaces_id=edit.get("replaces"),
                     start=from_now(start, ctx.now), end=end, note=edit.get("note") or "",
                     created_by=ctx.actor[:64])
    rota.overrides.append(row)
    session.flush()
    audit.record(session, ctx.actor, "override.create", f"rota {rota.id} override {row.id}",
                 **_via(ctx), after=override_summary(row), **ctx.extra)
    return f"override {row.id} added"


def _override_delete(session: Session, rota: m.Rota, edit: dict, ctx: Context) -> str:
    row = session.get(m.Override, edit.get("override"))
    if row is None or row.rota_id != rota.id:
        raise EditRefused([f"override {edit.get('override')}: no longer exists"])
    before, target = override_summary(row), f"rota {rota.id} override {row.id}"
    try:
        result = retire_override(session, row, ctx.now)
    except OverrideIsHistory as exc:
        raise EditRefused([str(exc)]) from None
    if result == "ended":
        audit.record(session, ctx.actor, "override.end", target, **_via(ctx), before=before,
                     after=override_summary(row), **ctx.extra)
        return "The override was in progress: it now ends now."
    audit.record(session, ctx.actor, "override.delete", target, **_via(ctx), before=before,
                 **ctx.extra)
    return "Override removed."


def _rota_update(session: Session, rota: m.Rota, edit: dict, ctx: Context) -> str:
    effective = _effective(edit, ctx.now)
    before = rota_summary(rota)
    rota.name = edit.get("name") or rota.id
    cut = change_point(rota, ctx.now, effective)
    rezoned = change_rota_zone(session, rota, edit.get("timezone") or rota.timezone, cut,
                               ctx.actor[:64])
    rota.reachability_minutes = edit.get("reachability_minutes")
    rota.notify_outgoing = bool(edit.get("notify_outgoing"))
    rota.coverage = edit.get("coverage")
    rota.swap_approval = bool(edit.get("swap_approval"))
    rota.two_person = bool(edit.get("two_person"))
    if before != rota_summary(rota):
        audit.record(session, ctx.actor, "rota.update", f"rota {rota.id}", **_via(ctx),
                     before=before, after=rota_summary(rota) | ({"zone_from": cut} if rezoned else {}),
                     **ctx.extra)
    return f"rota saved; handoffs follow {rota.timezone} from {iso_z(cut)}" if rezoned else "rota saved"


def _rota_put(session: Session, rota: m.Rota, edit: dict, ctx: Context) -> str:
    try:
        put_entry(session, "rotas", rota.id, edit.get("entry") or {}, actor=ctx.actor,
                  region=ctx.region, effective=_effective(edit, ctx.now))
    except RotaFileError as exc:
        raise EditRefused(list(exc.problems)) from None
    return "rota saved"


EDITS: dict[str, Callable[[Session, m.Rota, dict, Context], str]] = {
    "layer.create": _layer_create, "layer.update": _layer_update, "layer.end": _layer_end,
    "override.create": _override_create, "override.delete": _override_delete,
    "rota.update": _rota_update, "rota.put": _rota_put,
}


def apply_edit(session: Session, rota: m.Rota, kind: str, edit: dict, ctx: Context) -> str:
    """Write one edit (EditRefused when it does not apply to the rota as it stands); a message."""
    if kind not in EDITS:
        raise EditRefused([f"kind: unknown edit {kind!r}"])
    try:
        return EDITS[kind](session, rota, edit, ctx)
    except EditRefused:
        raise
    except ValueError as exc:  # the engine's own checks (InThePast, a layer it cannot build)
        raise EditRefused([str(exc)]) from None


def discard(session: Session) -> None:
    """Roll back everything a replay wrote (history, audit and notices forget what it left in
    the session's info on a rollback)."""
    session.rollback()


# -- proposals -----------------------------------------------------------------------------

def gate(session: Session, rota: m.Rota, kind: str, edit: dict, summary: str,
         ctx: Context) -> m.Proposal | None:
    """None when the rota applies edits directly; else the edit stored (and audited) as an
    open proposal. The caller commits."""
    if not rota.two_person:
        return None
    assert kind in EDITS, kind
    data = jsonable(edit)
    state = state_of(rota)
    proposal = m.Proposal(rota_id=rota.id, kind=kind, edit=data, summary=summary[:2000],
                          proposed_by=ctx.actor[:200], proposed_at=ctx.now, via=ctx.via,
                          base_digest=basis_digest(rota), base_state=state, status=OPEN,
                          reason="")
    session.add(proposal)
    session.flush()
    audit.record(session, ctx.actor, "proposal.create", f"rota {rota.id} proposal {proposal.id}",
                 via=ctx.via, kind=kind, edit=data, summary=proposal.summary)
    return proposal


def proposals(session: Session, rota_id: str, statuses: tuple[str, ...] = (OPEN,)
              ) -> list[m.Proposal]:
    """A rota's proposals with these statuses, oldest first."""
    return list(session.scalars(select(m.Proposal).where(
        m.Proposal.rota_id == rota_id, m.Proposal.status.in_(statuses))
        .order_by(m.Proposal.id)))


@dataclass(frozen=True)
class Preview:
    """What a proposal would do if approved now: duty changes, or why it would be refused."""

    changes: list[Change]
    refused: str | None
    rota_changed: bool  # the rota is no longer in the state the proposal was based on


def preview(session: Session, proposal: m.Proposal, ctx: Context) -> Preview:
    """Replay the proposal against the rota as it stands now, in a transaction that is rolled
    back: every instant of the next 14 days at which the final schedule's duty changes. The
    session's pending work is discarded: call it before anything is written, or commit first."""
    rota = session.get(m.Rota, proposal.rota_id)
    if rota is None:
        return Preview([], "the rota no longer exists", True)
    old = rota_to_engine(rota)
    changed = basis_digest(rota) != proposal.base_digest
    if changed and proposal.kind in WHOLE_STATE:
        return Preview([], CHANGED_SINCE, True)
    try:
        apply_edit(session, rota, proposal.kind, proposal.edit, ctx)
        session.flush()
        session.expire_all()
        new = rota_to_engine(rota)
    except EditRefused as exc:
        discard(session)
        return Preview([], str(exc), changed)
    discard(session)
    return Preview(duty_changes(old, new, ctx.now), None, changed)


def _decidable(session: Session, proposal_id: int, rota_id: str) -> m.Proposal:
    proposal = session.get(m.Proposal, proposal_id, populate_existing=True)
    if proposal is None or proposal.rota_id != rota_id:
        raise LookupError(f"no proposal {proposal_id} of rota {rota_id!r}")
    if proposal.status != OPEN:
        raise NotOpen(f"proposal {proposal_id} is {proposal.status} already")
    return proposal


def approve(session: Session, rota_id: str, proposal_id: int, ctx: Context) -> m.Proposal:
    """Apply an open proposal as `ctx.actor` (not its proposer), under the rota's lock, and
    commit. An edit that no longer applies is refused whole: nothing of it is written, the
    proposal is marked stale with the reason (committed) and EditRefused is raised."""
    lock_rota(session, rota_id)
    proposal = _decidable(session, proposal_id, rota_id)
    if proposal.proposed_by == ctx.actor:
        raise NotAllowed("you proposed this change: another rota manager or an admin must "
                         "approve it (you may withdraw it)")
    rota = session.get(m.Rota, rota_id)
    assert rota is not None  # the proposal's foreign key
    kind, edit, proposer = proposal.kind, proposal.edit, proposal.proposed_by
    watch_rotas(session, [rota_id], ctx.notice_days)
    replay = Context(ctx.actor, ctx.now, ctx.via, ctx.region, ctx.notice_days,
                     {"proposal": proposal_id, "proposed_by": proposer})
    try:
        if kind in WHOLE_STATE and basis_digest(rota) != proposal.base_digest:
            raise EditRefused([CHANGED_SINCE])
        message = apply_edit(session, rota, kind, edit, replay)
    except EditRefused as exc:
        discard(session)
        proposal.status, proposal.reason = "stale", str(exc)[:2000]
        proposal.decided_by, proposal.decided_at = ctx.actor[:200], ctx.now
        audit.record(session, ctx.actor, "proposal.stale", f"rota {rota_id} proposal {proposal_id}",
                     via=ctx.via, kind=kind, proposed_by=proposer, reason=proposal.reason)
        session.commit()
        raise
    proposal.status, proposal.reason = "approved", message[:2000]
    proposal.decided_by, proposal.decided_at = ctx.actor[:200], ctx.now
    audit.record(session, ctx.actor, "proposal.approve", f"rota {rota_id} proposal {proposal_id}",
                 via=ctx.via, kind=kind, proposed_by=proposer, edit=edit, result=message)
    # The rota's history names both people, and the edit (not the approval) as the action.
    session.info["actor"] = f"{ctx.actor} (proposed by {proposer})"[:200]
    session.info["action"] = kind
    session.commit()
    return proposal


def reject(session: Session, rota_id: str, proposal_id: int, ctx: Context,
           reason: str = "") -> m.Proposal:
    """Refuse an open proposal (not by its proposer: they withdraw it); the rota stays."""
    proposal = _decidable(session, proposal_id, rota_id)
    if proposal.proposed_by == ctx.actor:
        raise NotAllowed("you proposed this change: withdraw it instead")
    return _close(session, proposal, "rejected", "proposal.reject", ctx, reason)


def withdraw(session: Session, rota_id: str, proposal_id: int, ctx: Context) -> m.Proposal:
    """The proposer takes back an open proposal."""
    proposal = _decidable(session, proposal_id, rota_id)
    if proposal.proposed_by != ctx.actor:
        raise NotAllowed("only the person who proposed a change can withdraw it")
    return _close(session, proposal, "withdrawn", "proposal.withdraw", ctx, "")


def _close(session: Session, proposal: m.Proposal, status: str, action: str, ctx: Context,
           reason: str) -> m.Proposal:
    proposal.status, proposal.reason = status, (reason or "").strip()[:2000]
    proposal.decided_by, proposal.decided_at = ctx.actor[:200], ctx.now
    audit.record(session, ctx.actor, action, f"rota {proposal.rota_id} proposal {proposal.id}",
                 via=ctx.via, kind=proposal.kind, proposed_by=proposal.proposed_by,
                 reason=proposal.reason)
    session.commit()
    return proposal


def proposal_json(p: m.Proposal, shown: Preview | None = None) -> dict[str, Any]:
    """A proposal as JSON (with its preview when given)."""
    out: dict[str, Any] = {
        "id": p.id, "rota": p.rota_id, "kind": p.kind, "edit": p.edit, "summary": p.summary,
        "proposed_by": p.proposed_by, "proposed_at": iso_z(p.proposed_at), "via": p.via,
        "status": p.status, "decided_by": p.decided_by, "decided_at": iso_z(p.decided_at),
        "reason": p.reason, "based_on": p.base_digest}
    if shown is not None:
        out["preview"] = {
            "refused": shown.refused, "rota_changed_since": shown.rota_changed,
            "changes": [{"at": iso_z(c.at), "before": list(c.before), "after": list(c.after),
                         "was": list(c.was), "differs": c.differs} for c in shown.changes]}
    return out
