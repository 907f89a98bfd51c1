"""/voice/incoming under gunicorn vs a bare Flask route answering constant TwiML.

Builds a throwaway database (SQLite by default, or --database-url) holding the demo
directory and 100,000 past calls, starts two gunicorn servers on 127.0.0.1 (voiceline and a
bare Flask app, same worker count), sends each a bounded number of signed requests from a
few client threads, and prints requests/s, p50/p99 latency and the ratio.

    .venv/bin/python bench/webhook_bench.py [--requests 2000] [--concurrency 8] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token"
PUBLIC = "https://hotline.example.org"
CONSTANT = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://hotline.example.org/'
            'voice/pin?attempt=1" input="dtmf" timeout="10"><Say language="en-US" voice="Polly.Joanna">'
            'Please enter your PIN, then press the pound key.</Say></Gather></Response>')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_database(url: str, past_calls: int) -> None:
    """Migrate, import the demo directory, give watch-officer a PIN, insert past calls."""
    from sqlalchemy import insert

    from voiceline import appdb, create_app, migrate
    from voiceline.db import session_scope
    from voiceline.models.calls import Call, CallEvent
    from voiceline.pins import PinKeys, hash_pin
    from voiceline.rotafile import apply_plan, load_file, parse_document

    tmp = tempfile.mkdtemp(prefix="voiceline-bench-app-")
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench"})
    migrate.upgrade(appdb.engine(app))
    from voiceline import models as m

    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        apply_plan(session, parse_document(load_file(str(ROOT / "fixtures" / "demo.yaml")), "US"),
                   actor="bench")
        session.flush()
        session.get(m.Caller, "watch-officer").pin_hash = hash_pin("2468", PinKeys.from_config(app.config))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    outcomes = ["answered", "answered", "answered", "voicemail", "abandoned", "rejected"]
    with appdb.engine(app).begin() as conn:
        for base in range(0, past_calls, 10_000):
            rows = [dict(sid=f"CApast{i:028d}", hotline_id="liaison", to_number="+12025550100",
                         from_number="+12025550150", caller_id="watch-officer", verified=True,
                         language="en-US", priority=1, duress=False, is_test=False, state="done",
                         step=1, round=0, pin_attempts=0, dial_group=0, last_sequence=3,
                         started_at=start + timedelta(minutes=5 * i), outcome=outcomes[i % 6],
                         answered_by="alice" if i % 6 < 3 else None, duration_seconds=60 + i % 300,
                         meta={})
                    for i in range(base, min(base + 10_000, past_calls))]
            conn.execute(insert(Call), rows)
        ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM calls")]
        for base in range(0, len(ids), 20_000):
            conn.execute(insert(CallEvent), [dict(call_id=i, at=start, kind="greeted", detail={},
                                                  dedupe_key=f"greeted:past{i}")
                                             for i in ids[base:base + 20_000]])
    appdb.engine(app).dispose()


def start_gunicorn(target: str, port: int, workers: int, env: dict, cwd: str) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen([gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level",
                                "warning", target], env=env, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"gunicorn {target} did not start")


def load(port: int, path: str, total: int, concurrency: int, seconds: float, signed: bool):
    """Send up to `total` POSTs (stop after `seconds`); return (latencies, wall time, errors)."""
    from voiceline.calls.twilio_side import call_params, sign

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            params = call_params("CA" + uuid.uuid4().hex, "+12025550150", "+12025550100")
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if signed:
                headers["X-Twilio-Signature"] = sign(TOKEN, PUBLIC + path, params)
            body = urllib.parse.urlencode(params)
            began = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                text = response.read()
                ok = response.status == 200 and b"<Gather" in text
            except OSError:
                ok = False
            finally:
                conn.close()
            with lock:
                latencies.append(time.perf_counter() - began)
                errors[0] += not ok

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - began, errors[0]


def report(name: str, latencies: list[float], wall: float, errors: int) -> float:
    ordered = sorted(latencies)
    rps = len(ordered) / wall if wall else 0.0
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(f"{name:34} {len(ordered):6d} req  {rps:8.1f} req/s  p50 {p50:7.2f} ms  "
          f"p99 {p99:7.2f} ms  errors {errors}")
    return rps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per server (bounded)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per server")
    parser.add_argument("--seconds", type=float, default=60, help="time limit per server")
    parser.add_argument("--past-calls", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp directory")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="voiceline-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    began = time.perf_counter()
    build_database(url, args.past_calls)
    print(f"database: {url.split('@')[-1]} with {args.past_calls:,} past calls "
          f"(built in {time.perf_counter() - began:.1f} s)")
    (tmp / "bare_app.py").write_text(textwrap.dedent(f'''
        from flask import Flask, Response
        app = Flask(__name__)
        @app.post("/twiml")
        def twiml():
            return Response({CONSTANT!r}, mimetype="text/xml")
    '''))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELINE_", "TWILIO_"))}
    env.update(VOICELINE_DATABASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN, VOICELINE_PUBLIC_URL=PUBLIC,
               VOICELINE_SECRET_KEY="bench", VOICELINE_LOG_LEVEL="WARNING",
               PYTHONPATH=str(ROOT))
    servers = []
    try:
        port_v, port_b = free_port(), free_port()
        servers.append(start_gunicorn("voiceline:create_app()", port_v, args.workers, env, str(tmp)))
        servers.append(start_gunicorn("bare_app:app", port_b, args.workers, env, str(tmp)))
        load(port_v, "/voice/incoming", 50, 2, 10, True)  # warm-up: imports, pools
        load(port_b, "/twiml", 50, 2, 10, False)
        print(f"gunicorn -w {args.workers} on 127.0.0.1, {args.concurrency} client threads, "
              f"up to {args.requests} requests / {args.seconds:.0f} s each")
        bare = report("bare Flask, constant TwiML", *load(port_b, "/twiml", args.requests,
                                                           args.concurrency, args.seconds, False))
        real = report("/voice/incoming (signed, known)", *load(port_v, "/voice/incoming", args.requests,
                                                               args.concurrency, args.seconds, True))
        print(f"ratio voiceline / bare: {real / bare:.2f} ({bare / real:.1f}x slower)")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
