"""Conference mode's dialer: Twilio's REST client, and the work a step queued, run after its commit.

The dialer runs what a step queued (ctx.after) once its answer is committed. A webhook places
at most one call itself, and only when the account's calls-per-second slot is free at once
(calls/dialer.py); everything else (further responders, ending the other legs, moving the
caller to voicemail) goes to a short-lived background thread of this worker, which sleeps
until each booked slot. If the worker dies meanwhile, the caller's waitUrl, re-fetched every
few seconds, queues whatever is still unplaced (any worker may take it: placing is claimed
with a conditional UPDATE) and ends a step whose ring time passed without callbacks. No
scheduler tick is involved.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request, url_for
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

# Loaded now, not on the first calls.create: the SDK's lazy import of its call resources takes a
# few hundred ms, which would land inside the first paced slot of every worker.
from twilio.rest.api.v2010.account.call import CallList  # noqa: F401

from voiceline import appdb, audit
from voiceline.calls import conference_legs
from voiceline.calls.conference import End, Place, Redirect
from voiceline.calls.context import CallSettings, Context
from voiceline.calls.dialer import MAX_RETRIES, RestFailure, reserve
from voiceline.extensions import CLOCK, HTTP_CLIENT
from voiceline.instants import utcnow
from voiceline.webhooks.signature import public_url

log = logging.getLogger(__name__)
LEG_EVENTS = ["initiated", "ringing", "answered", "completed"]
DIALER = "voiceline.dialer"  # app.extensions[DIALER]: "thread" (default) or "inline" (tests, simulate)


class TwilioRest:
    """conference mode's REST calls on twilio-python's Client (timeouts short: webhooks wait)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def create_call(self, *, to: str, from_: str, url: str, status_url: str, timeout: int) -> str:
        """calls.create with the screening URL and every status event of the leg."""
        try:
            return str(self.client.calls.create(
                to=to, from_=from_, url=url, method="POST", status_callback=status_url,
                status_callback_method="POST", status_callback_event=LEG_EVENTS, timeout=timeout).sid)
        except TwilioRestException as exc:
            again = exc.status == 429 or exc.status >= 500 or exc.code == 20429
            raise RestFailure(f"Twilio {exc.status} error {exc.code}", again) from exc
        except Exception as exc:  # the network: worth another slot
            raise RestFailure(type(exc).__name__, True) from exc

    def end_call(self, sid: str, status: str) -> None:
        """Hang up a responder's call."""
        self.client.calls(sid).update(status=status)

    def redirect_call(self, sid: str, url: str) -> None:
        """New TwiML for the caller's call."""
        self.client.calls(sid).update(url=url, method="POST")


def rest_client(app: Any) -> TwilioRest:
    """The REST client of the configured account (tests hand in a fake transport)."""
    transport = app.extensions.get(HTTP_CLIENT) or TwilioHttpClient(timeout=5)
    return TwilioRest(Client(app.config["TWILIO_ACCOUNT_SID"], app.config["TWILIO_AUTH_TOKEN"],
                             http_client=transport))


def run_after(work: list[Any]) -> None:
    """Run the REST work a committed step queued: the first call at once if its slot is free,
    the rest in a background thread (or inline, for tests and simulate)."""
    if not work:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    rest = rest_client(app)
    base = request.host_url
    if app.extensions.get(DIALER) == "inline":
        _drain(app, rest, work, base)
        return
    rest_of = _place_first(app, rest, work)
    if rest_of:
        threading.Thread(target=_in_context, args=(app, rest, rest_of, base), daemon=True,
                         name="voiceline-dialer").start()


def _in_context(app: Any, rest: TwilioRest, work: list[Any], base: str) -> None:
    try:
        with app.test_request_context("/", base_url=base):
            _drain(app, rest, work, base)
    except Exception:  # a background thread has nobody to tell but the log
        log.exception("conference dialer failed; the waitUrl backstop places what is left")


def _place_first(app: Any, rest: TwilioRest, work: list[Any]) -> list[Any]:
    """Place the first queued leg now if the pace allows; return the work left."""
    first = next((item for item in work if isinstance(item, Place) and item.legs), None)
    if first is None:
        return work
    done, follow_up = _place(rest, first.legs[0], app.config.get("CALLS_PER_SECOND") or 1.0,
                             only_now=True)
    if not done:
        return work
    rest_of = [item for item in work if item is not first]
    if first.legs[1:]:
        rest_of.insert(0, Place(first.call_id, first.legs[1:]))
    return [*rest_of, *follow_up]


