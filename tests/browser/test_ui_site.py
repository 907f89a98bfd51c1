"""Every page of the UI (found in the app's URL map), as every role, at a desk's and a phone's width:
the status is the intended one (200, or 403 for a role the page is not for), axe-core finds no
serious or critical violation, nothing scrolls sideways at 390 px, and a screenshot of each is
kept in test-artifacts/screenshots/site-<width>-<role>-<endpoint>.png. Then a crawl per role
follows every internal link and finds no 4xx/5xx other than the intended 403s."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

ROLES = ("admin", "rota_manager", "reviewer", "responder")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {"desk": (1366, 900), "phone": (390, 844)}
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _shot(pg, width: str, who: str, endpoint: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"site-{width}-{who}-{endpoint}")
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("role", [None, *ROLES], ids=lambda r: r or "nobody")
def test_every_page_as_every_role(site_page, live, log_in, ui_pages, may_open, axe, role, width):
    found, missing = ui_pages
    assert not missing, f"pages without a sample id (add one in tests/browser/conftest.py): {missing}"
    assert len(found) >= 25, [p.endpoint for p in found]
    pg = site_page(*WIDTHS[width])
    if role:
        log_in(pg, role)
    problems: dict[str, object] = {}
    visited = 0
    for p in found:
        allowed = may_open(p.endpoint, role)
        if role is None and not allowed:
            continue  # nobody logged in: every page but the login page redirects to it
        response = pg.goto(live + p.path)
        visited += 1
        expected = 200 if allowed else 403
        if response is None or response.status != expected:
            problems[f"{p.path} status"] = (response and response.status, expected)
        _shot(pg, width, role or "nobody", p.endpoint)
        if width == "phone" and (extra := pg.evaluate(SIDEWAYS)) > 0:
            problems[f"{p.path} scrolls sideways"] = f"{extra} px"
        if violations := axe(pg):
            problems[f"{p.path} axe"] = violations
    assert visited >= (1 if role is None else 10)
    assert not problems, json.dumps(problems, indent=1)


class _Links(HTMLParser):
    """The href of every <a> and <link>, the src of every <script> and <img>."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        wanted = {"a": "href", "link": "href", "script": "src", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


PER_ENDPOINT = 6  # distinct URLs followed per endpoint: timelines link on to the next week forever


@pytest.mark.parametrize("role", ROLES)
def test_every_internal_link_answers(page, live, log_in, route_of, may_open, role):
    log_in(page, role)
    host = urlsplit(live).netloc
    queue, seen, per_endpoint = ["/"], {"/"}, {}
    broken, forbidden_ok = {}, set()
    while queue:
        path = queue.pop(0)
        response = page.request.get(live + path)
        endpoint = route_of(live + path)
        if response.status == 403 and endpoint and not may_open(endpoint, role):
            forbidden_ok.add(path)
        elif response.status >= 400:
            broken[path] = response.status
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        parser = _Links()
        parser.feed(response.text())
        for href in parser.urls:
            url = urljoin(live + path, href)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.netloc != host:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            key = route_of(url) or target
            if target in seen or per_endpoint.get(key, 0) >= PER_ENDPOINT:
                continue
            seen.add(target)
            per_endpoint[key] = per_endpoint.get(key, 0) + 1
            queue.append(target)
    assert len(seen) >= 10, seen
    assert not broken, broken
