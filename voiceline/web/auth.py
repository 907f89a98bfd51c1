"""Accounts in the web UI: the contract other web modules build on (filled in by the web area).

- `session["uid"]` holds the logged-in User.id.
- `current_user()` returns the active User or None.
- `role_required(*roles)` decorates a view: anonymous -> redirect to login (401 for JSON),
  logged in without one of `roles` -> 403. "admin" passes every check.
"""
