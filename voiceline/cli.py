"""The `voiceline` command: main() and the foundation's commands (each area registers its own)."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import version

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, routes_command, shell_command, with_appcontext

from voiceline import appdb, audit, migrate
from voiceline.clitools import with_schema
from voiceline.db import session_scope


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
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.debug = debug
    from voiceline.calls.ringmode import log_startup

    log_startup(app, logging.getLogger("voiceline"))
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


COMMANDS = (db_group, audit_group, run_command)


def init_app(app: Flask) -> None:
    """Register the foundation's commands: db, audit, run."""
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
        if param.name in ("app", "debug") and isinstance(param, click.Option):
            param.hidden = True
        elif param.name == "env_file" and isinstance(param, click.Option):
            param.help = "Read settings from FILE as well as from .env (the environment wins)."
    group.params.append(click.Option(
        ["--version"], is_flag=True, expose_value=False, is_eager=True,
        callback=_print_version, help="Show voiceline's version."))
    group.add_command(shell_command)
    group.add_command(routes_command)
    # The app is found by its import path, so this module never imports create_app's package back.
    group.main(prog_name="voiceline", obj=ScriptInfo(app_import_path="voiceline:create_app",
                                                     load_dotenv_defaults=True))
