"""The JSON API under /api/v1: per-user tokens, the same roles as the UI, OpenAPI from the code."""

from __future__ import annotations

from flask import Flask, jsonify

from voiceline.api.base import api
from voiceline.api.spec import openapi
from voiceline.extensions import csrf


@api.route("/openapi.json", "GET", summary="This OpenAPI 3.1 document", roles=None, tag="meta")
def openapi_document():
    from importlib.metadata import version

    from flask import current_app

    return jsonify(openapi(current_app, api, version=version("voiceline")))


def init_app(app: Flask) -> None:
    """Register the API blueprint (routes are declared in the modules imported here)."""
    from voiceline.api import (  # noqa: F401  (they declare routes)
        calls,
        coverage,
        directory,
        history,
        overrides,
        proposals,
        swaps,
    )

    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # token-authenticated, no cookie session: a CSRF token means nothing here
