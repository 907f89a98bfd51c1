"""Replaying recorded Twilio request sequences (fixtures) and checking every answer.

A fixture is data (YAML or JSON): optional `setup`, `steps` (each a request exactly as
Twilio sends it, addressed by path or by `follow`ing a URL of an earlier answer, with
`expect`ations on the answer) and `final` expectations on the call record.
"""

from __future__ import annotations

import copy
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from voiceline import appdb
from voiceline import models as m
from voiceline.calls import prompts
from voiceline.calls.store import call_by_sid, call_record
from voiceline.calls.twilio_side import Answer, InProcess, Twilio
from voiceline.extensions import CLOCK
from voiceline.instants import parse_instant
from voiceline.models.calls import Call
from voiceline.pins import PinKeys, hash_pin


@dataclass
class Outcome:
    """One checked step (or the final record): pass or the problems found."""

    name: str
    problems: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def load_fixture(path: str | Path) -> dict[str, Any]:
    """Read a fixture file (YAML or JSON)."""
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ValueError(f"{path}: a fixture is a mapping with a list of steps")
    return data


def _sids(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("CallSid") and isinstance(item, str):
                found.add(item)
            _sids(item, found)
    elif isinstance(value, list):
        for item in value:
            _sids(item, found)
    return found


def _renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in names.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def live_copy(fixture: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The fixture's steps with new CallSids for every call and leg (the parent's returned), and
    only the answer checks a live server can meet: whom a step rings and how long a ring-again
    lasts depend on the server's clock, not the fixture's."""
    sids = sorted(_sids(fixture["steps"], set()))
    names = {sid: sid[:2] + uuid.uuid4().hex for sid in sids}
    steps = _renamed(copy.deepcopy(fixture["steps"]), names)
    for step in steps:
        expect = step.get("expect") or {}
        expect.pop("numbers", None)
        (expect.get("dial") or {}).pop("timeout", None)
    first = steps[0].get("params") or {}
    return {"name": fixture.get("name"), "steps": steps}, first.get("CallSid", "")


def apply_setup(session, setup: Mapping[str, Any], keys: PinKeys) -> None:
    """PINs, duress PINs, hotline, people and policy-step settings a fixture needs (the caller commits)."""
    for caller_id, pin in (setup.get("pins") or {}).items():
        session.get(m.Caller, caller_id).pin_hash = hash_pin(str(pin), keys)
    for caller_id, pin in (setup.get("duress_pins") or {}).items():
        session.get(m.Caller, caller_id).duress_pin_hash = hash_pin(str(pin), keys)
    for hotline_id, changes in (setup.get("hotlines") or {}).items():
        hotline = session.get(m.Hotline, hotline_id)
        for key, value in changes.items():
            setattr(hotline, key, value)
    for person_id, changes in (setup.get("people") or {}).items():  # e.g. {active: false}
        person = session.get(m.Person, person_id)
        for key, value in changes.items():
            setattr(person, key, value)
    for policy_id, changes in (setup.get("policies") or {}).items():  # {main: {ring: conference}}
        policy = session.get(m.Policy, policy_id)
        for key, value in changes.items():
            setattr(policy, key, value)
    for policy_id, steps in (setup.get("policy_steps") or {}).items():  # {main: {1: {people: [..]}}}
        rows = session.scalars(select(m.PolicyStep).where(m.PolicyStep.policy_id == policy_id)
                               .order_by(m.PolicyStep.position)).all()
        for number, changes in steps.items():
            for key, value in changes.items():
                setattr(rows[int(number) - 1], key, value)


def check_answer(answer: Answer, expect: Mapping[str, Any]) -> list[str]:
    """Compare one HTTP answer with a step's expectations; every <Say> must have a matching voice."""
    problems = []
    if answer.status != expect.get("status", 200):
        problems.append(f"status {answer.status}, expected {expect.get('status', 200)}")
    root = answer.root
    if answer.status == 200 and root is None:
        return problems + ["answer is not TwiML"]
    if root is None:
        return problems
    if root.tag != "Response":
        problems.append(f"root element <{root.tag}>, expected <Response>")
    for say in root.iter("Say"):
        lang = say.get("language")
        if prompts.supported(lang) != lang or say.get("voice") != prompts.voice(lang):
            problems.append(f"<Say language={lang!r} voice={say.get('voice')!r}> does not match")
    if "verbs" in expect and [c.tag for c in root] != list(expect["verbs"]):
        problems.append(f"verbs {[c.tag for c in root]}, expected {expect['verbs']}")
    spoken = " ".join(say.text or "" for say in root.iter("Say"))
    for phrase in expect.get("say_contains", []):
        if phrase not in spoken:
            problems.append(f"nobody says {phrase!r} (said: {spoken[:200]!r})")
    for tag in ("gather", "dial", "record", "conference"):
        if tag in expect:
            element = root.find(f".//{tag.capitalize()}")
            if element is None:
                problems.append(f"no <{tag.capitalize()}>")
                continue
            for key, value in expect[tag].items():
                got = element.get(key)
                if got and "#" in got and "#" not in str(value):
                    got = got.split("#", 1)[0]  # connection overrides: Twilio never sends them
                if got != str(value):
                    problems.append(f"<{tag.capitalize()} {key}={element.get(key)!r}>, expected {value!r}")
    if "numbers" in expect:
        numbers = [(n.text or "").strip() for n in root.iter("Number")]
        if numbers != list(expect["numbers"]):
            problems.append(f"numbers {numbers}, expected {expect['numbers']}")
    return problems


def _subsequence(wanted: list[str], kinds: list[str]) -> bool:
    it = iter(kinds)
    return all(any(k == w for k in it) for w in wanted)


def check_final(session, sid: str, final: Mapping[str, Any]) -> list[str]:
    """Compare the stored call with a fixture's `final` expectations."""
    problems = []
    if "calls" in final:
        count = session.scalar(select(func.count()).select_from(Call))
        if count != final["calls"]:
            problems.append(f"{count} call records, expected {final['calls']}")
    if "audit" in final:
        actions = set(session.scalars(select(m.AuditEntry.action)))
        problems += [f"no audit entry {a}" for a in final["audit"] if a not in actions]
    call = call_by_sid(session, sid)
    if call is None:
        return problems + ([f"no call {sid}"] if {"call", "events"} & set(final) else [])
    record = call_record(session, call)
    for key, value in (final.get("call") or {}).items():
        if record.get(key) != value:
            problems.append(f"call.{key} = {record.get(key)!r}, expected {value!r}")
    kinds = [e["kind"] for e in record["events"]]
    if "events" in final and not _subsequence(list(final["events"]), kinds):
        problems.append(f"timeline {kinds} lacks {final['events']} in that order")
    for kind in final.get("no_events", []):
        if kind in kinds:
            problems.append(f"timeline has {kind}")
    if "rest_created" in final or "rest_redirected" in final:
        problems += _check_rest(final)
    for purpose, count in (final.get("outbox") or {}).items():
        rows = session.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == purpose)).all()
        got = sum(1 for row in rows if (row.meta or {}).get("call") == sid)
        if got != count:
            problems.append(f"{got} outbox {purpose} messages, expected {count}")
    return problems


