"""Fetching a voicemail recording from Twilio on the server, so credentials never reach a browser.

The fetcher is a callable `(url, auth) -> Fetched` kept in
`app.extensions["voiceline.recording_fetcher"]`; tests put a fake there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import Flask, current_app

EXTENSION = "voiceline.recording_fetcher"
# Only Twilio's API hosts: a stored URL pointing anywhere else is never fetched with our credentials.
_ALLOWED_HOSTS = ("api.twilio.com",)


class RecordingUnavailable(Exception):
    """The recording cannot be fetched; the message says why (shown to the reviewer)."""


@dataclass
class Fetched:
    """A streamed recording: its chunks, media type and length when known."""

    chunks: Iterator[bytes]
    content_type: str = "audio/mpeg"
    length: int | None = None


Fetcher = Callable[[str, tuple[str, str]], Fetched]


def twilio_fetch(url: str, auth: tuple[str, str]) -> Fetched:
    """GET the recording from Twilio with HTTP basic auth and stream it."""
    try:
        response = requests.get(url, auth=auth, stream=True, timeout=(5, 30))
    except requests.RequestException as exc:
        raise RecordingUnavailable(f"Twilio could not be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        response.close()
        raise RecordingUnavailable(f"Twilio answered HTTP {response.status_code} for the recording")
    length = response.headers.get("Content-Length")
    return Fetched(response.iter_content(64 * 1024), response.headers.get("Content-Type", "audio/mpeg"),
                   int(length) if length and length.isdigit() else None)


def init_app(app: Flask, fetcher: Fetcher | None = None) -> None:
    """Install the default fetcher unless one is there already."""
    app.extensions.setdefault(EXTENSION, fetcher or twilio_fetch)


def media_url(recording_url: str) -> str:
    """The MP3 URL of a Twilio recording resource (checked to be Twilio's API)."""
    url = recording_url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.hostname not in _ALLOWED_HOSTS:
        raise RecordingUnavailable("the stored recording URL is not a Twilio API URL")
    for suffix in (".json", ".wav", ".mp3"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url + ".mp3"


def fetch_recording(recording_url: str) -> Fetched:
    """Fetch a call's recording with the app's Twilio credentials."""
    sid, token = current_app.config.get("TWILIO_ACCOUNT_SID"), current_app.config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise RecordingUnavailable(
            "Twilio credentials are not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN), "
            "so recordings cannot be played")
    url = media_url(recording_url)
    return current_app.extensions[EXTENSION](url, (sid, token))
