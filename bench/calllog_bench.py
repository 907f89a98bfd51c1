"""Call-log timings at a million calls: keyset page 1 and a deep page, with and without filters.

    .venv/bin/python bench/calllog_bench.py [--calls 1000000 --small 10000] [--export]
    .venv/bin/python bench/calllog_bench.py --url URL --small-url URL --label PostgreSQL --export

Times `voiceline.calllog.query.call_page` (the query the UI and the API run) on a big and a
small data set (bench/datasets.py: built here on SQLite, or given by URL as `make bench`
does for SQLite and PostgreSQL), the two measured back to back in this run, and prints the
ratios; with --export also a CSV export of every call of the big set (wall time, peak RSS).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from voiceline.calllog import present
from voiceline.calllog import query as calllog
from voiceline.db import make_engine, make_sessionmaker
from voiceline.models.calls import Call

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402
from report import record  # noqa: E402


def timed_pair(a, b, repeat: int = 31) -> tuple[float, float]:
    """Median wall times (ms) of a() and b(), run alternately (back to back), after a warm-up."""
    a(), b()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((a, samples[0]), (b, samples[1])):
            began = time.perf_counter()
            fn()
            out.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


FILTERS = {
    "no filter": {},
    "outcome=missed": {"outcome": "missed"},
    "responder=grace": {"responder": "grace"},
    "caller=ops-desk, priority=1": {"caller": "ops-desk", "priority": "1"},
    "duress=yes (rare)": {"duress": "yes"},
    "one month (date range)": {"from": "2025-06-01", "to": "2025-06-30"},
}


class Log:
    """One data set's session, with the filters parsed and a deep cursor per filter."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.session = make_sessionmaker(self.engine)()
        self.total = self.session.scalar(text("SELECT count(*) FROM calls")) or 0

    def page(self, args: dict, deep: bool = False):
        """A callable running the filter's first page (or a page ~90% of the way down)."""
        f = calllog.parse_filter(args, self.session)
        cursor = None
        if deep:  # what page ~18,000 of a million would cost
            matches = self.session.scalar(calllog.filtered(select(func.count(Call.id)), f)) or 0
            row = self.session.execute(calllog.filtered(select(Call.started_at, Call.id), f)
                                       .order_by(Call.started_at.desc(), Call.id.desc())
                                       .offset(int(matches * 0.9)).limit(1)).first()
            if row is not None:
                cursor = calllog.Cursor(row[0], row[1])

        def run():
            page = calllog.call_page(self.session, f, limit=50, before=cursor)
            self.session.expunge_all()
            return len(page.calls)
        return run

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def compare(label: str, big: Log, small: Log) -> None:
    """Every filter's first and deep page on both sets, back to back; print and record."""
    section = f"Call log pages ({label}, 50 rows): {big.total:,} vs {small.total:,} calls"
    print(f"{section}; median of 31 alternating runs")
    print(f"{'filter':30} {'page 1 big':>11} {'small':>8} {'ratio':>6} {'deep big':>9} {'small':>8} rows")
    for name, args in FILTERS.items():
        first_big, first_small = big.page(args), small.page(args)
        rows = (first_big(), first_small())
        b1, s1 = timed_pair(first_big, first_small)
        b2, s2 = timed_pair(big.page(args, deep=True), small.page(args, deep=True))
        ratio = b1 / s1 if s1 else 0.0
        print(f"{name:30} {b1:9.2f}ms {s1:6.2f}ms {ratio:5.2f}x {b2:7.2f}ms {s2:6.2f}ms "
              f"{rows[0]}/{rows[1]}")
        filtered = name != "no filter"
        record(section, f"{name}: first page", ratio, "x",
               target="<= 3x" if filtered else "", met=(ratio <= 3) if filtered else None,
               note=f"{b1:.2f} ms vs {s1:.2f} ms ({rows[0]} vs {rows[1]} rows)")
        record(section, f"{name}: deep page (90% down)", b2 / s2 if s2 else 0.0, "x",
               note=f"{b2:.2f} ms vs {s2:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="big set built here (no --url)")
    parser.add_argument("--small", type=int, default=10_000, help="small set built here (no --small-url)")
    parser.add_argument("--url", help="the big data set (bench/datasets.py)")
    parser.add_argument("--small-url", help="the small data set")
    parser.add_argument("--label", default="", help="names the database in the report")
    parser.add_argument("--export", action="store_true", help="also time a CSV export of every call")
    args = parser.parse_args()
    url = args.url or datasets.scratch_sqlite(args.calls)
    small_url = args.small_url or datasets.scratch_sqlite(args.small)
    label = args.label or ("SQLite" if url.startswith("sqlite") else "PostgreSQL")
    big, small = Log(url), Log(small_url)
    compare(label, big, small)
    big.close()
    small.close()
    if args.export:
        export_all(make_sessionmaker(make_engine(url))(), label)


def _rss_mib() -> float:
    """This process's resident memory now (MiB), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _hwm_mib() -> float:
    """This process's peak resident memory so far (MiB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def export_all(session, label: str) -> None:
    """Time the CSV export path (the web export's: keyset batches of plain rows) over every call."""
    names = present.load_names(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    began, count = time.perf_counter(), 0
    peak = start_rss = _rss_mib()
    for call in calllog.iter_export_rows(session, calllog.CallFilter()):
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
    section = f"Call log CSV export ({label})"
    record(section, f"export of {count:,} calls: wall time", elapsed, "s",
           note=f"{count / elapsed:,.0f} rows/s")
    record(section, "peak RSS during the export", peak, "MiB", target="< 150 MB",
           met=peak * 2**20 < 150e6, note=f"{peak - start_rss:+.0f} MiB over the process before it; "
                f"process high-water mark {_hwm_mib():.0f} MiB")


if __name__ == "__main__":
    main()
