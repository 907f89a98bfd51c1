"""The `voiceline` command: Click commands registered on the app (Flask's CLI)."""

from __future__ import annotations

import functools
import json
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy import func, select

from voiceline import appdb, audit, migrate
from voiceline import models as m
from voiceline.db import session_scope, utcnow
from voiceline.models.calls import PinLockout
from voiceline.oncall import (
    InstantRangeError,
    UnknownRota,
    gap_entries,
    iso_z,
    oncall_entries,
    parse_instant,
    shift_entries,
)
from voiceline.passwords import valid_pin
from voiceline.pins import PinKeys, hash_pin, verify_pin


def ensure_schema() -> None:
    """Migrate the app's database to the newest schema, saying so when anything was applied."""
    if migrate.upgrade(appdb.engine()):
        click.echo(f"Migrated the database to {migrate.head_revision()}.", err=True)


def with_schema(command):
    """Decorator: the command runs in an app context on a migrated database (a fresh URL just works)."""
    @functools.wraps(command)
    @with_appcontext
    def wrapper(*args, **kwargs):
        ensure_schema()
        return command(*args, **kwargs)
    return wrapper


def instant_option(value: str | None):
    """Parse an --at/--from/--to value or exit with a clear message."""
    if value is None:
        return utcnow()
    try:
        return parse_instant(value)
    except InstantRangeError as exc:
        raise click.BadParameter(str(exc)) from None
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601 (e.g. 2026-03-08T07:30:00Z)") from None


@click.group("db")
def db_group():
    """Database schema: upgrade to the newest migration or show the current one."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply every pending migration."""
    applied = migrate.upgrade(appdb.engine())
    click.echo(f"Database at {migrate.head_revision()}" + ("" if applied else " (already current)."))


@db_group.command("current")
@with_appcontext
def db_current():
    """Print the database's revision and the newest one."""
    click.echo(f"current: {migrate.current_revision(appdb.engine())}  head: {migrate.head_revision()}")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--if-empty", is_flag=True, help="Import only into a database with no people yet.")
