"""Escalation: ring each policy step (screened legs), follow dial results, fall to voicemail.

When the policy had nobody at all to ring, the fallback numbers are rung (screened) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import select

from voiceline import directory
from voiceline.calls import busy, conference, prompts, rering
from voiceline.calls.context import Context
from voiceline.calls.states import CallState
from voiceline.calls.store import add_event, finish, written
from voiceline.calls.twiml import Reply, Ring, fallback_twiml
from voiceline.models.calls import Call, CallLeg
from voiceline.models.directory import Caller, Person
from voiceline.oncall.store import load_policy
from voiceline.phones import try_e164
from voiceline.rota import resolve_policy
from voiceline.webhooks.params import DialEnded, LegKeys

MAX_TOGETHER = 10  # Twilio rings at most ten <Number>s of one <Dial> at once
CONNECTED = {"completed", "answered"}
# The last-resort ring of VOICELINE_FALLBACK_NUMBERS when the policy had nobody at all to ring:
# its legs are step 0 (policy steps are 1-based) and it rings as long as the error fallback does.
FALLBACK_STEP = 0
FALLBACK_RING_SECONDS = 30


@dataclass(frozen=True)
class Plan:
    """The resolved policy at one instant: per step, its ring time and responders to ring."""

    steps: list[tuple[int, list[Person]]]
    repeat: int
    ring: str = "dial"  # the policy's ring mode (conference is served only with credentials)


def resolve(ctx: Context, call: Call) -> Plan:
    """Resolve the hotline's policy now; responders are active people with a valid phone."""
    hotline = directory.hotline(ctx.session, call.hotline_id)
    assert hotline is not None  # a call being escalated belongs to a configured hotline
    # The policy and its rotas as rota-engine values, and the people they name, from the
    # process's copies while no directory or rota row has been written (voiceline/directory.py).
    loaded = directory.cached(ctx.session, "policy", hotline.policy_id,
                              lambda: load_policy(ctx.session, hotline.policy_id))
    if loaded is None:
        raise LookupError(f"hotline {hotline.id} names missing policy {hotline.policy_id!r}")
    policy, rotas = loaded
    steps = []
    resolved = list(resolve_policy(policy, rotas, ctx.at))
    named = directory.people(ctx.session, {pid for step in resolved for pid in step.responders})
    for step in resolved:
        found = [named.get(pid) for pid in step.responders]
        people = [p for p in found if p is not None and p.active and try_e164(p.phone)]
        steps.append((step.ring_seconds, people))
    return Plan(steps, max(0, policy.repeat), policy.ring)


def _groups(call: Call, people: list[Person]) -> list[list[Person]]:
    if call.priority == 2:  # routine: one responder after another, in rota order
        return [[p] for p in people]
    return [people[i:i + MAX_TOGETHER] for i in range(0, len(people), MAX_TOGETHER)]


def dial_current(ctx: Context, call: Call, reply: Reply, announce: bool = False) -> str:
    """Ring the current (round, step, group), skipping empty steps; past the last: voicemail.

    If no leg was ever rung (every step empty in every round) and fallback numbers are set,
    they are rung once as step 0 before voicemail. With `announce`, a move to a new step or
    round tells the caller we are still trying.
    """
    if call.step == FALLBACK_STEP:  # already ringing the fallback numbers: no policy to resolve
        return _dial_fallback(ctx, call, reply)
    plan = resolve(ctx, call)
    entry = (call.round, call.step)
    while call.round <= plan.repeat:
        if call.step is None or call.step > len(plan.steps):
            call.round, call.step, call.dial_group = call.round + 1, 1, 0
            continue
        ring_seconds, people = plan.steps[call.step - 1]
        if rering.is_rering(call.dial_group):
            answer = _dial_again(ctx, call, reply, ring_seconds, people)
            if answer is not None:
                return answer
            call.dial_group = rering.base_group(call.dial_group) + 1  # nobody was cut short
            continue
        groups = _groups(call, people)
        if call.dial_group >= len(groups):
            if not people:
                add_event(ctx.session, call, "step_empty", ctx.at, step=call.step, round=call.round,
                          dedupe_key=f"empty:{call.sid}:{call.round}:{call.step}")
            call.step, call.dial_group = call.step + 1, 0
            continue
        if conference.wanted(ctx, call, plan.ring):
            answer = _ring_conference(ctx, call, reply, groups[call.dial_group], ring_seconds, people)
        else:
            answer = _dial_group(ctx, call, reply, groups[call.dial_group], ring_seconds, people,
                                 announce=announce and (call.round, call.step) != entry)
        if answer is not None:
            return answer
        call.dial_group += 1  # everyone of this group is on another call; others are free
    if _fallback_numbers(ctx) and not _anyone_rung(ctx, call):
        # A total coverage gap: before a machine takes the call, try the humans of last resort.
        call.step, call.dial_group = FALLBACK_STEP, 0
        return _dial_fallback(ctx, call, reply)
    return enter_voicemail(ctx, call, reply)


