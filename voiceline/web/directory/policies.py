"""Escalation policies (ordered steps) and hotlines (number, policy, languages, caller policy)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.calls.ringmode import CONFERENCE, DIAL, NO_CREDENTIALS, has_rest_credentials
from voiceline.health import duress_recipients_check
from voiceline.models.directory import CALLER_POLICIES
from voiceline.web.auth import actor, role_required
from voiceline.web.choices import options
from voiceline.web.directory.common import MANAGE, bp, e164, language_list, split_list, valid_phone
from voiceline.web.rota.forms import coverage_data, coverage_fields, fill_coverage, valid_id
from voiceline.web.warnings import held_back, warn

EXTRA_STEPS = 2


@coverage_fields
class StepForm(Form):
    rotas = SelectMultipleField("Rotas", choices=[], validate_choice=True)
    people = SelectMultipleField("People", choices=[], validate_choice=True)
    ring_seconds = IntegerField("Ring (seconds)", default=25, validators=[Optional(), NumberRange(5, 600)])


class PolicyForm(FlaskForm):
    id = StringField("Id", validators=[DataRequired(), Length(max=64), valid_id])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    repeat = IntegerField("Repeat the steps (times)", default=0, validators=[Optional(), NumberRange(0, 10)])
    ring = SelectField("How a step rings", default=DIAL, choices=options([
        (DIAL, "dial: one <Dial> rings the step's responders together (default)"),
        (CONFERENCE, "conference: the caller waits in a conference, responders are called "
                     "(needs Twilio credentials)")]))
    steps = FieldList(FormField(StepForm), min_entries=1)

    def validate_steps(self, field):
        if not any(s.rotas.data or s.people.data for s in field):
            raise ValidationError("at least one step with a rota or a person")


class HotlineForm(FlaskForm):
    id = StringField("Id", validators=[DataRequired(), Length(max=64), valid_id])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    number = StringField("Number", validators=[DataRequired(), Length(max=40), valid_phone])
    policy_id = SelectField("Escalation policy", choices=[])
    languages = StringField("Languages (first = default)", validators=[DataRequired(), language_list(True)])
    caller_policy = SelectField("Who may call", choices=options([
        ("pin", "pin: known number and PIN"), ("allowlist", "allowlist: known numbers only"),
        ("open", "open: anyone (marked unverified)")]))
    ask_priority = BooleanField("Ask for a priority (1 urgent, 2 routine)")


def _steps_summary(policy: m.Policy) -> list[dict]:
    return [{"rotas": s.rotas, "people": s.people, "ring_seconds": s.ring_seconds}
            | ({"coverage": s.coverage} if s.coverage else {}) for s in policy.steps]


def _policy_form(policy: m.Policy | None) -> PolicyForm:
    db = appdb.db_session()
    form = PolicyForm(obj=policy if request.method == "GET" else None)
    if request.method == "GET":
        wanted = len(policy.steps) + EXTRA_STEPS if policy else 1 + EXTRA_STEPS
        while len(form.steps) < wanted:
            form.steps.append_entry()
        for entry, step in zip(form.steps, policy.steps if policy else [], strict=False):
            entry.rotas.data, entry.people.data = list(step.rotas), list(step.people)
            entry.ring_seconds.data = step.ring_seconds
            fill_coverage(entry, step.coverage)
    rotas = options((r.id, r.name or r.id) for r in db.scalars(select(m.Rota).order_by(m.Rota.id)))
    people = options((p.id, p.name) for p in db.scalars(select(m.Person).order_by(m.Person.name)))
    for entry in form.steps:
        entry.rotas.choices, entry.people.choices = rotas, people
    return form


@bp.get("/policies", endpoint="policies")
@role_required(*MANAGE)
def policies():
    """Every escalation policy and every hotline."""
    db = appdb.db_session()
    return render_template("directory/policies.html",
                           policies=db.scalars(select(m.Policy).order_by(m.Policy.id)).all(),
                           hotlines=db.scalars(select(m.Hotline).order_by(m.Hotline.id)).all(),
                           duress=duress_recipients_check(),
                           conference_note=None if has_rest_credentials(current_app.config)
                           else NO_CREDENTIALS)


@bp.route("/policies/new", methods=["GET", "POST"], endpoint="new_policy")
@bp.route("/policies/<policy_id>", methods=["GET", "POST"], endpoint="edit_policy")
@role_required(*MANAGE)
def edit_policy(policy_id: str | None = None):
    """Add or edit a policy: its steps are replaced as a whole (blank steps are dropped)."""
    db = appdb.db_session()
    policy = db.get(m.Policy, policy_id) if policy_id else None
    if policy_id and policy is None:
        abort(404)
    form = _policy_form(policy)
    if policy:
        form.id.data = policy.id
    if form.validate_on_submit():
        pid = form.id.data.strip()
        _warn_repeated_people(form)
        if policy is None and db.get(m.Policy, pid) is not None:
            form.id.errors.append(f"a policy {pid!r} exists already")
        elif not held_back(form):
            before = ({"name": policy.name, "repeat": policy.repeat, "ring": policy.ring,
                       "steps": _steps_summary(policy)} if policy else None)
            if policy is None:
                policy = m.Policy(id=pid)
                db.add(policy)
            policy.name = (form.name.data or "").strip() or pid
            policy.repeat = form.repeat.data or 0
            policy.ring = form.ring.data if form.ring.data in (DIAL, CONFERENCE) else DIAL
            steps = [s for s in form.steps if s.rotas.data or s.people.data]
            policy.steps = [m.PolicyStep(position=i, rotas=list(s.rotas.data), people=list(s.people.data),
                                         ring_seconds=s.ring_seconds.data or 25,
                                         coverage=coverage_data(s))
                            for i, s in enumerate(steps)]
            db.flush()
            after = {"name": policy.name, "repeat": policy.repeat, "ring": policy.ring,
                     "steps": _steps_summary(policy)}
            if after != before:
                audit.record(db, actor(), "policy.update" if before else "policy.create",
                             f"policy {pid}", before=before, after=after)
            db.commit()
            flash(f"Saved policy {pid}.")
            return redirect(url_for("directory.policies"))
    return render_template("directory/policy_form.html", form=form, policy=policy,
                           conference_note=None if has_rest_credentials(current_app.config)
                           else NO_CREDENTIALS,
                           warned=request.method == "POST" and held_back(form))


def _warn_repeated_people(form: PolicyForm) -> None:
    """Warn beside a step that names a person an earlier step names already."""
    seen: dict[str, int] = {}
    for number, step in enumerate((s for s in form.steps if s.rotas.data or s.people.data), 1):
        for pid in step.people.data or []:
            if pid in seen:
                warn(step.people, f"{pid} is in step {seen[pid]} already: rung twice")
            else:
                seen[pid] = number


def _hotline_summary(h: m.Hotline) -> dict:
    return {"name": h.name, "number": h.number, "policy": h.policy_id, "languages": h.languages,
            "caller_policy": h.caller_policy, "ask_priority": h.ask_priority}


@bp.route("/hotlines/new", methods=["GET", "POST"], endpoint="new_hotline")
@bp.route("/hotlines/<hotline_id>", methods=["GET", "POST"], endpoint="edit_hotline")
@role_required(*MANAGE)
def edit_hotline(hotline_id: str | None = None):
    """Add or edit a hotline."""
    db = appdb.db_session()
    hotline = db.get(m.Hotline, hotline_id) if hotline_id else None
    if hotline_id and hotline is None:
        abort(404)
    form = HotlineForm(obj=hotline)
    form.policy_id.choices = options((p.id, p.name or p.id)
                                     for p in db.scalars(select(m.Policy).order_by(m.Policy.id)))
    if request.method == "GET":
        form.languages.data = ", ".join(hotline.languages) if hotline else "en-US"
    if hotline:
        form.id.data = hotline.id
    if form.validate_on_submit():
        hid, number = form.id.data.strip(), e164(form.number.data)
        clash = db.scalar(select(m.Hotline).where(m.Hotline.number == number, m.Hotline.id != hid))
        if hotline is None and db.get(m.Hotline, hid) is not None:
            form.id.errors.append(f"a hotline {hid!r} exists already")
        elif clash is not None:
            form.number.errors.append(f"{number} is hotline {clash.id!r} already")
        elif form.caller_policy.data not in CALLER_POLICIES:
            form.caller_policy.errors.append("unknown caller policy")
        else:
            before = _hotline_summary(hotline) if hotline else None
            if hotline is None:
                hotline = m.Hotline(id=hid)
                db.add(hotline)
            hotline.name, hotline.number = (form.name.data or "").strip(), number
            hotline.policy_id, hotline.languages = form.policy_id.data, split_list(form.languages.data)
            hotline.caller_policy, hotline.ask_priority = form.caller_policy.data, form.ask_priority.data
            db.flush()
            if before != _hotline_summary(hotline):
                audit.record(db, actor(), "hotline.update" if before else "hotline.create",
                             f"hotline {hid}", before=before, after=_hotline_summary(hotline))
            db.commit()
            flash(f"Saved hotline {hid}.")
            return redirect(url_for("directory.policies"))
    return render_template("directory/hotline_form.html", form=form, hotline=hotline)
