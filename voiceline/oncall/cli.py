"""`voiceline oncall`, `shifts` and `gaps`: the rota's answers from the command line."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask import Flask

from voiceline import appdb
from voiceline import models as m
from voiceline.clitools import instant_option, with_schema
from voiceline.db import session_scope
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.coverage_rules import (
    describe_rule,
    describe_where,
    load_rules,
    rule_for,
    violation_json,
    violations,
)
from voiceline.oncall.history import diff_between, rota_as_of
from voiceline.oncall.present import (
    describe_gap,
    diff_json,
    gap_json,
    on_duty_json,
    shift_json,
    why_nobody,
)
from voiceline.oncall.queries import UnknownRota, load_coverage, on_duty_now, shifts_between
from voiceline.rota import shifts


@click.command("oncall")
@click.option("--rota", "rota_id", help="Only this rota (default: every rota, as a list).")
@click.option("--at", "at_text", help="Instant, ISO 8601 (default: now). No offset = UTC.")
@click.option("--as-of", "as_of_text", metavar="ISO",
              help="By the rota as it stood at this past instant (its recorded history).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_schema
def oncall_command(rota_id, at_text, as_of_text, as_json):
    """Who is on duty at an instant, and until when (by the rota now, or as it stood --as-of)."""
    at = instant_option(at_text)
    as_of = instant_option(as_of_text) if as_of_text else None
    with session_scope(appdb.session_factory()) as session:
        try:
            entries = [on_duty_json(e) for e in on_duty_now(session, at, rota_id, as_of)]
        except UnknownRota:
            raise click.ClickException(f"no rota {rota_id!r}"
                                       + (" recorded that early" if as_of else "")) from None
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
@click.option("--as-of", "as_of_text", metavar="ISO",
              help="The rota as it stood at this past instant (its recorded history).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_schema
def shifts_command(rota_id, start_text, end_text, as_of_text, as_json):
    """A rota's merged shifts over [from, to), as it stands (or as it stood --as-of)."""
    start, end = instant_option(start_text), instant_option(end_text)
    if end <= start:
        raise click.BadParameter("--to must be after --from")
    with session_scope(appdb.session_factory()) as session:
        if as_of_text:
            stood = rota_as_of(session, rota_id, instant_option(as_of_text))
            if stood is None:
                raise click.ClickException(f"no recorded state of rota {rota_id!r} that early")
            entries = [shift_json(s) for s in shifts(stood[0], start, end)]
        else:
            try:
                entries = [shift_json(s) for s in shifts_between(session, rota_id, start, end)]
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
    """Uncovered time per rota and per policy step over the coming days, then broken coverage rules.

    In --json, a broken rule is an entry with a "rule" key (understaffed, long_shift,
    short_rest), its "text", and the real bounds of the range where the window cuts it.
    """
    start = instant_option(start_text)
    end = start + timedelta(days=days)
    with session_scope(appdb.session_factory()) as session:
        coverage = load_coverage(session)
        rules = load_rules(session)
    found = coverage.gaps(start, end)
    broken = violations(coverage, rules, start, end) if rules else []
    if as_json:
        click.echo(json.dumps([gap_json(g, coverage.unreachable) for g in found]
                              + [violation_json(v, rules) for v in broken], indent=2))
        return
    if not found:
        click.echo(f"No gaps in the {days} days from {iso_z(start)}.")
    for gap in found:
        click.echo(f"{describe_gap(gap)}: {why_nobody(gap, coverage.unreachable)} "
                   f"{iso_z(gap.start)} .. {iso_z(gap.end)}")
    for v in broken:
        click.echo(f"{describe_where(v)}: {describe_rule(v, rule_for(rules, v))} "
                   f"{iso_z(v.start)} .. {iso_z(v.end)}")


@click.command("history")
@click.option("--rota", "rota_id", required=True, help="Rota id.")
@click.option("--from", "from_text", required=True, metavar="ISO",
              help="The first instant: the rota as it stood then, ISO 8601.")
@click.option("--to", "to_text", metavar="ISO", help="The second instant (default: now).")
@click.option("--start", "start_text", metavar="ISO",
              help="Where the duty comparison starts (default: --from).")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 31),
              help="Days of duty compared.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /api/v1/rotas/ID/diff).")
@with_schema
def history_command(rota_id, from_text, to_text, start_text, days, as_json):
    """What changed in a rota between two instants: who changed it, when, by which action, and
    the ranges where the rota as it stood at --from and at --to put different people on duty."""
    now = utcnow()
    as_of = instant_option(from_text)
    compare = instant_option(to_text) if to_text else now
    start = instant_option(start_text) if start_text else as_of
    end = start + timedelta(days=days)
    with session_scope(appdb.session_factory()) as session:
        rota = session.get(m.Rota, rota_id)
        if rota is None:
            raise click.ClickException(f"no rota {rota_id!r}")
        found = diff_between(session, rota, as_of, compare, start, end, now)
        if found is None:
            raise click.ClickException(f"no recorded state of rota {rota_id!r} that early")
        entry = diff_json(rota_id, found, as_of, compare, start, end)
    if as_json:
        click.echo(json.dumps(entry, indent=2))
        return
    click.echo(f"{rota_id} as it stood at {entry['from']} (recorded {entry['recorded_at']}) "
               f"against {entry['to']}:")
    for c in entry["changes"]:
        click.echo(f"  changed {c['at']} by {c['actor'] or '(not recorded)'}: {c['action']}")
    if not entry["changes"]:
        click.echo("  no change recorded")
    for d in entry["duty"]:
        click.echo(f"  {d['start']} .. {d['end']}  {', '.join(d['before']) or 'nobody'} -> "
                   f"{', '.join(d['after']) or 'nobody'}")
    if not entry["duty"]:
        click.echo(f"  the same people on duty from {entry['start']} to {entry['end']}")


COMMANDS = (oncall_command, shifts_command, gaps_command, history_command)


def init_app(app: Flask) -> None:
    """Register `oncall`, `shifts`, `gaps` and `history`."""
    for command in COMMANDS:
        app.cli.add_command(command)
