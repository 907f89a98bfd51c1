"""Account pages: admins manage users; everyone manages their own zone and API tokens."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.models.web import ROLES, ApiToken, User
from voiceline.web.auth import (
    actor,
    create_user,
    current_user,
    end_sessions,
    generate_password,
    login_required,
    role_required,
    set_password,
    token_digest,
    user_summary,
)
from voiceline.web.choices import options
from voiceline.web.confirm import confirm_page, confirmed
from voiceline.web.rota.forms import valid_zone

bp = Blueprint("users", __name__)
ROLE_LABELS = {"admin": "admin", "rota_manager": "rota manager", "reviewer": "reviewer",
               "responder": "responder"}


def _people_choices():
    people = appdb.db_session().scalars(select(m.Person).order_by(m.Person.name)).all()
    return options([("", "(none)")] + [(p.id, f"{p.name} ({p.id})") for p in people])


class UserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    role = SelectField("Role", choices=options((r, ROLE_LABELS[r]) for r in ROLES))
    person_id = SelectField("Person", choices=[], validate_choice=True)
    timezone = StringField("Time zone", validators=[Optional(), Length(max=64), valid_zone])
    active = BooleanField("Active", default=True)

    def validate_person_id(self, field):
        if self.role.data == "responder" and not field.data:
            raise ValidationError("a responder is linked to a person")


class AccountForm(FlaskForm):
    timezone = StringField("Time zone", validators=[Optional(), Length(max=64), valid_zone])


class TokenForm(FlaskForm):
    name = StringField("Label", validators=[Optional(), Length(max=100)])


def _user_or_404(user_id: int) -> User:
    user = appdb.db_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/users")
@role_required("admin")
def list_users():
    """Every account."""
    users = appdb.db_session().scalars(select(User).order_by(User.username)).all()
    return render_template("users/list.html", users=users, labels=ROLE_LABELS)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@role_required("admin")
def new_user():
    """Add an account with a one-time password, shown once."""
    form = UserForm()
    form.person_id.choices = _people_choices()
    del form.active
    if form.validate_on_submit():
        db = appdb.db_session()
        password = generate_password()
        try:
            user = create_user(db, form.username.data, password, form.role.data,
                               form.person_id.data or None, must_change_password=True,
                               timezone=(form.timezone.data or "").strip() or None)
        except ValueError as exc:
            form.username.errors.append(str(exc))
        else:
            audit.record(db, actor(), "user.create", f"user {user.username}",
                         after=user_summary(user))
            db.commit()
            return render_template("users/password_shown.html", user=user, password=password)
    return render_template("users/form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@role_required("admin")
def edit_user(user_id: int):
    """Change an account's role, person, zone or state."""
    user = _user_or_404(user_id)
    form = UserForm(obj=user)
    form.person_id.choices = _people_choices()
    if request.method == "GET":
        form.person_id.data = user.person_id or ""
    if form.validate_on_submit():
        me = current_user()
        assert me is not None  # @role_required let the request through, so someone is logged in
        if user.id == me.id and (form.role.data != "admin" or not form.active.data):
            form.role.errors.append("you cannot remove your own admin role or disable yourself")
        else:
            db = appdb.db_session()
            before = user_summary(user)
            user.role, user.person_id = form.role.data, form.person_id.data or None
            user.timezone = (form.timezone.data or "").strip() or None
            user.active = form.active.data
            ended = end_sessions(db, user) if before["active"] and not user.active else {}
            if before != user_summary(user):
                audit.record(db, actor(), "user.update", f"user {user.username}",
                             before=before, after=user_summary(user), **ended)
            db.commit()
            flash(f"Saved {user.username}.")
            return redirect(url_for("users.list_users"))
    form.username.render_kw = {"readonly": True}
    form.username.data = user.username
    return render_template("users/form.html", form=form, user=user)


@bp.post("/admin/users/<int:user_id>/reset-password")
@role_required("admin")
def reset_password(user_id: int):
    """Give an account a new one-time password, shown once."""
    user = _user_or_404(user_id)
    if not confirmed():
        return confirm_page(f"Reset the password of {user.username}?",
                            f"{user.username}'s current password stops working at once; the new "
                            "one-time password is shown once, on the next page.",
                            "Reset password", url_for("users.edit_user", user_id=user.id))
    db = appdb.db_session()
    password = generate_password()
    ended = set_password(user, password, must_change=True)
    audit.record(db, actor(), "user.password_reset", f"user {user.username}", **ended)
    db.commit()
    return render_template("users/password_shown.html", user=user, password=password)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """One's own account: time zone and API tokens."""
    user = current_user()
    assert user is not None  # @login_required let the request through, so someone is logged in
    db = appdb.db_session()
    form = AccountForm(obj=user)
    if form.validate_on_submit():
        before = user.timezone
        user.timezone = (form.timezone.data or "").strip() or None
        if before != user.timezone:
            audit.record(db, actor(), "user.update", f"user {user.username}",
                         before={"timezone": before}, after={"timezone": user.timezone})
        db.commit()
        flash("Saved.")
        return redirect(url_for("users.account"))
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                        .order_by(ApiToken.id)).all()
    return render_template("users/account.html", form=form, tokens=tokens, token_form=TokenForm(),
                           new_token=None)


@bp.post("/account/tokens")
@login_required
def create_token():
    """Create an API token for oneself; shown once."""
    user = current_user()
    assert user is not None  # @login_required let the request through, so someone is logged in
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400)
    db = appdb.db_session()
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=(form.name.data or "").strip(),
                   token_hash=token_digest(token))
    db.add(row)
    db.flush()
    audit.record(db, actor(), "api_token.create", f"user {user.username}", token_id=row.id,
                 name=row.name)
    db.commit()
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                        .order_by(ApiToken.id)).all()
    return render_template("users/account.html", form=AccountForm(obj=user), tokens=tokens,
                           token_form=TokenForm(formdata=None), new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of one's API tokens (admins: anyone's)."""
    user = current_user()
    assert user is not None  # @login_required let the request through, so someone is logged in
    db = appdb.db_session()
    row = db.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role != "admin"):
        abort(404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(db, actor(), "api_token.revoke", f"api_token {row.id}", user_id=row.user_id)
        db.commit()
    flash("Token revoked.")
    return redirect(url_for("users.account"))