_REST: list[Any] = []  # the fake REST transport of the replay running in-process (one at a time)


def _check_rest(final: Mapping[str, Any]) -> list[str]:
    rest = _REST[-1] if _REST else None
    if rest is None:
        return ["no fake REST API (setup: rest: fake)"]
    problems = []
    created = [str(data["To"]) for data in rest.created()]
    if "rest_created" in final and created != list(final["rest_created"]):
        problems.append(f"calls.create to {created}, expected {final['rest_created']}")
    redirected = any("Url" in data for _sid, data in rest.updates())
    if "rest_redirected" in final and redirected != bool(final["rest_redirected"]):
        problems.append(f"caller redirected: {redirected}, expected {final['rest_redirected']}")
    return problems


def use_fake_rest(app, unique_sids: bool = False) -> Any:
    """Conference mode in-process: credentials, a fake REST transport, the inline dialer
    (`unique_sids`: CallSids that never repeat across runs, see FakeRest)."""
    from voiceline.calls.fake_rest import ACCOUNT_SID, FakeRest
    from voiceline.extensions import HTTP_CLIENT

    fake = FakeRest(unique_sids)
    app.config["TWILIO_ACCOUNT_SID"] = app.config.get("TWILIO_ACCOUNT_SID") or ACCOUNT_SID
    app.config["CALLS_PER_SECOND"] = 1000.0  # the replay's clock is pinned: no pacing waits
    app.extensions[HTTP_CLIENT] = fake
    app.extensions["voiceline.dialer"] = "inline"
    return fake