def _anyone_rung(ctx: Context, call: Call) -> bool:
    return ctx.session.scalar(select(CallLeg.id).where(CallLeg.call_id == written(ctx.session, call)).limit(1)) is not None


def _fallback_numbers(ctx: Context) -> list[str]:
    """The configured fallback numbers that parse as E.164, without repeats, at most ten."""
    numbers: list[str] = []
    for text in ctx.settings.fallback_numbers:
        number = try_e164(text, ctx.settings.region)
        if number and number not in numbers:
            numbers.append(number)
    return numbers[:MAX_TOGETHER]


def _group_legs(ctx: Context, call: Call, group: int | None = None) -> list[CallLeg]:
    group = call.dial_group if group is None else group
    return list(ctx.session.scalars(select(CallLeg).where(
        CallLeg.call_id == written(ctx.session, call), CallLeg.round == call.round, CallLeg.step == call.step,
        CallLeg.dial_group == group).order_by(CallLeg.id)))


def _add_legs(ctx: Context, call: Call, targets: list[tuple[str | None, str]]) -> list[CallLeg]:
    legs = [CallLeg(call_id=written(ctx.session, call), person_id=person_id, number=number, step=call.step,
                    round=call.round, dial_group=call.dial_group, status="queued", started_at=ctx.at)
            for person_id, number in targets]
    ctx.session.add_all(legs)
    ctx.session.flush()
    return legs


def _dial_group(ctx: Context, call: Call, reply: Reply, people: list[Person], ring_seconds: int,
                step: list[Person], announce: bool = False) -> str | None:
    """Ring one group of a step (None: all of it is on other calls while others are free)."""
    legs = _group_legs(ctx, call)
    # resolve() kept only people whose phone parses, so try_e164 gives a number here
    if not legs:  # first time this group is dialled (a repeated request reuses the legs)
        people = _not_busy(ctx, call, people, step)
        if not people:
            return None
        legs = _add_legs(ctx, call, [(p.id, cast(str, try_e164(p.phone))) for p in people])
        add_event(ctx.session, call, "step_rang", ctx.at, step=call.step,
                  dedupe_key=f"rang:{call.sid}:{call.round}:{call.step}:{call.dial_group}",
                  round=call.round, group=call.dial_group, people=[p.id for p in people],
                  together=len(people) > 1)
    if announce:
        reply.say("still_trying")
    return _dial(ctx, call, reply, legs, ring_seconds)


def _ring_conference(ctx: Context, call: Call, reply: Reply, people: list[Person], ring_seconds: int,
                     step: list[Person]) -> str | None:
    """Conference mode's ring of one group, busy-aware as dial mode (None: all on other calls)."""
    return conference.ring_group(ctx, call, reply, people, ring_seconds,
                                 choose=lambda group: _not_busy(ctx, call, group, step))


