"""The prompt catalogue: every sentence voiceline speaks, per language, with a voice that speaks it."""

from __future__ import annotations

import re

DEFAULT_LANGUAGE = "en-US"

# Polly voices are tied to a language: Joanna speaks en-US, Tatyana ru-RU (a voice that
# does not speak the <Say> language is an error on Twilio's side).
CATALOGUE: dict[str, dict[str, str]] = {
    "en-US": {
        "voice": "Polly.Joanna",
        "name": "English",
        "choose": "For English, press {digit}.",
        "welcome": "You have reached the duty hotline.",
        "enter_pin": "Please enter your PIN, then press the pound key.",
        "pin_wrong": "That PIN is not correct.",
        "pin_locked": "Too many incorrect attempts. This number is blocked for {minutes} minutes. "
                      "Goodbye.",
        "locked": "This number is temporarily blocked. Please try again later. Goodbye.",
        "identify": "Please enter the phone number you are registered with, then press the pound "
                    "key. A number from another country needs its country code.",
        "not_allowed": "This line does not accept calls from your number. Goodbye.",
        "pin_not_set": "Your number is registered, but no PIN has been set for you yet, so this line "
                       "cannot take your call. The hotline managers will be told. Please ask them "
                       "to set your PIN. Goodbye.",
        "unknown_number": "That number is not registered.",
        "priority": "For an urgent call, press 1. For a routine call, press 2.",
        "connecting": "Connecting you to the duty officer. Please stay on the line.",
        "still_trying": "Still trying to reach the duty officer. Please stay on the line.",
        "voicemail": "Nobody could take your call right now. Please leave a message after the tone, "
                     "then press the pound key.",
        "voicemail_thanks": "Thank you. Your message has been recorded and the duty officers have "
                            "been notified. Goodbye.",
        "goodbye": "Goodbye.",
        "sorry": "We are sorry, the hotline has a technical problem. Connecting you to the duty desk.",
        # Said when the database may be down: nothing here may promise that anyone is told.
        "sorry_record": "We are sorry, the hotline has a technical problem and nobody can take your "
                        "call now. You can leave a message after the tone, but we cannot promise that "
                        "anyone hears of it soon. If it is urgent, please call again in a few minutes.",
        "fallback_thanks": "Your message has been recorded. If it is urgent, please call again in a "
                           "few minutes. Goodbye.",
        "call_again": "If it is urgent, please call again in a few minutes. Goodbye.",
        "whisper": "Hotline call from {caller}. Priority {priority}. Press 1 to accept, any other key "
                   "to decline.",
        "whisper_unknown": "Hotline call from an unverified caller at {number}. Priority {priority}. "
                           "Press 1 to accept, any other key to decline.",
        "whisper_plain": "Hotline call. Press 1 to accept, any other key to decline.",
        "whisper_fallback": "Hotline call, passed to you because the hotline has a technical "
                            "problem. Press 1 to accept, any other key to decline.",
        "whisper_fallback_static": "Hotline call, passed to you because the hotline has a "
                                   "technical problem. Press any key to accept.",
        "message_recorded": "Thank you. Your message has been recorded. Goodbye.",
        "whisper_verified": "Hotline call from {caller}. Priority {priority}. Verified number. "
                            "Press 1 to accept, any other key to decline.",
        "on_another_call": "You are on another hotline call.",
        "accepted": "Connecting.",
        "conference_hold": "Please hold while the duty officer is called.",
        "conference_taken": "Another officer has taken this call. Goodbye.",
        "conference_bring_menu": "To bring in a colleague, press the number of their step, or 0 "
                                 "for the next step. To go back to the call, wait.",
        "conference_bringing": "Calling them now. They will join when they accept.",
        "conference_no_step": "Nobody can be called for that step.",
        "conference_ended": "This call has ended. Goodbye.",
        "conference_listen": "Hotline call in progress. Press 1 to listen in, muted.",
        "urgent": "urgent",
        "routine": "routine",
        "no_priority": "not given",
        "line_test": "voiceline line test OK",
        "reach_ask": "This is the voiceline hotline. You go on duty for {rota} at {start}. "
                     "Press 1 to confirm you can take hotline calls.",
        "reach_ask_again": "Press 1 to confirm you can take hotline calls.",
        "reach_unconfirmed": "No confirmation received. The rota managers will be told. Goodbye.",
        "reach_no_key": "No confirmation received. Goodbye.",
        "reach_confirmed": "Thank you. You are confirmed for hotline duty. Goodbye.",
        "reach_unknown": "This check is unknown. Goodbye.",
        "reach_failed": "Sorry, your answer could not be recorded. Goodbye.",
    },
    "ru-RU": {
        "voice": "Polly.Tatyana",
        "name": "Русский",
        "choose": "Для русского языка нажмите {digit}.",
        "welcome": "Вы позвонили на дежурную горячую линию.",
        "enter_pin": "Введите ваш ПИН-код и нажмите решётку.",
        "pin_wrong": "Неверный ПИН-код.",
        # "минут" agrees with the number, so the count stands alone: "Минут до разблокировки: 30."
        "pin_locked": "Слишком много неверных попыток. Этот номер заблокирован. "
                      "Минут до разблокировки: {minutes}. До свидания.",
        "locked": "Этот номер временно заблокирован. Позвоните позже. До свидания.",
        "identify": "Введите номер телефона, под которым вы зарегистрированы, и нажмите решётку. "
                    "Номер другой страны набирайте с кодом страны.",
        "not_allowed": "Эта линия не принимает звонки с вашего номера. До свидания.",
        "pin_not_set": "Ваш номер зарегистрирован, но ПИН-код для вас ещё не задан, поэтому линия "
                       "не может принять звонок. Руководители горячей линии будут оповещены. "
                       "Попросите их задать вам ПИН-код. До свидания.",
        "unknown_number": "Этот номер не зарегистрирован.",
        "priority": "Если звонок срочный, нажмите 1. Если обычный, нажмите 2.",
        "connecting": "Соединяем с дежурным. Пожалуйста, оставайтесь на линии.",
        "still_trying": "Продолжаем вызывать дежурного. Пожалуйста, оставайтесь на линии.",
        "voicemail": "Сейчас никто не может ответить. Оставьте сообщение после сигнала "
                     "и нажмите решётку.",
        "voicemail_thanks": "Спасибо. Ваше сообщение записано, дежурные оповещены. До свидания.",
        "goodbye": "До свидания.",
        "sorry": "Извините, на горячей линии техническая неполадка. Соединяем с дежурной службой.",
        "sorry_record": "Извините, на горячей линии техническая неполадка, и сейчас никто не может "
                        "ответить. Вы можете оставить сообщение после сигнала, но мы не можем обещать, "
                        "что о нём скоро узнают. Если дело срочное, позвоните ещё раз через несколько "
                        "минут.",
        "fallback_thanks": "Ваше сообщение записано. Если дело срочное, позвоните ещё раз через "
                           "несколько минут. До свидания.",
        "call_again": "Если дело срочное, позвоните ещё раз через несколько минут. До свидания.",
        "whisper": "Звонок на горячую линию: {caller}. Приоритет: {priority}. Нажмите 1, чтобы "
                   "принять, любую другую клавишу, чтобы отклонить.",
        "whisper_unknown": "Звонок на горячую линию с неподтверждённого номера {number}. Приоритет: "
                           "{priority}. Нажмите 1, чтобы принять, любую другую клавишу, чтобы "
                           "отклонить.",
        "whisper_plain": "Звонок на горячую линию. Нажмите 1, чтобы принять, любую другую клавишу, "
                         "чтобы отклонить.",
        "whisper_fallback": "Звонок на горячую линию передан вам из-за технической неполадки. "
                            "Нажмите 1, чтобы принять, любую другую клавишу, чтобы отклонить.",
        "whisper_fallback_static": "Звонок на горячую линию передан вам из-за технической "
                                   "неполадки. Нажмите любую клавишу, чтобы принять.",
        "message_recorded": "Спасибо. Ваше сообщение записано. До свидания.",
        "whisper_verified": "Звонок на горячую линию: {caller}. Приоритет: {priority}. Номер "
                            "подтверждён. Нажмите 1, чтобы принять, любую другую клавишу, чтобы "
                            "отклонить.",
        "on_another_call": "Вы уже говорите по другому звонку горячей линии.",
        "accepted": "Соединяем.",
        "conference_hold": "Пожалуйста, оставайтесь на линии, мы вызываем дежурного.",
        "conference_taken": "Этот звонок уже принял другой дежурный. До свидания.",
        "conference_bring_menu": "Чтобы подключить коллегу, нажмите номер его ступени, или 0 для "
                                 "следующей ступени. Чтобы вернуться к разговору, подождите.",
        "conference_bringing": "Вызываем. Коллега подключится, когда примет звонок.",
        "conference_no_step": "Для этой ступени некого вызвать.",
        "conference_ended": "Этот звонок завершён. До свидания.",
        "conference_listen": "Идёт звонок на горячую линию. Нажмите 1, чтобы слушать без "
                             "микрофона.",
        "urgent": "срочный",
        "routine": "обычный",
        "no_priority": "не указан",
        "line_test": "voiceline line test OK",
        "reach_ask": "Это горячая линия voiceline. Ваше дежурство в {rota} начинается {start}. "
                     "Нажмите 1, чтобы подтвердить, что вы можете принимать звонки.",
        "reach_ask_again": "Нажмите 1, чтобы подтвердить, что вы можете принимать звонки.",
        "reach_unconfirmed": "Подтверждение не получено. Руководители графика будут оповещены. "
                             "До свидания.",
        "reach_no_key": "Подтверждение не получено. До свидания.",
        "reach_confirmed": "Спасибо. Ваша готовность к дежурству подтверждена. До свидания.",
        "reach_unknown": "Эта проверка неизвестна. До свидания.",
        "reach_failed": "Извините, ваш ответ не удалось записать. До свидания.",
    },
}


