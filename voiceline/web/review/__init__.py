"""Reviewer pages: call log, call page, recordings, CSV export, metrics (placeholder)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the reviewer blueprints."""