def _not_busy(ctx: Context, call: Call, people: list[Person], step: list[Person]) -> list[Person]:
    """`people` without those on another live call while someone of the step is free (calls/busy.py);
    a timeline entry for each left out, or for those rung anyway."""
    choice = busy.leave_out_busy(ctx.session, call, [p.id for p in people], [p.id for p in step],
                                 ctx.at)
    by_id = {p.id: p for p in people}
    where = f"{call.sid}:{call.round}:{call.step}:{call.dial_group}"
    for person_id, other in choice.skipped.items():
        add_event(ctx.session, call, "skipped_busy", ctx.at, step=call.step, person_id=person_id,
                  dedupe_key=f"busy:{where}:{person_id}", round=call.round, group=call.dial_group,
                  other_call=other, text=busy.skipped_sentence(by_id[person_id].name))
    if choice.anyway:
        add_event(ctx.session, call, "rung_busy", ctx.at, step=call.step,
                  dedupe_key=f"rung_busy:{where}", round=call.round, group=call.dial_group,
                  people=list(choice.anyway), other_calls=sorted(set(choice.anyway.values())),
                  text=busy.anyway_sentence([by_id[p].name for p in choice.anyway]))
    return [by_id[p] for p in choice.ring]


def _dial_again(ctx: Context, call: Call, reply: Reply, ring_seconds: int,
                step: list[Person]) -> str | None:
    """Ring again, together, whoever the group's first pick-up cut short (None: nobody was, or
    all of them are on other calls now while someone of the step is free)."""
    legs = _group_legs(ctx, call)
    cut = rering.cut_short(_group_legs(ctx, call, rering.base_group(call.dial_group)), ring_seconds, ctx.at)
    if not legs:  # first time (a repeated request reuses the legs and the ring time left)
        if cut is None:
            return None
        people = {p.id: p for p in step}
        cut_people = [people[leg.person_id] for leg in cut.legs if leg.person_id in people]
        kept = {p.id for p in _not_busy(ctx, call, cut_people, step)}
        again = [leg for leg in cut.legs if leg.person_id in kept or leg.person_id not in people]
        if not again:
            return None
        legs = _add_legs(ctx, call, [(leg.person_id, leg.number) for leg in again])
        how = rering.how_picked_up(cut.by)
        text = rering.sentence([_name(ctx, leg) for leg in again], _name(ctx, cut.by), how)
        add_event(ctx.session, call, "rung_again", ctx.at, step=call.step,
                  dedupe_key=f"again:{call.sid}:{call.round}:{call.step}:{call.dial_group}",
                  round=call.round, group=rering.base_group(call.dial_group),
                  people=[leg.person_id for leg in again], cut_by=cut.by.person_id,
                  how=how, seconds=cut.seconds, text=text)
    return _dial(ctx, call, reply, legs, cut.seconds if cut else rering.MIN_RING)


def _name(ctx: Context, leg: CallLeg) -> str:
    person = directory.person(ctx.session, leg.person_id) if leg.person_id else None
    return person.name if person is not None else leg.number


def _dial_fallback(ctx: Context, call: Call, reply: Reply) -> str:
    """Ring every fallback number together, once (any priority); not accepted: voicemail."""
    if call.dial_group > 0:  # rung once and not accepted (dial_result moved on)
        return enter_voicemail(ctx, call, reply)
    legs = _group_legs(ctx, call)
    if not legs:  # first time (a repeated request reuses the legs)
        numbers = _fallback_numbers(ctx)
        if not numbers:
            return enter_voicemail(ctx, call, reply)
        legs = _add_legs(ctx, call, [(None, number) for number in numbers])
        add_event(ctx.session, call, "fallback_rang", ctx.at, step=FALLBACK_STEP,
                  dedupe_key=f"fallback_rang:{call.sid}", round=call.round, numbers=numbers,
                  reason="the policy had nobody to ring in any step")
    return _dial(ctx, call, reply, legs, FALLBACK_RING_SECONDS)


def _dial(ctx: Context, call: Call, reply: Reply, legs: list[CallLeg], ring_seconds: int) -> str:
    rings = [Ring(leg.number, ctx.links("screen", leg=leg.id), ctx.links("leg_status", leg=leg.id))
             for leg in legs]
    hotline = directory.hotline(ctx.session, call.hotline_id)
    assert hotline is not None  # a call being escalated belongs to a configured hotline
    reply.dial(rings, action=ctx.links("dial_result", step=call.step, group=call.dial_group,
                                       round=call.round),
               caller_id=hotline.number, timeout=ring_seconds)
    return str(reply)


