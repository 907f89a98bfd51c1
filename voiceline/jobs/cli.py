"""Clock-work commands: `voiceline scheduler`, `voiceline outbox`, `voiceline linetests`."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from sqlalchemy import func, select

from voiceline import appdb
from voiceline import models as m
from voiceline.clitools import instant_option, with_schema
from voiceline.db import session_scope
from voiceline.instants import iso_z
from voiceline.jobs.state import get_state
from voiceline.models.jobs import LineTest

STATUSES = ("pending", "held", "sending", "sent", "failed")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run a single tick and exit (default: run every minute).")
@click.option("--at", "at_text", help="With --once: tick as of this instant, ISO 8601 (default: now).")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the tick's report as JSON.")
@with_schema
def scheduler_command(once, at_text, as_json):
    """Run the clock work: handoffs, reminders, coverage alerts, line tests, reachability, outbox.

    One active scheduler per database (a lock); a second one waits as a hot standby.
    Needs a direct PostgreSQL connection (no transaction-pooling PgBouncer): it refuses one.
    Never run inside web workers.
    """
    from voiceline.jobs.lock import PooledSessionError, SchedulerLock, require_direct_session
    from voiceline.jobs.process import run_forever, tick_job

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        require_direct_session(appdb.engine(app))
    except PooledSessionError as exc:
        click.echo(f"voiceline scheduler: {exc}", err=True)
        sys.exit(2)
    if not once:
        if at_text or as_json:
            raise click.UsageError("--at and --json need --once")
        click.echo("voiceline scheduler: ticking every minute (Ctrl-C to stop)", err=True)
        run_forever(app)
        return
    at = instant_option(at_text)
    lock = SchedulerLock(appdb.engine(app), app.instance_path)
    try:
        report = tick_job(app, lock, at)
    finally:
        lock.release()
    if report is None:
        click.echo("another scheduler holds the lock; it runs the ticks (nothing done).", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        done = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing to do"
        click.echo(f"tick at {iso_z(report.at)}: {done}")
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
    if report.errors:
        sys.exit(1)


def _message_json(msg: m.OutboxMessage) -> dict:
    return {"id": msg.id, "key": msg.key, "kind": msg.kind, "recipient": msg.recipient,
            "purpose": msg.purpose, "status": msg.status, "attempts": msg.attempts,
            "last_error": msg.last_error, "provider_sid": msg.provider_sid,
            "created_at": iso_z(msg.created_at), "next_attempt_at": iso_z(msg.next_attempt_at),
            "sent_at": iso_z(msg.sent_at), "body": msg.body}


@click.command("outbox")
@click.option("--status", type=click.Choice(STATUSES), help="Only messages in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000),
              help="Newest messages shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_schema
def outbox_command(status, limit, as_json):
    """Outgoing SMS and calls, newest first: status, attempts, last error."""
    with session_scope(appdb.session_factory()) as session:
        query = select(m.OutboxMessage).order_by(m.OutboxMessage.id.desc()).limit(limit)
        count_query = select(m.OutboxMessage.status, func.count()).group_by(m.OutboxMessage.status)
        if status:
            query = query.where(m.OutboxMessage.status == status)
        messages = list(session.scalars(query))
        totals = dict(session.execute(count_query).all())
        last_tick = get_state(session, "tick")
    if as_json:
        click.echo(json.dumps([_message_json(msg) for msg in messages], indent=2))
        return
    summary = ", ".join(f"{totals.get(s, 0)} {s}" for s in STATUSES)
    click.echo(f"outbox: {summary}")
    if last_tick.get("ran_at"):
        click.echo(f"last scheduler tick: {last_tick['ran_at']} (as of {last_tick['at']})"
                   + (f", {len(last_tick['errors'])} step(s) failed" if last_tick.get("errors") else ""))
    else:
        click.echo("the scheduler has not ticked yet: nothing is sent until `voiceline scheduler` runs.")
    if totals.get("held") and not current_app.config.get("TWILIO_ACCOUNT_SID"):
        click.echo("held messages leave once TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set.")
    for msg in messages:
        when = iso_z(msg.sent_at or msg.created_at)
        first_line = msg.body.splitlines()[0] if msg.body else ""
        text = first_line if msg.kind == "sms" else f"[call: {msg.purpose}]"
        click.echo(f"#{msg.id} {when} {msg.status:<7} {msg.kind:<4} {msg.recipient:<16} "
                   f"{msg.purpose:<12} tries {msg.attempts}  {text[:60]}")
        if msg.last_error and msg.status != "sent":
            click.echo(f"      last error: {msg.last_error}")


def _test_json(test: LineTest) -> dict:
    return {"id": test.id, "hotline": test.hotline_id, "number": test.number,
            "status": test.status, "scheduled_at": iso_z(test.scheduled_at),
            "queued_at": iso_z(test.queued_at), "placed_at": iso_z(test.placed_at),
            "arrived_at": iso_z(test.arrived_at), "call_sid": test.call_sid,
            "error": test.error, "alerted_at": iso_z(test.alerted_at)}


@click.command("linetests")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000),
              help="Newest tests shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_schema
def linetests_command(limit, as_json):
    """History of the scheduled line tests (test calls into each hotline), newest first."""
    with session_scope(appdb.session_factory()) as session:
        tests = list(session.scalars(select(LineTest).order_by(LineTest.scheduled_at.desc(),
                                                               LineTest.id.desc()).limit(limit)))
    if as_json:
        click.echo(json.dumps([_test_json(t) for t in tests], indent=2))
        return
    if not tests:
        configured = current_app.config.get("LINETEST_FROM")
        click.echo("No line tests yet." + ("" if configured else
                   " Set VOICELINE_LINETEST_FROM (a Twilio number) to enable them."))
    for t in tests:
        delay = ""
        if t.arrived_at and t.placed_at:
            delay = f" arrived after {max(0, int((t.arrived_at - t.placed_at).total_seconds()))} s"
        click.echo(f"{iso_z(t.scheduled_at)} {t.hotline_id} {t.number} {t.status}{delay}"
                   + (f"  ({t.error})" if t.error else ""))


COMMANDS = (scheduler_command, outbox_command, linetests_command)
