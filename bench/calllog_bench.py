"""Call-log timings at a million calls: keyset page 1 and a deep page, with and without filters.

    .venv/bin/python bench/calllog_bench.py [--calls 1000000] [--db PATH]

Builds a migrated SQLite file (default: a temp dir), imports the demo directory,
bulk-inserts the calls in one transaction (executemany), then times
`voiceline.calllog.query.call_page` (the query the UI and the API run).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from voiceline import migrate
from voiceline.calllog import present
from voiceline.calllog import query as calllog
from voiceline.db import make_engine, make_sessionmaker, session_scope
from voiceline.models.calls import Call
from voiceline.rotafile import apply_plan, load_file, parse_document

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2024, 1, 1, tzinfo=UTC)
OUTCOMES = [("answered", 85), ("voicemail", 5), ("missed", 4), ("rejected", 3), ("abandoned", 2.5),
            ("failed", 0.5)]
RESPONDERS = ["alice", "dmitri", "grace", "boris", "carol", "duty-chief"]


def rows(n: int, seed: int = 7):
    """n calls, one every ~63 s on average from 2024-01-01 (about two years)."""
    rng = random.Random(seed)
    names, weights = zip(*OUTCOMES, strict=True)
    at = START
    for i in range(n):
        at += timedelta(seconds=rng.randint(1, 125), microseconds=rng.randint(0, 999_999))
        outcome = rng.choices(names, weights)[0]
        answered = outcome == "answered"
        yield {
            "sid": f"CA{i:032x}", "hotline_id": "liaison", "to_number": "+12025550100",
            "from_number": "+12025550150", "caller_id": rng.choice(["ops-desk", "watch-officer",
                                                                   "embassy-duty", None]),
            "verified": True, "priority": rng.choice([1, 2, 2, 2]),
            "duress": rng.random() < 0.0005, "is_test": rng.random() < 0.01, "state": "done",
            "started_at": at, "answered_at": at + timedelta(seconds=rng.randint(3, 40)) if answered else None,
            "ended_at": at + timedelta(seconds=120), "outcome": outcome,
            "answered_by": rng.choice(RESPONDERS) if answered else None,
            "duration_seconds": 120, "meta": {}, "round": 0, "pin_attempts": 0,
        }


def build(path: Path, n: int) -> None:
    """A migrated database with the demo directory and n calls."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        apply_plan(session, parse_document(load_file(ROOT / "fixtures" / "demo.yaml")), actor="bench")
    began = time.perf_counter()
    batch: list[dict] = []
    with engine.begin() as conn:
        for row in rows(n):
            batch.append(row)
            if len(batch) == 20_000:
                conn.execute(insert(Call), batch)
                batch.clear()
        if batch:
            conn.execute(insert(Call), batch)
    print(f"inserted {n:,} calls in {time.perf_counter() - began:.1f} s")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def timed(fn, repeat: int = 15) -> float:
    """Median wall time of fn() in milliseconds (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


FILTERS = {
    "no filter": {},
    "outcome=missed": {"outcome": "missed"},
    "responder=grace": {"responder": "grace"},
    "caller=ops-desk, priority=1": {"caller": "ops-desk", "priority": "1"},
    "duress=yes (rare)": {"duress": "yes"},
    "one month (date range)": {"from": "2025-06-01", "to": "2025-06-30"},
}


def page_times(path: Path) -> tuple[int, dict[str, tuple[float, float, str]]]:
    """(calls, {filter: (first page ms, deep page ms, where the deep cursor is)})."""
    engine = make_engine(f"sqlite:///{path}")
    session = make_sessionmaker(engine)()
    total = session.scalar(text("SELECT count(*) FROM calls")) or 0
    times = {}
    for label, args_ in FILTERS.items():
        f = calllog.parse_filter(args_, session)
        first = timed(lambda f=f: calllog.call_page(session, f, limit=50))
        # A cursor about 90% of the way down this filter's matches: what page ~18,000 would cost.
        offset = session.scalar(calllog.filtered(select(func.count(Call.id)), f)) or 0
        deep_row = session.execute(calllog.filtered(select(Call.started_at, Call.id), f)
            .order_by(Call.started_at.desc(), Call.id.desc()).offset(int(offset * 0.9)).limit(1)).first()
        deep_ms, where = float("nan"), "-"
        if deep_row is not None:
            cursor = calllog.Cursor(deep_row[0], deep_row[1])
            deep_ms = timed(lambda f=f, c=cursor: calllog.call_page(session, f, limit=50, before=c))
            where = f"row {int(offset * 0.9):,} of {offset:,}"
        times[label] = (first, deep_ms, where)
        session.expunge_all()
    session.close()
    engine.dispose()
    return total, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000,
                        help="also time a database of this many calls and print the ratios (0: no)")
    parser.add_argument("--db", type=Path, help="reuse or create this SQLite file")
    parser.add_argument("--export", action="store_true", help="also time a CSV export of every call")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="vl-bench-")) / "calls.db"
    if not path.exists():
        build(path, args.calls)
    small: dict[str, tuple[float, float, str]] = {}
    small_total = 0
    if args.small:
        small_path = Path(tempfile.mkdtemp(prefix="vl-bench-small-")) / "calls.db"
        build(small_path, args.small)
        small_total, small = page_times(small_path)
    total, times = page_times(path)
    print(f"{total:,} calls in {path}; page size 50; median of 15 runs")
    print(f"{'filter':32} {'page 1':>10} {'deep page':>10}  deep cursor")
    section = f"Call log pages (SQLite, 50 rows): {total:,} vs {small_total:,} calls"
    for label, (first, deep_ms, where) in times.items():
        print(f"{label:32} {first:8.2f}ms {deep_ms:8.2f}ms  {where}")
        if label in small:
            ratio = first / small[label][0] if small[label][0] else 0.0
            filtered = label != "no filter"
            record(section, f"{label}: first page", ratio, "x",
                   target="<= 3x" if filtered else "", met=(ratio <= 3) if filtered else None,
                   note=f"{first:.2f} ms vs {small[label][0]:.2f} ms; deep page {deep_ms:.2f} ms")
    if args.export:
        export_all(session_for(path))


def session_for(path: Path):
    """A session on the bench database."""
    return make_sessionmaker(make_engine(f"sqlite:///{path}"))()


def _rss_mib() -> float:
    """This process's resident memory now (MiB), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def export_all(session) -> None:
    """Time the CSV export path (keyset batches, one row at a time) over every call."""
    names = present.load_names(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    began, count = time.perf_counter(), 0
    peak = start_rss = _rss_mib()
    for call in calllog.iter_calls(session, calllog.CallFilter()):
        writer.writerow(present.csv_row(call, names))
        count += 1
        if buffer.tell() > 32_768:
            buffer.seek(0)
            buffer.truncate()
        if count % 10_000 == 0:
            peak = max(peak, _rss_mib())
    elapsed = time.perf_counter() - began
    peak = max(peak, _rss_mib())
    print(f"CSV export of {count:,} calls: {elapsed:.1f} s ({count / elapsed:,.0f} rows/s), "
          f"peak RSS {peak:.0f} MiB ({peak - start_rss:+.0f} MiB during the export)")
    section = "Call log CSV export (SQLite)"
    record(section, f"export of {count:,} calls: wall time", elapsed, "s",
           note=f"{count / elapsed:,.0f} rows/s")
    record(section, "peak RSS during the export", peak, "MiB", target="< 150 MB",
           met=peak * 2**20 < 150e6, note=f"{peak - start_rss:+.0f} MiB over the process before it")


if __name__ == "__main__":
    main()