def break_database(app) -> tuple:
    """Point the app at a database that cannot be opened (what an outage looks like mid-call).

    Returns what restore_database needs.
    """
    from voiceline.db import make_engine, make_sessionmaker

    saved = app.extensions["voiceline.db"]
    engine = make_engine("sqlite:////nonexistent-voiceline-dir/voiceline.db")
    app.extensions["voiceline.db"] = (engine, make_sessionmaker(engine))
    return saved


def restore_database(app, saved: tuple) -> None:
    """Undo break_database."""
    app.extensions["voiceline.db"][0].dispose()
    app.extensions["voiceline.db"] = saved


def replay(fixture: Mapping[str, Any], twilio: Twilio, *, app=None,
           report: Callable[[Outcome], None] = lambda _o: None) -> list[Outcome]:
    """Run a fixture's steps through `twilio`; with `app` (in-process) also setup, clock and final."""
    outcomes: list[Outcome] = []
    setup = fixture.get("setup") or {}
    if setup.get("rest") and app is None:  # conference mode: Twilio's REST API is played in-process
        for index, step in enumerate(fixture["steps"], start=1):
            outcome = Outcome(step.get("name") or f"step {index}",
                              skipped="plays Twilio's REST API (conference mode): in-process replays only")
            outcomes.append(outcome)
            report(outcome)
        return outcomes
    if setup.get("rest") and app is not None:
        _REST.append(use_fake_rest(app))
        twilio.rest = _REST[-1]
    if app is not None:
        with app.app_context():
            session = appdb.session_factory(app)()
            apply_setup(session, setup, PinKeys.from_config(app.config))
            session.commit()
            session.close()
        if setup.get("fallback_numbers") is not None:
            app.config["FALLBACK_NUMBERS"] = list(setup["fallback_numbers"])
        if setup.get("at"):
            _set_clock(app, setup["at"])
    sid, saved = None, None
    for index, step in enumerate(fixture["steps"], start=1):
        outcome = Outcome(step.get("name") or f"step {index}")
        params = {k: str(v) for k, v in (step.get("params") or {}).items()}
        sid = sid or (params.get("ParentCallSid") or params.get("CallSid"))
        if saved is not None and step.get("restore_database"):
            restore_database(app, saved)
            saved = None
        if step.get("break_database") and app is None:
            outcome.skipped = "breaks the database: in-process replays only"
            outcomes.append(outcome)
            report(outcome)
            continue
        if app is not None:
            # A live server answers at its own time; in-process the fixture's clock holds.
            if step.get("at"):
                _set_clock(app, step["at"])
            if step.get("break_database") and saved is None:
                saved = break_database(app)
        try:
            target = step["post"] if "post" in step else twilio.follow(step["follow"])
            answer = twilio.post(target, params, step.get("signature", "valid"))
            outcome.problems = check_answer(answer, step.get("expect") or {})
        except (KeyError, ValueError, IndexError, ET.ParseError) as exc:
            outcome.problems = [f"{type(exc).__name__}: {exc}"]
        outcomes.append(outcome)
        report(outcome)
    if saved is not None:
        restore_database(app, saved)
    if fixture.get("final"):
        outcome = Outcome("final call record")
        if app is None:
            outcome.skipped = "the call record is checked in-process only"
        else:
            with app.app_context():
                session = appdb.session_factory(app)()
                outcome.problems = check_final(session, sid or "", fixture["final"])
                session.close()
        outcomes.append(outcome)
        report(outcome)
    return outcomes


def _set_clock(app, text: str) -> None:
    instant = parse_instant(str(text))
    app.extensions[CLOCK] = lambda: instant


def in_process_twilio(app) -> Twilio:
    """A Twilio side posting through the app's test client, signing as the app validates."""
    base = app.config.get("PUBLIC_URL") or "http://localhost"
    return Twilio(InProcess(app.test_client()), app.config["TWILIO_AUTH_TOKEN"], base)
