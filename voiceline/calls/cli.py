"""The call area's commands: `calls` (the call log), `replay` (fixtures), `simulate` (a call)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.calls.store import call_record, list_calls, load_call, summaries
from voiceline.clitools import instant_option, with_schema
from voiceline.db import session_scope
from voiceline.models.calls import PinLockout
from voiceline.passwords import valid_pin
from voiceline.pins import PinKeys, hash_pin, verify_pin
from voiceline.rotafile import DEMO_FILE


def _seconds(value: int | None) -> str:
    return "-" if value is None else f"{value // 60}:{value % 60:02d}"


@click.group("calls", invoke_without_command=True)
@click.option("--since", "since_text", help="Only calls started at or after this instant (ISO 8601).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@with_schema
def calls_group(ctx, since_text, limit, as_json):
    """The call log, newest first: outcome, who answered, ring time and duration.

    `voiceline calls show SID` prints one call with its timeline.
    """
    if ctx.invoked_subcommand is not None:
        return
    since = instant_option(since_text) if since_text else None
    with session_scope(appdb.session_factory()) as session:
        rows = summaries(session, list_calls(session, since, limit))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No calls" + (f" since {since_text}." if since_text else "."))
        return
    click.echo(f"{'started':20}  {'sid':34}  {'from':16}  {'caller':14}  {'outcome':9}  "
               f"{'answered by':14}  {'ring':>5}  {'length':>6}  flags")
    for r in rows:
        flags = ",".join(f for f, on in (("test", r["is_test"]), ("DURESS", r["duress"]),
                                         ("unverified", not r["verified"])) if on)
        click.echo(f"{r['started_at']:20}  {r['sid'][:34]:34}  {r['from'][:16]:16}  "
                   f"{(r['caller'] or '-')[:14]:14}  {(r['outcome'] or r['state'])[:9]:9}  "
                   f"{(r['answered_by'] or '-')[:14]:14}  {_seconds(r['ring_seconds']):>5}  "
                   f"{_seconds(r['duration_seconds']):>6}  {flags}")


def print_call(record: dict) -> None:
    """A call record and its timeline, for people."""
    click.echo(f"call {record['sid']}  {record['outcome'] or record['state']}")
    for key in ("hotline", "to", "from", "caller", "caller_name", "verified", "stir_verstat",
                "language", "priority",
                "duress", "is_test", "started_at", "answered_at", "ended_at", "answered_by",
                "answered_by_name", "ring_seconds", "duration_seconds"):
        click.echo(f"  {key:17} {record[key] if record[key] is not None else '-'}")
    if record["recording"]:
        rec = record["recording"]
        click.echo(f"  {'recording':17} {rec['url']} ({rec['seconds']} s)")
    click.echo("  timeline:")
    for event in record["events"]:
        who = f" {event['person']}" if event["person"] else ""
        step = f" step {event['step']}" if event["step"] else ""
        detail = ", ".join(f"{k}={v}" for k, v in event["detail"].items() if v not in (None, ""))
        click.echo(f"    {event['at']}  {event['kind']}{step}{who}  {detail}".rstrip())


@calls_group.command("show")
@click.argument("sid")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def calls_show(sid, as_json):
    """One call with its legs and its timeline."""
    with session_scope(appdb.session_factory()) as session:
        call = load_call(session, sid)
        if call is None:
            raise click.ClickException(f"no call {sid!r}")
        record = call_record(session, call)
    if as_json:
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    else:
        print_call(record)


def _fresh_app(directory: Path, token: str):
    """A throwaway app on its own SQLite database with the demo directory, for in-process replays."""
    from voiceline import migrate
    from voiceline.rotafile import apply_plan, load_file, parse_document

    # The running app hands out its factory: importing create_app here would be a loop.
    create_app = current_app.extensions["voiceline.create_app"]
    tmp = Path(tempfile.mkdtemp(prefix="voiceline-replay-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp / 'replay.db'}", "INSTANCE_PATH": str(tmp),
                      "SECRET_KEY": "replay", "PUBLIC_URL": "https://hotline.example.org",
                      "TWILIO_AUTH_TOKEN": token, "FALLBACK_NUMBERS": [], "CAPTURE_DIR": None,
                      "LINETEST_FROM": None})
    migrate.upgrade(appdb.engine(app))
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        apply_plan(session, parse_document(load_file(str(directory)), "US"), actor="replay")
    return app


@click.command("replay")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="Replay against a running server (e.g. http://127.0.0.1:5000) instead "
                            "of in-process; signs with the configured TWILIO_AUTH_TOKEN.")
@click.option("--directory", "directory", type=click.Path(exists=True, dir_okay=False),
              default=str(DEMO_FILE), show_default="fixtures/demo.yaml",
              help="Rota file loaded into the throwaway database of an in-process replay.")
@with_appcontext
def replay_command(files, url, directory):
    """Replay recorded Twilio request sequences and print pass/fail per step.

    In-process (the default) each file runs against a fresh throwaway database holding the
    demo directory, at the fixture's own clock, and the final call record is checked too.
    With --url the requests go to a running server and are checked against its answers (a
    fixture captured from that server replays as it was); steps that break the database and
    the call-record checks are skipped, and a fixture's own set-up (directory changes, PINs,
    clock) cannot be applied there, which is said per file.
    """
    from voiceline.calls.replay import in_process_twilio, load_fixture, replay
    from voiceline.calls.twilio_side import OverHTTP, Twilio

    failures = 0
    for file in files:
        fixture = load_fixture(file)
        click.echo(f"{file}: {fixture.get('name', '')}")

        def report(outcome):
            mark = "skip" if outcome.skipped else ("PASS" if outcome.ok else "FAIL")
            click.echo(f"  {mark}  {outcome.name}" + (f"  ({outcome.skipped})" if outcome.skipped else ""))
            for problem in outcome.problems:
                click.echo(f"        {problem}")

        if url:
            if fixture.get("setup"):
                click.echo(f"  note: this fixture sets up its own directory and clock "
                           f"({', '.join(sorted(fixture['setup']))}); a live server answers from "
                           "its own directory at its own time, so answers may differ")
            token = current_app.config.get("TWILIO_AUTH_TOKEN")
            if not token:
                raise click.ClickException("--url needs TWILIO_AUTH_TOKEN (the server's token) to sign")
            base = current_app.config.get("PUBLIC_URL") or url
            outcomes = replay(fixture, Twilio(OverHTTP(url), token, base), report=report)
        else:
            app = _fresh_app(Path(directory), "replay-token")
            try:
                outcomes = replay(fixture, in_process_twilio(app), app=app, report=report)
            finally:
                appdb.engine(app).dispose()
        failures += sum(1 for o in outcomes if not o.ok)
    click.echo(f"{len(files)} file(s), {failures} failed step(s).")
    sys.exit(1 if failures else 0)


@click.group("callers")
def callers_group():
    """Callers (officials): PINs and PIN lock-outs."""


@callers_group.command("set-pin")
@click.argument("caller_id")
@click.option("--duress", is_flag=True, help="Set the duress PIN instead of the real one.")
@with_schema
def set_pin(caller_id, duress):
    """Set a caller's PIN (or duress PIN); prompted twice, never echoed or logged."""
    pin = click.prompt("PIN (4-8 digits)", hide_input=True, confirmation_prompt=True)
    if not valid_pin(pin):
        raise click.ClickException("a PIN is 4 to 8 digits")
    with session_scope(appdb.session_factory()) as session:
        caller = session.get(m.Caller, caller_id)
        if caller is None:
            raise click.ClickException(f"no caller {caller_id!r}")
        keys = PinKeys.from_config(current_app.config)
        other = caller.pin_hash if duress else caller.duress_pin_hash
        if verify_pin(other, pin, keys).ok:
            raise click.ClickException("the PIN and the duress PIN must differ")
        setattr(caller, "duress_pin_hash" if duress else "pin_hash", hash_pin(pin, keys))
        audit.record(session, "cli", "caller.set_pin", f"caller {caller_id}",
                     which="duress" if duress else "pin")
    click.echo(f"{'Duress PIN' if duress else 'PIN'} set for {caller_id}.")


@callers_group.command("unlock")
@click.argument("caller_id")
@with_schema
def unlock(caller_id):
    """Lift a caller's PIN lock-out (after wrong PINs from any numbers) and clear its count."""
    with session_scope(appdb.session_factory()) as session:
        if session.get(m.Caller, caller_id) is None:
            raise click.ClickException(f"no caller {caller_id!r}")
        row = session.get(PinLockout, f"caller:{caller_id}")
        was = row.locked_until if row is not None else None
        if row is not None:
            session.delete(row)
        audit.record(session, "cli", "caller.unlock", f"caller {caller_id}",
                     was_locked_until=was.isoformat() if was else None)
    click.echo(f"{caller_id}: no PIN lock-out now.")
