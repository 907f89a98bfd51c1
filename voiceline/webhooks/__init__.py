"""The webhooks area: Twilio's /voice/ blueprint."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the /voice/ blueprint."""
    from voiceline.webhooks.views import bp

    app.register_blueprint(bp)
