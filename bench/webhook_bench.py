"""Webhook speed under gunicorn: voiceline's steps beside a bare route and a floor route.

Builds a throwaway database (SQLite by default, or --database-url) holding the demo
directory and past calls, then starts three gunicorn servers on 127.0.0.1 with the same
worker count and sends each a bounded number of signed requests from N client threads:

- **bare**: a Flask route answering constant TwiML (the web stack alone);
- **floor**: a Flask route that checks the Twilio signature, does one indexed read and one
  write through the same engine and answers constant TwiML (the limit of this stack);
- voiceline's `/voice/incoming`, a PIN step (the Gather action of the greeting, with the
  right PIN) and a parent status callback (`completed`).

Prints requests/s, p50/p99 latency, server CPU per request (the gunicorn workers' own CPU
time, from /proc) and the ratios, and records them for `make bench` (bench/report.py).

    .venv/bin/python bench/webhook_bench.py [--requests 2000] [--concurrency 16] [--workers 4]
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
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token"
PUBLIC = "https://hotline.example.org"
HOTLINE, CALLER, PIN = "+12025550100", "+12025550150", "2468"
CONSTANT = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://hotline.example.org/'
            'voice/pin?attempt=1" input="dtmf" timeout="10"><Say language="en-US" voice="Polly.Joanna">'
            'Please enter your PIN, then press the pound key.</Say></Gather></Response>')
FLOOR_APP = """
import os
from flask import Flask, Response, abort, request
from sqlalchemy import text
from twilio.request_validator import RequestValidator
from voiceline.db import make_engine

app = Flask(__name__)
engine = make_engine(os.environ["VOICELINE_DATABASE_URL"])
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
PUBLIC = os.environ["VOICELINE_PUBLIC_URL"]
CONSTANT = {constant!r}

@app.post("/floor")
def floor():
    if not validator.validate(PUBLIC + request.path, request.form.to_dict(),
                              request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    with engine.begin() as conn:
        conn.execute(text("SELECT id FROM people WHERE id = :id"), {{"id": "alice"}}).all()
        conn.execute(text("INSERT INTO bench_floor (sid) VALUES (:sid)"),
                     {{"sid": request.form["CallSid"]}})
    return Response(CONSTANT, mimetype="text/xml")
"""


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
        session.get(m.Caller, "watch-officer").pin_hash = hash_pin(PIN, PinKeys.from_config(app.config))
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
        conn.exec_driver_sql("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, sid VARCHAR(64))"
                             if url.startswith("sqlite") else
                             "CREATE TABLE bench_floor (id SERIAL PRIMARY KEY, sid VARCHAR(64))")
    appdb.engine(app).dispose()


def start_gunicorn(target: str, port: int, workers: int, env: dict, cwd: str) -> subprocess.Popen:
    """gunicorn serving `target`; its log goes to a file in `cwd` (a pipe nobody reads would
    fill up and stop every worker that logs)."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    log_path = Path(cwd) / f"gunicorn-{port}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 - kept open for the server's lifetime
    process = subprocess.Popen([gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level",
                                "warning", target], env=env, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=log_file)
    process.log_path = log_path  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text(errors="replace")) from None
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"gunicorn {target} did not start")




