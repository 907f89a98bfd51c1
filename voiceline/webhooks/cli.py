"""`voiceline twilio`: check the Twilio setup; print static TwiML for a Fallback URL off-host."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from voiceline import appdb
from voiceline.calls import prompts
from voiceline.calls.twiml import static_fallback, static_screen, static_sentences
from voiceline.db import session_scope
from voiceline.webhooks.checks import CONFIG_CHECKS


@click.group("twilio")
def twilio_group():
    """Twilio setup: `check` it; print a static `fallback-twiml` to host outside voiceline."""


@twilio_group.command("check")
@with_appcontext
def check_command():
    """Report what would fail calls (the reasons /healthz gives): public URL, auth token,
    fallback numbers, connection overrides, the scheduler, conference policies without
    credentials. Exit status 1 when anything is wrong."""
    from voiceline.health import health_report

    report = health_report(start_grace=False)
    problems = report.get("problems", [])
    names = [check.__name__.removeprefix("check_") for check in CONFIG_CHECKS]
    for name in [*names, "scheduler", "conference"]:
        found = [p["problem"] for p in problems if p["check"] == name]
        for message in found:
            click.echo(f"PROBLEM  {name}: {message}")
        if not found and not (name == "scheduler" and report.get("error")):
            click.echo(f"ok       {name}")
    if report.get("error"):
        click.echo(f"PROBLEM  {report['error']}")
    sys.exit(0 if report["ok"] else 1)


def _hotline(hotline_id: str | None):
    from voiceline import models as m

    with session_scope(appdb.session_factory()) as session:
        hotlines = [(h.id, h.number, list(h.languages or []))
                    for h in session.scalars(select(m.Hotline).order_by(m.Hotline.id))]
    if hotline_id:
        found = [h for h in hotlines if hotline_id in h[:2]]
        if not found:
            raise click.UsageError(f"no hotline {hotline_id!r}; hotlines: "
                                   f"{', '.join(h[0] for h in hotlines) or 'none'}")
        return found[0]
    if len(hotlines) != 1:
        raise click.UsageError("name the hotline with --hotline: "
                               f"{', '.join(h[0] for h in hotlines) or 'none in the directory'}")
    return hotlines[0]


@twilio_group.command("fallback-twiml")
@click.option("--hotline", "hotline_id", help="Hotline id or number (default: the only one).")
@click.option("--screen-url", help="Where the `--screening` document is hosted; without it the "
              "fallback numbers are dialled unscreened.")
@click.option("--screen-answer-url", help="Where the `--screen-answer` document is hosted "
              "(the screening posts the key press there).")
@click.option("--done-url", help="Where the `--done` document is hosted (the message <Record> "
              "posts there); default: this host's /voice/fallback/done.")
@click.option("--screening", "which", flag_value="screening", help="Print the screening document.")
@click.option("--screen-answer", "which", flag_value="screen-answer",
              help="Print the document that connects a fallback number that pressed a key.")
@click.option("--done", "which", flag_value="done", help="Print the closing document.")
@with_appcontext
def fallback_twiml_command(hotline_id, screen_url, screen_answer_url, done_url, which):
    """Print static TwiML for the number's Fallback URL, to host OUTSIDE voiceline (a TwiML Bin
    or a static file host): when this host is down, a Fallback URL on it is down too.

    The main document apologises in the hotline's languages, rings VOICELINE_FALLBACK_NUMBERS
    (screened with --screen-url) and then takes a message. Host the other documents too:
    --screening (at --screen-url), --screen-answer (at --screen-answer-url), --done (at --done-url).
    """
    _, number, hotline_languages = _hotline(hotline_id)
    languages = prompts.hotline_languages(hotline_languages)
    if which == "screening":
        if not screen_answer_url:
            raise click.UsageError("--screening needs --screen-answer-url (where --screen-answer "
                                   "is hosted)")
        click.echo(static_screen(screen_answer_url, languages))
    elif which == "screen-answer":
        click.echo(static_sentences("accepted", languages, hangup=False))
    elif which == "done":
        click.echo(static_sentences("message_recorded", languages, hangup=True))
    else:
        numbers = list(current_app.config.get("FALLBACK_NUMBERS") or [])
        if not numbers:
            click.echo("warning: VOICELINE_FALLBACK_NUMBERS is unset: this document only takes a "
                       "message", err=True)
        if not screen_url:
            click.echo("warning: no --screen-url: a fallback number's voicemail can take the call",
                       err=True)
        if not done_url:
            base = (current_app.config.get("PUBLIC_URL") or "https://YOUR-VOICELINE-HOST").rstrip("/")
            done_url = base + "/voice/fallback/done"
            click.echo(f"warning: the message posts to {done_url}; with this host down the caller "
                       "hears an error after recording: host --done and pass --done-url", err=True)
        click.echo(static_fallback(numbers, number, languages, screen_url=screen_url,
                                   done_url=done_url,
                                   max_length=int(current_app.config.get("CALLS_RECORD_MAX_SECONDS") or 300)))