@with_schema
def import_command(file, dry_run, if_empty):
    """Import a rota file (YAML or JSON): validate all of it, then write it in one transaction."""
    from voiceline.rotafile import RotaFileError, apply_plan, load_file, parse_document

    try:
        plan = parse_document(load_file(file), current_app.config["DEFAULT_REGION"])
    except RotaFileError as exc:
        click.echo(f"{file}: {len(exc.problems)} problem(s), nothing was written:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    with session_scope(appdb.session_factory()) as session:
        if if_empty and session.scalar(select(func.count()).select_from(m.Person)):
            click.echo("The directory already has people; --if-empty skipped the import.")
            return
        report = apply_plan(session, plan, actor="cli")
        if dry_run:
            session.rollback()
        for verb, items in (("created", report.created), ("updated", report.updated),
                            ("removed", report.removed)):
            for item in items:
                click.echo(f"{'would be ' if dry_run else ''}{verb}: {item}")
        counts = (f"{len(report.created)} created, {len(report.updated)} updated, "
                  f"{len(report.removed)} removed")
        if not report.changed:
            click.echo(f"{file}: no changes.")
        elif dry_run:
            click.echo(f"{file}: would change: {counts} (dry run, nothing was written).")
        else:
            click.echo(f"{file}: {counts}.")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@with_schema
def export_command(fmt, output):
    """Export people, callers, rotas, policies and hotlines as a rota file (PINs never)."""
    from voiceline.rotafile import dump_document, export_document

    with session_scope(appdb.session_factory()) as session:
        text = dump_document(export_document(session), fmt)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


@click.command("oncall")
@click.option("--rota", "rota_id", help="Only this rota (default: every rota, as a list).")
@click.option("--at", "at_text", help="Instant, ISO 8601 (default: now). No offset = UTC.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_schema
def oncall_command(rota_id, at_text, as_json):
    """Who is on duty at an instant, and until when."""
    at = instant_option(at_text)
    with session_scope(appdb.session_factory()) as session:
        try:
            entries = oncall_entries(session, at, rota_id)
        except UnknownRota:
            raise click.ClickException(f"no rota {rota_id!r}") from None
    if as_json:
        click.echo(json.dumps(entries[0] if rota_id else entries, indent=2))
        return
    for entry in entries:
        names = ", ".join(f"{p['name']} ({p['phone']})" for p in entry["on_duty"]) or "NOBODY"
        until = entry["until"] or "no change ahead"
        click.echo(f"{entry['rota']}: {names} until {until}")


@click.command("shifts")
@click.option("--rota", "rota_id", required=True, help="Rota id.")
@click.option("--from", "start_text", required=True, help="Range start, ISO 8601.")
@click.option("--to", "end_text", required=True, help="Range end, ISO 8601 (exclusive).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_schema
def shifts_command(rota_id, start_text, end_text, as_json):
    """A rota's merged shifts over [from, to)."""
    start, end = instant_option(start_text), instant_option(end_text)
    if end <= start:
        raise click.BadParameter("--to must be after --from")
    with session_scope(appdb.session_factory()) as session:
        try:
            entries = shift_entries(session, rota_id, start, end)
        except UnknownRota:
            raise click.ClickException(f"no rota {rota_id!r}") from None
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        click.echo(f"{e['start']} .. {e['end']}  {', '.join(e['on_duty']) or 'GAP'}")


@click.command("gaps")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366))
@click.option("--from", "start_text", help="Start, ISO 8601 (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_schema
def gaps_command(days, start_text, as_json):
    """Uncovered time per rota and per policy step over the coming days."""
    start = instant_option(start_text)
    with session_scope(appdb.session_factory()) as session:
        entries = gap_entries(session, start, days)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo(f"No gaps in the {days} days from {iso_z(start)}.")
    for e in entries:
        where = f"rota {e['rota']}" if "rota" in e else f"policy {e['policy']} step {e['step']}"
        click.echo(f"{where}: nobody {e['start']} .. {e['end']}")


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


@click.group("audit")
def audit_group():
    """The hash-chained audit log."""


@audit_group.command("verify")
@with_schema
def audit_verify():
    """Check every link of the audit chain and its head against the anchors (the signed
    anchor row and instance/audit-anchor.json); name the first broken entry or where the
    chain ends short."""
    with session_scope(appdb.session_factory()) as session:
        report = audit.verify(session)
    if report.ok:
        against = f" (head matches {report.anchored})" if report.anchored else ""
        click.echo(f"audit chain intact: {report.checked} entries{against}.")
        return
    if report.short:
        click.echo(f"audit chain BROKEN: {report.reason} "
                   f"({report.checked} entries are intact).", err=True)
    else:
        click.echo(f"audit chain BROKEN at entry {report.broken_id}: {report.reason} "
                   f"({report.checked} entries before it are intact).", err=True)
    sys.exit(1)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False, help="Flask debugger and reloader (never in production).")
@with_schema
def run_command(host, port, debug):
    """Serve the hotline webhooks, web UI and API (development server; use gunicorn in production)."""
    from werkzeug.serving import run_simple

    click.echo(f"voiceline on http://{host}:{port}/  (webhooks under /voice/)")
    # Flask's app.run() refuses to start under the flask CLI; serve with werkzeug directly.
    app = current_app._get_current_object()
    app.debug = debug
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


COMMANDS = (db_group, import_command, export_command, oncall_command, shifts_command, gaps_command,
            callers_group, audit_group, run_command)


def init_app(app: Flask) -> None:
    """Register the foundation's commands."""
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_app():
    from voiceline import create_app

    return create_app()


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from voiceline import __version__

        click.echo(f"voiceline {__version__}")
        ctx.exit()


def main() -> None:
    """Entry point of the `voiceline` console script."""
    group = FlaskGroup(name="voiceline", create_app=_create_app, add_default_commands=False,
                       add_version_option=False, load_dotenv=True,
                       help="voiceline: a voice hotline that always reaches a human on duty.\n\n"
                            "Settings come from the environment or .env (see .env.example). Every "
                            "command first migrates the database it is pointed at.")
    for param in group.params:
        # Flask's own options: --app and --debug only confuse here (the app is always voiceline's).
        if param.name in ("app", "debug"):
            param.hidden = True
        elif param.name == "env_file":
            param.help = "Read settings from FILE as well as from .env (the environment wins)."
    group.params.append(click.Option(
        ["--version"], is_flag=True, expose_value=False, is_eager=True,
        callback=_print_version, help="Show voiceline's version."))
    group.add_command(shell_command)
    group.add_command(routes_command)
    group.main(prog_name="voiceline")
