"""People (responders): list, add, edit; deactivating keeps their history."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.web.auth import actor, role_required
from voiceline.web.directory.common import (
    MANAGE,
    bp,
    e164,
    language_list,
    split_list,
    valid_phone,
)
from voiceline.web.rota.forms import valid_id, valid_zone
from voiceline.web.warnings import held_back, warn


class PersonForm(FlaskForm):
    id = StringField("Id", validators=[DataRequired(), Length(max=64), valid_id])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    phone = StringField("Phone", validators=[DataRequired(), Length(max=40), valid_phone])
    languages = StringField("Languages", validators=[Optional(), language_list(False)])
    timezone = StringField("Time zone", validators=[Optional(), Length(max=64), valid_zone])
    reminder_minutes = IntegerField("Reminder before a shift (minutes)",
                                    validators=[Optional(), NumberRange(1, 24 * 60)])
    manager = BooleanField("Manager (coverage, reachability, line-test and voicemail alerts)")
    supervisor = BooleanField("Supervisor (duress alerts)")
    active = BooleanField("Active", default=True)


def _warn_shared_phone(form: PersonForm, person_id: str | None) -> None:
    """Warn when another person has the same number (a shared desk phone can be legitimate)."""
    number = e164(form.phone.data)
    others = appdb.db_session().scalars(select(m.Person).where(m.Person.phone == number,
                                                               m.Person.id != (person_id or "")))
    names = [p.name for p in others]
    if names:
        warn(form.phone, f"{number} is also the phone of {', '.join(names)}: calls for either "
                         "ring both")


def summary(p: m.Person) -> dict:
    """The audited view of a person."""
    return {"name": p.name, "phone": p.phone, "languages": p.languages, "timezone": p.timezone,
            "reminder_minutes": p.reminder_minutes, "roles": p.roles, "active": p.active}


def _apply(person: m.Person, form: PersonForm) -> None:
    person.name = form.name.data.strip()
    person.phone = e164(form.phone.data)
    person.languages = split_list(form.languages.data)
    person.timezone = (form.timezone.data or "").strip() or None
    person.reminder_minutes = form.reminder_minutes.data
    person.roles = [r for r in ("manager", "supervisor") if getattr(form, r).data]
    person.active = form.active.data


@bp.get("/people", endpoint="people")
@role_required(*MANAGE)
def people():
    """Every person."""
    rows = appdb.db_session().scalars(select(m.Person).order_by(m.Person.name)).all()
    return render_template("directory/people.html", people=rows)


@bp.route("/people/new", methods=["GET", "POST"], endpoint="new_person")
@role_required(*MANAGE)
def new_person():
    """Add a person."""
    form = PersonForm()
    if form.validate_on_submit():
        db = appdb.db_session()
        pid = form.id.data.strip()
        _warn_shared_phone(form, pid)
        if db.get(m.Person, pid) is not None:
            form.id.errors.append(f"a person {pid!r} exists already")
        elif not held_back(form):
            person = m.Person(id=pid)
            _apply(person, form)
            db.add(person)
            db.flush()
            audit.record(db, actor(), "person.create", f"person {pid}", after=summary(person))
            db.commit()
            flash(f"Added {person.name}.")
            return redirect(url_for("directory.people"))
    return render_template("directory/person_form.html", form=form, person=None,
                           warned=request.method == "POST" and held_back(form))


@bp.route("/people/<person_id>", methods=["GET", "POST"], endpoint="edit_person")
@role_required(*MANAGE)
def edit_person(person_id: str):
    """Edit a person (the id stays)."""
    db = appdb.db_session()
    person = db.get(m.Person, person_id)
    if person is None:
        abort(404)
    form = PersonForm(obj=person)
    form.id.data = person.id
    if request.method == "GET":
        form.languages.data = ", ".join(person.languages or [])
        form.manager.data = "manager" in (person.roles or [])
        form.supervisor.data = "supervisor" in (person.roles or [])
    valid = form.validate_on_submit()
    if valid:
        _warn_shared_phone(form, person.id)
    if valid and not held_back(form):
        before = summary(person)
        _apply(person, form)
        if before != summary(person):
            audit.record(db, actor(), "person.update", f"person {person.id}", before=before,
                         after=summary(person))
        db.commit()
        flash(f"Saved {person.name}.")
        return redirect(url_for("directory.people"))
    return render_template("directory/person_form.html", form=form, person=person,
                           warned=request.method == "POST" and held_back(form))
