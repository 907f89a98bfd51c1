"""gunicorn settings for production: `gunicorn -c python:voiceline.gunicorn_conf`.

Threaded workers (gthread): a request waiting on the database holds one thread, not a whole
worker, so /voice/fallback (no database) and /healthz answer while other requests wait; and
every database wait of a webhook is bounded (see voiceline.appdb), so threads come back.
Command-line options win over these (`-b 0.0.0.0:8000`, `-w 4`, `--threads 16`); gunicorn
reads WEB_CONCURRENCY for the worker count when `-w` is not given.
"""

from __future__ import annotations

import os

wsgi_app = "voiceline:create_app()"
bind = ["127.0.0.1:8000"]
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or min(4, 2 * (os.cpu_count() or 1)))
# Per worker: fewer than the database pool's 15 connections (5 + 10 overflow), so a thread
# never waits for a connection while another holds two.
threads = 8
# gthread's timeout watches the worker's main loop (not a request); a request's database
# time is bounded by the settings, well under Twilio's 15 s.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Twilio's requests are small; refuse absurd request lines and headers early.
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"


def post_worker_init(worker) -> None:
    """Each worker's startup log says what /healthz would: conference policies without credentials."""
    import logging

    from voiceline.calls.ringmode import log_startup

    log_startup(worker.wsgi, logging.getLogger("voiceline"))
