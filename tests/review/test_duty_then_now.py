"""The call page answers: who was supposed to be on duty when this call came in, and was that
the rota at the time? (issue 11, rota history)."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from voiceline import models as m
from voiceline.instants import utcnow


def _duty_rows(html: str) -> dict[str, list[str]]:
    table = html[html.index('id="duty-then-now"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr><td>([\w-]+)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td></tr>",
                      table, re.S)
    return {r[0]: [c.strip() for c in r[1:]] for r in rows}


def test_call_page_compares_the_rota_then_with_the_rota_now(demo, client, session, login, mk):
    time.sleep(0.01)
    at = utcnow()
    mk(7, at=at)
    session.commit()
    login("reviewer")
    same = _duty_rows(client.get(f"/calls/CA{7:032d}").get_data(as_text=True))
    assert same["primary"][2] == "the same" and same["primary"][0] == same["primary"][1]
    # An admin later corrects the record for that moment: the page shows the difference.
    session.add(m.Override(rota_id="primary", kind="add", person_id="carol",
                           start=at - timedelta(hours=1), end=at + timedelta(hours=1),
                           created_by="admin"))
    session.commit()
    changed = _duty_rows(client.get(f"/calls/CA{7:032d}").get_data(as_text=True))
    assert "Carol" in changed["primary"][1] and "Carol" not in changed["primary"][0]
    assert "differs" in changed["primary"][2]


def test_call_from_before_history_says_so(demo, client, session, login, mk):
    mk(8, at=utcnow() - timedelta(days=400))
    session.commit()
    login("reviewer")
    rows = _duty_rows(client.get(f"/calls/CA{8:032d}").get_data(as_text=True))
    assert rows["primary"][0].startswith("not recorded")
