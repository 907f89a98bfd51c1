"""Editing rotas, layers (versioned through the engine) and overrides; nothing is half-saved."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.oncall.edit import (
    lock_rota,
    override_problems,
    write_layer_edit,
)
from voiceline.oncall.proposals import (
    EditRefused,
    apply_edit,
    current_version,
    jsonable,
    override_summary,
    rota_summary,
    same_content,
    version_summary,
)
from voiceline.oncall.rules import from_now
from voiceline.oncall.store import rota_to_engine
from voiceline.oncall.versions import (
    change_layer_priority,
    change_point,
    change_rota_zone,
    new_layer_start,
)
from voiceline.rota import Period, Window, shifts
from voiceline.rotafile.apply import newest_version
from voiceline.web.auth import actor, current_user, role_required
from voiceline.web.confirm import confirm_page, confirmed, offer_undo
from voiceline.web.rota.common import bp, local_field, people, person_choices, rota_or_404, watch
from voiceline.web.rota.forms import (
    LayerForm,
    OverrideForm,
    RotaForm,
    coverage_data,
    fill_coverage,
    format_members,
    format_windows,
    parse_members,
    parse_windows,
)
from voiceline.web.rota.members import picked as _picked
from voiceline.web.rota.members import reorder_requested
from voiceline.web.rota.preview import PREVIEW_DAYS, digest, preview_edit
from voiceline.web.rota.proposals import context, propose
from voiceline.web.rota.undo import layer_snapshot, override_snapshot
from voiceline.web.timefmt import local, to_input, viewer_zone
from voiceline.web.warnings import held_back, warn

MANAGE = ("rota_manager",)


_rota_summary, _override_summary = rota_summary, override_summary
_version_summary, _current_version, _same_content = version_summary, current_version, same_content


@bp.get("/", endpoint="rotas")
@role_required()
def rotas():
    """Every rota."""
    rows = appdb.db_session().scalars(select(m.Rota).order_by(m.Rota.id)).all()
    return render_template("rota/list.html", rotas=rows)


@bp.route("/new", methods=["GET", "POST"], endpoint="new_rota")
@role_required(*MANAGE)
def new_rota():
    """Create a rota (layers are added next)."""
    form = RotaForm()
    if request.method == "GET":
        form.timezone.data = viewer_zone().key
    if form.validate_on_submit():
        db = appdb.db_session()
        rid = form.id.data.strip()
        if db.get(m.Rota, rid) is not None:
            form.id.errors.append(f"a rota {rid!r} exists already")
        else:
            rota = m.Rota(id=rid, name=(form.name.data or "").strip() or rid,
                          timezone=form.timezone.data.strip(),
                          reachability_minutes=form.reachability_minutes.data,
                          notify_outgoing=form.notify_outgoing.data,
                          coverage=coverage_data(form),
                          swap_approval=form.swap_approval.data,
                          two_person=form.two_person.data)
            db.add(rota)
            db.flush()
            audit.record(db, actor(), "rota.create", f"rota {rid}", after=_rota_summary(rota))
            db.commit()
            flash(f"Rota {rid} created. Add a layer next.")
            return redirect(url_for("rota.new_layer", rota_id=rid))
    return render_template("rota/rota_form.html", form=form, rota=None, zone=viewer_zone())


def _effective(form) -> tuple[datetime | None, bool]:
    """The form's optional "takes effect" instant (viewer's zone); False when it is wrong."""
    if not (form.effective.data or "").strip():
        return None, True
    when = local_field(form.effective, viewer_zone())
    if when is not None and when < utcnow():
        form.effective.errors = [*form.effective.errors,
                                 "in the past: the past stays as it was recorded"]
        when = None
    return when, when is not None


@bp.route("/<rota_id>/edit", methods=["GET", "POST"], endpoint="edit_rota")
@role_required(*MANAGE)
def edit_rota(rota_id: str):
    """Rename a rota, change its zone (from the end of the current shift) or its handoff options."""
    rota = rota_or_404(rota_id)
    form = RotaForm(obj=rota)
    form.id.data = rota.id
    if request.method == "GET":
        fill_coverage(form, rota.coverage)
        form.effective.data = ""
    if form.validate_on_submit():
        effective, ok = _effective(form)
        proposed = ok and propose(rota, "rota.update", {
            "name": (form.name.data or "").strip() or rota.id,
            "timezone": form.timezone.data.strip(),
            "reachability_minutes": form.reachability_minutes.data,
            "notify_outgoing": form.notify_outgoing.data, "coverage": coverage_data(form),
            "swap_approval": form.swap_approval.data, "two_person": form.two_person.data,
            "effective": effective}, "change the rota's settings"
            + (f" (zone {form.timezone.data.strip()})"
               if form.timezone.data.strip() != rota.timezone else ""))
        if proposed:
            return proposed
        if ok:
            db = appdb.db_session()
            now = utcnow()
            rota = lock_rota(db, rota.id) or rota
            before = _rota_summary(rota)
            watch(rota.id)
            rota.name = (form.name.data or "").strip() or rota.id
            cut = change_point(rota, now, effective)
            rezoned = change_rota_zone(db, rota, form.timezone.data.strip(), cut, actor()[:64])
            rota.reachability_minutes = form.reachability_minutes.data
            rota.notify_outgoing = form.notify_outgoing.data
            rota.coverage = coverage_data(form)
            rota.swap_approval = form.swap_approval.data
            rota.two_person = form.two_person.data
            if before != _rota_summary(rota):
                audit.record(db, actor(), "rota.update", f"rota {rota.id}", before=before,
                             after=_rota_summary(rota) | ({"zone_from": cut} if rezoned else {}))
            db.commit()
            flash(f"Saved: handoffs follow {rota.timezone} from {local(cut)} ({viewer_zone().key}), "
                  "the end of the current shift; earlier shifts keep their zone." if rezoned
                  and effective is None else f"Saved: handoffs follow {rota.timezone} from "
                  f"{local(cut)} ({viewer_zone().key})." if rezoned else "Saved.")
            return redirect(url_for("rota.rota", rota_id=rota.id))
    return render_template("rota/rota_form.html", form=form, rota=rota, zone=viewer_zone())


@bp.post("/<rota_id>/delete", endpoint="delete_rota")
@role_required(*MANAGE)
def delete_rota(rota_id: str):
    """Delete a rota that no escalation policy names."""
    rota = rota_or_404(rota_id)
    if not confirmed():
        return confirm_page(f"Delete rota {rota.id}?",
                            f"Rota {rota.name or rota.id}, its layers, overrides and swaps are "
                            "deleted for good; the audit log keeps the record.",
                            "Delete rota", url_for("rota.rota", rota_id=rota.id))
    db = appdb.db_session()
    if rota.two_person:
        flash(f"Rota {rota.id} has the two-person rule: turn it off first (a change that "
              "itself needs a second person's approval).", "error")
        return redirect(url_for("rota.rota", rota_id=rota.id))
    users = [s.policy_id for s in db.scalars(select(m.PolicyStep)) if rota.id in (s.rotas or [])]
    if users:
        flash(f"Rota {rota.id} is used by policy {users[0]}; remove it there first.")
        return redirect(url_for("rota.rota", rota_id=rota.id))
    audit.record(db, actor(), "rota.delete", f"rota {rota.id}", before=_rota_summary(rota))
    db.delete(rota)
    db.commit()
    flash(f"Rota {rota_id} deleted.")
    return redirect(url_for("rota.rotas"))


def _layer_or_404(rota: m.Rota, layer_id: int) -> m.Layer:
    layer = appdb.db_session().get(m.Layer, layer_id)
    if layer is None or layer.rota_id != rota.id:
        abort(404)
    return layer


def _layer_changes(form: LayerForm) -> dict:
    return {"members": tuple(parse_members(form.members.data)),
            "anchor": datetime.fromisoformat(form.anchor.data.strip()),
            "period": Period.parse(form.period.data),
            "windows": tuple(Window.parse(w) for w in parse_windows(form.windows.data))}


@bp.route("/<rota_id>/layers/new", methods=["GET", "POST"], endpoint="new_layer")
@role_required(*MANAGE)
def new_layer(rota_id: str):
    """Add a layer; it starts at the end of the current shift (now when nobody is on duty)."""
    rota = rota_or_404(rota_id)
    form = LayerForm(people=set(people()))
    if request.method == "GET":
        form.period.data = "1w"
    elif reorder_requested(form):  # a picker button: show the form again, save nothing
        return render_template("rota/layer_form.html", form=form, rota=rota, layer=None,
                               people=people(), members=_picked(form), zone=viewer_zone())
    if form.validate_on_submit():
        effective, ok = _effective(form)
        proposed = ok and propose(rota, "layer.create", {
            "name": (form.name.data or "").strip(), "priority": form.priority.data or 0,
            **_layer_changes(form), "effective": effective},
            f"add a layer {(form.name.data or '').strip()!r}: {form.members.data} "
            f"every {form.period.data} from {form.anchor.data}")
        if proposed:
            return proposed
        if ok:
            db = appdb.db_session()
            rota = lock_rota(db, rota.id) or rota
            start = new_layer_start(rota, utcnow(), effective)
            assert start is not None  # an existing rota always has a change point
            position = max((la.position for la in rota.layers), default=-1) + 1
            watch(rota.id)
            layer = m.Layer(position=position, name=(form.name.data or "").strip(),
                            priority=form.priority.data or 0)
            rota.layers.append(layer)
            db.flush()
            write_layer_edit(db, rota, layer, at=start, created_by=actor(), **_layer_changes(form))
            created = newest_version(layer)
            audit.record(db, actor(), "layer.create", f"rota {rota.id} layer {layer.id}",
                         after=_version_summary(created) | {
                             "name": layer.name, "priority": layer.priority})
            db.commit()
            flash(f"Layer added: it starts {local(start)} ({viewer_zone().key})"
                  + (", at the end of the current shift." if effective is None else "."))
            return redirect(url_for("rota.rota", rota_id=rota.id))
    return render_template("rota/layer_form.html", form=form, rota=rota, layer=None,
                           people=people(), members=_picked(form), zone=viewer_zone())


@bp.route("/<rota_id>/layers/<int:layer_id>", methods=["GET", "POST"], endpoint="edit_layer")
@role_required(*MANAGE)
def edit_layer_view(rota_id: str, layer_id: int):
    """Edit a layer: a new version starts at the end of the current shift."""
    rota = rota_or_404(rota_id)
    layer = _layer_or_404(rota, layer_id)
    now = utcnow()
    current = _current_version(layer, now)
    form = LayerForm(people=set(people()))
    if request.method == "GET":
        form.name.data, form.priority.data = layer.name, layer.priority
        if current is not None:
            form.members.data = format_members(current.members)
            form.anchor.data, form.period.data = current.anchor, current.period
            form.windows.data = format_windows(current.windows)
    elif reorder_requested(form):  # a picker button: show the form again, save nothing
        return render_template("rota/layer_form.html", form=form, rota=rota, layer=layer,
                               people=people(), members=_picked(form), zone=viewer_zone())
    if form.validate_on_submit():
        effective, ok = _effective(form)
        if ok:
            changes = _layer_changes(form)
            priority = form.priority.data or 0
            fingerprint = digest(changes | {"effective": effective}, priority)
            previewed = (request.form.get("save") == "yes"
                         and request.form.get("preview_of") == fingerprint)
            # members, anchor, period, windows or priority change who is on duty: preview first
            schedule_changes = not _same_content(current, changes) or priority != layer.priority
            if schedule_changes and not previewed:
                starts, instants = preview_edit(rota, layer, effective or now, changes, priority)
                preview = {"digest": fingerprint, "starts": starts, "changes": instants,
                           "days": PREVIEW_DAYS, "zone": viewer_zone(rota.timezone)}
                return render_template("rota/layer_form.html", form=form, rota=rota, layer=layer,
                                       people=people(), preview=preview, members=_picked(form),
                                       zone=viewer_zone())
            return _save_layer(rota, layer, current, form, now, effective)
    return render_template("rota/layer_form.html", form=form, rota=rota, layer=layer,
                           people=people(), members=_picked(form), zone=viewer_zone())


def _save_layer(rota: m.Rota, layer: m.Layer, current: m.LayerVersion | None, form: LayerForm,
                now: datetime, effective: datetime | None):
    """Content from the layer's next handoff (or `effective`), then the priority from the end of
    the rota's current shift (or `effective`): neither reaches into the shift in progress."""
    proposed = propose(rota, "layer.update", {
        "layer": layer.id, "name": (form.name.data or "").strip(),
        "priority": form.priority.data or 0, **_layer_changes(form), "effective": effective},
        f"edit layer {layer.name or layer.id}: {form.members.data} every {form.period.data} "
        f"from {form.anchor.data}, priority {form.priority.data or 0}")
    if proposed:
        return proposed
    db = appdb.db_session()
    rota = lock_rota(db, rota.id) or rota
    # cast, not narrowing: a layer with no version at all would still fail here as before
    before = cast(dict, _version_summary(current)) | {"name": layer.name, "priority": layer.priority}
    watch(rota.id)
    layer.name = (form.name.data or "").strip()
    changes = _layer_changes(form)
    content_same = _same_content(current, changes)
    messages = []
    if not content_same:
        write_layer_edit(db, rota, layer, at=effective or now, created_by=actor(), **changes)
        newest = newest_version(layer)
        messages.append(f"the new version starts {local(newest.valid_from)}"
                        + (", at the end of the current shift" if effective is None else ""))
    cut = change_point(rota, now, effective)
    if change_layer_priority(db, rota, layer, form.priority.data or 0, cut, actor()[:64]):
        messages.append(f"priority {layer.priority} from {local(cut)}"
                        + (", the end of the current shift" if effective is None else ""))
    newest = max(layer.versions, key=lambda v: v.valid_from or now)
    after = _version_summary(newest) | {"name": layer.name, "priority": layer.priority}
    if after != before:
        audit.record(db, actor(), "layer.update", f"rota {rota.id} layer {layer.id}",
                     before=before, after=after)
    db.commit()
    flash("Layer saved" + (f": {'; '.join(messages)} ({viewer_zone().key})." if messages else "."))
    return redirect(url_for("rota.rota", rota_id=rota.id))


