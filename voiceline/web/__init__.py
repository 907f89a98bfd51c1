"""The web UI: accounts, rota pages, audit log, calendar feeds (and the reviewer pages).

Security headers and the HTML error pages belong to the UI's page blueprints; the signed
(/voice/), token (/api/) and secret-URL (/ical/) blueprints keep their own answers.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from voiceline.extensions import csrf
from voiceline.web import auth
from voiceline.web.formerrors import form_problems
from voiceline.web.timefmt import register_filters

# Templates (base.html and the UI's) and the stylesheet live beside this module.
ui = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui-static")


@ui.get("/favicon.ico")
def favicon():
    """The icon browsers ask for before reading a page's <link rel=icon> (no 404 on a first page)."""
    return ui.send_static_file("favicon.svg"), 200, {"Content-Type": "image/svg+xml",
                                                     "Cache-Control": "public, max-age=86400"}


PAGE_ERRORS = (400, 403, 404, 405, 429, CSRFError)
DEFAULT_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
               "form-action 'self'")


def _configure(app: Flask) -> None:
    secure = app.config.get("SECURE_COOKIES")
    if secure is None:
        secure = str(app.config.get("PUBLIC_URL") or "").startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(secure),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config.get("SESSION_HOURS") or 12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.config.setdefault("CONTENT_SECURITY_POLICY", DEFAULT_CSP)
    for key, default in (("LOGIN_MAX_FAILURES", 5), ("LOGIN_WINDOW_MINUTES", 15)):
        if app.config.get(key) is None:
            app.config[key] = default


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        from flask import current_app

        policy = current_app.config.get("CONTENT_SECURITY_POLICY")
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
    return response


def _error_page(exc: HTTPException):
    code = exc.code or 500
    # A 400 says what was wrong with the request (the views word it for people).
    message = exc.description if isinstance(exc, CSRFError) or code == 400 else None
    if auth.wants_json():
        return jsonify(error=exc.name.lower(), message=exc.description), code
    return render_template("error.html", code=code, name=exc.name, message=message), code


def _page_hooks(bp: Blueprint) -> None:
    """Security headers and error pages on one UI blueprint (once per process: blueprints are
    module objects that every app of the process registers)."""
    if getattr(bp, "_voiceline_pages", False):
        return
    bp.after_request(_security_headers)
    for code in PAGE_ERRORS:
        bp.register_error_handler(code, _error_page)
    bp._voiceline_pages = True  # type: ignore[attr-defined]  # our once-only marker on the blueprint


def _unrouted(app: Flask) -> None:
    """What no blueprint serves: the start page and URLs no route matches (a 404 or 405 before
    routing cannot reach a blueprint's handler) get the same page hooks."""
    app.register_error_handler(404, _error_page)
    app.register_error_handler(405, _error_page)

    def _unrouted_400(exc: HTTPException):
        # A 400 while routing (an id beyond 64 bits: voiceline.ids) reaches no blueprint.
        return _error_page(exc) if request.blueprint is None else exc

    app.register_error_handler(400, _unrouted_400)

    @app.after_request
    def _headers_outside_blueprints(response):
        return _security_headers(response) if request.blueprint is None else response


def init_app(app: Flask) -> None:
    """Register the UI blueprints (with their headers and error pages), feeds and `users` commands."""
    from voiceline.web import api_docs, audit_views, cli, feeds, ical, review, rota, users
    from voiceline.web.directory.common import bp as directory_bp
    from voiceline.web.review.views import bp as review_bp
    from voiceline.web.rota.common import bp as rota_bp

    _configure(app)
    for bp in (ui, auth.bp, users.bp, rota_bp, directory_bp, audit_views.bp, feeds.bp, review_bp,
               api_docs.bp):
        _page_hooks(bp)
    _unrouted(app)
    csrf.exempt(ical.bp)  # secret-URL calendar feeds: no cookie session, nothing to forge
    register_filters(app)

    @app.context_processor
    def _helpers():
        return {"current_user": auth.current_user(), "can_view": auth.can_view}

    # A global, not a context value: the _forms.html macros are imported without the context.
    app.jinja_env.globals["form_problems"] = form_problems

    app.register_blueprint(ui)
    app.register_blueprint(auth.bp)
    app.register_blueprint(users.bp)
    rota.init_app(app)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(ical.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(api_docs.bp)
    app.cli.add_command(cli.users_group)
    review.init_app(app)

    @app.get("/", endpoint="home")
    @auth.login_required
    def home():
        if auth.can_view("rota.now"):
            return redirect(url_for("rota.now"))
        return render_template("home.html")


__all__ = ["init_app"]
