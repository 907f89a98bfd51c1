"""Run every bench script, then write one report: bench/REPORT.md (and print it).

    make bench                      # starts PostgreSQL like `make test`, then runs this
    .venv/bin/python bench/run_all.py [--quick]

Each script runs as its own process (one at a time, so they do not disturb each other's
figures) with BENCH_REPORT pointing at a JSON-lines file that `bench/report.py` renders.
PostgreSQL runs happen when VOICELINE_TEST_POSTGRES_URL names a server (make bench starts
a throwaway one); each gets a fresh database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report import read, render  # noqa: E402


def fresh_postgres(server_url: str) -> str:
    """A new empty database on the server (dropped by nobody: the cluster is throwaway)."""
    import psycopg

    name = "bench_" + uuid.uuid4().hex[:10]
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def plan(quick: bool, postgres: str | None) -> list[tuple[str, list[str]]]:
    """(label, argv) of every run, in order."""
    n = 400 if quick else 2000
    runs: list[tuple[str, list[str]]] = []
    for clients in (4, 16):
        runs.append((f"webhooks, SQLite, {clients} clients",
                     ["webhook_bench.py", "--requests", str(n), "--concurrency", str(clients),
                      "--past-calls", "10000" if quick else "100000", "--label", "SQLite"]))
    if postgres:
        for clients in (4, 16):
            runs.append((f"webhooks, PostgreSQL, {clients} clients",
                         ["webhook_bench.py", "--requests", str(n), "--concurrency", str(clients),
                          "--past-calls", "10000" if quick else "100000", "--label", "PostgreSQL",
                          "--database-url", "@postgres"]))
    calls = "50" if quick else "200"
    runs.append(("burst, SQLite", ["burst_bench.py", "--calls", calls, "--label", "SQLite"]))
    if postgres:
        runs.append(("burst, PostgreSQL", ["burst_bench.py", "--calls", calls, "--label",
                                           "PostgreSQL", "--database-url", "@postgres"]))
    runs.append(("rota engine", ["rota_bench.py"]))
    runs.append(("scheduler, 20 rotas", ["jobs_bench.py", "--ticks", "240" if quick else "1440"]))
    runs.append(("scheduler, 200 rotas", ["jobs_bench.py", "--rotas", "200", "--members", "10",
                                          "--ticks", "10" if quick else "60", "--no-sender"]))
    runs.append(("SQL statements per webhook", ["statements_bench.py"]))
    runs.append(("call log", ["calllog_bench.py", "--calls", "100000" if quick else "1000000",
                              "--small", "10000", "--export"]))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--out", default=str(HERE / "REPORT.md"))
    args = parser.parse_args()
    postgres = os.environ.get("VOICELINE_TEST_POSTGRES_URL")
    figures = Path(tempfile.mkdtemp(prefix="voiceline-bench-report-")) / "figures.jsonl"
    env = dict(os.environ, BENCH_REPORT=str(figures))
    failures: list[str] = []
    for label, argv in plan(args.quick, postgres):
        argv = [fresh_postgres(postgres) if a == "@postgres" and postgres else a for a in argv]
        print(f"\n=== {label}: {' '.join(argv)}", flush=True)
        began = time.monotonic()
        done = subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]], env=env,
                              check=False)
        print(f"=== {label}: {time.monotonic() - began:.0f} s, exit {done.returncode}", flush=True)
        if done.returncode:
            failures.append(f"{label} (exit {done.returncode})")
    text = render(read(figures), failures)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