def dial_token(call: Call) -> tuple[str, str, str]:
    """The (step, group, round) the current <Dial>'s action URL carries, as strings."""
    return str(call.step), str(call.dial_group), str(call.round)


def dial_result(ctx: Context, call: Call, ended: DialEnded) -> str:
    """A <Dial> ended: connected to an accepting responder, or on to the next group/step/round."""
    status = ended.dial_status
    legs = [leg for leg in call.legs if (leg.round, leg.step, leg.dial_group) ==
            (call.round, call.step, call.dial_group)]
    accepted = [leg for leg in legs if leg.screen == "accepted"]
    winner = next((leg for leg in accepted if leg.sid and leg.sid == ended.dial_call_sid),
                  accepted[0] if accepted else None)
    add_event(ctx.session, call, "dial_result", ctx.at, step=call.step, round=call.round,
              group=call.dial_group, status=status, bridged=ended.bridged,
              dedupe_key=f"dial:{call.sid}:{call.round}:{call.step}:{call.dial_group}")
    # Twilio says it bridged although no acceptance was stored: the screening fallback connected
    # a responder who pressed 1 while the database failed. They talked; never ring on after that.
    bridged = ended.was_bridged
    if winner is None and bridged:
        winner = next((leg for leg in legs if leg.sid and leg.sid == ended.dial_call_sid), None)
    if status in CONNECTED and (winner is not None or bridged):
        call.answered_by = winner.person_id if winner else call.answered_by
        call.answered_at = call.answered_at or ctx.at
        add_event(ctx.session, call, "bridged", ctx.at, step=call.step,
                  person_id=winner.person_id if winner else None,
                  leg_sid=winner.sid if winner else ended.dial_call_sid,
                  dedupe_key=f"bridged:{call.sid}", talk_seconds=ended.talk_seconds)
        finish(call, "answered", ctx.at)
        return str(Reply(call.language).hangup())
    if ended.call_status in {"completed", "canceled"} or status == "canceled":
        finish(call, "abandoned", ctx.at)  # the caller hung up while it was ringing
        add_event(ctx.session, call, "caller_hung_up", ctx.at, step=call.step)
        return str(Reply(call.language).hangup())
    call.state = CallState.RINGING
    if call.step != FALLBACK_STEP and not rering.is_rering(call.dial_group) and len(legs) > 1:
        # Twilio hung up the others when the first leg picked up: ring them again (if any)
        call.dial_group = rering.rering_group(call.dial_group)
    else:
        call.dial_group = rering.base_group(call.dial_group) + 1
    return dial_current(ctx, call, Reply(call.language), announce=True)


def enter_voicemail(ctx: Context, call: Call, reply: Reply | None = None) -> str:
    """Nobody accepted: invite a message (at most the configured length) and take it."""
    if call.state != CallState.VOICEMAIL:
        call.state = CallState.VOICEMAIL
        add_event(ctx.session, call, "voicemail_offered", ctx.at, dedupe_key=f"vm:{call.sid}")
    reply = reply or Reply(call.language)
    reply.say("voicemail")
    reply.record(action=ctx.links("voicemail"), status_url=ctx.links("recording"),
                 max_length=ctx.settings.record_max_seconds)
    return str(reply.say("goodbye").hangup())


def fallback_reply(ctx: Context, hotline_number: str | None) -> str:
    """The same TwiML /voice/fallback answers: dial the fallback numbers or take a message."""
    return fallback_twiml(list(ctx.settings.fallback_numbers), hotline_number,
                          done_url=ctx.links("fallback_done"), record_url=ctx.links("fallback_done"),
                          recording_status_url=ctx.links("recording"),
                          max_length=ctx.settings.record_max_seconds,
                          screen_url=ctx.links("fallback_screen"))


def note_leg_sid(leg: CallLeg, request: LegKeys) -> None:
    """Learn the leg's child CallSid from the first request that carries it."""
    if leg.sid is None and request.leg_sid:
        leg.sid = request.leg_sid


