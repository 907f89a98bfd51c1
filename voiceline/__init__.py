"""voiceline: a voice hotline that always reaches a human on duty."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

__version__ = "0.1.0"


from voiceline.oncall.history import init_history  # noqa: E402  (after the package's own names)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings from the environment, then `config` on top."""
    from voiceline import api, appdb, backup, calls, cli, jobs, web, webhooks
    from voiceline import config as settings
    from voiceline.extensions import CLOCK, HTTP_CLIENT, STARTED, csrf
    from voiceline.ids import IdConverter
    from voiceline.instants import utcnow
    from voiceline.oncall import cli as oncall_cli
    from voiceline.rotafile import cli as rotafile_cli

    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = IdConverter  # before any route: ids bounded to 64 bits
    if config and config.get("INSTANCE_PATH"):
        app.instance_path = str(config["INSTANCE_PATH"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(settings.load_settings(os.environ))
    if config:
        app.config.update(config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'voiceline.db'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.ensure_secret_key(app.instance_path)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Objects are not settings: the clock (tests and replays pin it) and Twilio's HTTP client
    # (tests fake it) live in app.extensions; a config mapping may still hand them in.
    app.extensions[CLOCK] = app.config.pop("CALLS_CLOCK", None) or utcnow
    app.extensions[HTTP_CLIENT] = app.config.pop("TWILIO_HTTP_CLIENT", None)
    # conference mode's dialer: "thread" places calls in the background; tests and simulate
    # pass CONFERENCE_DIALER="inline" to place them before the answer returns
    app.extensions["voiceline.dialer"] = app.config.pop("CONFERENCE_DIALER", None) or "thread"
    app.extensions["voiceline.create_app"] = create_app  # for commands that build throwaway apps
    app.extensions[STARTED] = time.monotonic()  # /healthz: a scheduler gets a minute to tick
    hops = app.config.get("PROXY_HOPS") or 0
    if hops:  # before anything reads the request's URL: the signature check sees the public one
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    csrf.init_app(app)
    appdb.init_app(app)
    init_history()  # every committed rota change is kept as a state (as it stood at T)
    webhooks.init_app(app)
    calls.init_app(app)
    jobs.init_app(app)
    web.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    oncall_cli.init_app(app)
    rotafile_cli.init_app(app)
    backup.init_app(app)

    app.after_request(_transport_headers)

    @app.get("/healthz")
    def healthz():
        from voiceline.health import health_report

        report = health_report()
        return report, (200 if report["ok"] else 503)

    if not app.testing and "gunicorn.arbiter" in sys.modules:  # a gunicorn worker's app
        settle_garbage_collector()
    return app


def settle_garbage_collector() -> None:
    """Keep the objects of a serving process's start (modules, mappers, routes, templates:
    about 150,000) out of every later full collection. Without this, a full collection in a
    gunicorn worker walked them all, 50-60 ms, once in a few thousand requests; a worker paused
    in one while it held SQLite's write lock stalled the writers of every worker behind it
    (the PIN step's p99 at 16 clients was 80 ms, 39 ms with this). Not for tests and commands:
    a full collection first costs them time and they do not serve for hours."""
    import gc

    gc.collect()
    gc.freeze()


HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the domain are not ours


def _transport_headers(response):
    """On every answer (pages, /api/, /ical/, /voice/, errors): nosniff; HSTS under https;
    `Allow` on a 405 (an error handler's own page would otherwise drop it)."""
    from flask import current_app, request
    from werkzeug.exceptions import MethodNotAllowed

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.is_secure or str(current_app.config.get("PUBLIC_URL") or "").startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.status_code == 405 and "Allow" not in response.headers:
        refused = request.routing_exception
        if isinstance(refused, MethodNotAllowed) and refused.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(refused.valid_methods))
    return response
