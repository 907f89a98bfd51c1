"""The web UI: accounts, rota pages, audit log, calendar feeds (and the reviewer pages)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from voiceline.web import auth
from voiceline.web.timefmt import register_filters

csrf = CSRFProtect()
# Templates (base.html and the UI's) and the stylesheet live beside this module.
ui = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui-static")

# Signed (Twilio), token-authenticated (API) or secret-URL (feeds) routes carry no cookie
# session, so a CSRF token means nothing there.
CSRF_EXEMPT_PREFIXES = ("/voice/", "/api/", "/ical/")
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
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.config.setdefault("CONTENT_SECURITY_POLICY", DEFAULT_CSP)
    for key, default in (("LOGIN_MAX_FAILURES", 5), ("LOGIN_WINDOW_MINUTES", 15)):
        if app.config.get(key) is None:
            app.config[key] = default
    hops = app.config.get("PROXY_HOPS") or 0
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _csrf_for_ui() -> None:
    from flask import current_app

    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    csrf.protect()


def _security_headers(response):
    if request.path.startswith(("/voice/", "/api/", "/ical/")):
        return response
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
    # Webhooks keep Flask's plain answers; the API and JSON clients get JSON.
    if request.path.startswith("/voice/"):
        return exc
    code = exc.code or 500
    message = exc.description if isinstance(exc, CSRFError) else None
    if auth.wants_json():
        return jsonify(error=exc.name.lower(), message=exc.description), code
    return render_template("error.html", code=code, name=exc.name, message=message), code


def init_app(app: Flask) -> None:
    """Register the UI blueprints, CSRF, session settings, feeds and the `users` commands."""
    from voiceline.web import audit_views, cli, feeds, ical, review, rota, users

    _configure(app)
    csrf.init_app(app)
    app.before_request(_csrf_for_ui)
    app.after_request(_security_headers)
    for code in (400, 403, 404, 405, 429):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _error_page)
    register_filters(app)

    @app.context_processor
    def _helpers():
        return {"current_user": auth.current_user(), "can_view": auth.can_view}

    app.register_blueprint(ui)
    app.register_blueprint(auth.bp)
    app.register_blueprint(users.bp)
    rota.init_app(app)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(ical.bp)
    app.register_blueprint(feeds.bp)
    app.cli.add_command(cli.users_group)
    review.init_app(app)

    @app.get("/", endpoint="home")
    @auth.login_required
    def home():
        if auth.can_view("rota.now"):
            return redirect(url_for("rota.now"))
        return render_template("home.html")


__all__ = ["csrf", "init_app"]
