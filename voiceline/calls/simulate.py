"""`voiceline simulate`: play Twilio's side of one call in the terminal, in-process.

Shows what the caller hears, asks for the caller's keys, lets the user decide what each
rung responder does, then prints the call record. Nothing leaves the machine.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import click
from flask import current_app
from sqlalchemy import select

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.calls.cli import print_call
from voiceline.calls.replay import in_process_twilio, use_fake_rest
from voiceline.calls.store import call_record, load_call
from voiceline.calls.twilio_side import ConferencePlay, DialPlay, Leg, call_params, leg_params
from voiceline.clitools import with_schema
from voiceline.db import session_scope
from voiceline.directory import caller_by_number, hotline_by_number
from voiceline.extensions import CLOCK
from voiceline.instants import utcnow
from voiceline.models.calls import CallLeg
from voiceline.passwords import valid_pin
from voiceline.phones import pretty, try_e164
from voiceline.pins import PinKeys, hash_pin

CHOICES = {"a": "accepts", "d": "declines", "n": "does not answer", "v": "voicemail picks up"}


def _new_sid() -> str:
    return "CA" + uuid.uuid4().hex


class Simulation:
    """One simulated call: a clock that advances with what happens, and Twilio's side."""

    def __init__(self, app, hotline_number: str, from_number: str, strict: bool = True) -> None:
        self.app, self.hotline, self.caller = app, hotline_number, from_number
        self.strict = strict
        self.sid = _new_sid()
        self.now = utcnow()
        self.start = self.now
        app.extensions[CLOCK] = lambda: self.now
        # Conference mode's REST calls are played here too: nothing leaves the machine.
        self.rest = use_fake_rest(app, unique_sids=True)  # call after call into one database
        self.twilio = in_process_twilio(app)
        self.twilio.rest = self.rest

    def wait(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    def params(self, **extra: str) -> dict[str, str]:
        return call_params(self.sid, self.caller, self.hotline, **extra)

    def run(self) -> None:
        answer = self.twilio.post("/voice/incoming", self.params())
        try:
            while answer is not None and answer.root is not None:
                answer = self.play(answer.root)
        except click.Abort:  # Ctrl-C or end of input: the caller hangs up; never leave the call open
            click.echo("\n  [the caller hangs up]")
        self.wait(2)
        seconds = int((self.now - self.start).total_seconds())
        self.twilio.post("/voice/status", self.params(
            CallStatus="completed", CallDuration=str(seconds), SequenceNumber="1",
            CallbackSource="call-progress-events"))

    def play(self, root):
        for verb in root:
            if verb.tag == "Say":
                self.say("caller hears", verb)
            elif verb.tag == "Gather":
                for say in verb.iter("Say"):
                    self.say("caller hears", say)
                digits = click.prompt("  caller keys (Enter = nothing, h = hang up)", default="",
                                      show_default=False).strip()
                if digits.lower() == "h":
                    return None
                self.wait(max(3, len(digits)))
                return self.twilio.post(verb.get("action"), self.params(
                    CallStatus="in-progress", Digits=digits, FinishedOnKey="#" if digits else ""))
            elif verb.tag == "Dial" and verb.find("Conference") is not None:
                return self.conference(verb)
            elif verb.tag == "Dial":
                return self.ring(verb)
            elif verb.tag == "Record":
                return self.record(verb)
            elif verb.tag == "Hangup":
                click.echo("  [the call ends]")
                return None
        click.echo("  [the call ends]")
        return None

    @staticmethod
    def say(who: str, element) -> None:
        click.echo(f"  {who} ({element.get('language')}): {(element.text or '').strip()}")

    def _person(self, url: str | None, number: str) -> str:
        leg_id = parse_qs(urlsplit(url or "").query).get("leg", ["0"])[0]
        with session_scope(appdb.session_factory(self.app)) as session:
            leg = session.get(CallLeg, int(leg_id)) if leg_id.isdigit() else None
            person = session.get(m.Person, leg.person_id) if leg and leg.person_id else None
            if person is not None:
                assert leg is not None  # the person was looked up from the leg
                return f"{person.name} ({pretty(leg.number)})"
            # a leg of nobody's: a fallback number, rung because nobody was on duty
            return f"fallback number {pretty(leg.number if leg else number)}"

    def ring(self, dial):
        numbers = [n for n in dial if n.tag == "Number"]
        timeout = int(dial.get("timeout", "30"))
        together = "together " if len(numbers) > 1 else ""
        click.echo(f"  ... ringing {len(numbers)} responder(s) {together}for up to {timeout} s")
        if self.strict and len(numbers) > 1:
            click.echo("  (Twilio's rule: the first phone to pick up hangs up the others)")

        def choose(leg: Leg) -> str:
            return click.prompt(f"  {self._person(leg.url, leg.to)}: [a]ccept, [d]ecline, "
                                "[n]o answer, [v]oicemail picks up",
                                type=click.Choice(list(CHOICES)), default="a")

        def tell(event: str, leg: Leg, say=None) -> None:
            if event == "whisper":
                self.say("responder hears", say)
            elif event == "cut_short":
                click.echo(f"  [{self._person(leg.url, leg.to)}: hung up by Twilio, "
                           "another phone picked up first]")
            else:
                click.echo({"connected": "  [connected: the caller and the responder talk]",
                            "connected_unscreened": "  [connected: the caller and the number talk]",
                            "number_hangs_up": "  [the number hangs up]"}[event])

        play = DialPlay(self.twilio, self.params, self.leg_params, wait=self.wait, tell=tell,
                        strict=self.strict, new_sid=_new_sid)
        return play.play(dial, choose, talk=lambda: click.prompt(
            "  how long do they talk (seconds)", default=60, type=int))

    def conference(self, dial):
        """Conference mode: the caller waits in the room while each responder is called."""
        click.echo("  ... the caller waits in the conference; each responder is called (Twilio's "
                   "REST API, played here)")

        def choose(leg: Leg) -> str:
            return click.prompt(f"  {self._person(leg.url, leg.to)} is called: [a]ccept, [d]ecline, "
                                "[n]o answer, [v]oicemail picks up",
                                type=click.Choice(list(CHOICES)), default="a")

        def tell(event: str, leg: Leg | None, say=None) -> None:
            who = self._person(leg.url, leg.to) if leg is not None else ""
            if event in {"hold", "whisper", "told"}:
                self.say("caller hears" if event == "hold" else f"{who} hears", say)
            else:
                click.echo({"joined": f"  [{who} joins the conference: they and the caller talk]",
                            "ended_by_voiceline": f"  [{who}: call ended by voiceline (REST)]",
                            "moved_to_voicemail": "  [voiceline moves the caller out of the "
                                                  "conference (REST redirect)]"}.get(event, event))

        def bring(leg: Leg) -> str | None:
            keyed = click.prompt(f"  {self._person(leg.url, leg.to)} presses * and a step number to "
                                 "bring in a colleague, 0 = next step (Enter = no)", default="",
                                 show_default=False).strip()
            return keyed if keyed.isdigit() else None

        play = ConferencePlay(self.twilio, self.rest, self.params, self.hotline, wait=self.wait,
                              tell=tell, bring=bring)
        return play.play(dial, choose, talk=lambda: click.prompt(
            "  how long do they talk (seconds)", default=60, type=int))

    def leg_params(self, leg: Leg, status: str, **extra: str) -> dict[str, str]:
        return leg_params(self.sid, leg.sid, self.hotline, leg.to, CallStatus=status, **extra)

    def record(self, record):
        seconds = click.prompt("  caller leaves a message of how many seconds (0 = hangs up)",
                               default=15, type=int)
        max_length = int(record.get("maxLength", "300"))
        seconds = max(0, min(seconds, max_length))
        self.wait(seconds + 2)
        rec_sid = "RE" + uuid.uuid4().hex
        url = f"https://api.twilio.com/2010-04-01/Accounts/ACsimulated/Recordings/{rec_sid}"
        extra = {"RecordingUrl": url, "RecordingSid": rec_sid, "RecordingDuration": str(seconds)}
        if seconds:
            self.twilio.post(record.get("recordingStatusCallback"), self.params(
                CallStatus="in-progress", RecordingStatus="completed", **extra))
        else:
            self.twilio.post(record.get("recordingStatusCallback"), self.params(
                CallStatus="completed", RecordingStatus="absent", RecordingSid=rec_sid))
            return None
        return self.twilio.post(record.get("action"), self.params(CallStatus="in-progress",
                                                                   Digits="#", **extra))


def _offer_pin(session, caller: m.Caller) -> None:
    click.echo(f"{caller.id} has no PIN yet, and this hotline asks for one. Set it any time with\n"
               f"  voiceline callers set-pin {caller.id}")
    if not click.confirm("Set a PIN for this caller now?", default=True):
        return
    pin = click.prompt("PIN (4-8 digits)", hide_input=True, confirmation_prompt=True)
    if not valid_pin(pin):
        raise click.ClickException("a PIN is 4 to 8 digits")
    caller.pin_hash = hash_pin(pin, PinKeys.from_config(current_app.config))
    audit.record(session, "cli", "caller.set_pin", f"caller {caller.id}", which="pin",
                 via="simulate")
    click.echo(f"PIN set for {caller.id}.")


@click.command("simulate")
@click.option("--from", "from_number", required=True, help="The caller's number.")
@click.option("--to", "to_number", help="The hotline's number (default: the first hotline).")
@click.option("--strict-pickup/--no-strict-pickup", default=True, show_default=True,
              help="Play Twilio's rule for a step rung together: the first phone to pick up "
                   "(a voicemail box too) hangs up the others. --no-strict-pickup lets the "
                   "others ring on while one is screened (the older, lenient play).")
@with_schema
def simulate_command(from_number, to_number, strict_pickup):
    """Play one call to the hotline in the terminal: hear it, key digits, decide for the responders.

    A policy with `ring: conference` plays conference mode: voiceline's REST calls (calls.create,
    ending the other calls, the redirect to voicemail) are answered here; nothing leaves."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a LocalProxy, typed as Flask
    region = app.config.get("DEFAULT_REGION", "US")
    caller_number = try_e164(from_number, region) or from_number
    with session_scope(appdb.session_factory()) as session:
        if to_number:
            hotline = hotline_by_number(session, try_e164(to_number, region))
        else:
            hotline = session.scalar(select(m.Hotline).order_by(m.Hotline.id).limit(1))
        if hotline is None:
            raise click.ClickException("no such hotline (import a rota file first: "
                                       "voiceline import fixtures/demo.yaml)")
        caller = caller_by_number(session, try_e164(caller_number, region))
        who = f"{caller.name}, {caller.org}" if caller else "an unknown caller"
        click.echo(f"Calling {hotline.name or hotline.id} ({pretty(hotline.number)}) from "
                   f"{pretty(caller_number)} ({who}); callers policy: {hotline.caller_policy}.")
        if caller is not None and hotline.caller_policy == "pin" and not caller.pin_hash:
            _offer_pin(session, caller)
        hotline_number = hotline.number
    if not app.config.get("TWILIO_AUTH_TOKEN"):
        app.config["TWILIO_AUTH_TOKEN"] = secrets.token_hex(16)  # this process signs and checks
    app.config["FALLBACK_NUMBERS"] = app.config.get("FALLBACK_NUMBERS") or []
    simulation = Simulation(app, hotline_number, caller_number, strict=strict_pickup)
    simulation.run()
    with session_scope(appdb.session_factory()) as session:
        call = load_call(session, simulation.sid)
        assert call is not None  # the simulation just played this call, so it is stored
        record = call_record(session, call)
    click.echo("")
    print_call(record)
