"""The layer form's member picker: an ordered list with up / down / remove / add buttons.

Each button posts the form (no JavaScript needed) with `op` = "up:2", "down:0", "remove:1" or
"add"; the view reorders and shows the form again, saving nothing. The list travels as
repeated `member` fields (a person id, or "-" for an empty slot); a plain `members` text
("alice, dmitri, -", as the API and older forms send) is read when there is no list.
"""

from __future__ import annotations

from flask import request

from voiceline.web.rota.forms import LayerForm, parse_members

EMPTY = "-"


def take_member_list(form: LayerForm) -> None:
    """Fill the form's members from the posted list, when the picker sent one."""
    listed = [v.strip() for v in request.form.getlist("member") if v.strip()]
    if listed or "op" in request.form:
        form.members.data = ", ".join(listed)


def reorder_requested(form: LayerForm) -> bool:
    """Apply a picker button (move, remove, add) to the members; True when one was pressed."""
    take_member_list(form)
    op = request.form.get("op", "")
    if not op:
        return False
    members = [m or EMPTY for m in parse_members(form.members.data)]
    verb, _, arg = op.partition(":")
    index = int(arg) if arg.isdigit() else -1
    if verb == "up" and 0 < index < len(members):
        members[index - 1], members[index] = members[index], members[index - 1]
    elif verb == "down" and 0 <= index < len(members) - 1:
        members[index + 1], members[index] = members[index], members[index + 1]
    elif verb == "remove" and 0 <= index < len(members):
        del members[index]
    elif verb == "add":
        new = request.form.get("add_member", "").strip()
        if new:
            members.append(new)
    form.members.data = ", ".join(members)
    return True


def picked(form: LayerForm) -> list[str]:
    """The members in order, "-" for an empty slot (for the picker's list)."""
    return [m or EMPTY for m in parse_members(form.members.data or "")]

