"""The call: state machine, TwiML builders, prompt catalogue, call log and its commands."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register calls, callers, replay and simulate (the /voice/ blueprint is voiceline.webhooks)."""
    from voiceline.calls.cli import callers_group, calls_group, replay_command
    from voiceline.calls.simulate import simulate_command

    for command in (calls_group, callers_group, replay_command, simulate_command):
        app.cli.add_command(command)
