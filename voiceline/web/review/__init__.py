"""Reviewer pages: call log, call page, recordings, CSV export, metrics."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the reviewer blueprint ("review") and the recording fetcher."""
    from voiceline.web.review import recording, views

    recording.init_app(app)
    app.register_blueprint(views.bp)
