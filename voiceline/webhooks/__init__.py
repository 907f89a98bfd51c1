"""The webhooks area: Twilio's /voice/ blueprint."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the /voice/ blueprints (the call's and the reachability check's) and `twilio`."""
    from voiceline.extensions import csrf
    from voiceline.webhooks import (
        conference,  # noqa: F401  (its routes join the /voice/ blueprint)
        reachability,
    )
    from voiceline.webhooks.cli import twilio_group
    from voiceline.webhooks.views import bp

    for blueprint in (bp, reachability.bp):
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # signed by Twilio, no cookie session: a CSRF token means nothing here
    app.cli.add_command(twilio_group)
