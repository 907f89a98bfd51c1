"""Login, logout and password change: the forms and views of the auth blueprint."""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from voiceline import appdb, audit
from voiceline.accounts import check_password_rules, end_sessions, set_password
from voiceline.instants import known_zone, utcnow
from voiceline.models.web import LoginAttempt, User
from voiceline.passwords import hash_secret, verify_secret
from voiceline.web.auth.contract import current_user, login_required
from voiceline.web.auth.throttle import reserve_attempt

# The templates stay in voiceline/web/templates/auth/.
bp = Blueprint("auth", __name__, template_folder="../templates")

# Verified against when the username is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    # The browser's IANA zone (filled by static/login-zone.js); kept on an account without one.
    browser_zone = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField("New password again",
                            validators=[DataRequired(), EqualTo("new", "the two entries differ")])

    def validate_new(self, field):
        user = current_user()
        reason = check_password_rules(field.data or "", user.username if user else "")
        if reason:
            raise ValidationError(reason)
        if field.data == self.current.data:
            raise ValidationError("must differ from the current password")


def _adopt_browser_zone(db, user: User, sent: str | None) -> None:
    """Store the zone the login form's script sent on an account that has none (audited)."""
    zone = known_zone(sent)
    if user.timezone or zone is None:
        return
    user.timezone = zone
    audit.record(db, f"user:{user.username}", "user.timezone", f"user {user.username}",
                 before={"timezone": None}, after={"timezone": zone}, source="browser at login")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a phishing link bounce through us.
    # Control characters are refused too: browsers (and werkzeug's Location) drop tabs and
    # newlines, so "/\t/evil.example" would become "//evil.example".
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return url_for("home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password; failures are throttled and audited."""
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        db = appdb.db_session()
        username = form.username.data.strip().lower()[:64]
        addr = (request.remote_addr or "?")[:64]
        if reserve_attempt(db, username, addr) is None:
            audit.record(db, f"anonymous@{addr}", "auth.login_throttled", f"user {username}",
                         remote_addr=addr)
            db.commit()
            minutes = current_app.config["LOGIN_WINDOW_MINUTES"]
            error = f"Too many failed logins. Try again in {minutes} minutes."
            status = 429
        else:
            user = db.scalar(select(User).where(User.username == username))
            ok = verify_secret(user.password_hash if user else _DUMMY_HASH, form.password.data)
            if user is not None and ok and user.active:
                # Only this account's failures: clearing the address's would let anyone with
                # an account reset the per-address count between guesses at another one.
                db.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
                user.last_login_at = utcnow()
                _adopt_browser_zone(db, user, form.browser_zone.data)
                audit.record(db, f"user:{username}", "auth.login", f"user {username}",
                             remote_addr=addr)
                db.commit()
                nxt = request.args.get("next")
                session.clear()  # a fresh session: no fixation
                session.permanent = True
                session["uid"] = user.id
                session["gen"] = user.session_generation
                return redirect(_safe_next(nxt))
            audit.record(db, f"anonymous@{addr}", "auth.login_failed", f"user {username}",
                         remote_addr=addr,
                         reason="disabled" if user is not None and ok else "bad credentials")
            db.commit()
            error, status = "Wrong username or password.", 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    """End the session: every cookie of this account, copies included, stops working."""
    user = current_user()
    if user is not None:
        db = appdb.db_session()
        end_sessions(db, user, tokens=False)
        audit.record(db, f"user:{user.username}", "auth.logout", f"user {user.username}")
        db.commit()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password (forced after a one-time password)."""
    user = current_user()
    assert user is not None  # login_required lets only a logged-in user through
    form = PasswordForm()
    if form.validate_on_submit():
        if not verify_secret(user.password_hash, form.current.data):
            form.current.errors.append("wrong password")
        else:
            db = appdb.db_session()
            ended = set_password(user, form.new.data)
            audit.record(db, f"user:{user.username}", "user.password_changed",
                         f"user {user.username}", **ended)
            db.commit()
            session["gen"] = user.session_generation  # this session goes on; the others end
            flash("Password changed.")
            return redirect(url_for("home"))
    return render_template("auth/password.html", form=form, forced=user.must_change_password)
