"""Accounts in the web UI: the contract other web modules build on (contract.py), login
throttling (throttle.py), the forms and views (views.py); the account rules are voiceline.accounts.

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

from voiceline.accounts import (
    check_password_rules,
    create_user,
    end_sessions,
    generate_password,
    has_role,
    set_password,
    token_digest,
    user_summary,
)
from voiceline.web.auth.contract import (
    actor,
    can_view,
    current_user,
    login_required,
    role_required,
    wants_json,
)
from voiceline.web.auth.throttle import reserve_attempt
from voiceline.web.auth.views import LoginForm, PasswordForm, bp

__all__ = ["LoginForm", "PasswordForm", "actor", "bp", "can_view", "check_password_rules",
           "create_user", "current_user", "end_sessions", "generate_password", "has_role", "login_required",
           "reserve_attempt", "role_required", "set_password", "token_digest", "user_summary",
           "wants_json"]
