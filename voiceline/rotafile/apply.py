"""Write a validated rota-file plan: upsert what changed, version edited layers, nothing else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import audit
from voiceline import models as m
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.edit import (
    assign_changed,
    end_layer,
    lock_rota,
    retire_override,
    write_layer_edit,
)
from voiceline.oncall.rules import PAST_WORDS, starts_in_the_past
from voiceline.oncall.versions import change_layer_priority, change_point, change_rota_zone
from voiceline.rota import Period, Window
from voiceline.rotafile.check import (
    LayerSpec,
    OverrideSpec,
    Plan,
    RotaFileError,
    RotaSpec,
    StepSpec,
)


@dataclass
class ImportReport:
    """What an import changed, as 'kind id' strings."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)


def _upsert(session: Session, report: ImportReport, model: type, kind: str, key: str,
            values: dict[str, Any]) -> Any:
    row = session.get(model, key)
    if row is None:
        row = model(id=key, **values)
        session.add(row)
        report.created.append(f"{kind} {key}")
    elif assign_changed(row, values):
        report.updated.append(f"{kind} {key}")
    return row


def stored_overrides(session: Session) -> frozenset[tuple]:
    """Every stored override as (rota, kind, person, replaces, start, end), for parse_document."""
    # To the second, as the rota file writes instants.
    return frozenset((o.rota_id, o.kind, o.person_id, o.replaces_id,
                      o.start.replace(microsecond=0), o.end.replace(microsecond=0))
                     for o in session.scalars(select(m.Override)))


def database_problems(session: Session, plan: Plan, now: datetime | None = None) -> list[str]:
    """What the file cannot do to this database: a hotline number another hotline has, a new
    override of an existing rota that starts in the past (the past stays as recorded)."""
    problems = []
    for r in plan.rotas:
        rota = session.get(m.Rota, r.id) if now is not None else None
        if rota is None or now is None:
            continue
        stored = {(o.kind, o.person_id, o.replaces_id, o.start, o.end) for o in rota.overrides}
        for index, o in enumerate(r.overrides):
            if ((o.kind, o.person, o.replaces, o.start, o.end) not in stored
                    and starts_in_the_past(o.start, now)):
                problems.append(f"rotas[{r.id}].overrides[{index}]: starts {iso_z(o.start)}, "
                                f"which {PAST_WORDS}")
    for h in plan.hotlines:
        owner = session.scalar(select(m.Hotline.id).where(m.Hotline.number == h.number))
        if owner is not None and owner != h.id:
            problems.append(f"hotlines[{h.id}].number: {h.number} is the number of hotline {owner!r} "
                            "(a hotline keeps its id; give the number to one hotline only)")
    return problems


def apply_plan(session: Session, plan: Plan, *, actor: str, at: datetime | None = None,
               effective: datetime | None = None,
               note: dict[str, Any] | None = None) -> ImportReport:
    """Write the plan in the session's transaction and audit it (with `note` added to the
    audit entry); the caller commits.

    A changed priority or zone and a new layer of an existing rota take effect at the end of
    the rota's shift in progress, or at `effective` (not in the past). Raises RotaFileError,
    before writing anything, when the plan clashes with the database.
    """
    now = at or utcnow()
    problems = database_problems(session, plan, now)
    if effective is not None and effective < now:
        problems.append(f"effective: {effective:%Y-%m-%dT%H:%M:%SZ} is in the past; a change "
                        "takes effect at the end of the current shift or a later instant")
    if problems:
        raise RotaFileError(problems)
    report = ImportReport()
    for p in plan.people:
        _upsert(session, report, m.Person, "person", p.id,
                {k: v for k, v in asdict(p).items() if k != "id"})
    session.flush()
    for c in plan.callers:
        row = _upsert(session, report, m.Caller, "caller", c.id,
                      {"name": c.name, "org": c.org, "language": c.language})
        if row.numbers != c.phones:
            _replace_phones(session, row, c.phones)
            if f"caller {c.id}" not in report.created:
                report.updated.append(f"caller {c.id} phones")
    session.flush()
    for r in plan.rotas:
        _apply_rota(session, report, r, now, effective)
    session.flush()
    for pol in plan.policies:
        row = _upsert(session, report, m.Policy, "policy", pol.id,
                      {"name": pol.name, "repeat": pol.repeat, "ring": pol.ring})
        current = [StepSpec(rotas=s.rotas, people=s.people, ring_seconds=s.ring_seconds,
                            coverage=s.coverage) for s in row.steps]
        if current != pol.steps:
            row.steps = [m.PolicyStep(position=i, **asdict(s)) for i, s in enumerate(pol.steps)]
            if f"policy {pol.id}" not in report.created:
                report.updated.append(f"policy {pol.id} steps")
    session.flush()
    for h in plan.hotlines:
        _upsert(session, report, m.Hotline, "hotline", h.id,
                {"number": h.number, "name": h.name, "policy_id": h.policy,
                 "languages": h.languages, "caller_policy": h.caller_policy,
                 "ask_priority": h.ask_priority})
    session.flush()
    if report.changed:
        audit.record(session, actor, "rota.import", "directory", created=report.created,
                     updated=report.updated, removed=report.removed, **(note or {}))
    return report


def _replace_phones(session: Session, caller: m.Caller, numbers: list[str]) -> None:
    # A number may move between callers: free it first so the unique index holds.
    caller.phones.clear()
    session.flush()
    for number in numbers:
        other = session.scalar(select(m.CallerPhone).where(m.CallerPhone.number == number))
        if other is not None:
            session.delete(other)
    session.flush()
    caller.phones.extend(m.CallerPhone(number=n, position=i) for i, n in enumerate(numbers))


