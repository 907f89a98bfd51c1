"""Shared helpers of the command areas: a migrated schema, instant options."""

from __future__ import annotations

import functools

import click
from flask.cli import with_appcontext

from voiceline import appdb, migrate
from voiceline.instants import InstantRangeError, parse_instant, utcnow


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