@bp.post("/<rota_id>/layers/<int:layer_id>/end", endpoint="end_layer")
@role_required(*MANAGE)
def end_layer_view(rota_id: str, layer_id: int):
    """End a layer now; its history stays."""
    rota = rota_or_404(rota_id)
    layer = _layer_or_404(rota, layer_id)
    if not confirmed():
        return confirm_page(f"End layer {layer.name or layer.id} now?",
                            f"From now on layer {layer.name or layer.id} of {rota.name or rota.id} "
                            "puts nobody on duty; versions not yet begun are dropped.",
                            "End now", url_for("rota.rota", rota_id=rota.id))
    proposed = propose(rota, "layer.end", {"layer": layer.id},
                       f"end layer {layer.name or layer.id} (when approved)")
    if proposed:
        return proposed
    db = appdb.db_session()
    watch(rota.id)
    snapshot = layer_snapshot(layer)
    try:
        message = apply_edit(db, rota, "layer.end", {"layer": layer.id}, context())
    except EditRefused as exc:
        flash(f"Not ended: {exc}.", "error")
        return redirect(url_for("rota.rota", rota_id=rota.id))
    db.commit()
    offer_undo("layer", snapshot, message, lambda t: url_for("rota.undo", token=t))
    return redirect(url_for("rota.rota", rota_id=rota.id))


