"""The call log list and the call page show the STIR/SHAKEN status Twilio reported."""

from __future__ import annotations

import re


def test_list_and_call_page_show_stir(client, demo, session, mk, login):
    attested = mk(1)
    attested.stir_verstat = "TN-Validation-Passed-A"
    mk(2)  # none reported
    session.commit()
    login("reviewer")
    html = client.get("/calls").get_data(as_text=True)
    cells = re.findall(r'<td class="stir" title="([^"]*)">([^<]*)</td>', html)
    assert sorted(cells) == [("TN-Validation-Passed-A", "Passed-A"), ("not reported", "")]
    page = client.get(f"/calls/{attested.sid}").get_data(as_text=True)
    stir = re.search(r'<dd id="call-stir">(.*?)</dd>', page, re.S).group(1)
    assert "TN-Validation-Passed-A" in stir and "not for the person" in stir
