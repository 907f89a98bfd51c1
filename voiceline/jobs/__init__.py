"""Clock work: the scheduler process and its jobs (sending is voiceline.outbox's, webhooks voiceline.webhooks')."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the clock-work commands (never start the scheduler here)."""
    from voiceline.jobs.cli import COMMANDS

    for command in COMMANDS:
        app.cli.add_command(command)