def screen(ctx: Context, leg: CallLeg, request: LegKeys, answer_endpoint: str = "screen_answer") -> str:
    """A responder picked up: whisper who calls and how urgent; only 1 accepts (at `answer_endpoint`)."""
    call = leg.call
    language = leg_language(ctx, leg)
    leg.status = "in-progress"
    leg.answered_at = leg.answered_at or ctx.at
    add_event(ctx.session, call, "leg_answered", ctx.at, step=leg.step, person_id=leg.person_id,
              leg_sid=leg.sid, dedupe_key=f"screen:{leg.id}")
    priority = {1: "urgent", 2: "routine"}.get(call.priority or 0, "no_priority")
    caller = directory.caller(ctx.session, call.caller_id) if call.caller_id else None
    priority_word = prompts.text(language, priority)
    if caller is not None:
        who = f"{caller.name}, {caller.org}" if caller.org else caller.name
        sentence = "whisper_verified" if number_attested(call, caller) else "whisper"
        key = (sentence, language, {"caller": who, "priority": priority_word})
    else:
        key = ("whisper_unknown", language, {"number": prompts.spoken_number(call.from_number),
                                             "priority": priority_word})
    keys = [key, key]
    if leg.person_id and busy.live_calls(ctx.session, [leg.person_id], at=ctx.at, other_than=call.id):
        keys.insert(0, ("on_another_call", language, {}))  # rung although busy: nobody else was free
    return str(Reply(language).gather(ctx.links(answer_endpoint, leg=leg.id), keys,
                                      num_digits=1, timeout=ctx.settings.screen_seconds))


def number_attested(call: Call, caller: Caller | None) -> bool:
    """The carrier vouched (STIR/SHAKEN full attestation) that the call comes from a number the
    matched caller is registered with. It says nothing of who holds the phone: the caller policy
    (PIN) still decides; this only tells the responder."""
    from_number = (call.meta or {}).get("from_e164")
    return (call.stir_verstat == "TN-Validation-Passed-A" and caller is not None
            and bool(from_number) and from_number in caller.numbers)


def leg_language(ctx: Context, leg: CallLeg) -> str:
    """The caller's language when the responder speaks it, else the responder's first one;
    a fallback number (nobody's) hears the caller's."""
    caller_language = prompts.supported(leg.call.language)
    if leg.person_id is None:
        return caller_language or prompts.DEFAULT_LANGUAGE
    return _responder_language(directory.person(ctx.session, leg.person_id), caller_language)


def _responder_language(person: Person | None, caller_language: str | None = None) -> str:
    spoken = [found for found in (prompts.supported(language) for language in
                                  (person.languages if person else None) or []) if found]
    if caller_language in spoken:
        return caller_language
    return spoken[0] if spoken else prompts.DEFAULT_LANGUAGE


def screen_repeated(ctx: Context, leg: CallLeg) -> str:
    """A screening answer already decided (Twilio repeated the request): answer as before."""
    reply = Reply(leg_language(ctx, leg))
    return str(reply.say("accepted") if leg.screen == "accepted" else reply.hangup())


def screen_answer(ctx: Context, leg: CallLeg, request: LegKeys) -> str:
    """1 accepts (the leg is bridged when this TwiML ends); anything else hangs up this leg only."""
    call = leg.call
    language = leg_language(ctx, leg)
    digits = request.digits
    taken = call.state != CallState.RINGING or any(o.screen == "accepted" for o in call.legs if o is not leg)
    if digits == "1" and not taken:
        leg.screen = "accepted"
        call.state = CallState.CONNECTED
        call.answered_by = leg.person_id
        call.answered_at = ctx.at
        add_event(ctx.session, call, "screen_accepted", ctx.at, step=leg.step,
                  person_id=leg.person_id, leg_sid=leg.sid, dedupe_key=f"accept:{leg.id}")
        return str(Reply(language).say("accepted"))
    leg.screen = "declined" if digits else "silent"
    add_event(ctx.session, call, "screen_declined", ctx.at, step=leg.step, person_id=leg.person_id,
              leg_sid=leg.sid, dedupe_key=f"decline:{leg.id}", silent=not digits,
              too_late=digits == "1")
    return str(Reply(language).hangup())
