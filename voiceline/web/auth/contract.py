"""The login contract the other web modules build on (described in voiceline.web.auth)."""

from __future__ import annotations

import functools

from flask import abort, current_app, g, jsonify, redirect, request, session, url_for

from voiceline import appdb
from voiceline.accounts import has_role
from voiceline.models.web import ROLES, User

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

        wrapper.required_roles = tuple(roles) or ROLES  # type: ignore[attr-defined]  # nav, role matrix
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
