"""`voiceline backup` and `voiceline restore`: a consistent copy of the database and its return.

A backup of a SQLite database is made with SQLite's online backup API, so it is a
consistent snapshot even while the web app and the scheduler write. PostgreSQL has its
own tool (pg_dump); `backup` prints the command. `restore` copies every row of a backup
file (a SQLite file, upgraded to the current schema on a temporary copy first) into the
configured database, which must be empty unless --force, then verifies the audit chain.
"""

from __future__ import annotations

import shlex
import sqlite3
import sys
import tempfile
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import URL, Connection, Engine, Table, func, select, text

from voiceline import appdb, audit, migrate
from voiceline import models as _models  # noqa: F401  (registers every table on Base.metadata)
from voiceline.clitools import ensure_schema
from voiceline.db import Base, make_engine, make_sessionmaker, session_scope

BATCH = 1000


# Kept by the database itself, not data: every migrated database has its row, and the
# triggers renew it as the other rows are copied in (voiceline/directory.py).
NOT_COPIED = frozenset({"directory_version"})


def tables() -> list[Table]:
    """Every voiceline table holding data, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_COPIED]


def sqlite_path(engine: Engine) -> str | None:
    """The file of a SQLite engine, or None for another database (or an in-memory one)."""
    if engine.dialect.name != "sqlite":
        return None
    return engine.url.database if engine.url.database not in (None, "", ":memory:") else None


def backup_sqlite(source: str, target: Path) -> None:
    """Copy the SQLite database at `source` to `target` with the online backup API."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        with dst:
            src.backup(dst)  # one step: a consistent snapshot of the committed state
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise click.ClickException(f"the backup failed SQLite's integrity check: {check}")
    finally:
        dst.close()
        src.close()
    partial.replace(target)


def pg_dump_command(engine: Engine, target: str) -> str:
    """The pg_dump command line for the app's PostgreSQL database (password left out)."""
    u = engine.url
    libpq = URL.create("postgresql", u.username, None, u.host, u.port, u.database,
                       u.query).render_as_string(hide_password=False)
    return shlex.join(["pg_dump", "--format=custom", f"--file={target}", libpq])


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows per table."""
    return {t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in tables()}


def copy_rows(source: Connection, target: Connection) -> dict[str, int]:
    """Insert every row of every table of `source` into `target`; rows copied per table."""
    copied: dict[str, int] = {}
    for table in tables():
        order = list(table.primary_key.columns) or list(table.columns)
        result = source.execute(select(table).order_by(*order)).mappings()
        copied[table.name] = 0
        while batch := result.fetchmany(BATCH):
            target.execute(table.insert(), [dict(row) for row in batch])
            copied[table.name] += len(batch)
    if target.dialect.name == "postgresql":
        _reset_sequences(target)
    return copied


def _reset_sequences(conn: Connection) -> None:
    # Rows came with their ids: move each id sequence past the largest one.
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].type.python_type is not int:
            continue
        conn.execute(text(
            f'SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX("{pk[0].name}"), 1), '
            f'MAX("{pk[0].name}") IS NOT NULL) FROM "{table.name}"'),
            {"t": table.name, "c": pk[0].name})


def clear(conn: Connection) -> None:
    """Delete every row of every table, children first."""
    for table in reversed(tables()):
        conn.execute(table.delete())


def restore_file(engine: Engine, backup: Path, *, force: bool) -> dict[str, int]:
    """Copy the backup's rows into `engine`'s (migrated) database; rows copied per table."""
    with tempfile.TemporaryDirectory(prefix="voiceline-restore-") as tmp:
        # Work on a copy: upgrading the schema must never touch the operator's backup file.
        copy = Path(tmp) / "backup.db"
        try:
            backup_sqlite(str(backup), copy)  # through SQLite, so a -wal file beside it counts
            check = "ok"
        except sqlite3.DatabaseError as exc:
            raise click.ClickException(f"{backup} is not a SQLite backup ({exc})") from None
        except click.ClickException as exc:
            check = exc.message
        if check != "ok":
            raise click.ClickException(f"{backup} is damaged: {check}")
        source = make_engine(f"sqlite:///{copy}")
        try:
            migrate.upgrade(source)
            with source.connect() as src, engine.begin() as dst:
                present = {k: v for k, v in row_counts(dst).items() if v}
                if present and not force:
                    listed = ", ".join(f"{k} {v}" for k, v in sorted(present.items()))
                    raise click.ClickException(
                        f"the database is not empty ({listed}); restore into a fresh database, "
                        "or pass --force to replace everything in it")
                if present:
                    clear(dst)
                return copy_rows(src, dst)
        finally:
            source.dispose()


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@with_appcontext
def backup_command(file, force):
    """Write a consistent copy of the SQLite database to FILE (safe while voiceline runs).

    For PostgreSQL, prints the pg_dump command to use instead and exits with status 2.
    """
    engine = appdb.engine(current_app)
    target = Path(file)
    if engine.dialect.name == "postgresql":
        click.echo("voiceline backup copies SQLite databases; for PostgreSQL pg_dump is the tool:\n"
                   f"  {pg_dump_command(engine, file)}\n"
                   "(the password comes from PGPASSWORD or ~/.pgpass; restore with pg_restore "
                   "into an empty database).", err=True)
        sys.exit(2)
    path = sqlite_path(engine)
    if path is None:
        raise click.ClickException("only a SQLite file or PostgreSQL database can be backed up")
    if target.exists() and not force:
        raise click.ClickException(f"{file} exists; pass --force to overwrite it")
    backup_sqlite(path, target)
    # Count with a plain read-only connection: the app's engine would switch the file to WAL.
    with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as conn:
        rows = sum(conn.execute(f'SELECT COUNT(*) FROM "{t.name}"').fetchone()[0] for t in tables())
    click.echo(f"Backed up {path} to {file}: {rows} rows in {len(tables())} tables.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True,
              help="Replace everything in a database that is not empty (it is deleted first).")
@with_appcontext
def restore_command(file, force):
    """Restore a backup FILE (made by `voiceline backup`) into the configured database.

    The database should be fresh or empty; the audit chain is verified afterwards.
    """
    ensure_schema()
    engine = appdb.engine(current_app)
    copied = restore_file(engine, Path(file), force=force)
    with session_scope(make_sessionmaker(engine)) as session:
        report = audit.verify(session)
    click.echo(f"Restored {sum(copied.values())} rows in {len(copied)} tables from {file}.")
    if not report.ok:
        click.echo(f"audit chain BROKEN at entry {report.broken_id}: {report.reason}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.checked} entries.")


def init_app(app: Flask) -> None:
    """Register `backup` and `restore`."""
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
