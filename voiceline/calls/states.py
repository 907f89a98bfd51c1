"""The states a call moves through (calls.state holds the values) and what a step answers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CallState(StrEnum):
    """Where a call is in the flow; each value is what calls.state holds."""

    NEW = "new"              # the record exists, no answer decided yet
    LANGUAGE = "language"    # the language menu is playing
    IDENTIFY = "identify"    # an unknown number keys the number it is registered with
    PIN = "pin"              # a known caller keys the PIN
    PRIORITY = "priority"    # 1 urgent, 2 routine
    RINGING = "ringing"      # a <Dial> of the current (round, step, group) is ringing
    CONNECTED = "connected"  # a responder pressed 1; the bridge is up
    VOICEMAIL = "voicemail"  # nobody accepted: the <Record> runs
    FALLBACK = "fallback"    # handed to VOICELINE_FALLBACK_NUMBERS after a failure
    DONE = "done"            # closed with an outcome; never reopened



@dataclass(frozen=True)
class Prompt:
    """A step's answer "say where the call is now" (machine.render), optionally welcomed or prefixed."""

    greet: bool = False
    prefix: str | None = None  # a catalogue sentence said first ("pin_wrong")


# What a step handler returns: finished TwiML, or a Prompt for the state it moved the call to.
Answer = str | Prompt
