"""The webhooks area: Twilio's /voice/ blueprint."""

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class WebhookSessions(SecureCookieSessionInterface):
    """The cookie session of the UI; none at all for Twilio's /voice/ requests (signed by
    Twilio, never a browser's: no cookie to read, no signing serializer built per request).
    Decided by the path: the session opens before the request is routed to a blueprint."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def open_session(self, app, request):
        if request.path.startswith(self.prefix):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Register the /voice/ blueprints (the call's and the reachability check's) and `twilio`."""
    from voiceline.extensions import csrf
    from voiceline.webhooks import (
        conference,  # noqa: F401  (its routes join the /voice/ blueprint)
        reachability,
    )
    from voiceline.webhooks.cli import twilio_group
    from voiceline.webhooks.views import bp

    app.session_interface = WebhookSessions(f"{bp.url_prefix}/")  # /voice/reachability/ too
    for blueprint in (bp, reachability.bp):
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # signed by Twilio, no cookie session: a CSRF token means nothing here
    app.cli.add_command(twilio_group)
