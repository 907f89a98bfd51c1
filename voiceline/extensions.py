"""Flask extensions shared by several areas, created unbound and init_app'ed in create_app."""

from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

# On for every blueprint; the signed (Twilio), token-authenticated (API) and secret-URL
# (calendar feed) blueprints carry no cookie session and exempt themselves.
csrf = CSRFProtect()

CLOCK = "voiceline.clock"  # app.extensions[CLOCK]: () -> aware UTC now (tests, replays pin it)
HTTP_CLIENT = "voiceline.twilio_http_client"  # app.extensions[HTTP_CLIENT]: a twilio HttpClient
STARTED = "voiceline.started"  # app.extensions[STARTED]: time.monotonic() when the app was made
