"""Several web servers on one PostgreSQL: two real gunicorn servers, the steps of each call
sent alternately to each. The records equal what one server writes for the same requests, and
200 calls at once over both servers leave 200 complete records."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from voiceline import appdb, create_app, migrate
from voiceline.calls.replay import apply_setup, live_copy, load_fixture, replay
from voiceline.calls.twilio_side import OverHTTP, Twilio
from voiceline.db import make_engine, session_scope
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.pins import PinKeys

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
CALLS = ROOT / "fixtures" / "calls"
TOKEN = "test-auth-token"
PUBLIC = "https://hotline.example.org"
# Every recorded call a live server can play: not those that break the database in-process,
# set the fallback numbers in the app's config, or lock the calling number out (the second
# copy of the call would start locked out).
SKIP = {"database-failure-fallback", "nobody-on-duty-fallback-answers", "wrong-pin-three-times"}
# Conference mode's fixtures play Twilio's REST API in-process (a live server would call Twilio).
SKIP |= {p.stem for p in CALLS.glob("conference-*.yaml")}
FIXTURES = sorted(p for p in CALLS.glob("*.yaml") if p.stem not in SKIP)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn(url: str, cwd: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELINE_", "TWILIO_"))}
    env.update(VOICELINE_DATABASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN, VOICELINE_PUBLIC_URL=PUBLIC,
               VOICELINE_SECRET_KEY="test-secret-key", VOICELINE_LOG_LEVEL="WARNING")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen([gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
                             "warning", "voiceline:create_app()"], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}"


def _ready(proc: subprocess.Popen, base: str) -> None:
    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 40
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"gunicorn did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)


@pytest.fixture
def servers(postgres_url, tmp_path):
    """(app on the database, [base URL of server A, of server B]) over the demo directory."""
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": postgres_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test-secret-key", "TWILIO_AUTH_TOKEN": TOKEN,
                      "PUBLIC_URL": PUBLIC})
    procs = [_gunicorn(postgres_url, tmp_path) for _ in range(2)]
    try:
        for proc, base in procs:
            _ready(proc, base)
        yield app, [base for _, base in procs]
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        appdb.engine(app).dispose()


def _steady_demo(folder: Path) -> Path:
    """fixtures/demo.yaml with alice always on duty in the primary rota: the fixtures were
    recorded when she was, and live servers answer at their own time."""
    directory = yaml.safe_load((ROOT / "fixtures" / "demo.yaml").read_text(encoding="utf-8"))
    [primary] = [rota for rota in directory["rotas"] if rota["id"] == "primary"]
    primary["layers"][0]["members"] = ["alice"]
    primary["overrides"] = []
    path = folder / "demo-steady.yaml"
    path.write_text(yaml.safe_dump(directory, allow_unicode=True), encoding="utf-8")
    return path


def _reset_directory(app, setup: dict) -> None:
    """The steady demo directory (undoing an earlier fixture's setup), then `setup`."""
    path = _steady_demo(Path(app.instance_path))
    result = app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        apply_setup(session, setup, PinKeys.from_config(app.config))  # the servers' key too


def fresh_copy(fixture: dict) -> tuple[dict, str]:
    """The fixture with new CallSids and the checks a live server's clock can meet."""
    return live_copy(fixture)


class Alternating:
    """Twilio's side sending each request to the next server in turn."""

    def __init__(self, bases: list[str]) -> None:
        self.transports = [OverHTTP(base, timeout=60) for base in bases]
        self.turn = 0
        self.used: list[int] = []

    def post(self, path, params, headers):
        index = self.turn % len(self.transports)
        self.turn += 1
        self.used.append(index)
        return self.transports[index].post(path, params, headers)


def _call_record(session, sid: str) -> dict | None:
    """A call's record without what differs between two plays of the same requests: ids,
    CallSids (numbered in order of appearance) and times."""
    call = session.scalar(select(Call).where(Call.sid == sid))
    if call is None:
        return None
    names: dict[str, str] = {sid: "parent"}

    def name(value):
        if not value:
            return value
        return names.setdefault(value, f"leg{len(names)}")

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in sorted(value.items()) if not k.endswith("_at")
                    and k not in {"at", "Timestamp", "CallToken"}}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, str):
            for old, new in names.items():
                value = value.replace(old, new)
        return value

    events = list(session.scalars(select(CallEvent).where(CallEvent.call_id == call.id)
                                  .order_by(CallEvent.id)))
    legs = list(session.scalars(select(CallLeg).where(CallLeg.call_id == call.id)
                                .order_by(CallLeg.id)))
    for item in [*legs, *events]:  # number the legs in the order the record met them
        name(getattr(item, "sid", None) or getattr(item, "leg_sid", None))
    skip = {"id", "sid", "started_at", "answered_at", "ended_at", "meta"}
    columns = {c.key: getattr(call, c.key) for c in Call.__table__.columns if c.key not in skip}
    return {
        "call": columns,
        "legs": [{"sid": name(leg.sid), "person": leg.person_id, "number": leg.number,
                  "step": leg.step, "round": leg.round, "dial_group": leg.dial_group,
                  "status": leg.status, "screen": leg.screen, "last_sequence": leg.last_sequence}
                 for leg in legs],
        "events": [{"kind": e.kind, "step": e.step, "person": e.person_id,
                    "leg": name(e.leg_sid), "detail": plain(e.detail or {}),
                    "deduplicated": e.dedupe_key is not None} for e in events],  # keys hold row ids
    }