@bp.route("/<rota_id>/overrides/new", methods=["GET", "POST"], endpoint="new_override")
@role_required(*MANAGE)
def new_override(rota_id: str):
    """Add an override (times in the viewer's zone)."""
    rota = rota_or_404(rota_id)
    zone = viewer_zone(rota.timezone)
    form = OverrideForm()
    form.person.choices = person_choices("(choose)")
    form.replaces.choices = person_choices("(nobody)")
    if request.method == "GET":
        form.start.data = request.args.get("start") or to_input(utcnow(), zone)
        # filled from a shift clicked on the timeline (rota/shift.html)
        form.end.data = request.args.get("end") or form.end.data
        if request.args.get("kind") in ("replace", "add", "remove"):
            form.kind.data = request.args["kind"]
        form.replaces.data = request.args.get("replaces") or form.replaces.data
    if form.validate_on_submit():
        start, end = local_field(form.start, zone), local_field(form.end, zone)
        replaces = form.replaces.data or None if form.kind.data == "replace" else None
        if form.kind.data != "replace" and form.replaces.data:
            form.replaces.errors = ["only a replace override names who is replaced"]
        rota = lock_rota(appdb.db_session(), rota.id) or rota  # check and write as one step
        reason = (form.correction.data or "").strip()
        user = current_user()
        if reason and (user is None or user.role != "admin"):
            form.start.errors = [*form.start.errors, "only an admin can correct the record"]
        correcting = bool(reason) and user is not None and user.role == "admin"
        now = utcnow()
        problems = override_problems(appdb.db_session(), rota, kind=form.kind.data,
                                     person=form.person.data or None, replaces=replaces,
                                     start=start, end=end, now=now, correcting=correcting)
        if start and not correcting:
            start = from_now(start, now)
        for key, message in problems.items():
            getattr(form, key).errors = [*getattr(form, key).errors, message]
        if start and end and not any(f.errors for f in form):
            _warn_if_no_change(rota, form, start, end, replaces)
        proposed = (start and end and not correcting and not any(f.errors for f in form)
                    and not held_back(form) and propose(rota, "override.create", {
                        "kind": form.kind.data, "person": form.person.data,
                        "replaces": replaces, "start": start, "end": end,
                        "note": (form.note.data or "").strip()},
                        f"{form.kind.data} {form.person.data}"
                        + (f" for {replaces}" if replaces else "")
                        + f" {jsonable(start)} to {jsonable(end)}"))
        if proposed:
            return proposed
        if start and end and not any(f.errors for f in form) and not held_back(form):
            db = appdb.db_session()
            watch(rota.id)
            row = m.Override(kind=form.kind.data, person_id=form.person.data, replaces_id=replaces,
                             start=start, end=end, note=(form.note.data or "").strip(),
                             created_by=actor()[:64])
            rota.overrides.append(row)
            db.flush()
            if correcting:
                audit.record(db, actor(), "override.correct", f"rota {rota.id} override {row.id}",
                             after=_override_summary(row), reason=reason)
            else:
                audit.record(db, actor(), "override.create", f"rota {rota.id} override {row.id}",
                             after=_override_summary(row))
            db.commit()
            flash("The record is corrected (audited with your reason)." if correcting
                  else "Override added.")
            return redirect(url_for("rota.rota", rota_id=rota.id))
    return render_template("rota/override_form.html", form=form, rota=rota, zone=zone,
                           warned=held_back(form) if request.method == "POST" else False)


