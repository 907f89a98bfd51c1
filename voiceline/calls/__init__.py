"""The call: state machine, TwiML builders, prompt catalogue, call log and its commands."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the call area's commands (the /voice/ blueprint lives in voiceline.webhooks)."""
    from voiceline.calls.cli import calls_group, replay_command
    from voiceline.calls.simulate import simulate_command

    for command in (calls_group, replay_command, simulate_command):
        app.cli.add_command(command)
