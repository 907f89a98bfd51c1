"""A burst of calls over real HTTP: every step of every call, PIN entries included.

Starts `gunicorn -w 4` serving voiceline on 127.0.0.1 over a throwaway database (SQLite by
default, or --database-url), then plays N copies of a recorded call (fixtures/calls/
pin-caller.yaml: greeting, PIN, priority, dial, screening, acceptance, status callbacks)
at once, each with its own CallSids, and times every answer. Prints p50/p99/max answer
time and the count over Twilio's 15 s deadline, and records them for `make bench`.

    .venv/bin/python bench/burst_bench.py [--calls 200] [--workers 4] [--database-url URL]
"""

from __future__ import annotations

import argparse
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
from webhook_bench import PUBLIC, TOKEN, build_database, free_port, start_gunicorn  # noqa: E402

FIXTURE = HERE.parent / "fixtures" / "calls" / "pin-caller.yaml"
DEADLINE = 15.0


def copies(fixture: dict, n: int) -> list[dict]:
    """`n` copies of the fixture, each call (and leg) with its own CallSids."""
    from voiceline.calls.replay import live_copy

    return [live_copy(fixture)[0] for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp directory")
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    from voiceline.calls.replay import load_fixture, replay
    from voiceline.calls.twilio_side import OverHTTP, Twilio

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

    try:
        calls = copies(load_fixture(FIXTURE), args.calls)
        began = time.perf_counter()
        threads = [threading.Thread(target=play, args=(c,)) for c in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=10)
    ordered = sorted(times) or [0.0]
    p50, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    over = sum(t > DEADLINE for t in ordered)
    print(f"{args.calls} calls at once, {len(ordered)} answers in {wall:.1f} s: p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms, {over} over {DEADLINE:.0f} s, "
          f"{failed[0]} calls with a wrong answer")
    for problem in problems:
        print(f"  e.g. {problem}")
    section = f"Burst: {args.calls} calls at once, gunicorn -w {args.workers}, {label}"
    record(section, "answer time p50", p50 * 1000, "ms", note=f"{len(ordered)} answers")
    record(section, "answer time p99", p99 * 1000, "ms", target="< 2,000 ms", met=p99 < 2)
    record(section, "answer time max", ordered[-1] * 1000, "ms")
    record(section, f"answers over {DEADLINE:.0f} s", over, "", target="0", met=over == 0,
           note=f"{over / len(ordered):.1%} of answers")
    record(section, "calls with a wrong answer", failed[0], "", target="0", met=failed[0] == 0)


if __name__ == "__main__":
    main()
