"""A burst of calls over real HTTP: every step of every call, PIN entries included.

Starts `gunicorn -w 4` serving voiceline on 127.0.0.1 over a throwaway database (SQLite by
default, or --database-url), then plays N copies of a recorded call (fixtures/calls/
pin-caller.yaml: greeting, PIN, priority, dial, screening, acceptance, status callbacks)
at once, each with its own CallSids, and times every answer. Prints p50/p99/max answer
time and the count over Twilio's 15 s deadline, and records them for `make bench`.

The calls are shared among a few client processes (--clients), started together: one
Python process for 200 callers would mostly time the wait for its own interpreter lock.
The server's and the clients' CPU per answer are printed too (they share this machine).

    .venv/bin/python bench/burst_bench.py [--calls 200] [--workers 4] [--clients 4] [--database-url URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report import record  # noqa: E402
from webhook_bench import (  # noqa: E402
    PUBLIC,
    TOKEN,
    build_database,
    cpu_seconds,
    free_port,
    start_gunicorn,
    wait_ready,
)

FIXTURE = HERE.parent / "fixtures" / "calls" / "pin-caller.yaml"
DEADLINE = 15.0


def copies(fixture: dict, n: int) -> list[dict]:
    """`n` copies of the fixture, each call (and leg) with its own CallSids."""
    from voiceline.calls.replay import live_copy

    return [live_copy(fixture)[0] for _ in range(n)]


def play_share(calls: list[dict], port: int, ready, start, out) -> None:
    """One client process: play its share of the calls, one thread per call, once `start` is set."""
    from voiceline.calls.replay import replay
    from voiceline.calls.twilio_side import OverHTTP, Twilio

    times: list[float] = []
    failed = [0]
    problems: list[str] = []
    lock = threading.Lock()

    class Timed(OverHTTP):
        def post(self, path, params, headers):
            began = time.perf_counter()
            answer = super().post(path, params, headers)
            with lock:
                times.append(time.perf_counter() - began)
            return answer

    def play(call: dict) -> None:
        twilio = Twilio(Timed(f"http://127.0.0.1:{port}", timeout=60), TOKEN, PUBLIC)
        outcomes = replay(call, twilio)
        wrong = [f"{o.name}: {'; '.join(o.problems)}" for o in outcomes if not o.ok and not o.skipped]
        with lock:
            failed[0] += bool(wrong)
            if wrong and len(problems) < 3:
                problems.append(wrong[0])

    threads = [threading.Thread(target=play, args=(c,)) for c in calls]
    ready.release()
    start.wait()
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((times, failed[0], problems, time.process_time() - cpu))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4,
                        help="client processes sharing the calls (Twilio is not one Python "
                             "process: one GIL for 200 callers would time its own queue)")
    parser.add_argument("--database-url", help="default: a SQLite file in a temp directory")
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    from voiceline.calls.replay import load_fixture

    tmp = Path(tempfile.mkdtemp(prefix="voiceline-burst-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    label = args.label or ("SQLite" if url.startswith("sqlite") else "PostgreSQL")
    build_database(url, 0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELINE_", "TWILIO_"))}
    env.update(VOICELINE_DATABASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN, VOICELINE_PUBLIC_URL=PUBLIC,
               VOICELINE_SECRET_KEY="bench", VOICELINE_LOG_LEVEL="WARNING",
               PYTHONPATH=str(HERE.parent))
    port = free_port()
    server = start_gunicorn("voiceline:create_app()", port, args.workers, env, str(tmp))
    wait_ready(port, args.workers)
    context = multiprocessing.get_context("fork")
    ready, start, out = context.Semaphore(0), context.Event(), context.Queue()
    times: list[float] = []
    failed, problems, client_cpu = 0, [], 0.0
    try:
        calls = copies(load_fixture(FIXTURE), args.calls)
        shares = [calls[i::args.clients] for i in range(max(1, args.clients))]
        clients = [context.Process(target=play_share, args=(share, port, ready, start, out))
                   for share in shares if share]
        for client in clients:
            client.start()
        for _ in clients:
            ready.acquire()
        server_cpu = cpu_seconds(server)
        began = time.perf_counter()
        start.set()
        for _ in clients:
            share_times, share_failed, share_problems, cpu = out.get()
            times += share_times
            failed += share_failed
            problems += share_problems
            client_cpu += cpu
        wall = time.perf_counter() - began
        server_cpu = cpu_seconds(server) - server_cpu
        for client in clients:
            client.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    ordered = sorted(times) or [0.0]
    p50, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    over = sum(t > DEADLINE for t in ordered)
    per_server = server_cpu / len(ordered) * 1000
    per_client = client_cpu / len(ordered) * 1000
    print(f"{args.calls} calls at once, {len(ordered)} answers in {wall:.1f} s: p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms, {over} over {DEADLINE:.0f} s, "
          f"{failed} calls with a wrong answer; CPU per answer: server {per_server:.1f} ms, "
          f"clients {per_client:.1f} ms ({len(shares)} client processes)")
    for problem in problems[:3]:
        print(f"  e.g. {problem}")
    errors = [line for line in server.log_path.read_text(errors="replace").splitlines()
              if "ERROR" in line or "Error" in line]
    if errors:
        print(f"  server log ({server.log_path}): {len(errors)} error lines, e.g. {errors[0][:300]}")
    section = f"Burst: {args.calls} calls at once, gunicorn -w {args.workers}, {label}"
    record(section, "answer time p50", p50 * 1000, "ms", note=f"{len(ordered)} answers in {wall:.1f} s")
    record(section, "answer time p99", p99 * 1000, "ms", target="< 2,000 ms", met=p99 < 2)
    record(section, "answer time max", ordered[-1] * 1000, "ms")
    record(section, f"answers over {DEADLINE:.0f} s", over, "", target="0", met=over == 0,
           note=f"{over / len(ordered):.1%} of answers")
    record(section, "calls with a wrong answer", failed, "", target="0", met=failed == 0)
    record(section, "server CPU per answer", per_server, "ms",
           note=f"gunicorn workers; the {len(shares)} client processes used {per_client:.1f} ms "
                "per answer of the same 2 cores")


if __name__ == "__main__":
    main()
