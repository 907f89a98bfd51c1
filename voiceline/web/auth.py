"""Accounts in the web UI: the contract other web modules build on.

- `session["uid"]` holds the logged-in User.id.
- `current_user()` returns the active User or None (cached on flask.g).
- `role_required(*roles)` decorates a view: anonymous -> redirect to login (401 for JSON),
  inactive -> logged out, logged in without one of `roles` -> 403. "admin" passes every check.
- `login_required` lets any logged-in role through.
- `create_user(session, username, password, role, person_id=None)` for tests and the CLI.
- `end_sessions(session, user)` ends every session of the account (its generation counter, kept
  in the cookie, moves on) and revokes its API and feed tokens: a password change and disabling
  an account call it; logout only moves the generation on.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, object_session
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.db import utcnow
from voiceline.models.web import ROLES, ApiToken, FeedToken, LoginAttempt, User
from voiceline.passwords import hash_secret, verify_secret

bp = Blueprint("auth", __name__, template_folder="templates")

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
# Verified against when the username is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))
_ALLOWED_WHILE_CHANGING = {"auth.change_password", "auth.logout", "static"}


def current_user() -> User | None:
    """The logged-in, active User of this request, or None."""
    # Cached on g per request: a streamed response keeps its app context (and g) alive,
    # and a later request may run inside it.
    cached = g.get("_vl_user")
    if cached is not None and cached[0] is request.environ:
        return cached[1]
    user = None
    uid = session.get("uid")
    if uid is not None:
        user = appdb.db_session().get(User, uid)
        # A cookie is only as good as the account's generation when it was issued: logout, a
        # password change or disabling moves it on, so a copied cookie is refused from then on.
        # (A cookie from before generations existed counts as generation 0.)
        stale = user is not None and session.get("gen", 0) != user.session_generation
        if user is None or not user.active or stale:
            session.clear()
            user = None
    g._vl_user = (request.environ, user)
    return user


def actor() -> str:
    """The audit actor of this request: user:NAME, or anonymous@ADDRESS."""
    user = current_user()
    return f"user:{user.username}" if user else f"anonymous@{request.remote_addr}"


def wants_json() -> bool:
    """True when the client prefers JSON (API clients, fetch calls)."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def has_role(user: User | None, *roles: str) -> bool:
    """True when `user` is admin or holds one of `roles` (no roles: any logged-in user)."""
    return user is not None and (user.role == "admin" or not roles or user.role in roles)


def role_required(*roles: str):
    """View decorator: only logged-in users with one of `roles` (admin always) get through."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if wants_json():
                    return jsonify(error="login required"), 401
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.must_change_password and request.endpoint not in _ALLOWED_WHILE_CHANGING:
                if wants_json():
                    return jsonify(error="password change required"), 403
                return redirect(url_for("auth.change_password"))
            if not has_role(user, *roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = tuple(roles) or ROLES  # read by the nav and the role matrix
        return wrapper

    return decorator


def login_required(view):
    """View decorator: any logged-in user."""
    return role_required()(view)


def can_view(endpoint: str) -> bool:
    """True when the current user may open `endpoint` (False when it does not exist)."""
    view = current_app.view_functions.get(endpoint)
    roles = getattr(view, "required_roles", None)
    if view is None or roles is None:
        return False
    return has_role(current_user(), *roles)


# --- accounts ---------------------------------------------------------------------------------

def check_password_rules(password: str, username: str) -> str | None:
    """The reason a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if password.lower() == username.lower():
        return "must differ from the username"
    return None


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which an API or feed token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    """A random one-time password (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def create_user(session: Session, username: str, password: str, role: str,
                person_id: str | None = None, *, must_change_password: bool = False,
                timezone: str | None = None) -> User:
    """Add a user (argon2 hash); ValueError on a bad name, role, person or a taken username."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ValueError(f"{username!r} is not a username (2-64 of a-z 0-9 . _ -)")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if person_id is not None and session.get(m.Person, person_id) is None:
        raise ValueError(f"no person {person_id!r}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ValueError(f"username {username!r} is taken")
    user = User(username=username, password_hash=hash_secret(password), role=role,
                person_id=person_id, active=True, must_change_password=must_change_password,
                timezone=timezone)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str, *, must_change: bool = False) -> dict[str, int]:
    """Replace a user's password hash; ends its sessions and revokes its API and feed tokens."""
    user.password_hash = hash_secret(password)
    user.must_change_password = must_change
    return end_sessions(object_session(user), user)


def end_sessions(db: Session, user: User, *, tokens: bool = True) -> dict[str, int]:
    """End every session of `user`; with `tokens`, revoke its API tokens and the feeds it made.

    Returns how many API and feed tokens were revoked (for the audit entry).
    """
    user.session_generation = (user.session_generation or 0) + 1
    if not tokens:
        return {}
    now = utcnow()
    api = db.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                            ApiToken.revoked_at.is_(None))
                     .values(revoked_at=now)).rowcount
    feeds = db.execute(update(FeedToken).where(FeedToken.created_by == f"user:{user.username}",
                                               FeedToken.revoked_at.is_(None))
                       .values(revoked_at=now)).rowcount
    return {"api_tokens_revoked": api, "feed_tokens_revoked": feeds}


def user_summary(user: User) -> dict:
    """The audited view of an account (never the hash)."""
    return {"username": user.username, "role": user.role, "person": user.person_id,
            "timezone": user.timezone, "active": user.active}


# --- throttling -------------------------------------------------------------------------------

def _recent_failures(db: Session, username: str, addr: str) -> tuple[int, int]:
    since = utcnow() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    def count(column, value):
        return db.scalar(select(func.count()).select_from(LoginAttempt)
                         .where(column == value, LoginAttempt.at >= since)) or 0
    return count(LoginAttempt.username, username), count(LoginAttempt.remote_addr, addr)


def reserve_attempt(db: Session, username: str, addr: str) -> LoginAttempt | None:
    """Count this try before its password is checked; None (and no row) when it is throttled.

    Insert, commit, then count: of parallel tries, each sees every try committed before its
    count, so at most LOGIN_MAX_FAILURES are ever checked (a check-then-insert lets them all
    through). The row stays as the failure record, or goes with a successful login.
    """
    attempt = LoginAttempt(username=username, remote_addr=addr, at=utcnow())
    db.add(attempt)
    db.commit()
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    by_user, by_addr = _recent_failures(db, username, addr)
    if by_user > limit or by_addr > limit:
        db.delete(attempt)
        db.commit()
        return None
    return attempt


# --- views ------------------------------------------------------------------------------------

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
    from voiceline.web.timefmt import valid_zone_name

    zone = valid_zone_name(sent)
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
