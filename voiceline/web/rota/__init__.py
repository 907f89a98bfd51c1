"""Rota pages: who is on duty, timelines, editing rotas, layers, overrides and swaps."""

from __future__ import annotations

from flask import Flask

from voiceline.web.rota.common import bp


def init_app(app: Flask) -> None:
    """Register the rota and directory blueprints."""
    from voiceline.web import directory
    from voiceline.web.rota import (  # noqa: F401  (routes on bp)
        coverage,
        edit,
        history,
        mine,
        now,
        proposals,
        shift,
        swaps,
        timeline,
        undo,
        zones,
    )

    zones.register(app)
    app.register_blueprint(bp)
    directory.init_app(app)
