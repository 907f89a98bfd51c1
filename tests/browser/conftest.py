"""Browser fixtures: the app served by werkzeug in a thread, Debian's chromium through Playwright.

Every test here is marked `browser` and skips when chromium (VOICELINE_TEST_CHROMIUM, default
/usr/bin/chromium) or Playwright is missing. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from sqlalchemy import select
from werkzeug.serving import make_server

from voiceline import appdb
from voiceline.accounts import has_role
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.models.rota import Layer, Override
from voiceline.models.web import User
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


# --- every page of the UI, found in the app's URL map (the site-wide tests) ---------------------
# A page is a GET rule of a UI blueprint. A rule whose arguments have no sample id below is
# reported as missing (the site tests fail naming it), so a page added later is never skipped
# silently: give its argument an id here.

# What is not a page: other audiences (signed Twilio posts, token API, secret-URL feeds), files.
NOT_PAGES_BLUEPRINTS = {"voice", "reachability", "api", "ical"}
NOT_PAGES_ENDPOINTS = {"static", "ui.static", "ui.favicon", "healthz", "auth.logout",
                       "review.export", "review.metrics_json", "review.recording"}
# Ids of the demo fixture (fixtures/demo.yaml) and of tests/browser/conftest.py's seed.
FIXED_IDS = {"rota_id": "backup", "person_id": "alice", "caller_id": "watch-officer",
             "policy_id": "main", "hotline_id": "liaison", "sid": "CAbrowser" + "0" * 24}


@dataclass(frozen=True)
class Page:
    """One page: its endpoint, the path with sample ids filled in, and the roles that may open it."""

    endpoint: str
    path: str
    roles: tuple[str, ...]

    def allowed(self, role: str | None) -> bool:
        """True when `role` may open the page (None: not logged in, only public pages)."""
        return bool(self.roles == ()) or (role is not None and has_role(_FakeUser(role), *self.roles))


@dataclass(frozen=True)
class _FakeUser:
    role: str


def sample_ids(app: Flask) -> dict[str, object]:
    """Ids for every argument of a parameterised page (integers read from the database)."""
    db = appdb.session_factory(app)()
    try:
        rota = FIXED_IDS["rota_id"]
        layer = db.scalars(select(Layer.id).where(Layer.rota_id == rota).order_by(Layer.id)).first()
        override = db.scalars(select(Override.id).where(Override.rota_id == rota)
                              .order_by(Override.id)).first()
        user = db.scalars(select(User.id).where(User.username == "responder")).one()
    finally:
        db.close()
    return {**FIXED_IDS, "layer_id": layer, "override_id": override, "user_id": user}


def pages(app: Flask) -> tuple[list[Page], list[str]]:
    """(every page with sample ids, rules that need an id not in sample_ids)."""
    ids = sample_ids(app)
    found, missing = [], []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
            if ("GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGES_ENDPOINTS
                    or blueprint in NOT_PAGES_BLUEPRINTS):
                continue
            args = {name: ids.get(name) for name in rule.arguments}
            if any(v is None for v in args.values()):
                missing.append(f"{rule.rule} needs {sorted(k for k, v in args.items() if v is None)}")
                continue
            view = app.view_functions[rule.endpoint]
            roles = getattr(view, "required_roles", ())
            found.append(Page(rule.endpoint, url_for(rule.endpoint, **args), tuple(roles)))
    return found, missing


def endpoint_of(app: Flask, url: str) -> str | None:
    """The endpoint a same-site URL routes to (None: no rule matches)."""
    parts = urlsplit(url)
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(parts.path, method="GET")
    except Exception:  # noqa: BLE001  (a 404 or 405 is the caller's finding)
        return None
    return endpoint


@pytest.fixture
def ui_pages(live, demo):
    """(every UI page with sample ids filled in, the rules that need an id not known here)."""
    return pages(demo)


@pytest.fixture
def route_of(demo):
    """route_of(url): the endpoint a same-site URL routes to, None when no GET rule matches."""
    return lambda url: endpoint_of(demo, url)


@pytest.fixture
def may_open(demo):
    """may_open(endpoint, role): True when `role` (None: nobody logged in) may open it."""
    def check(endpoint: str, role: str | None) -> bool:
        roles = tuple(getattr(demo.view_functions[endpoint], "required_roles", ()))
        return Page(endpoint, "", roles).allowed(role)
    return check


@pytest.fixture
def site_page(browser):
    """site_page(width, height): a page in a fresh context of that viewport, CSP bypassed so that
    axe-core can be injected (the app's policy allows no inline script)."""
    contexts = []

    def make(width: int, height: int, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True,
                                      **options)
        contexts.append(context)
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        return pg

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def axe(axe_source):
    """axe(page): the serious and critical axe-core violations of the page as it is now."""
    return lambda pg: run_axe(pg, axe_source)


@pytest.fixture(scope="session")
def axe_source():
    """axe-core's axe.min.js from tests/browser/node_modules (make test runs npm ci there)."""
    path = Path(os.environ.get("VOICELINE_TEST_AXE")
                or Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js")
    if not path.exists():
        pytest.fail(f"no axe-core at {path}: run make test (it runs npm ci in tests/browser)")
    return path.read_text(encoding="utf-8")


def run_axe(pg, source: str) -> list[dict]:
    """The serious and critical violations axe-core finds on the page (every rule it runs by default)."""
    if not pg.evaluate("() => typeof window.axe === 'object'"):
        pg.add_script_tag(content=source)
    result = pg.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [" ".join(map(str, n["target"])) for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
