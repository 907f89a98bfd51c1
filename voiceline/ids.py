"""Row ids from outside (URLs, query strings): whole numbers that fit a 64-bit column.

A longer number would overflow the database driver (SQLite's INTEGER, PostgreSQL's
bigint) and answer 500; these say 400 and why instead.
"""

from __future__ import annotations

from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter

MAX_ID = 2**63 - 1


def parse_id(text: str, name: str = "id") -> int:
    """`text` as a row id (0 to 2^63-1), else ValueError naming `name`."""
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{name}: {text[:40]!r} is not a whole number")
    value = int(text)
    if value > MAX_ID:
        raise ValueError(f"{name}: {text[:40]} is too large for an id (at most {MAX_ID})")
    return value


class IdConverter(BaseConverter):
    """`<int:name>` in every route: digits only, answered 400 when beyond 64 bits."""

    regex = r"\d+"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        try:
            return parse_id(value)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    def to_url(self, value) -> str:
        return str(int(value))
