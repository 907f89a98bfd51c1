"""Shared by the rota-page browser tests: contexts at both widths in a set zone, logins, DB rows."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from voiceline import appdb
from voiceline.models.web import User

from .conftest import PASSWORD

WIDTHS = [(1366, 900), (390, 844)]
ZONE = "Asia/Tokyo"  # neither the rotas' zones (New York, Moscow) nor UTC


@contextmanager
def opened(browser, size, zone=ZONE, js=True):
    """A fresh context of `size` whose browser clock is in `zone`; yields its page."""
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, timezone_id=zone,
                                  java_script_enabled=js)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()


def login(pg, live, username):
    """Log in through the form (the browser's zone is sent with it)."""
    pg.goto(f"{live}/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("main form button[type=submit]")
    pg.wait_for_load_state()
    assert "/login" not in pg.url, pg.inner_text("main")


@contextmanager
def session(app):
    """A database session of the live app, inside its app context."""
    with app.app_context():
        db = appdb.session_factory(app)()
        try:
            yield db
        finally:
            db.close()


def link_person(app, username, person):
    """Link an account to a person (the responder of the fixture has none)."""
    with session(app) as db:
        db.scalar(select(User).where(User.username == username)).person_id = person
        db.commit()


def no_sideways_scroll(pg):
    """The page itself never scrolls sideways (tables and the timeline scroll in their box)."""
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= pg.viewport_size["width"], f"page is {width}px wide"
