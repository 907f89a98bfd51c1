"""SQL statements per webhook request: where the database time of a call goes.

Replays fixtures/calls/pin-caller.yaml in-process (Flask test client, the demo hotline with
PIN 2468 for every caller and the fixture's clock, as tests/calls/conftest.py sets it up) on
a throwaway database (SQLite by default, or --database-url), counts the statements each
request sends through the app's engine (a SQLAlchemy before_cursor_execute listener), prints
the count per step and every statement of /voice/incoming (normalised), and records the
counts for `make bench` when bench/report.py is there. The same call is played once
first with new CallSids, uncounted: the process's copies of directory and rota rows are then
filled, as on a server that has answered a call since it started. Nothing is optimised here: it measures.

    .venv/bin/python bench/statements_bench.py [--database-url URL] [--show STEP]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy import event

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
FIXTURE = ROOT / "fixtures" / "calls" / "pin-caller.yaml"
TOKEN = "bench-auth-token"
PUBLIC = "https://hotline.example.org"
# The steps issue 13 names, by their name in the fixture.
NAMED = {"incoming call": "/voice/incoming", "PIN keyed": "PIN step",
         "the conversation ends": "dial action", "call status completed": "status callback"}

try:
    from report import record
except ImportError:  # bench/report.py not there yet: print only
    record = None


def normalise(statement: str) -> str:
    """One line per statement: whitespace folded, a SELECT's column list elided."""
    text = re.sub(r"\s+", " ", statement).strip()
    text = re.sub(r"^SELECT (?:(?! FROM ).)+ FROM ", "SELECT … FROM ", text)
    text = re.sub(r"\bIN \(__\[POSTCOMPILE_\w+\]\)", "IN (…)", text)
    return text[:160] + ("…" if len(text) > 160 else "")


class StatementCounter:
    """Every statement sent through `engine` (savepoints included) since the last take()."""

    def __init__(self, engine) -> None:
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return taken


def build_app(url: str | None):
    """The demo hotline on a migrated throwaway database, the fixture's setup and clock applied."""
    from voiceline import appdb, create_app, migrate
    from voiceline.db import session_scope
    from voiceline.models.directory import Caller
    from voiceline.pins import PinKeys, hash_pin

    tmp = Path(tempfile.mkdtemp(prefix="voiceline-statements-"))
    url = url or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench",
                      "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC, "TESTING": True})
    migrate.upgrade(appdb.engine(app))
    result = app.test_cli_runner().invoke(args=["import", str(ROOT / "fixtures" / "demo.yaml")])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    keys = PinKeys.from_config(app.config)
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        for caller in session.query(Caller):
            caller.pin_hash = hash_pin("2468", keys)
            caller.duress_pin_hash = hash_pin("9753", keys)
    return app


def measure(app) -> list[tuple[str, list[str], bool]]:
    """(step name, statements, answer as the fixture expects) for each step of the call."""
    from voiceline import appdb
    from voiceline.calls.replay import in_process_twilio, live_copy, load_fixture, replay

    fixture = load_fixture(FIXTURE)
    # The fixture's setup and clock, applied here (not counted); then one step at a time.
    replay({"setup": fixture.get("setup") or {}, "steps": []}, in_process_twilio(app), app=app)
    counter = StatementCounter(appdb.engine(app))
    twilio = in_process_twilio(app)
    # A process that has answered a call before: its copies of the directory and rota rows
    # (voiceline/directory.py) are filled, as on a server that has been running. The same
    # call with new CallSids, uncounted.
    warm_up, _ = live_copy(fixture)
    replay(warm_up, twilio, app=app)
    steps = []
    for step in fixture["steps"]:
        counter.take()
        [outcome] = replay({"steps": [step]}, twilio, app=app)
        steps.append((outcome.name, counter.take(), outcome.ok))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temp directory")
    parser.add_argument("--show", default="incoming call",
                        help="list the statements of this step (default: %(default)s)")
    args = parser.parse_args()
    app = build_app(args.database_url)
    label = "SQLite" if app.config["DATABASE_URL"].startswith("sqlite") else "PostgreSQL"
    steps = measure(app)
    print(f"SQL statements per webhook request ({label}, {FIXTURE.name}, in-process):")
    for name, statements, ok in steps:
        mark = "" if ok else "  (answer differs from the fixture!)"
        print(f"  {len(statements):4d}  {name}{mark}")
    print(f"  {sum(len(s) for _, s, _ in steps):4d}  the whole call")
    for name, statements, _ in steps:
        if name == args.show:
            print(f"\nStatements of '{name}' (normalised; ×n = sent n times):")
            for text, times in Counter(normalise(s) for s in statements).items():
                print(f"  {'×' + str(times) if times > 1 else '  '} {text}")
    if record is not None:
        section = f"SQL statements per webhook request, {label}"
        for name, statements, _ in steps:
            if name in NAMED:
                record(section, NAMED[name], len(statements), "statements",
                       note="; ".join(sorted({normalise(s).split(" ")[0] for s in statements})))
        record(section, "whole PIN call", sum(len(s) for _, s, _ in steps), "statements",
               note=f"{len(steps)} requests")


if __name__ == "__main__":
    main()
