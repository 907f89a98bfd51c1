"""`voiceline import` and `voiceline export`: the rota file from the command line."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from voiceline import appdb
from voiceline import models as m
from voiceline.clitools import with_schema
from voiceline.db import session_scope
from voiceline.instants import parse_instant
from voiceline.oncall.notify import watch_rotas
from voiceline.rotafile import (
    RotaFileError,
    apply_plan,
    dump_document,
    export_document,
    load_file,
    parse_document,
)
from voiceline.rotafile.apply import stored_overrides


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--if-empty", is_flag=True, help="Import only into a database with no people yet.")
@click.option("--effective", metavar="ISO",
              help="When changed priorities, zones and new layers take effect (a future instant; "
                   "default: the end of each rota's current shift).")
@with_schema
def import_command(file, dry_run, if_empty, effective):
    """Import a rota file (YAML or JSON): validate all of it, then write it in one transaction."""
    def refuse(exc: RotaFileError):
        click.echo(f"{file}: {len(exc.problems)} problem(s), nothing was written:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)

    when = None
    if effective:
        try:
            when = parse_instant(effective)
        except ValueError as exc:
            refuse(RotaFileError([f"--effective: {exc}"]))
    try:
        doc = load_file(file)
    except RotaFileError as exc:
        refuse(exc)
    with session_scope(appdb.session_factory()) as session:
        try:
            plan = parse_document(doc, current_app.config["DEFAULT_REGION"],
                                  stored_overrides(session))
        except RotaFileError as exc:
            refuse(exc)
        for warning in plan.warnings:
            click.echo(f"{file}: warning: {warning}", err=True)
        if if_empty and session.scalar(select(func.count()).select_from(m.Person)):
            click.echo("The directory already has people; --if-empty skipped the import.")
            return
        if not dry_run:
            watch_rotas(session, None, int(current_app.config.get("CHANGE_NOTICE_DAYS") or 0))
        try:
            # An operator on the host holds the database anyway: the two-person rule is not
            # applied to an import, and its audit entry says so for the rotas that have it.
            ruled = sorted({r.id for r in plan.rotas if r.two_person} | set(session.scalars(
                select(m.Rota.id).where(m.Rota.two_person.is_(True),
                                        m.Rota.id.in_([r.id for r in plan.rotas])))))
            report = apply_plan(session, plan, actor="cli", effective=when, note={
                "two_person_rule": f"not applied (voiceline import) to {', '.join(ruled)}"}
                if ruled else None)
        except RotaFileError as exc:
            session.rollback()
            refuse(exc)
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
    with session_scope(appdb.session_factory()) as session:
        text = dump_document(export_document(session), fmt)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


COMMANDS = (import_command, export_command)


def init_app(app: Flask) -> None:
    """Register `import` and `export`."""
    for command in COMMANDS:
        app.cli.add_command(command)