def _apply_rota(session: Session, report: ImportReport, r: RotaSpec, now: datetime,
                effective: datetime | None) -> None:
    # Serialise writes per rota (another server importing or editing it waits here).
    existing = lock_rota(session, r.id)
    # An existing rota's zone is versioned (below); a new rota's is simply its zone.
    rota = _upsert(session, report, m.Rota, "rota", r.id,
                   {"name": r.name, "timezone": existing.timezone if existing else r.timezone,
                    "reachability_minutes": r.reachability_minutes,
                    "notify_outgoing": r.notify_outgoing, "coverage": r.coverage,
                    "swap_approval": r.swap_approval, "two_person": r.two_person})
    session.flush()
    # Where a rota-wide change takes effect, from the rota as it stands before this import; a
    # new rota has no past to keep, so its layers run from their anchors.
    cut = change_point(rota, now, effective) if existing is not None else effective
    at = now if effective is None else effective
    active = active_layers(rota)
    matched = _match_layers(active, r.layers)
    next_position = max((layer.position for layer in rota.layers), default=-1) + 1
    for position, spec in enumerate(r.layers):
        layer = matched[position]
        if layer is None:
            layer = m.Layer(position=next_position, name=spec.name, priority=spec.priority)
            next_position += 1
            layer.versions.append(m.LayerVersion(members=spec.members, anchor=spec.anchor,
                                                 period=spec.every, windows=spec.windows,
                                                 priority=spec.priority, timezone=rota.timezone,
                                                 valid_from=cut, created_by="import"))
            rota.layers.append(layer)
            report.created.append(f"rota {r.id} layer {position}")
            continue
        if assign_changed(layer, {"name": spec.name}):
            report.updated.append(f"rota {r.id} layer {position}")
        # Content first (from the layer's next handoff), then the priority from the cut, so
        # neither undoes the other.
        if _edit_layer_content(session, rota, layer, spec, at):
            report.updated.append(f"rota {r.id} layer {position} (new version)")
        if change_layer_priority(session, rota, layer, spec.priority, cut or now, "import"):
            report.updated.append(f"rota {r.id} layer {position} priority "
                                  f"(from {iso_z(cut or now)})")
    for layer in [la for la in active if la not in matched]:
        end_layer(session, layer, at)  # a layer leaves the file: end it, keep its history
        report.removed.append(f"rota {r.id} layer {layer.position}")
    if (existing is not None and r.timezone
            and change_rota_zone(session, rota, r.timezone, cut or now, "import")):
        report.updated.append(f"rota {r.id} timezone (from {iso_z(cut or now)})")
    _sync_overrides(session, report, rota, r.overrides, now)


def newest_version(layer: m.Layer) -> m.LayerVersion:
    """The layer's most recent version (the one edits build on)."""
    return max(layer.versions, key=lambda v: v.id or 0)


def active_layers(rota: m.Rota) -> list[m.Layer]:
    """Layers whose newest version is open-ended, in position order (ended ones are history)."""
    return [layer for layer in rota.layers
            if layer.versions and newest_version(layer).valid_until is None]


def _match_layers(active: list[m.Layer], specs: list[LayerSpec]) -> list[m.Layer | None]:
    """Pair file layers with stored ones: by name when every layer is uniquely named, else by order."""
    names = [spec.name for spec in specs]
    stored = [layer.name for layer in active]
    by_name = all(names) and len(set(names)) == len(names) and len(set(stored)) == len(stored)
    if by_name:
        lookup = {layer.name: layer for layer in active}
        return [lookup.get(name) for name in names]
    return [active[i] if i < len(active) else None for i in range(len(specs))]


def _edit_layer_content(session: Session, rota: m.Rota, layer: m.Layer, spec: LayerSpec,
                        now: datetime) -> bool:
    """Add a new layer version when content differs from the newest one."""
    newest = newest_version(layer)
    wanted = {"members": spec.members, "anchor": spec.anchor, "period": spec.every,
              "windows": spec.windows}
    if all(getattr(newest, k) == v for k, v in wanted.items()) and newest.valid_until is None:
        return False
    write_layer_edit(
        session, rota, layer, at=now, created_by="import", members=tuple(spec.members),
        anchor=datetime.fromisoformat(spec.anchor), period=Period.parse(spec.every),
        windows=tuple(Window.parse(w) for w in spec.windows),
    )
    return True


def _sync_overrides(session: Session, report: ImportReport, rota: m.Rota, wanted: list[OverrideSpec],
                    now: datetime) -> None:
    """The file is authoritative for a rota's current and future overrides; past ones stay."""
    def key(kind, person, replaces, start, end):
        return (kind, person, replaces, start, end)

    existing = {key(o.kind, o.person_id, o.replaces_id, o.start, o.end): o for o in rota.overrides}
    wanted_keys = set()
    for o in wanted:
        k = key(o.kind, o.person, o.replaces, o.start, o.end)
        wanted_keys.add(k)
        if k not in existing:
            rota.overrides.append(m.Override(kind=o.kind, person_id=o.person,
                                             replaces_id=o.replaces, start=o.start,
                                             end=o.end, note=o.note, created_by="import"))
            report.created.append(f"rota {rota.id} override {o.kind} {o.person} "
                                  f"{o.start:%Y-%m-%dT%H:%MZ}")
        elif existing[k].note != o.note:
            existing[k].note = o.note
    for k, row in existing.items():
        if k not in wanted_keys and row.end > now:
            label = f"rota {rota.id} override {row.kind} {row.person_id} {row.start:%Y-%m-%dT%H:%MZ}"
            result = retire_override(session, row, now)
            report.removed.append(label if result == "deleted" else f"{label} (ended now)")
