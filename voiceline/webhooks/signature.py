"""X-Twilio-Signature checking and the one TwiML response helper of every webhook."""

from __future__ import annotations

import functools
import logging
import threading
import time

from flask import Response, abort, current_app, request
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    compare,
    get_signature_algorithm,
)

from voiceline.webhooks.edge import CONTROL

log = logging.getLogger(__name__)


def validation_url() -> str:
    """The URL Twilio signed: VOICELINE_PUBLIC_URL + path + query, or the request's own URL."""
    public = current_app.config.get("PUBLIC_URL")
    if not public:
        return request.url
    query = request.query_string.decode("latin-1")
    return public.rstrip("/") + request.path + (f"?{query}" if query else "")


def public_url(path: str) -> str:
    """An absolute URL for `path` (from url_for(..., _external=False)) as Twilio must call it."""
    public = current_app.config.get("PUBLIC_URL")
    if not public:
        return request.host_url.rstrip("/") + path
    # PUBLIC_URL already names the app's root (prefix included), as validation_url assumes:
    # drop the SCRIPT_NAME that url_for put in front, or the prefix would appear twice.
    root = request.script_root
    if root and path.startswith(root + "/"):
        path = path[len(root):]
    return with_overrides(public.rstrip("/") + path)


def with_overrides(url: str, overrides: str | None = None) -> str:
    """`url` with the connection-override fragment (VOICELINE_TWILIO_CONNECTION_OVERRIDES).

    Twilio reads the fragment to set its connect/read timeouts and retries for that fetch; an
    HTTP client never sends a fragment (RFC 3986 3.5), so the URL Twilio signs and requests is
    the same without it.
    """
    if overrides is None:
        overrides = current_app.config.get("CONNECTION_OVERRIDES") or ""
    if not overrides:
        return url
    return url.split("#", 1)[0] + "#" + overrides


SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"


def signing_key_id(settings: str | None) -> str | None:
    """The SharedKey id named by X-Twilio-Webhooks-Signature-Settings (`key=...,algorithm=...`)."""
    for part in (settings or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "key" and value.strip():
            return value.strip()
    return None


def _signing_secret() -> str | None:
    """The auth token, or the named SharedKey's secret when Twilio says it signed with one."""
    settings = request.headers.get(SETTINGS_HEADER)
    if not settings:
        return current_app.config.get("TWILIO_AUTH_TOKEN")
    key_id = signing_key_id(settings)
    keys = current_app.config.get("WEBHOOK_KEYS") or {}
    return keys.get(key_id) if key_id else None  # an unknown key id never falls back to the token


def signature_is_valid() -> bool:
    """True when the request carries a valid X-Twilio-Signature for the token or SharedKey it names."""
    secret = _signing_secret()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not secret or not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SETTINGS_HEADER))
    # A JSON body is signed through ?bodySHA256= (the validator hashes the raw body); a form
    # body through its sorted parameters.
    if "bodySHA256" in request.args:
        return RequestValidator(secret).validate(validation_url(), request.get_data(as_text=True),
                                                 signature, algorithm)
    return _form_signature_is_valid(RequestValidator(secret), validation_url(), request.form,
                                    signature, algorithm)


def _form_signature_is_valid(validator: RequestValidator, url: str, params, signature: str,
                             algorithm: str) -> bool:
    """The SDK's check of a form body, computing the signature once for the URL as received
    (what Twilio signs) and only on a mismatch again for the validator's other URL forms (with
    and without the default port), instead of always both."""
    if algorithm.upper() not in (HMAC_SHA1, HMAC_SHA256):
        return validator.validate(url, params, signature, algorithm)  # logs and refuses
    try:
        if compare(validator.compute_signature(url, params, algorithm), signature):
            return True
    except ValueError:
        return False
    return validator.validate(url, params, signature, algorithm)


def twilio_signed(view):
    """Decorator: refuse (403, audited) any request without a valid Twilio signature."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not signature_is_valid():
            _audit_bad_signature()
            abort(403)
        return view(*args, **kwargs)
    return wrapper


class _AuditThrottle:
    """Per process: one audit entry per (address, path) a minute; the rest are counted into the
    next entry, so a flood of forged requests can neither grow the chain without bound nor
    queue every worker behind the audit lock, and every refusal is still accounted for."""

    WINDOW = 60.0
    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def admit(self, key: tuple[str, str]) -> int | None:
        """None: counted, do not audit; else audit now, reporting this many refusals it absorbed."""
        now = _clock()
        with self._lock:
            started, absorbed = self._seen.get(key, (None, 0))
            if started is not None and now - started < self.WINDOW:
                self._seen[key] = (started, absorbed + 1)
                return None
            if len(self._seen) >= self.MAX_KEYS:
                self._seen.clear()
            self._seen[key] = (now, 0)
            return absorbed


_clock = time.monotonic


def _audit_bad_signature() -> None:
    from voiceline import appdb, audit

    log.warning("rejected webhook with a bad or missing signature: %s", request.path)
    throttle = current_app.extensions.setdefault("voiceline.bad_signature_throttle", _AuditThrottle())
    absorbed = throttle.admit((request.remote_addr or "", request.path))
    if absorbed is None:
        return
    try:
        session = appdb.db_session()
        audit.record(session, "twilio?", "webhook.bad_signature", request.path,
                     remote_addr=request.remote_addr,
                     had_signature=bool(request.headers.get("X-Twilio-Signature")),
                     signing_key=(signing_key_id(request.headers.get(SETTINGS_HEADER)) or "")[:64],
                     call_sid=CONTROL.sub("", request.form.get("CallSid", ""))[:64],
                     earlier_refusals_not_listed=absorbed)
        session.commit()
    except Exception:  # the refusal stands even when the audit cannot be written
        log.exception("could not audit a bad webhook signature")


def twiml_response(response: object, status: int = 200) -> Response:
    """Send TwiML as text/xml: a calls.twiml Reply, its VoiceResponse or the document's text."""
    return Response(str(response), status=status, mimetype="text/xml")
