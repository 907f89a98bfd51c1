"""Accounts: users, roles, passwords and API tokens, one rule of each for the UI, the API and the CLI."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from voiceline import models as m
from voiceline.db import rowcount
from voiceline.instants import utcnow
from voiceline.models.web import ROLES, ApiToken, FeedToken, User
from voiceline.passwords import hash_secret

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


def has_role(user: User | None, *roles: str) -> bool:
    """True when `user` is admin or holds one of `roles` (no roles: any logged-in user)."""
    return user is not None and (user.role == "admin" or not roles or user.role in roles)


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
    db = object_session(user)
    assert db is not None  # a user whose password changes is a stored one
    return end_sessions(db, user)


def end_sessions(db: Session, user: User, *, tokens: bool = True) -> dict[str, int]:
    """End every session of `user`; with `tokens`, revoke its API tokens and the feeds it made.

    Returns how many API and feed tokens were revoked (for the audit entry).
    """
    user.session_generation = (user.session_generation or 0) + 1
    if not tokens:
        return {}
    now = utcnow()
    api = rowcount(db.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                                     ApiToken.revoked_at.is_(None))
                              .values(revoked_at=now)))
    feeds = rowcount(db.execute(update(FeedToken).where(
        FeedToken.created_by == f"user:{user.username}", FeedToken.revoked_at.is_(None))
        .values(revoked_at=now)))
    return {"api_tokens_revoked": api, "feed_tokens_revoked": feeds}


def user_summary(user: User) -> dict:
    """The audited view of an account (never the hash)."""
    return {"username": user.username, "role": user.role, "person": user.person_id,
            "timezone": user.timezone, "active": user.active}
