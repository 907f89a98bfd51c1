"""Cost growth of /voice/incoming with the size of the call log and of the policy.

    .venv/bin/python bench/growth_bench.py [--sizes 0,100000,1000000] [--rounds 200]
    .venv/bin/python bench/growth_bench.py --db 0=URL --db 1000000=URL --label PostgreSQL

Each data set (bench/datasets.py: the bench directory plus N past calls, a third of them on
each timed hotline and a quarter from the timed caller) is served by its own app in this
process; each timed request is a new call from the allow-listed watch officer to the hotline
"five" (a policy of 5 rotas) or "many" (200 rotas), answered with the first <Dial>, timed
through Flask's test client (the server side only, no HTTP). The requests go round-robin
over every (data set, hotline) pair, so the figures compared are measured back to back;
the ratios are of medians: each size against 0 past calls, 200 rotas against 5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402
from report import record  # noqa: E402

TOKEN = "bench-auth-token"
PUBLIC = "https://hotline.example.org"
HOTLINES = {"5 rotas": datasets.FIVE, "200 rotas": datasets.MANY}


def make_client(url: str):
    from voiceline import create_app

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(prefix="vl-growth-"),
                      "SECRET_KEY": "bench", "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC,
                      "LOG_LEVEL": "WARNING"})
    return app.test_client()


def one_call(client, to_number: str) -> float:
    """A new call to /voice/incoming; its handling time in ms (checked: a <Dial> answer)."""
    from voiceline.calls.twilio_side import call_params, sign

    params = call_params("CA" + uuid.uuid4().hex, datasets.CALLER, to_number)
    headers = {"X-Twilio-Signature": sign(TOKEN, PUBLIC + "/voice/incoming", params)}
    began = time.perf_counter()
    response = client.post("/voice/incoming", data=params, headers=headers)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200 or ET.fromstring(response.data).find(".//Dial") is None:
        raise RuntimeError(f"unexpected answer {response.status_code}: {response.data[:300]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", default=[], metavar="CALLS=URL",
                        help="a data set with this many past calls (repeat); default: built here")
    parser.add_argument("--sizes", default="0,100000,1000000", help="sizes built here without --db")
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per data set and hotline")
    parser.add_argument("--label", default="", help="names the database in the report")
    args = parser.parse_args()
    sets = {int(k): v for k, v in (item.split("=", 1) for item in args.db)}
    if not sets:
        sets = {n: datasets.scratch_sqlite(n) for n in (int(s) for s in args.sizes.split(","))}
    sizes = sorted(sets)
    label = args.label or ("SQLite" if sets[sizes[0]].startswith("sqlite") else "PostgreSQL")
    clients = {n: make_client(sets[n]) for n in sizes}
    pairs = [(n, name) for n in sizes for name in HOTLINES]
    for n, name in pairs * 5:  # warm-up: imports, pools, caches
        one_call(clients[n], HOTLINES[name])
    samples: dict[tuple[int, str], list[float]] = {pair: [] for pair in pairs}
    for _ in range(args.rounds):
        for n, name in pairs:
            samples[(n, name)].append(one_call(clients[n], HOTLINES[name]))
    median = {pair: statistics.median(values) for pair, values in samples.items()}
    section = f"/voice/incoming cost growth ({label}, in-process, back to back)"
    print(f"{section}: median of {args.rounds} calls each")
    base = sizes[0]
    for name in HOTLINES:
        for n in sizes:
            ms = median[(n, name)]
            p90 = sorted(samples[(n, name)])[int(len(samples[(n, name)]) * 0.9)]
            print(f"{name:10} {n:>10,} past calls: median {ms:6.2f} ms, p90 {p90:6.2f} ms")
            if n == base:
                record(section, f"{name}, {n:,} past calls: median", ms, "ms",
                       note=f"p90 {p90:.2f} ms; {args.rounds} calls")
                continue
            ratio = ms / median[(base, name)]
            # The target is the (1,000,000 past calls); a smaller run (--quick) shows it
            # beside its largest size, named in the figure.
            big = n == sizes[-1]
            record(section, f"{name}, {n:,} vs {base:,} past calls", ratio, "x",
                   target="<= 1.2x" if big else "", met=(ratio <= 1.2) if big else None,
                   note=f"{ms:.2f} ms vs {median[(base, name)]:.2f} ms; p90 {p90:.2f} ms"
                        + ("" if n >= 1_000_000 or not big else "; the target is for 1,000,000"))
    for n in sizes:
        ratio = median[(n, "200 rotas")] / median[(n, "5 rotas")]
        record(section, f"200 vs 5 rotas in the policy, {n:,} past calls", ratio, "x",
               note=f"{median[(n, '200 rotas')]:.2f} ms vs {median[(n, '5 rotas')]:.2f} ms")
        print(f"200 vs 5 rotas at {n:,} past calls: {ratio:.2f}x")


if __name__ == "__main__":
    main()
