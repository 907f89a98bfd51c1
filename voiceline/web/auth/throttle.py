"""Login throttling: too many failures per username or per address in a window."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voiceline.instants import utcnow
from voiceline.models.web import LoginAttempt


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
