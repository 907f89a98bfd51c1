"""Directory pages: people, callers (with PIN reset), escalation policies and hotlines."""

from __future__ import annotations

from flask import Flask

from voiceline.web.directory.common import bp


def init_app(app: Flask) -> None:
    """Register the directory blueprint."""
    from voiceline.web.directory import callers, people, policies  # noqa: F401  (routes on bp)

    app.register_blueprint(bp)
