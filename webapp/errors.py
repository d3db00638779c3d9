"""Error handlers: every error is a JSON body under /api (and /healthz) and a page elsewhere.

The JSON shape is one for every error: ``{"ok": false, "error": "...", "status": 404}``.
"""
from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from kb.errors import (BuildLockedError, ContentError, ContentValidationError, IndexCorruptError, IndexMissingError,
                       IndexStaleError, InputTooLargeError, KbError, QueryError, UnknownDocumentError)

# Most specific first; a KbError not listed is a request the library refused on purpose: 400.
KB_STATUS: tuple[tuple[type[KbError], int], ...] = (
    (QueryError, 400),
    (InputTooLargeError, 413),
    (UnknownDocumentError, 404),
    (IndexMissingError, 503),
    (IndexCorruptError, 503),
    (IndexStaleError, 503),
    (BuildLockedError, 503),
    (ContentValidationError, 503),
    (ContentError, 503),
)

# Short, plain wording for the error page title; any other status reads "Something went wrong".
TITLES = {
    400: "That request could not be understood",
    404: "Page not found",
    405: "Method not allowed",
    413: "That is too much text",
    503: "The knowledge base is not available right now",
}


def kb_status(exc: KbError) -> int:
    """HTTP status for a library error.

    >>> kb_status(QueryError("the query is empty"))
    400
    """
    return next((code for cls, code in KB_STATUS if isinstance(exc, cls)), 400)


def wants_json() -> bool:
    """Whether the current request gets errors as JSON (the API and the health check)."""
    path = request.path
    return path == "/api" or path.startswith("/api/") or path == "/healthz"


def error_response(message: str, status: int, headers=None):
    """The one error body: JSON for the API, the error page otherwise."""
    if wants_json():
        response = jsonify({"ok": False, "error": message, "status": status})
    else:
        title = TITLES.get(status) or "Something went wrong"
        response = render_template("errors/error.html", status=status, title=title, message=message)
    response = make_response(response, status)
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _message_for_http(exc: HTTPException) -> str:
    if exc.code == 404:
        return "There is no page at this address."
    if exc.code == 413:
        return "The request is larger than this server accepts (64 KiB). Shorten the question and try again."
    if exc.code == 405:
        return f"{request.method} is not allowed here."
    if exc.code == 500:
        # Never show a traceback or internals; the log has them.
        return "Something went wrong on the server."
    return exc.description or exc.name


def register(app: Flask) -> None:
    @app.errorhandler(KbError)
    def _kb_error(exc: KbError):
        status = kb_status(exc)
        message = str(exc)
        if status == 503 and exc.hint:
            message = f"{message} ({exc.hint})"
        if status == 503:
            app.logger.error("knowledge base unavailable: %s", exc)
        return error_response(message, status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code is None:  # not an error: let werkzeug answer it as it is
            return exc
        status = exc.code
        return error_response(_message_for_http(exc), status, headers=exc.get_headers())
