"""The hvkb web app: search, read articles, draft forum answers, as HTML pages and a JSON API.

A thin shell over ``kb``: every page calls one ``kb`` function and renders what it returns.

    from webapp import create_app
    app = create_app({"CONTENT_DIR": "content", "INDEX_DIR": "/tmp/hvkb-index"})
"""
from __future__ import annotations

from flask import Flask, abort, request

from kb.settings import Settings

# A forum question is a few KB; 64 KiB leaves room for a pasted log and keeps abuse cheap.
MAX_CONTENT_LENGTH = 64 * 1024

# Everything the pages need is served from this app: no inline script or style, no CDN.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

# Static files change only with a release; an hour saves reloads and an upgrade shows within the hour.
STATIC_MAX_AGE = 3600

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _defaults() -> dict:
    settings = Settings()
    return {
        "CONTENT_DIR": str(settings.content_dir),
        "INDEX_DIR": str(settings.index_dir),
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        "MAX_QUERY_CHARS": settings.max_query_chars,
        "MAX_QUESTION_CHARS": settings.max_question_chars,
        "SEARCH_LIMIT": settings.search_limit,
        "SEND_FILE_MAX_AGE_DEFAULT": STATIC_MAX_AGE,  # Flask: "public, max-age=..." on /static files
        # How often a request may look at the index's CURRENT file for a newer build.
        "INDEX_RECHECK_SECONDS": 1.0,
        # Prefix for links inside drafted answers ("https://kb.example.org"); "" keeps them relative.
        "PUBLIC_BASE_URL": "",
        # Drafts, searches and feedback are kept in HOME_DIR/history.sqlite3 (kb.history) unless this is off.
        "HISTORY": True,
        "HOME_DIR": None,
    }


def public_base_url(value: str | None) -> str:
    """Check and normalize the public base URL that drafted answers link hvkb's pages under.

    >>> public_base_url("https://kb.example.org/")
    'https://kb.example.org'
    >>> public_base_url("")
    ''

    :raises ValueError: not an absolute http(s) URL with a host, or one with a query or fragment.
    """
    from urllib.parse import urlsplit

    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{value!r} is not an absolute http(s) URL such as https://kb.example.org")
    return value.rstrip("/")


def create_app(test_config: dict | None = None) -> Flask:
    """Create the app; ``test_config`` overrides the defaults (``CONTENT_DIR``, ``INDEX_DIR``, ...).

    The index is opened on the first request that needs it, not here.
    """
    app = Flask(__name__)
    app.config.from_mapping(_defaults())
    if test_config is not None:
        app.config.from_mapping(test_config)
    # Checked here, not on the first draft: a mistyped base URL fails at start, not in a pasted reply.
    app.config["PUBLIC_BASE_URL"] = public_base_url(app.config["PUBLIC_BASE_URL"])
    app.json.sort_keys = False  # keep the models' own key order (query first, then results)

    from webapp.holder import KbHolder

    app.extensions["kb"] = KbHolder(app.config["CONTENT_DIR"], app.config["INDEX_DIR"],
                                    recheck_seconds=app.config["INDEX_RECHECK_SECONDS"])

    from kb.history import open_history
    from webapp import api, display, errors, history_views, views
    from webapp.errors import wants_json

    # An app given its own index folder but no data folder (a test, a deployment) keeps no history
    # rather than write into the user's data folder.
    if app.config["HOME_DIR"] is None and "INDEX_DIR" not in (test_config or {}):
        app.config["HOME_DIR"] = str(Settings().home_dir)
    app.extensions["history"] = open_history(app.config["HOME_DIR"], enabled=history_views.switch(app.config["HISTORY"]),
                                             off_reason="history is off (hvkb serve --no-history or HVKB_HISTORY=off)")

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    history_views.register(app)
    errors.register(app)
    display.register(app)

    @app.before_request
    def _refuse_large_bodies():
        # Werkzeug only enforces MAX_CONTENT_LENGTH when a body is read; a view that never reads
        # it (or reads only JSON) would otherwise answer 400 instead of 413.
        limit = app.config["MAX_CONTENT_LENGTH"]
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.after_request
    def _no_store(response):
        # A draft echoes the pasted question (which may hold host names or logs), and API answers
        # change with each rebuild: no browser or proxy keeps either, error responses included.
        if request.path == "/answer" or wants_json():
            response.headers["Cache-Control"] = "no-store"
        return response

    return app
