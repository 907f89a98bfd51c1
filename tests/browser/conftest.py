"""Browser fixtures: the app served by werkzeug in a thread, Debian's chromium through Playwright.

Every test here is marked `browser` and skips when chromium (VOICELINE_TEST_CHROMIUM, default
/usr/bin/chromium) or Playwright is missing. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from voiceline import appdb
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.web.auth import create_user

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("VOICELINE_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery"
ROLES = ("admin", "rota_manager", "reviewer", "responder")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the run."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM} (make test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def app_config(app_config):
    # Served over plain http on 127.0.0.1: the session cookie must not be Secure-only.
    return {**app_config, "SECURE_COOKIES": False}


def _seed_calls(db, now: datetime) -> None:
    """Six calls over the last days: answered, declined-then-answered, voicemail, missed, duress."""
    specs = [("answered", "alice", False), ("answered", "grace", False), ("voicemail", None, False),
             ("missed", None, False), ("missed", None, True), ("answered", "alice", False)]
    for n, (outcome, by, duress) in enumerate(specs):
        start = (now - timedelta(days=n, hours=2)).replace(microsecond=0)
        call = Call(sid=f"CAbrowser{n:024d}", hotline_id="liaison", to_number="+12025550100",
                    from_number="+12025550150", caller_id="watch-officer", verified=True, priority=2,
                    duress=duress, state="done", started_at=start, outcome=outcome, answered_by=by,
                    answered_at=start + timedelta(seconds=7 + n) if by else None,
                    ended_at=start + timedelta(seconds=80), duration_seconds=80)
        call.events.append(CallEvent(at=start, kind="greeted", detail={"language": "en-US"}))
        call.legs.append(CallLeg(person_id="alice", number="+12025550101", step=1, status="completed",
                                 screen="declined" if by == "grace" else ("accepted" if by else None),
                                 started_at=start + timedelta(seconds=1),
                                 answered_at=start + timedelta(seconds=4) if by else None,
                                 ended_at=start + timedelta(seconds=20)))
        db.add(call)


@pytest.fixture
def live(demo):
    """The demo app with one account per role and a few calls, served on 127.0.0.1:<random>."""
    with demo.app_context():
        db = appdb.session_factory(demo)()
        for role in ROLES:
            create_user(db, role.replace("_", "-"), PASSWORD, role)
        _seed_calls(db, datetime.now(UTC))
        db.commit()
        db.close()
    server = make_server("127.0.0.1", 0, demo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser, request):
    """A fresh browser context (no cookies) and page; screenshots named after the test."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def shot(step: str) -> Path:
        path = SHOTS / f"{name}-{step}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    pg.shot = shot
    yield pg
    context.close()


@pytest.fixture
def log_in(live):
    """log_in(page, role) logs the page in through the login form."""
    def do(pg, role: str):
        pg.goto(f"{live}/login")
        pg.fill("input[name=username]", role.replace("_", "-"))
        pg.fill("input[name=password]", PASSWORD)
        pg.click("main form button[type=submit]")
        pg.wait_for_load_state()
        assert "/login" not in pg.url, pg.content()[:2000]
    return do
