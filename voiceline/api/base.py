"""The API blueprint, its token check, JSON errors and small request helpers."""

from __future__ import annotations

import functools
from typing import Any

from flask import g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from voiceline.accounts import has_role, token_digest
from voiceline.appdb import db_session
from voiceline.instants import InstantRangeError, parse_instant, utcnow
from voiceline.models.web import ApiToken, User

from .spec import Api

api = Api("api", __name__)

EVERYONE = ()  # any role with a valid token
MANAGERS = ("rota_manager",)
ADMINS = ("admin",)
REVIEWERS = ("reviewer",)


class ApiError(Exception):
    """An error answered as JSON: {"error": message, "problems": [...]}."""

    def __init__(self, status: int, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems


def _error_response(status: int, message: str, problems: list[str] | None = None, headers=None):
    body: dict[str, Any] = {"error": message}
    if problems:
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


@api.bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    headers = {"WWW-Authenticate": 'Bearer realm="voiceline"'} if exc.status == 401 else None
    return _error_response(exc.status, exc.message, exc.problems, headers)


@api.bp.errorhandler(400)  # by code too: ahead of the app's own 400 handler
@api.bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return _error_response(exc.code or 500, exc.description or exc.name)


@api.bp.errorhandler(500)
def _internal_error(_exc):
    return _error_response(500, "internal error; it was logged")


def _authenticate() -> User:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "send an API token: 'Authorization: Bearer TOKEN' "
                            "(create one with `voiceline users token USERNAME`)")
    session = db_session()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or row.revoked_at is not None or user is None or not user.active:
        raise ApiError(401, "the API token is unknown, revoked or its account is disabled")
    row.last_used_at = utcnow()
    session.commit()
    return user


def guard(roles: tuple[str, ...] | None):
    """Decorator factory: a valid token whose user holds one of `roles` (admin always passes)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if roles is not None:
                user = _authenticate()
                if not has_role(user, *roles):
                    raise ApiError(403, f"the role {user.role!r} may not do this "
                                        f"(needs {' or '.join(('admin', *roles))})")
                g.api_user = user
            return view(*args, **kwargs)
        wrapper.api_roles = roles  # type: ignore[attr-defined]  # read by the OpenAPI document
        return wrapper
    return decorator


api.guard = guard


def actor() -> str:
    """The audit actor of this API request."""
    return f"user:{g.api_user.username}"


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object (Content-Type: application/json)")
    return body


def instant_arg(name: str, default=None):
    """An ISO 8601 query argument as an aware UTC instant (no offset = UTC), or a 400."""
    text = request.args.get(name)
    if not text:
        return default
    try:
        return parse_instant(text)
    except InstantRangeError as exc:
        raise ApiError(400, f"{name}: {exc}") from None
    except ValueError:
        raise ApiError(400, f"{name}: {text!r} is not ISO 8601 (e.g. 2026-03-08T07:30:00Z)") from None