def _drain(app: Any, rest: TwilioRest, work: list[Any], base: str) -> None:
    cps = app.config.get("CALLS_PER_SECOND") or 1.0
    queue = list(work)
    while queue:
        item = queue.pop(0)
        try:
            if isinstance(item, Place):
                for leg in item.legs:
                    queue.extend(_place(rest, leg, cps)[1])
            elif isinstance(item, End):
                rest.end_call(item.sid, item.status)
            elif isinstance(item, Redirect):
                rest.redirect_call(item.sid, item.url)
        except Exception:
            log.exception("conference: %s failed", type(item).__name__)


def listen_in(session: Any, call: Any, person: Any, actor: str) -> Any:
    """A supervisor listens in, muted (conference mode): their phone is called, screened, and
    joins the room muted; audited (`calls.listen`) and committed, then the call is placed.
    Returns the leg, or None when the call is not live in a conference."""
    ctx = request_context(session)
    leg = conference_legs.listen(ctx, call, person, actor)
    if leg is None:
        return None
    audit.record(session, actor, "calls.listen", call.sid, person=person.id, phone=leg.number)
    session.commit()
    run_after(ctx.after)
    return leg


def links(endpoint: str, **params) -> str:
    """The absolute URL of a /voice/ step as Twilio must request it."""
    return public_url(url_for(f"voice.{endpoint}", **params))


def call_settings() -> CallSettings:
    """The call settings of this app, its public URL the base of every link."""
    base = current_app.config.get("PUBLIC_URL") or request.host_url
    return CallSettings.from_config(current_app.config, base)


def request_context(session: Any) -> Context:
    """The context of call work in this request: the app's clock (tests and replays pin it),
    its links and settings (the webhooks' and the UI's alike)."""
    return Context(session=session, at=current_app.extensions[CLOCK](), links=links,
                   settings=call_settings())


def _with_ctx(step: Callable[[Context], None]) -> list[Any]:
    """Run `step` in a transaction of its own; returns the REST work it queued."""
    session = appdb.session_factory()()
    try:
        ctx = request_context(session)
        step(ctx)
        session.commit()
        return ctx.after
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def _place(rest: TwilioRest, spec: tuple[int, str, str, str, str, int], cps: float,
           only_now: bool = False) -> tuple[bool, list[Any]]:
    """Claim one leg, take its calls.create slot (waiting for it; with `only_now` only a slot
    free at once), create, record. Returns whether it is dealt with, and follow-up work (ending
    it if the call moved on meanwhile, or placing it again after a 429)."""
    leg_id, to, from_, url, status_url, timeout = spec
    claimed: list[bool] = []
    _with_ctx(lambda ctx: claimed.append(conference_legs.claim_leg(ctx, leg_id) is not None))
    if not claimed[0]:
        return True, []
    # The slot is taken last, right before calls.create, so the pace is that of the requests.
    with appdb.session_factory()() as session:
        slot = reserve(session, utcnow(), cps, only_now=only_now)
    if slot is None:
        _with_ctx(lambda ctx: conference_legs.release(ctx, leg_id))
        return False, []
    wait = (slot - utcnow()).total_seconds()
    if wait > 0:
        time.sleep(wait)
        wanted: list[bool] = []  # the call may have been taken or ended meanwhile
        _with_ctx(lambda ctx: wanted.append(conference_legs.still_wanted(ctx, leg_id)))
        if not wanted[0]:
            return True, []
    try:
        sid = rest.create_call(to=to, from_=from_, url=url, status_url=status_url, timeout=timeout)
    except RestFailure as exc:
        log.warning("conference: calls.create for leg %s failed: %s", leg_id, exc.reason)
        again: list[Any] = []
        reason, may_retry = exc.reason, exc.again

        def failed(ctx: Context) -> None:
            retry = may_retry and conference_legs.retries(ctx, leg_id) < MAX_RETRIES
            conference_legs.create_failed(ctx, leg_id, reason, retry)
            if retry:
                again.append(Place(0, (spec,)))
        return True, [*_with_ctx(failed), *again]
    return True, _with_ctx(lambda ctx: conference_legs.placed(ctx, leg_id, sid, slot))
