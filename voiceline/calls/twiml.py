"""TwiML builders: the only module of voiceline that knows twilio's VoiceResponse."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from voiceline.calls import prompts
from voiceline.phones import try_e164

LEG_EVENTS = "initiated ringing answered completed"


@dataclass(frozen=True)
class Ring:
    """One responder to ring: number plus the screen and status URLs of its leg."""

    number: str
    screen_url: str
    status_url: str


class Reply:
    """A TwiML document in one language: each helper appends one verb.

    The verbs are noted as plain values and the SDK's VoiceResponse is built from them when the
    document is written out; a document built from the same verbs before is not built again
    (a per-process cache of the written text: the prompts of every call are the same few
    documents). Reaching for `response` (the VoiceResponse itself) builds it at once, and
    that reply is then written out afresh, never from the cache.
    """

    def __init__(self, language: str | None = None) -> None:
        self.language = prompts.supported(language) or prompts.DEFAULT_LANGUAGE
        self._verbs: list[tuple] | None = []
        self._response: VoiceResponse | None = None

    @property
    def response(self) -> VoiceResponse:
        """The SDK document (built now; from here on this reply is not cached)."""
        if self._response is None:
            self._response = _build(self.language, tuple(self._verbs or ()))
        self._verbs = None
        return self._response

    def _add(self, verb: tuple) -> Reply:
        if self._verbs is not None:
            self._verbs.append(verb)
        else:
            _apply(self.response, self.language, verb)
        return self

    def say(self, key: str, language: str | None = None, parent=None, **values: object) -> Reply:
        """Speak catalogue sentence `key` (in `language`, default the reply's)."""
        lang = prompts.supported(language) or self.language
        if parent is not None:  # a verb of the SDK document itself
            _say(parent, lang, key, values)
            return self
        return self._add(("say", lang, key, _frozen(values)))

    def gather(self, action: str, keys: Iterable[str | tuple[str, str, dict]] = (), *,
               num_digits: int | None = None, timeout: int = 8,
               on_silence: bool = True) -> Reply:
        """DTMF <Gather> speaking `keys`; it calls `action` even on silence (empty Digits) unless
        `on_silence` is False, when silence falls through to the next verb."""
        spoken = tuple((key[0], prompts.supported(key[1]), _frozen(key[2])) if isinstance(key, tuple)
                       else (key, None, ()) for key in keys)
        return self._add(("gather", action, spoken, num_digits, timeout, on_silence))

    def dial(self, rings: Iterable[Ring], *, action: str, caller_id: str | None,
             timeout: int) -> Reply:
        """One <Dial answerOnBridge> with a screened, status-reporting <Number> per responder."""
        return self._add(("dial", tuple(rings), action, caller_id, timeout))

    def record(self, *, action: str, status_url: str | None, max_length: int) -> Reply:
        """A voicemail <Record> with a recording status callback."""
        return self._add(("record", action, status_url, max_length))

    def conference(self, name: str, *, action: str | None = None, wait_url: str | None = None,
                   start_on_enter: bool, end_on_exit: bool, muted: bool = False,
                   hangup_on_star: bool = False) -> Reply:
        """A <Dial> into the conference `name` (no beeps; a waitUrl of ours, or silence)."""
        return self._add(("conference", name, action, wait_url, start_on_enter, end_on_exit,
                          muted, hangup_on_star))

    def pause(self, seconds: int) -> Reply:
        """Silence for `seconds`."""
        return self._add(("pause", seconds))

    def redirect(self, url: str) -> Reply:
        """Fetch `url` for what comes next."""
        return self._add(("redirect", url))

    def hangup(self) -> Reply:
        """End the call (or, on a responder's leg, that leg only)."""
        return self._add(("hangup",))

    def __str__(self) -> str:
        if self._verbs is None:
            return str(self.response)
        verbs = tuple(self._verbs)
        try:
            return _written(self.language, verbs)
        except TypeError:  # a value that cannot be a cache key (unhashable): written afresh
            return str(_build(self.language, verbs))


def _frozen(values: dict) -> tuple:
    return tuple(sorted(values.items()))


def _say(parent, language: str, key: str, values) -> None:
    parent.say(prompts.text(language, key, **dict(values)), voice=prompts.voice(language),
               language=language)


def _apply(response: VoiceResponse, language: str, verb: tuple) -> None:
    """Append one noted verb to the SDK document."""
    kind = verb[0]
    if kind == "say":
        _, lang, key, values = verb
        _say(response, lang, key, values)
    elif kind == "gather":
        _, action, spoken, num_digits, timeout, on_silence = verb
        gather = response.gather(input="dtmf", action=action, method="POST",
                                 num_digits=num_digits, timeout=timeout,
                                 finish_on_key="" if num_digits == 1 else "#",
                                 action_on_empty_result=on_silence or None)
        for key, lang, values in spoken:
            _say(gather, lang or language, key, values)
    elif kind == "dial":
        _, rings, action, caller_id, timeout = verb
        dial = response.dial(action=action, method="POST", answer_on_bridge=True,
                             caller_id=caller_id, timeout=timeout)
        for ring in rings:
            dial.number(ring.number, url=ring.screen_url, method="POST",
                        status_callback=ring.status_url, status_callback_method="POST",
                        status_callback_event=LEG_EVENTS)
    elif kind == "record":
        _, action, status_url, max_length = verb
        response.record(action=action, method="POST", max_length=max_length, timeout=5,
                        finish_on_key="#", play_beep=True, recording_status_callback=status_url,
                        recording_status_callback_method="POST",
                        recording_status_callback_event="completed absent")
    elif kind == "conference":
        _, name, action, wait_url, start_on_enter, end_on_exit, muted, hangup_on_star = verb
        dial = response.dial(action=action, method="POST" if action else None,
                             hangup_on_star=hangup_on_star or None)
        dial.conference(name, start_conference_on_enter=start_on_enter,
                        end_conference_on_exit=end_on_exit, muted=muted or None, beep=False,
                        wait_url=wait_url if wait_url is not None else "",
                        wait_method="POST" if wait_url else None)
    elif kind == "pause":
        response.pause(length=verb[1])
    elif kind == "redirect":
        response.redirect(verb[1], method="POST")
    else:
        response.hangup()


def _build(language: str, verbs: tuple) -> VoiceResponse:
    response = VoiceResponse()
    for verb in verbs:
        _apply(response, language, verb)
    return response


@functools.lru_cache(maxsize=1024)
def _written(language: str, verbs: tuple) -> str:
    """The text of a document (per process: the prompts are the same few documents)."""
    return str(_build(language, verbs))


FALLBACK_LANGUAGES = ("en-US", "ru-RU")  # the error path cannot read a hotline's languages


def fallback_twiml(numbers: list[str], hotline_number: str | None, *, done_url: str,
                   record_url: str, recording_status_url: str, max_length: int,
                   screen_url: str | None = None,
                   languages: Iterable[str] = FALLBACK_LANGUAGES) -> str:
    """The answer when anything fails: dial the fallback numbers (each screened at `screen_url`,
    so a voicemail box cannot take the call), or apologise and record."""
    languages = list(languages)
    reply = Reply(languages[0])
    numbers = [n for n in dict.fromkeys(try_e164(text) for text in numbers) if n]
    if numbers:
        for language in languages:
            reply.say("sorry", language=language)
        dial = reply.response.dial(action=done_url, method="POST", answer_on_bridge=True,
                                   caller_id=e164_or_none(hotline_number), timeout=30)
        for number in numbers[:10]:
            if screen_url:
                dial.number(number, url=screen_url, method="POST")
            else:
                dial.number(number)
        return str(reply)
    return str(fallback_record(record_url, recording_status_url, max_length, languages))


def fallback_screen(answer_url: str, languages: Iterable[str] = FALLBACK_LANGUAGES) -> Reply:
    """The whisper of a fallback number's leg, needing nothing but this URL: only 1 connects."""
    languages = list(languages)
    keys: list[str | tuple[str, str, dict]] = [("whisper_fallback", language, {})
                                              for language in languages]
    return Reply(languages[0]).gather(answer_url, keys * 2, num_digits=1).hangup()


def fallback_screen_answer(digits: str | None, languages: Iterable[str] = FALLBACK_LANGUAGES) -> Reply:
    """1 connects the fallback number (its TwiML ends, the legs are bridged); anything else hangs up."""
    reply = Reply(list(languages)[0])
    return reply.say("accepted") if digits == "1" else reply.hangup()


def e164_or_none(number: str | None) -> str | None:
    """`number` when it is already E.164, else None: a <Dial callerId> is never a raw request value."""
    return number if number and try_e164(number) == number else None


def fallback_goodbye(recorded: bool, languages: Iterable[str] = FALLBACK_LANGUAGES) -> Reply:
    """After a message taken without the database: only what is true (it may reach nobody soon)."""
    languages = list(languages)
    key = "fallback_thanks" if recorded else "call_again"
    reply = Reply(languages[0])
    for language in languages:
        reply.say(key, language=language)
    return reply.hangup()


def fallback_record(action: str, status_url: str | None, max_length: int,
                    languages: Iterable[str] = FALLBACK_LANGUAGES) -> Reply:
    """Apologise in each language and take a message."""
    languages = list(languages)
    reply = Reply(languages[0])
    for language in languages:
        reply.say("sorry_record", language=language)
    return reply.record(action=action, status_url=status_url, max_length=max_length).hangup()


# --- static documents for a Fallback URL hosted outside voiceline (`voiceline twilio fallback-twiml`)

def static_fallback(numbers: list[str], hotline_number: str | None, languages: Iterable[str], *,
                    screen_url: str | None, done_url: str, max_length: int) -> str:
    """Apologise, ring the fallback numbers (screened at `screen_url`), then take a message.

    A static document cannot branch on DialCallStatus: the <Dial> has no action, so when nobody
    takes the call the next verbs (the message) run; the <Record> posts to `done_url` (without an
    action Twilio would fetch this document again and start over).
    """
    languages = list(languages)
    reply = Reply(languages[0])
    numbers = [n for n in dict.fromkeys(try_e164(text) for text in numbers) if n][:10]
    if numbers:
        for language in languages:
            reply.say("sorry", language=language)
        dial = reply.response.dial(answer_on_bridge=True, caller_id=e164_or_none(hotline_number),
                                   timeout=30)
        for number in numbers:
            if screen_url:
                dial.number(number, url=screen_url, method="POST")
            else:
                dial.number(number)
    for language in languages:
        reply.say("sorry_record", language=language)
    reply.response.record(action=done_url, method="POST", max_length=max_length, timeout=5,
                          finish_on_key="#", play_beep=True)
    return str(reply.hangup())


def static_screen(answer_url: str, languages: Iterable[str]) -> str:
    """The screening of a fallback number without voiceline: a key press posts to `answer_url`
    (which connects); silence, as from a voicemail box, falls through to the hang-up."""
    languages = list(languages)
    reply = Reply(languages[0])
    gather = reply.response.gather(input="dtmf", action=answer_url, method="POST", num_digits=1,
                                   timeout=8, finish_on_key="")
    for _ in range(2):
        for language in languages:
            reply.say("whisper_fallback_static", language=language, parent=gather)
    return str(reply.hangup())


def static_sentences(key: str, languages: Iterable[str], hangup: bool) -> str:
    """A document that only speaks `key` in each language (and hangs up when asked)."""
    languages = list(languages)
    reply = Reply(languages[0])
    for language in languages:
        reply.say(key, language=language)
    return str(reply.hangup() if hangup else reply)
def reachability_call(language: str | None, confirm_url: str, rota_label: str,
                      start_text: str) -> Reply:
    """The reachability call: ask the incoming responder for a 1 twice, then say goodbye."""
    reply = Reply(language)
    for _ in range(2):
        reply.gather(confirm_url, [("reach_ask", reply.language,
                                    {"rota": rota_label, "start": start_text})],
                     num_digits=1, on_silence=False)
    return reply.say("reach_unconfirmed").hangup()


def reachability_answer(language: str | None, outcome: str, ask_again_url: str = "") -> Reply:
    """The answer to a reachability digit: "confirmed", "unknown", "failed", or ask again."""
    reply = Reply(language)
    if outcome == "again":
        reply.gather(ask_again_url, ["reach_ask_again"], num_digits=1, on_silence=False)
        reply.say("reach_no_key")
    else:
        reply.say(f"reach_{outcome}")
    return reply.hangup()
