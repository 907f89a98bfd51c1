"""Time from the caller's PIN to the first responder ringing: dial mode vs conference mode.

In-process: a throwaway SQLite database with the demo directory (PIN hotline), step 1 set to N
responders. Dial mode: the first responder rings when the PIN step's answer (the <Dial>) is
back. Conference mode: when the fake REST transport sees the first calls.create (made inside
the PIN step at CPS 1; the others follow one per second from the background dialer). Prints
the median of a few calls per case, and the time until the last responder was called.

    .venv/bin/python bench/ring_bench.py [--calls 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import record  # noqa: E402

from voiceline import appdb, create_app  # noqa: E402
from voiceline import models as m  # noqa: E402
from voiceline.calls.fake_rest import ACCOUNT_SID, FakeRest  # noqa: E402
from voiceline.calls.replay import in_process_twilio  # noqa: E402
from voiceline.calls.twilio_side import call_params  # noqa: E402
from voiceline.pins import PinKeys, hash_pin  # noqa: E402

HOTLINE, WATCH = "+12025550100", "+12025550150"


def _app(tmp: str, mode: str, responders: int, fake: FakeRest):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/{mode}{responders}.db", "SECRET_KEY": "bench",
                      "PUBLIC_URL": "https://hotline.example.org", "TWILIO_AUTH_TOKEN": "bench-token",
                      "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_HTTP_CLIENT": fake,
                      "INSTANCE_PATH": tmp, "CALLS_PER_SECOND": 1.0, "LOG_LEVEL": "WARNING"})
    runner = app.test_cli_runner()
    runner.invoke(args=["db", "upgrade"])
    runner.invoke(args=["import", str(ROOT / "fixtures" / "demo.yaml")])
    with app.app_context():
        db = appdb.session_factory(app)()
        keys = PinKeys.from_config(app.config)
        for caller in db.query(m.Caller):
            caller.pin_hash = hash_pin("2468", keys)
        hotline = db.get(m.Hotline, "liaison")
        hotline.ask_priority = False
        for i in range(responders):
            if db.get(m.Person, f"r{i}") is None:
                db.add(m.Person(id=f"r{i}", name=f"Responder {i}", phone=f"+1202555{2000 + i:04d}",
                                languages=["en"]))
        policy = db.get(m.Policy, "main")
        policy.ring = mode
        policy.steps[0].rotas, policy.steps[0].people = [], [f"r{i}" for i in range(responders)]
        db.commit()
        db.close()
    return app


def measure(mode: str, responders: int, calls: int) -> tuple[float, float]:
    """Median ms from posting the PIN to the first ring, and to the last responder called."""
    firsts, lasts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeRest()
        app = _app(tmp, mode, responders, fake)
        twilio = in_process_twilio(app)
        for n in range(calls):
            sid = f"CAbench{mode}{responders}{n}"
            twilio.post("/voice/incoming", call_params(sid, WATCH, HOTLINE))
            before = len(fake.requests)
            started = time.monotonic()
            twilio.post(twilio.follow("gather"), call_params(sid, WATCH, HOTLINE, Digits="2468"))
            answered = time.monotonic()
            if mode == "dial":
                firsts.append(answered - started)
                lasts.append(answered - started)
                continue
            deadline = time.monotonic() + responders * 1.5 + 5
            while len(fake.requests) - before < responders and time.monotonic() < deadline:
                time.sleep(0.01)
            made = [r["at"] for r in fake.requests[before:] if r["path"].endswith("/Calls.json")]
            firsts.append((made[0] if made else answered) - started)
            lasts.append((made[-1] if made else answered) - started)
            time.sleep(1.0)  # the next call's first slot is free again
    return statistics.median(firsts) * 1000, statistics.median(lasts) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    print("PIN -> first responder ringing (median ms; last = when the last responder was called)")
    for responders in (1, 10):
        for mode in ("dial", "conference"):
            first, last = measure(mode, responders, args.calls)
            print(f"  {mode:10s} {responders:2d} responders: first {first:7.1f} ms, last {last:8.1f} ms")
            record("ring", f"{mode}, {responders} responders: PIN to first ring", round(first, 1), "ms",
                   note=f"last responder called at {last:.0f} ms (CPS 1)")


if __name__ == "__main__":
    main()
