"""Callers (officials): list, add, edit, and PIN / duress PIN reset (never shown, only hashed)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.passwords import valid_pin
from voiceline.pins import PinKeys, hash_pin, verify_pin
from voiceline.web.auth import actor, role_required
from voiceline.web.choices import options
from voiceline.web.directory.common import MANAGE, bp, e164, language_list, split_list
from voiceline.web.rota.forms import valid_id


class CallerForm(FlaskForm):
    id = StringField("Id", validators=[DataRequired(), Length(max=64), valid_id])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    org = StringField("Organisation", validators=[Optional(), Length(max=200)])
    phones = TextAreaField("Phone numbers (one per line)", validators=[DataRequired()])
    language = StringField("Language", validators=[Optional(), Length(max=16), language_list(True)])
    active = BooleanField("Active", default=True)

    def validate_phones(self, field):
        numbers = []
        for raw in split_list(field.data):
            try:
                numbers.append(e164(raw))
            except ValueError as exc:
                raise ValidationError(f"{raw}: {exc}") from None
        if not numbers:
            raise ValidationError("at least one number")
        if len(set(numbers)) != len(numbers):
            raise ValidationError("a number is listed twice")
        self.numbers = numbers


class PinForm(FlaskForm):
    which = SelectField("Which PIN", choices=options([("pin", "PIN"), ("duress", "duress PIN")]))
    pin = PasswordField("New PIN (4 to 8 digits)", validators=[DataRequired()])
    confirm = PasswordField("New PIN again", validators=[DataRequired(), EqualTo("pin", "the two entries differ")])
    clear = BooleanField("Clear this PIN instead")

    def validate_pin(self, field):
        if not valid_pin(field.data or ""):
            raise ValidationError("a PIN is 4 to 8 digits")


def summary(c: m.Caller) -> dict:
    """The audited view of a caller (whether PINs are set, never the PINs)."""
    return {"name": c.name, "org": c.org, "phones": c.numbers, "language": c.language,
            "active": c.active, "pin_set": bool(c.pin_hash), "duress_pin_set": bool(c.duress_pin_hash)}


def _caller_or_404(caller_id: str) -> m.Caller:
    caller = appdb.db_session().get(m.Caller, caller_id)
    if caller is None:
        abort(404)
    return caller


def _taken(numbers: list[str], caller_id: str) -> str | None:
    db = appdb.db_session()
    row = db.scalar(select(m.CallerPhone).where(m.CallerPhone.number.in_(numbers),
                                                m.CallerPhone.caller_id != caller_id))
    return f"{row.number} belongs to caller {row.caller_id!r}" if row else None


def _apply(caller: m.Caller, form: CallerForm) -> None:
    caller.name, caller.org = form.name.data.strip(), (form.org.data or "").strip()
    caller.language = (form.language.data or "").strip() or None
    caller.active = form.active.data
    if caller.numbers != form.numbers:
        caller.phones.clear()
        appdb.db_session().flush()  # free the unique numbers before re-adding them
        caller.phones.extend(m.CallerPhone(number=n, position=i) for i, n in enumerate(form.numbers))


@bp.get("/callers", endpoint="callers")
@role_required(*MANAGE)
def callers():
    """Every caller."""
    rows = appdb.db_session().scalars(select(m.Caller).order_by(m.Caller.name)).all()
    return render_template("directory/callers.html", callers=rows)


@bp.route("/callers/new", methods=["GET", "POST"], endpoint="new_caller")
@role_required(*MANAGE)
def new_caller():
    """Add a caller; set the PIN next."""
    form = CallerForm()
    if form.validate_on_submit():
        db = appdb.db_session()
        cid = form.id.data.strip()
        clash = _taken(form.numbers, cid)
        if db.get(m.Caller, cid) is not None:
            form.id.errors.append(f"a caller {cid!r} exists already")
        elif clash:
            form.phones.errors.append(clash)
        else:
            caller = m.Caller(id=cid)
            db.add(caller)
            _apply(caller, form)
            db.flush()
            audit.record(db, actor(), "caller.create", f"caller {cid}", after=summary(caller))
            db.commit()
            flash(f"Added {caller.name}. Set a PIN if the hotline asks for one.")
            return redirect(url_for("directory.caller_pin", caller_id=cid))
    return render_template("directory/caller_form.html", form=form, caller=None)


@bp.route("/callers/<caller_id>", methods=["GET", "POST"], endpoint="edit_caller")
@role_required(*MANAGE)
def edit_caller(caller_id: str):
    """Edit a caller's name, organisation, numbers, language or state."""
    caller = _caller_or_404(caller_id)
    form = CallerForm(obj=caller)
    form.id.data = caller.id
    if request.method == "GET":
        form.phones.data = "\n".join(caller.numbers)
    if form.validate_on_submit():
        clash = _taken(form.numbers, caller.id)
        if clash:
            form.phones.errors.append(clash)
        else:
            db = appdb.db_session()
            before = summary(caller)
            _apply(caller, form)
            db.flush()
            if before != summary(caller):
                audit.record(db, actor(), "caller.update", f"caller {caller.id}", before=before,
                             after=summary(caller))
            db.commit()
            flash(f"Saved {caller.name}.")
            return redirect(url_for("directory.callers"))
    return render_template("directory/caller_form.html", form=form, caller=caller)


@bp.route("/callers/<caller_id>/pin", methods=["GET", "POST"], endpoint="caller_pin")
@role_required(*MANAGE)
def caller_pin(caller_id: str):
    """Set or clear a caller's PIN or duress PIN."""
    caller = _caller_or_404(caller_id)
    form = PinForm()
    # Clearing needs no new PIN; the CSRF token was checked before the view ran.
    if request.method == "POST" and form.clear.data and form.which.data in ("pin", "duress"):
        db = appdb.db_session()
        setattr(caller, "duress_pin_hash" if form.which.data == "duress" else "pin_hash", None)
        audit.record(db, actor(), "caller.clear_pin", f"caller {caller.id}", which=form.which.data)
        db.commit()
        flash(f"{'Duress PIN' if form.which.data == 'duress' else 'PIN'} cleared.")
        return redirect(url_for("directory.callers"))
    if form.validate_on_submit():
        duress = form.which.data == "duress"
        other = caller.pin_hash if duress else caller.duress_pin_hash
        keys = PinKeys.from_config(current_app.config)
        if verify_pin(other, form.pin.data, keys).ok:
            form.pin.errors.append("the PIN and the duress PIN must differ")
        else:
            db = appdb.db_session()
            setattr(caller, "duress_pin_hash" if duress else "pin_hash", hash_pin(form.pin.data, keys))
            audit.record(db, actor(), "caller.set_pin", f"caller {caller.id}",
                         which="duress" if duress else "pin")
            db.commit()
            flash(f"{'Duress PIN' if duress else 'PIN'} set for {caller.name}.")
            return redirect(url_for("directory.callers"))
    return render_template("directory/caller_pin.html", form=form, caller=caller)
