"""The edge: Twilio's form values made safe before any step reads them.

A value from the wire may carry control characters (a NUL fails a PostgreSQL insert and
makes a TwiML attribute unparseable) or a Timestamp that does not convert to a UTC instant
(and would fail the whole status callback). Both are cleaned here, once, for every step;
the signature is checked on the raw values before this runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from itertools import chain

from werkzeug.datastructures import ImmutableMultiDict, MultiDict

# C0 controls, DEL, C1 controls and the two XML non-characters: nothing Twilio legitimately
# sends (numbers, SIDs, names, digits) needs them, and XML 1.0 cannot carry most of them.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_form(form: Mapping[str, str] | MultiDict) -> ImmutableMultiDict:
    """The request's form values with control characters removed and an unusable Timestamp
    dropped (the step then uses its own clock)."""
    items = list(form.items(multi=True) if isinstance(form, MultiDict) else form.items())
    if isinstance(form, ImmutableMultiDict) and not CONTROL.search("".join(chain(*items))) \
            and all(_usable_timestamp(value) for key, value in items if key == "Timestamp"):
        return form  # nothing to clean (every request of a real call): no copy
    cleaned = [(CONTROL.sub("", key), CONTROL.sub("", value)) for key, value in items]
    cleaned = [(key, value) for key, value in cleaned
               if key != "Timestamp" or _usable_timestamp(value)]
    return ImmutableMultiDict(cleaned)


def _usable_timestamp(text: str) -> bool:
    try:
        value = parsedate_to_datetime(text)
        if value.tzinfo is not None:
            value.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return True
