"""Who a simultaneous <Dial> cut short, to ring them again before the call escalates.

Twilio's <Number> reference: "The first call to pick up is connected to the current call and
the rest are hung up." The pick-up, not the acceptance, ends the others' ringing: a voicemail
box (faster than any human) or a responder who picks up and then declines at the screening
hangs up every other responder of the step. Those are rung again, together, for the rest of
the step's ring time (at most once per step and round: no loop).

Leg status callbacks may come late, twice, out of order or not at all before the <Dial>
action, so "cut short" is decided from what the records can show then:

- picked up: a leg whose screening ran, or whose own status says it was answered;
- cut short: every other leg of that <Dial> with a responder that was neither picked up nor
  ended by itself as far as we know (busy, failed, no-answer): a leg still "queued",
  "initiated" or "ringing" (its callback late or lost) or "canceled" counts as cut short.
  Erring that way rings a busy responder once more; erring the other way loses one on duty;
- how long they rang: from the <Dial> to the first pick-up. They are rung again for the
  rest of the step's ring time when at least MIN_RING seconds remain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voiceline.models.calls import CallLeg

MIN_RING = 5  # Twilio's smallest <Dial timeout>
ENDED_BY_ITSELF = {"busy", "failed", "no-answer"}
# "completed" alone is not proof: every real pick-up runs the screening or reports "answered".
PICKED_UP = {"in-progress", "answered"}


def rering_group(group: int) -> int:
    """The dial group of the ring-again of `group` (negative: -1 rings group 0 again)."""
    return -group - 1


def is_rering(group: int) -> bool:
    """The dial group is a ring-again (its legs re-ring a cut-short group)."""
    return group < 0


def base_group(group: int) -> int:
    """The group a ring-again group re-rings (a plain group is its own base)."""
    return -group - 1 if group < 0 else group


@dataclass(frozen=True)
class CutShort:
    """The responders a pick-up cut short, who picked up, and the ring time left."""

    legs: list[CallLeg]
    by: CallLeg
    seconds: int


def _picked_up(leg: CallLeg) -> bool:
    return leg.answered_at is not None or leg.screen is not None or leg.status in PICKED_UP


def cut_short(legs: list[CallLeg], ring_seconds: int, ended_at: datetime) -> CutShort | None:
    """The cut-short legs of one simultaneous <Dial> that ended unanswered at `ended_at`."""
    if len(legs) < 2:
        return None
    picked = [leg for leg in legs if _picked_up(leg)]
    if not picked:
        return None  # nobody picked up: everyone rang the full time (or ended by themselves)
    first = min(picked, key=lambda leg: (leg.answered_at or leg.ended_at or ended_at, leg.id))
    picked_at = first.answered_at or first.ended_at or ended_at
    rang = max(0, int((picked_at - min(leg.started_at for leg in legs)).total_seconds()))
    seconds = ring_seconds - rang
    cut = [leg for leg in legs if leg not in picked and leg.person_id is not None
           and leg.status not in ENDED_BY_ITSELF]
    if not cut or seconds < MIN_RING:
        return None
    return CutShort(cut, first, seconds)


def how_picked_up(leg: CallLeg) -> str:
    """What the first pick-up was, as far as the screening tells: declined, voicemail or picked_up."""
    if leg.screen == "declined":
        return "declined"
    if leg.screen == "silent":  # picked up and pressed nothing: a voicemail box, most likely
        return "voicemail"
    return "picked_up"


def sentence(again: list[str], by: str, how: str) -> str:
    """The timeline's words: "rung again: Bob (cut short when Alice's voicemail picked up)"."""
    cause = {"declined": f"{by} picked up and declined",
             "voicemail": f"{by}'s voicemail picked up"}.get(how, f"{by}'s phone picked up")
    return f"rung again: {', '.join(again)} (cut short when {cause})"
