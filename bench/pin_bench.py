"""PIN checks: verify time (argon2id vs keyed HMAC) and a burst of concurrent calls keying PINs.

Part 1 times one PIN entry's hashing work in-process: both stored hashes compared (real and
duress PIN), as the call flow does, with argon2id (the old scheme) and HMAC-SHA256 (the new).
Part 2 builds a throwaway SQLite (or --database-url) database with the demo directory, starts `gunicorn -w 4` on
127.0.0.1 and lets N simultaneous calls each post /voice/incoming then /voice/pin (the right
PIN), and prints p50/p99/max per step and how many answers took over 2 s and 15 s.
`--app-root DIR` serves another checkout (e.g. `git archive main | tar -x -C DIR`) to compare;
`--argon2` stores the PIN as argon2id (what an old database holds).

    .venv/bin/python bench/pin_bench.py [--calls 200] [--spread 0] [--workers 4] [--argon2] [--app-root DIR]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhook_bench import PUBLIC, TOKEN, free_port, start_gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CALLER = "+12025550150"  # watch-officer in the demo directory
HOTLINE = "+12025550100"


def verify_times(rounds_argon2: int = 10, rounds_hmac: int = 20000) -> None:
    """Print the median time of one PIN entry's two comparisons under each scheme."""
    from voiceline.passwords import hash_secret, verify_secret
    from voiceline.pins import PinKeys, hash_pin, verify_pin

    real, duress = hash_secret("2468"), hash_secret("9753")
    times = []
    for _ in range(rounds_argon2):
        began = time.perf_counter()
        verify_secret(real, "1357")
        verify_secret(duress, "1357")
        times.append(time.perf_counter() - began)
    old = statistics.median(times)
    keys = PinKeys.from_config({"PIN_KEY": "bench"})
    real, duress = hash_pin("2468", keys), hash_pin("9753", keys)
    times = []
    for _ in range(rounds_hmac):
        began = time.perf_counter()
        verify_pin(real, "1357", keys)
        verify_pin(duress, "1357", keys)
        times.append(time.perf_counter() - began)
    new = statistics.median(times)
    print(f"one PIN entry (two comparisons), median: argon2id {old * 1000:8.1f} ms "
          f"({rounds_argon2} rounds)   HMAC-SHA256 {new * 1e6:6.1f} us ({rounds_hmac} rounds)   "
          f"{old / new:,.0f}x")


def build_database(url: str, argon2: bool) -> None:
    """Migrate, import the demo directory, give watch-officer PIN 2468 (duress 9753)."""
    from voiceline import appdb, create_app, migrate
    from voiceline import models as m
    from voiceline.db import session_scope
    from voiceline.passwords import hash_secret
    from voiceline.pins import PinKeys, hash_pin
    from voiceline.rotafile import apply_plan, load_file, parse_document

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(), "SECRET_KEY": "bench"})
    migrate.upgrade(appdb.engine(app))
    keys = PinKeys.from_config(app.config)
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        apply_plan(session, parse_document(load_file(str(ROOT / "fixtures" / "demo.yaml")), "US"),
                   actor="bench")
        session.flush()
        caller = session.get(m.Caller, "watch-officer")
        caller.pin_hash = hash_secret("2468") if argon2 else hash_pin("2468", keys)
        caller.duress_pin_hash = hash_secret("9753") if argon2 else hash_pin("9753", keys)
    appdb.engine(app).dispose()


def _post(port: int, path: str, params: dict, timeout: float) -> tuple[float, bool, bytes]:
    from voiceline.calls.twilio_side import sign

    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": sign(TOKEN, PUBLIC + path, params)}
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, urllib.parse.urlencode(params), headers)
        response = conn.getresponse()
        return time.perf_counter() - began, response.status == 200, response.read()
    except OSError:
        return time.perf_counter() - began, False, b""
    finally:
        conn.close()


def burst(port: int, calls: int, spread: float = 0.0) -> dict[str, list[float]]:
    """`calls` calls at once (or spread evenly over `spread` s): incoming, then the right PIN."""
    from voiceline.calls.twilio_side import call_params

    results: dict[str, list[float]] = {"incoming": [], "pin": []}
    failures = []
    lock = threading.Lock()
    barrier = threading.Barrier(calls)

    def one_call(index: int):
        sid = "CA" + uuid.uuid4().hex
        barrier.wait()
        time.sleep(spread * index / calls)
        spent, ok, body = _post(port, "/voice/incoming", call_params(sid, CALLER, HOTLINE), 60)
        ok = ok and b"/voice/pin" in body
        with lock:
            results["incoming"].append(spent)
        if not ok:
            with lock:
                failures.append(("incoming", body[:200]))
            return
        spent, ok, body = _post(port, "/voice/pin?attempt=1",
                                call_params(sid, CALLER, HOTLINE, Digits="2468"), 60)
        with lock:
            results["pin"].append(spent)
            if not (ok and b"/voice/priority" in body):
                failures.append(("pin", body[:200]))

    threads = [threading.Thread(target=one_call, args=(i,)) for i in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results["failures"] = failures
    return results


def _line(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return f"{name:10} no answers"
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{name:10} {len(ordered):4d} answers  p50 {statistics.median(ordered) * 1000:8.1f} ms  "
            f"p99 {p99 * 1000:8.1f} ms  max {ordered[-1] * 1000:8.1f} ms  "
            f"over 2 s: {sum(v > 2 for v in ordered)}  over 15 s: {sum(v > 15 for v in ordered)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--argon2", action="store_true", help="store the PINs as argon2id")
    parser.add_argument("--app-root", default=str(ROOT), help="the checkout gunicorn serves")
    parser.add_argument("--spread", type=float, default=0.0,
                        help="seconds over which the calls arrive (default 0: all at once)")
    parser.add_argument("--database-url", help="default: a SQLite file in a temp directory (an empty "
                        "PostgreSQL database works too: it is migrated)")
    parser.add_argument("--skip-verify", action="store_true", help="only the burst")
    args = parser.parse_args()
    if not args.skip_verify:
        verify_times()
    tmp = Path(tempfile.mkdtemp(prefix="voiceline-pin-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    build_database(url, args.argon2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELINE_", "TWILIO_"))}
    env.update(VOICELINE_DATABASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN, VOICELINE_PUBLIC_URL=PUBLIC,
               VOICELINE_SECRET_KEY="bench", VOICELINE_LOG_LEVEL="WARNING",
               PYTHONPATH=str(Path(args.app_root).resolve()))
    port = free_port()
    server = start_gunicorn("voiceline:create_app()", port, args.workers, env, str(tmp))
    try:
        burst(port, 4)  # warm-up: imports, pools in every worker
        began = time.perf_counter()
        results = burst(port, args.calls, args.spread)
        wall = time.perf_counter() - began
        print(f"{args.calls} calls {f'over {args.spread:g} s' if args.spread else 'at once'}, gunicorn -w {args.workers} on 127.0.0.1, {url.split(':')[0]}, "
              f"PINs stored as {'argon2id' if args.argon2 else 'HMAC-SHA256'}, app {args.app_root}: "
              f"{wall:.1f} s in all")
        print(_line("incoming", results["incoming"]))
        print(_line("pin", results["pin"]))
        print(_line("all", results["incoming"] + results["pin"]))
        print(f"failed answers: {len(results['failures'])} {results['failures'][:2]}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
