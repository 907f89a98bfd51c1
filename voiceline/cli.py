"""The `voiceline` command: main() and the foundation's commands (each area registers its own)."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, routes_command, shell_command, with_appcontext

from voiceline import appdb, audit, migrate
from voiceline.clitools import instant_option, with_schema
from voiceline.db import session_scope
from voiceline.instants import iso_z
from voiceline.oncall import UnknownRota, gap_entries, oncall_entries, shift_entries


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


COMMANDS = (db_group, oncall_command, shifts_command, gaps_command, audit_group, run_command)


def init_app(app: Flask) -> None:
    """Register the foundation's commands: db, audit, run (and, until they move, oncall/shifts/gaps)."""
    for command in COMMANDS:
        app.cli.add_command(command)


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"voiceline {version('voiceline')}")
        ctx.exit()


def main() -> None:
    """Entry point of the `voiceline` console script."""
    group = FlaskGroup(name="voiceline", add_default_commands=False,
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
    # The app is found by its import path, so this module never imports create_app's package back.
    group.main(prog_name="voiceline", obj=ScriptInfo(app_import_path="voiceline:create_app",
                                                     load_dotenv_defaults=True))