def _difference(one: dict | None, two: dict | None) -> list:
    """The first differing parts of two records (for the assertion message)."""
    if one is None or two is None:
        return [one, two]
    if one["call"] != two["call"] or len(one["events"]) != len(two["events"]):
        return [one["call"], two["call"], [e["kind"] for e in one["events"]],
                [e["kind"] for e in two["events"]]]
    pairs = [(a, b) for a, b in zip(one["legs"] + one["events"], two["legs"] + two["events"], strict=False) if a != b]
    return [{k: (a[k], b[k]) for k in a if a[k] != b[k]} for a, b in pairs[:3]]


def _problems(outcomes) -> list[str]:
    return [f"{o.name}: {'; '.join(o.problems)}" for o in outcomes if not o.ok and not o.skipped]


def test_steps_alternating_over_two_servers_give_the_records_of_one(servers):
    app, bases = servers
    compared = []
    for path in FIXTURES:
        fixture = load_fixture(path)
        _reset_directory(app, fixture.get("setup") or {})
        one, one_sid = fresh_copy(fixture)
        two, two_sid = fresh_copy(fixture)
        alone = replay(one, Twilio(OverHTTP(bases[0], timeout=60), TOKEN, PUBLIC))
        alternating = Alternating(bases)
        both = replay(two, Twilio(alternating, TOKEN, PUBLIC))
        assert _problems(alone) == [], (path.name, _problems(alone))
        assert _problems(both) == [], (path.name, _problems(both))
        assert set(alternating.used) == {0, 1} or len(alternating.used) < 2
        with app.app_context(), session_scope(appdb.session_factory(app)) as session:
            record_one, record_two = _call_record(session, one_sid), _call_record(session, two_sid)
        assert record_two == record_one, (path.name, _difference(record_one, record_two))
        compared.append((path.stem, record_one is not None))
    # The calls that leave a record did (a refused signature leaves none, on one server or two).
    assert [stem for stem, recorded in compared if not recorded] == ["bad-signature"]
    assert len(compared) == len(FIXTURES) >= 8


def test_200_calls_at_once_over_two_servers_leave_200_complete_records(servers):
    """200 calls in progress together: 40 threads (fewer than 200 spare the loaded test machine's
    GIL), each playing 5 calls step by step in turn, so every call has begun before any ends."""
    app, bases = servers
    fixture = load_fixture(CALLS / "known-caller-answered.yaml")  # no PIN: argon2 is not the test
    _reset_directory(app, fixture.get("setup") or {})
    calls = [fresh_copy(fixture) for _ in range(200)]
    problems: list[str] = []
    lock = threading.Lock()

    def play(batch: list[tuple[int, dict]]) -> None:
        sides = []
        for index, _ in batch:
            transport = Alternating(bases)
            transport.turn = index  # half the calls start on each server
            sides.append(Twilio(transport, TOKEN, PUBLIC))
        for number in range(len(fixture["steps"])):
            for (_, call), twilio in zip(batch, sides, strict=True):
                try:
                    wrong = _problems(replay({"steps": [call["steps"][number]]}, twilio))
                except Exception as exc:  # a thread's error must reach the assertion
                    wrong = [f"{type(exc).__name__}: {exc}"]
                if wrong:
                    with lock:
                        problems.append(wrong[0])

    numbered = list(enumerate(call for call, _ in calls))
    threads = [threading.Thread(target=play, args=(numbered[start::40],)) for start in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "calls still running after 120 s"
    assert problems == [], (len(problems), problems[:3])
    sids = [sid for _, sid in calls]
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        records = [_call_record(session, sid) for sid in sids]
        reference = records[0]
    assert sum(r is not None for r in records) == 200
    assert {(r["call"]["state"], r["call"]["outcome"]) for r in records} == {("done", "answered")}
    kinds = [e["kind"] for e in reference["events"]]
    assert kinds[0] == "greeted" and "bridged" in kinds and kinds[-1] == "call_status"
    # Every call's record is the one call's record: same legs, same events, none lost or doubled.
    assert all(r == reference for r in records)