def supported(language: str | None) -> str | None:
    """The catalogue language for a tag ("ru", "ru-RU", "en_us"), or None when not shipped."""
    if not language:
        return None
    tag = language.replace("_", "-").lower()
    for code in CATALOGUE:
        if code.lower() == tag:
            return code
    base = tag.split("-")[0]
    return next((code for code in CATALOGUE if code.lower().split("-")[0] == base), None)


def hotline_languages(languages: list[str] | None) -> list[str]:
    """A hotline's languages that the catalogue speaks, in its order (never empty)."""
    found = [code for code in (supported(lang) for lang in languages or []) if code]
    return list(dict.fromkeys(found)) or [DEFAULT_LANGUAGE]


# Characters XML 1.0 cannot carry: one in a caller's name would make every whisper invalid TwiML.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(language: str | None, key: str, **values: object) -> str:
    """One sentence in `language` (falling back to the default language), filled in."""
    table = CATALOGUE.get(supported(language) or DEFAULT_LANGUAGE, CATALOGUE[DEFAULT_LANGUAGE])
    return _NOT_XML.sub(" ", table[key].format(**values))


def voice(language: str | None) -> str:
    """The voice that speaks `language`."""
    return CATALOGUE[supported(language) or DEFAULT_LANGUAGE]["voice"]


def spoken_number(number: str) -> str:
    """A phone number read digit by digit ("+1 2 0 2 ..."), so TTS does not say millions."""
    return " ".join(ch for ch in number if ch.isdigit())
