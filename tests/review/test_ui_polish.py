"""Small things of issue 12, item 8: words and whole numbers in the CSV, one id per element in
the metrics page, numbers on the donut, whole-call ticks, a favicon."""

from __future__ import annotations

import collections
import csv
import io
import re


def test_csv_has_priority_in_words_and_whole_seconds(client, demo, session, mk, login):
    mk(1, answered_after=42.0, priority=1)
    mk(2, answered_after=7.4, priority=2)
    mk(3, outcome="missed", priority=None)
    session.commit()
    login("reviewer")
    table = list(csv.DictReader(io.StringIO(client.get("/calls.csv").get_data(as_text=True))))
    by_sid = {r["sid"]: r for r in table}
    assert [by_sid[f"CA{n:032d}"]["priority"] for n in (1, 2, 3)] == ["urgent", "routine", ""]
    assert [by_sid[f"CA{n:032d}"]["seconds_to_answer"] for n in (1, 2, 3)] == ["42", "7", ""]


def test_metrics_page_ids_are_unique_and_charts_speak_whole_numbers(client, demo, session, mk, login):
    legs = [("alice", "accepted", "completed")]
    mk(1, legs=legs)
    mk(2, outcome="missed", legs=[("alice", None, "no-answer")])
    mk(3, legs=legs)
    session.commit()
    login("reviewer")
    html = client.get(f"/metrics?from={mk.t0:%Y-%m-%d}&to={mk.t0:%Y-%m-%d}").get_data(as_text=True)
    ids = collections.Counter(re.findall(r'\bid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
    donut = html.split('id="chart-outcomes"')[1].split("</figure>")[0]
    texts = re.findall(r"<text[^>]*>([^<]+)</text>", donut)
    assert "answered (2)" in texts and "missed (1)" in texts
    assert "2" in texts  # the slice's own number
    responders = html.split('id="chart-responders"')[1].split("</figure>")[0]
    ticks = {t for t in re.findall(r"<text[^>]*>([0-9.]+)</text>", responders)}
    assert ticks and all("." not in t for t in ticks), ticks


def test_a_favicon_is_served_and_linked(client, demo):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    login_page = client.get("/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)"', login_page).group(1)
    assert client.get(href).status_code == 200
