"""The webhooks area: Twilio's /voice/ blueprint."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the /voice/ blueprint and the `twilio` commands."""
    from voiceline.extensions import csrf
    from voiceline.webhooks.cli import twilio_group
    from voiceline.webhooks.views import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)  # signed by Twilio, no cookie session: a CSRF token means nothing here
    app.cli.add_command(twilio_group)
