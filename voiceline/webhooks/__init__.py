"""The webhooks area (placeholder until that area lands)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's blueprints and commands."""
