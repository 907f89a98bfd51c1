"""Clock work: the scheduler process, its jobs and the reachability webhook (sending: voiceline.outbox)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the reachability webhook and the clock-work commands (never start the scheduler here)."""
    from voiceline.extensions import csrf
    from voiceline.jobs.cli import COMMANDS
    from voiceline.jobs.webhook import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)  # signed by Twilio like /voice/
    for command in COMMANDS:
        app.cli.add_command(command)
