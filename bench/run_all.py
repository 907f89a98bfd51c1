"""Run every bench script, then write one report: bench/REPORT.md (and print it).

    make bench                      # starts PostgreSQL like `make test`, then runs this
    .venv/bin/python bench/run_all.py [--quick]

    .venv/bin/python bench/run_all.py --only "call log,growth"   # some scripts only

Each script runs as its own process (one at a time, so they do not disturb each other's
figures) with BENCH_REPORT pointing at a JSON-lines file that `bench/report.py` renders.
PostgreSQL runs happen when VOICELINE_TEST_POSTGRES_URL names a server (make bench starts
a throwaway one); each gets a fresh database. The call-log data sets (bench/datasets.py:
0 / 10,000 / 100,000 / 1,000,000 past calls; --quick stops at 100,000) are built once per
run on each database, when a script first needs them, and shared by calllog_bench.py and
growth_bench.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report import read, record, render  # noqa: E402


def fresh_postgres(server_url: str) -> str:
    """A new empty database on the server (dropped by nobody: the cluster is throwaway)."""
    import psycopg

    name = "bench_" + uuid.uuid4().hex[:10]
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def plan(quick: bool, postgres: str | None) -> list[tuple[str, list[str]]]:
    """(label, argv) of every run, in order. "@postgres" is a fresh database; "@data:DB:N" is
    the data set of N past calls on DB (sqlite or postgres), built once per run (datasets.py)."""
    n = 400 if quick else 2000
    # Each webhook route runs at most `seconds` (a loaded machine serves far fewer than `n`);
    # past calls stay at 10,000 here: growth_bench measures /voice/incoming up to 1,000,000.
    seconds = "60" if quick else "25"
    databases = ["sqlite"] + (["postgres"] if postgres else [])
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    runs: list[tuple[str, list[str]]] = []
    runs.append(("rota engine", ["rota_bench.py"]))
    runs.append(("scheduler, 20 rotas", ["jobs_bench.py", "--ticks", "240" if quick else "720"]))
    runs.append(("scheduler, 200 rotas", ["jobs_bench.py", "--rotas", "200", "--members", "10",
                                          "--ticks", "20" if quick else "60", "--no-sender"]))
    big = 100_000 if quick else 1_000_000
    middle = 10_000 if quick else 100_000
    for db in databases:
        runs.append((f"call log, {names[db]}",
                     ["calllog_bench.py", "--url", f"@data:{db}:{big}", "--small-url",
                      f"@data:{db}:10000", "--label", names[db], "--export"]))
    for db in databases:  # after the call log: its timed calls add a few hundred rows
        runs.append((f"/voice/incoming growth, {names[db]}",
                     ["growth_bench.py", "--label", names[db], "--rounds", "30" if quick else "40",
                      *[a for size in (0, middle, big) for a in ("--db", f"{size}=@data:{db}:{size}")]]))
    for db in databases:
        for clients in (4, 16):
            runs.append((f"webhooks, {names[db]}, {clients} clients",
                         ["webhook_bench.py", "--requests", str(n), "--concurrency", str(clients),
                          "--seconds", seconds, "--past-calls", "10000", "--label", names[db],
                          *(["--database-url", "@postgres"] if db == "postgres" else [])]))
    calls = "50" if quick else "200"  # the burst is 200 calls at once
    for db in databases:
        runs.append((f"burst, {names[db]}",
                     ["burst_bench.py", "--calls", calls, "--label", names[db],
                      *(["--database-url", "@postgres"] if db == "postgres" else [])]))
    runs.append(("SQL statements per webhook", ["statements_bench.py"]))
    runs.append(("PIN to first ring, dial vs conference", ["ring_bench.py", "--calls", "3" if quick else "5"]))
    return runs


class DataSets:
    """The data sets a run's scripts share, each built once on first use (bench/datasets.py)."""

    def __init__(self, postgres: str | None):
        self.postgres = postgres
        self.folder = Path(tempfile.mkdtemp(prefix="voiceline-bench-data-"))
        self.urls: dict[tuple[str, int], str] = {}

    def url(self, db: str, calls: int) -> str:
        if (db, calls) not in self.urls:
            import datasets

            if db == "sqlite":
                url = f"sqlite:///{self.folder / f'calls-{calls}.db'}"
            else:
                assert self.postgres, "no PostgreSQL server"
                url = fresh_postgres(self.postgres)
            seconds = datasets.build(url, calls)
            name = "SQLite" if db == "sqlite" else "PostgreSQL"
            print(f"=== data set: {calls:,} calls on {name}, built in {seconds:.1f} s", flush=True)
            record("Data sets (bench/datasets.py, built once per run)",
                   f"{calls:,} calls on {name}: build time", seconds, "s",
                   note="migrate, directory, INSERT ... SELECT of calls and events, ANALYZE")
            self.urls[(db, calls)] = url
        return self.urls[(db, calls)]

    def resolve(self, arg: str) -> str:
        """Replace "@data:DB:N" (alone or after "K=") by that data set's URL."""
        prefix, _, rest = arg.partition("@data:")
        if not rest:
            return arg
        db, _, calls = rest.partition(":")
        return prefix + self.url(db, int(calls))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--only", default="", metavar="WORDS",
                        help="comma-separated words: run only the scripts whose label has one "
                             "(e.g. 'call log,growth')")
    parser.add_argument("--out", default=str(HERE / "REPORT.md"))
    args = parser.parse_args()
    postgres = os.environ.get("VOICELINE_TEST_POSTGRES_URL")
    figures = Path(tempfile.mkdtemp(prefix="voiceline-bench-report-")) / "figures.jsonl"
    env = dict(os.environ, BENCH_REPORT=str(figures))
    os.environ["BENCH_REPORT"] = str(figures)  # the data sets' build times (DataSets.url)
    data = DataSets(postgres)
    failures: list[str] = []
    run_began = time.monotonic()
    only = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    runs = [(label, argv) for label, argv in plan(args.quick, postgres)
            if not only or any(w in label.lower() for w in only)]
    mode = "quick" if args.quick else "full"
    for number, (label, argv) in enumerate(runs):
        if number:  # the report so far, so a run stopped part-way still leaves its figures
            left = [name for name, _ in runs[number:]]
            partial = render(read(figures), failures + [f"not run yet: {', '.join(left)}"],
                             mode=f"{mode}, incomplete", minutes=(time.monotonic() - run_began) / 60)
            Path(args.out).write_text(partial + "\n", encoding="utf-8")
        try:
            argv = [fresh_postgres(postgres) if a == "@postgres" and postgres else data.resolve(a)
                    for a in argv]
        except Exception as exc:  # a data set that cannot be built fails its scripts only
            print(f"=== {label}: data set failed: {exc}", flush=True)
            failures.append(f"{label} (data set: {exc})")
            continue
        print(f"\n=== {label}: {' '.join(argv)}", flush=True)
        began = time.monotonic()
        done = subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]], env=env,
                              check=False)
        print(f"=== {label}: {time.monotonic() - began:.0f} s, exit {done.returncode}", flush=True)
        if done.returncode:
            failures.append(f"{label} (exit {done.returncode})")
    shutil.rmtree(data.folder, ignore_errors=True)  # the SQLite sets (~1 GB at full size)
    elapsed = time.monotonic() - run_began
    print(f"\n=== whole run: {elapsed / 60:.1f} min", flush=True)
    text = render(read(figures), failures, mode=mode, minutes=elapsed / 60)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