def wait_ready(port: int, workers: int, seconds: float = 120) -> None:
    """Until every worker answers: the port opens when the master listens, but each worker
    still imports and builds the app (seconds on a busy machine), and a burst's first
    requests would time that."""
    deadline = time.monotonic() + seconds

    def ask(results: list) -> None:
        began = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds)
            conn.request("GET", "/voice/fallback")  # any answer (a 405 here) means a live worker
            conn.getresponse().read()
            conn.close()
            results.append(time.perf_counter() - began)
        except OSError:
            results.append(float("inf"))

    while time.monotonic() < deadline:
        results: list[float] = []
        threads = [threading.Thread(target=ask, args=(results,)) for _ in range(workers * 4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if max(results) < 1:
            return
    raise RuntimeError(f"gunicorn on port {port} did not get ready in {seconds:.0f} s")


Step = Callable[[], Callable[[], bool]]


def _post(port: int, url: str, params: dict[str, str]) -> tuple[int, bytes]:
    from voiceline.calls.twilio_side import sign

    # Twilio never sends a URL's fragment (the #ct=...&rt=... connection overrides): neither do we.
    path = url.split("#", 1)[0].removeprefix(PUBLIC)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": sign(TOKEN, PUBLIC + path, params)}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, urllib.parse.urlencode(params), headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _gather_action(body: bytes) -> str | None:
    try:
        gather = ET.fromstring(body).find(".//Gather")
    except ET.ParseError:
        return None
    return None if gather is None else gather.get("action")


def _new_call() -> dict[str, str]:
    from voiceline.calls.twilio_side import call_params

    return call_params("CA" + uuid.uuid4().hex, CALLER, HOTLINE)


def step_incoming(port: int, path: str) -> Step:
    """Each timed request: a new call to `path` (bare, floor or /voice/incoming)."""
    def prepare():
        params = _new_call()

        def send() -> bool:
            status, body = _post(port, PUBLIC + path, params)
            return status == 200 and b"<Response" in body
        return send
    return prepare


def step_pin(port: int) -> Step:
    """Each timed request: the PIN step of a call greeted just before (greeting not timed)."""
    def prepare():
        params = _new_call()
        _, body = _post(port, PUBLIC + "/voice/incoming", params)
        action = _gather_action(body) or PUBLIC + "/voice/pin?attempt=1"
        digits = dict(params, Digits=PIN, FinishedOnKey="#")

        def send() -> bool:
            status, answer = _post(port, action, digits)
            # The right PIN moves on to the priority question (a wrong one would ask again).
            return status == 200 and b"/voice/priority" in answer
        return send
    return prepare


def step_status(port: int) -> Step:
    """Each timed request: the final status callback of a call greeted just before."""
    def prepare():
        params = _new_call()
        _post(port, PUBLIC + "/voice/incoming", params)
        final = dict(params, CallStatus="completed", CallDuration="12", SequenceNumber="3",
                     CallbackSource="call-progress-events",
                     Timestamp="Tue, 01 Dec 2026 10:00:00 +0000")

        def send() -> bool:
            status, _ = _post(port, PUBLIC + "/voice/status", final)
            return status in (200, 204)
        return send
    return prepare


def _prepare_all(prepare: Step, total: int, concurrency: int, seconds: float) -> list:
    """Run the untimed set-up of up to `total` requests (a PIN step's greeting) in parallel."""
    sends: list = []
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            try:
                send = prepare()
            except OSError:
                continue
            with lock:
                sends.append(send)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sends


def load(sends: list, concurrency: int, seconds: float):
    """The prepared requests from N client threads (stop after `seconds`); returns
    (latencies, busy, errors), `busy` being the clients' time on requests per client."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    pending = iter(sends)
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                send = next(pending, None)
            if send is None:
                return
            began = time.perf_counter()
            try:
                ok = send()
            except OSError:
                ok = False
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                errors[0] += not ok

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, sum(latencies) / concurrency, errors[0]


def cpu_seconds(master: subprocess.Popen) -> float:
    """User + system CPU of the gunicorn master's worker processes, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master.pid:  # the worker's parent is the master
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(name: str, server: subprocess.Popen, prepare: Step, args) -> dict:
    """Load one route; print and return req/s, p50/p99 and server CPU per request.

    The set-up a step needs (the greeting before a PIN step or a status callback) runs first,
    for every request, and is neither timed nor counted in the server's CPU.
    """
    sends = _prepare_all(prepare, args.requests, args.concurrency, args.seconds)
    before = cpu_seconds(server)
    latencies, busy, errors = load(sends, args.concurrency, args.seconds)
    cpu = cpu_seconds(server) - before
    ordered = sorted(latencies) or [0.0]
    f = {"rps": len(latencies) / busy if busy else 0.0,
         "p50": statistics.median(ordered) * 1000,
         "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
         "cpu": cpu / max(1, len(latencies)) * 1000, "errors": errors, "n": len(latencies)}
    print(f"{name:36} {f['n']:6d} req {f['rps']:8.1f} req/s  p50 {f['p50']:7.2f} ms  "
          f"p99 {f['p99']:7.2f} ms  cpu {f['cpu']:6.2f} ms/req  errors {errors}")
    return f


def start_servers(workers: int, env: dict, tmp: Path) -> dict[str, tuple[subprocess.Popen, int]]:
    """bare, floor and voiceline under gunicorn, same worker count."""
    (tmp / "bare_app.py").write_text(textwrap.dedent(f'''
        from flask import Flask, Response
        app = Flask(__name__)
        @app.post("/twiml")
        def twiml():
            return Response({CONSTANT!r}, mimetype="text/xml")
    '''))
    (tmp / "floor_app.py").write_text(FLOOR_APP.format(constant=CONSTANT))
    servers = {}
    for name, target in (("bare", "bare_app:app"), ("floor", "floor_app:app"),
                         ("voiceline", "voiceline:create_app()")):
        port = free_port()
        servers[name] = (start_gunicorn(target, port, workers, env, str(tmp)), port)
        wait_ready(port, workers)
    return servers


def record_figures(args, label: str, base: dict, low: dict, steps: dict[str, dict]) -> None:
    """The report's lines: each step against the floor and the bare route."""
    section = f"Webhooks: {label}, gunicorn -w {args.workers}, {args.concurrency} clients"
    record(section, "bare route", base["rps"], "req/s", note=f"p99 {base['p99']:.1f} ms")
    record(section, "floor route", low["rps"], "req/s",
           note=f"{low['rps'] / base['rps']:.2f}x bare; p99 {low['p99']:.1f} ms; "
                f"cpu {low['cpu']:.2f} ms/req")
    p99_target = args.concurrency >= 16
    for name, f in steps.items():
        ratio = f["rps"] / low["rps"] if low["rps"] else 0.0
        cpu_ratio = f["cpu"] / low["cpu"] if low["cpu"] else 0.0
        record(section, f"{name}: throughput vs floor", ratio, "x", target=">= 0.5x",
               met=ratio >= 0.5, note=f"{f['rps']:.0f} req/s; {f['rps'] / base['rps']:.2f}x bare; "
                                      f"{args.past_calls:,} past calls")
        record(section, f"{name}: server CPU vs floor", cpu_ratio, "x", target="<= 2x",
               met=cpu_ratio <= 2, note=f"{f['cpu']:.2f} ms/req vs {low['cpu']:.2f}")
        record(section, f"{name}: p99", f["p99"], "ms", target="< 50 ms" if p99_target else "",
               met=(f["p99"] < 50) if p99_target else None,
               note=f"p50 {f['p50']:.1f} ms; {f['errors']} errors of {f['n']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per route")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per server")
    parser.add_argument("--seconds", type=float, default=60, help="time limit per route")
    parser.add_argument("--past-calls", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp directory")
    parser.add_argument("--label", default="", help="names the database in the report")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="voiceline-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    label = args.label or ("SQLite" if url.startswith("sqlite") else "PostgreSQL")
    began = time.perf_counter()
    build_database(url, args.past_calls)
    print(f"database: {url.split('@')[-1]} with {args.past_calls:,} past calls "
          f"(built in {time.perf_counter() - began:.1f} s)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELINE_", "TWILIO_"))}
    env.update(VOICELINE_DATABASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN, VOICELINE_PUBLIC_URL=PUBLIC,
               VOICELINE_SECRET_KEY="bench", VOICELINE_LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp)]))
    servers = start_servers(args.workers, env, tmp)
    try:
        (bare_srv, bare), (floor_srv, floor), (vl_srv, vl) = (
            servers["bare"], servers["floor"], servers["voiceline"])
        for prepare in (step_incoming(bare, "/twiml"), step_incoming(floor, "/floor"),
                        step_incoming(vl, "/voice/incoming"), step_pin(vl)):
            load(_prepare_all(prepare, 50, 2, 10), 2, 10)  # warm-up: imports, pools
        print(f"gunicorn -w {args.workers} on 127.0.0.1, {args.concurrency} client threads, "
              f"up to {args.requests} requests / {args.seconds:.0f} s per route")
        base = measure("bare Flask, constant TwiML", bare_srv, step_incoming(bare, "/twiml"), args)
        low = measure("floor (signature, 1 read, 1 write)", floor_srv,
                      step_incoming(floor, "/floor"), args)
        steps = {"/voice/incoming": measure("/voice/incoming", vl_srv,
                                            step_incoming(vl, "/voice/incoming"), args),
                 "PIN step": measure("PIN step", vl_srv, step_pin(vl), args),
                 "status callback": measure("status callback", vl_srv, step_status(vl), args)}
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=10)
    record_figures(args, label, base, low, steps)
    incoming = steps["/voice/incoming"]
    print(f"/voice/incoming vs floor: {incoming['rps'] / low['rps']:.2f}x throughput, "
          f"{incoming['cpu'] / low['cpu']:.1f}x server CPU per request")


if __name__ == "__main__":
    main()