def _warn_if_no_change(rota: m.Rota, form, start: datetime, end: datetime,
                       replaces: str | None) -> None:
    """Warn beside the field when the override would change nobody's duty in its range."""
    on_duty = [set(seg.people) for seg in shifts(rota_to_engine(rota), start, end)]
    person, kind = form.person.data, form.kind.data
    if kind == "replace" and not any(replaces in p for p in on_duty):
        warn(form.replaces, f"{replaces} is not on duty in {rota.id} in this range: "
                            "the override changes nothing")
    elif kind == "remove" and not any(person in p for p in on_duty):
        warn(form.person, f"{person} is not on duty in {rota.id} in this range: "
                          "the override changes nothing")
    elif kind == "add" and on_duty and all(person in p for p in on_duty):
        warn(form.person, f"{person} is on duty in {rota.id} for all of this range already")


@bp.post("/<rota_id>/overrides/<int:override_id>/delete", endpoint="delete_override")
@role_required(*MANAGE)
def delete_override(rota_id: str, override_id: int):
    """Remove an override: a future one is deleted, one in progress ends now, a past one stays."""
    rota = rota_or_404(rota_id)
    db = appdb.db_session()
    row = db.get(m.Override, override_id)
    if row is None or row.rota_id != rota.id:
        abort(404)
    if not confirmed():
        return confirm_page("Remove this override?",
                            f"{row.kind.capitalize()} {row.person_id} "
                            f"{local(row.start)} – {local(row.end)} ({viewer_zone().key}): "
                            "one not begun is deleted, one in progress ends now.",
                            "Remove override", url_for("rota.rota", rota_id=rota.id))
    proposed = propose(rota, "override.delete", {"override": row.id},
                       f"remove override {row.id}: {row.kind} {row.person_id} "
                       f"{jsonable(row.start)} to {jsonable(row.end)}")
    if proposed:
        return proposed
    watch(rota.id)
    snapshot = override_snapshot(db, row)
    try:
        message = apply_edit(db, rota, "override.delete", {"override": row.id}, context())
    except EditRefused as exc:
        flash(f"Not removed: {exc}.", "error")
        return redirect(url_for("rota.rota", rota_id=rota.id))
    db.commit()
    offer_undo("override", snapshot, message, lambda t: url_for("rota.undo", token=t))
    return redirect(url_for("rota.rota", rota_id=rota.id))
