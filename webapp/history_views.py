"""History, feedback and review pages: a thin layer over :mod:`kb.history` and :mod:`kb.review`.

- ``POST /feedback``: "Was this draft right?" from the draft page. CSRF-checked (a random token kept
  in the signed session cookie, echoed by the form), the draft named by a signed token (only a page
  that showed the draft can rate it), rate-limited per client.
- ``GET /history``, ``GET /history/<id>``: earlier drafts, reopened.
- ``GET /review``, ``POST /review/propose``: the review queue and the content edits it proposes.

History and Review show what people pasted, so they answer only a request from this machine (no
proxy header), or one carrying the admin token (``HVKB_ADMIN_TOKEN``: header ``X-HVKB-Admin-Token``
or ``?token=``, compared in constant time). Every stored text is rendered through Jinja's autoescape.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
import time
from pathlib import Path

from flask import (Blueprint, Flask, current_app, g, jsonify, make_response, redirect, render_template, request,
                   session, url_for)
from itsdangerous import BadSignature, URLSafeSerializer

from kb.errors import KbError
from kb.history import REASONS, History, HistoryInputError
from kb.settings import FEEDBACK_BURST, FEEDBACK_PER_MINUTE
from webapp.errors import error_response
from webapp.holder import current_kb
from webapp.params import int_arg

bp = Blueprint("history", __name__)

SECRET_FILE = "secret_key"
# Clients remembered by the rate limiter; beyond this, full (idle) buckets are forgotten first.
MAX_CLIENTS = 10_000
HISTORY_PAGE_SIZE = 50
ADMIN_HEADER = "X-HVKB-Admin-Token"
# A request that came through a proxy is not from this machine, whatever its socket says.
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
_SALT = "hvkb-feedback-draft"


# --------------------------------------------------------------------------- set-up

def switch(value) -> bool:
    """A config on/off value (``True``, ``"on"``, ``"off"``, ``0`` ...) as a bool.

    >>> switch("off"), switch("on"), switch(True)
    (False, True, True)

    :raises ValueError: anything else.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no", ""):
        return False
    raise ValueError(f"HISTORY must be on or off, not {value!r}")


def _secret_key(home_dir: str | None) -> str:
    """The key that signs sessions and draft tokens: kept in the data folder so it survives a restart.

    Without a writable data folder, a random key for this process (forms then expire on restart).
    """
    if home_dir:
        path = Path(home_dir) / SECRET_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                key = path.read_text(encoding="ascii").strip()
                if len(key) >= 32:
                    return key
            else:
                key = secrets.token_hex(32)
                with os.fdopen(fd, "w", encoding="ascii") as fh:
                    fh.write(key + "\n")
                return key
        except (OSError, UnicodeDecodeError) as exc:
            current_app.logger.warning("cannot keep the session key in %s (%s): forms expire on restart", path, exc)
    return secrets.token_hex(32)


def register(app: Flask) -> None:
    """Add the pages, the session key and the template helpers; ``app.extensions["history"]`` is the store."""
    with app.app_context():
        if not app.config.get("SECRET_KEY"):
            history: History = app.extensions["history"]
            app.config["SECRET_KEY"] = _secret_key(app.config.get("HOME_DIR") if not history.off_by_choice else None)
    for key, value in (("FEEDBACK_PER_MINUTE", FEEDBACK_PER_MINUTE), ("FEEDBACK_BURST", FEEDBACK_BURST),
                       ("ADMIN_TOKEN", ""), ("SESSION_COOKIE_NAME", "hvkb_session")):
        app.config.setdefault(key, value)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.extensions["feedback_limiter"] = RateLimiter(app.config["FEEDBACK_PER_MINUTE"], app.config["FEEDBACK_BURST"])
    app.register_blueprint(bp)
    app.add_template_global(csrf_token)
    app.add_template_global(history_state)
    app.add_template_global(feedback_form)
    app.jinja_env.filters["when"] = lambda ts: time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def store() -> History:
    return current_app.extensions["history"]


# --------------------------------------------------------------------------- rate limit

class RateLimiter:
    """A token bucket per client: ``burst`` posts at once, refilled at ``per_minute``."""

    def __init__(self, per_minute: float, burst: int, clock=time.monotonic, max_clients: int = MAX_CLIENTS):
        self.rate = float(per_minute) / 60.0
        self.burst = max(1, int(burst))
        self._clock = clock
        self._max = max_clients
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def allow(self, client: str) -> float:
        """Take a token for ``client``: ``0.0`` when allowed, else the seconds until the next one."""
        now = self._clock()
        with self._lock:
            tokens, when = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self._max:
                self._forget(now)
            return 0.0

    def _forget(self, now: float) -> None:
        """Drop the fullest buckets (clients that posted least lately): forgetting one gives it a full
        bucket again, which costs nothing for an idle client and would free a busy one."""
        level = {c: min(float(self.burst), t + (now - w) * self.rate) for c, (t, w) in self._buckets.items()}
        for c in [c for c, t in level.items() if t >= self.burst]:
            del self._buckets[c]
        if len(self._buckets) > self._max:
            keep = sorted(self._buckets, key=lambda c: (level[c], c))[:self._max // 2]
            self._buckets = {c: self._buckets[c] for c in keep}


# --------------------------------------------------------------------------- who may see what

def _loopback(addr: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((addr or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def is_local_request() -> bool:
    """A request from this machine, not forwarded by a proxy."""
    return _loopback(request.remote_addr) and not any(request.headers.get(h) for h in PROXY_HEADERS)


def _token_mark(token: str) -> str:
    """What the session keeps once the admin token was shown: not the token (the cookie is readable)."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), token.encode(), hashlib.sha256).hexdigest()


def admin_allowed() -> bool:
    """Whether this request may see History and Review."""
    token = current_app.config.get("ADMIN_TOKEN") or ""
    if token:
        given = request.headers.get(ADMIN_HEADER) or request.args.get("token") or ""
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return True
        mark = session.get("admin")
        if isinstance(mark, str) and hmac.compare_digest(mark, _token_mark(token)):
            return True
    return is_local_request()


def _gate():
    """``None`` when History/Review may be shown; else the response to send instead."""
    if not admin_allowed():
        if current_app.config.get("ADMIN_TOKEN"):
            why = "History and Review need the admin token: send it as the X-HVKB-Admin-Token header or ?token=."
        else:
            why = ("History and Review are reachable only from the machine hvkb runs on. To open them from "
                   "elsewhere, start the server with HVKB_ADMIN_TOKEN set and pass that token.")
        return error_response(why, 403)
    token = current_app.config.get("ADMIN_TOKEN") or ""
    given = request.args.get("token") or ""
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        # Keep the token out of the address bar, history and logs from here on: remember it in the session.
        session["admin"] = _token_mark(token)
        args = {k: v for k, v in request.args.items() if k != "token"}
        return redirect(url_for(request.endpoint, **(request.view_args or {}), **args), 303)
    history = store()
    if not history.enabled and history.off_by_choice:
        return error_response("History is turned off on this server (hvkb serve --no-history or HVKB_HISTORY=off).", 404)
    return None


# --------------------------------------------------------------------------- template helpers

def csrf_token() -> str:
    """The form token of this browser session ("" while history is off: no form needs one, no cookie is set)."""
    if not store().enabled:
        return ""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    want = session.get("csrf")
    return bool(sent) and isinstance(want, str) and bool(want) and hmac.compare_digest(sent.encode(), want.encode())


def _signer() -> URLSafeSerializer:
    signer = current_app.extensions.get("feedback_signer")
    if signer is None:
        signer = current_app.extensions["feedback_signer"] = URLSafeSerializer(current_app.config["SECRET_KEY"],
                                                                               salt=_SALT)
    return signer


def history_state() -> dict:
    """For the templates: whether history is kept, why not, and whether this request may open History."""
    if "history_state" not in g:
        history = store()
        g.history_state = {"enabled": history.enabled, "off_by_choice": history.off_by_choice,
                           "reason": history.disabled_reason, "admin": admin_allowed()}
    return g.history_state


def feedback_form(draft_id: int | None, sources=()) -> dict | None:
    """What the "Was this draft right?" form needs, ``None`` when the draft was not kept."""
    if draft_id is None or not store().enabled:
        return None
    return {"draft": _signer().dumps(int(draft_id)), "csrf": csrf_token(), "reasons": REASONS,
            "snippets": [s for s in sources if s.get("kind") == "snippet"]}


# --------------------------------------------------------------------------- hooks for views and api

def _build() -> str | None:
    try:
        return current_kb().path.name
    except KbError:
        return None


def record_draft(question: str, draft: dict, origin: str) -> int | None:
    """Keep a draft; return its id. A web form's draft is kept only with a valid CSRF token, so a
    page on another site cannot fill the history (it still gets its draft)."""
    history = store()
    if not history.enabled or (origin == "web" and not _csrf_ok()):
        return None
    return history.record_draft(question, draft, build=_build(), origin=origin)


def record_search(query: str, results: int, origin: str) -> None:
    """Keep a search. Search-as-you-type (a same-origin fetch from our own page) is not kept: each
    keystroke's prefix would fill "searches with no result" with half-typed words."""
    history = store()
    if not history.enabled:
        return
    if origin == "api" and request.headers.get("Sec-Fetch-Site") == "same-origin" \
            and request.headers.get("Sec-Fetch-Mode") == "cors":
        return
    history.record_search(query, results, build=_build(), origin=origin)


@bp.after_request
def _no_store(response):
    # These pages show pasted questions: no browser or proxy keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- feedback

def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _refuse(message: str, status: int, headers=None):
    if _wants_json():
        response = make_response(jsonify({"ok": False, "error": message, "status": status}), status)
        for name, value in headers or ():
            response.headers[name] = value
        return response
    return error_response(message, status, headers)


def _client() -> str:
    return request.remote_addr or "unknown"


@bp.post("/feedback")
def feedback():
    """Store "Was this draft right?": verdict (up/down), reason, note, the snippet that should have answered."""
    history = store()
    if not history.enabled:
        return _refuse(history.disabled_reason or "history is off", 503)
    wait = current_app.extensions["feedback_limiter"].allow(_client())
    if wait:
        seconds = max(1, round(wait))
        return _refuse(f"Too much feedback from this address; try again in {seconds} s.", 429,
                       [("Retry-After", str(seconds))])
    if not _csrf_ok():
        return _refuse("This form has expired or did not come from this site: reload the draft page and try again.", 400)
    try:
        draft_id = int(_signer().loads(request.form.get("draft", "")))
    except (BadSignature, TypeError, ValueError):
        return _refuse("This draft cannot be rated: its form is not one this server made.", 400)
    try:
        feedback_id = history.record_feedback(draft_id, request.form.get("verdict", ""), request.form.get("reason"),
                                              request.form.get("note"), request.form.get("snippet"),
                                              known_snippets=current_kb().corpus.snippets)
    except HistoryInputError as exc:
        return _refuse(str(exc), 400)
    if feedback_id is None:
        return _refuse(history.disabled_reason or "history is off", 503)
    verdict = request.form.get("verdict", "").strip().lower()
    message = ("Thanks: marked as right." if verdict == "up" else
               "Thanks: marked as wrong. It is listed on the Review page, where someone can turn it into a content fix.")
    if _wants_json():
        return jsonify({"ok": True, "id": feedback_id, "draft_id": draft_id, "message": message})
    return render_template("history/thanks.html", message=message, draft_id=draft_id, admin=admin_allowed())


# --------------------------------------------------------------------------- history

@bp.get("/history")
def history_list():
    refused = _gate()
    if refused is not None:
        return refused
    history = store()
    page = int_arg(request.args, "page", 1, 1, 100_000)
    drafts = history.list_drafts(HISTORY_PAGE_SIZE + 1, (page - 1) * HISTORY_PAGE_SIZE)
    more = len(drafts) > HISTORY_PAGE_SIZE
    from kb.review import phrasing_of

    rows = [{"draft": d, "phrasing": phrasing_of(d.question, d.focus)} for d in drafts[:HISTORY_PAGE_SIZE]]
    return render_template("history/list.html", rows=rows, page=page, more=more, counts=history.counts(),
                           state=history_state())


@bp.get("/history/<int:draft_id>")
def history_entry(draft_id: int):
    refused = _gate()
    if refused is not None:
        return refused
    record = store().get_draft(draft_id)
    if record is None:
        return error_response(store().disabled_reason or f"There is no draft {draft_id} in the history (purged?).",
                              503 if store().disabled_reason else 404)
    return render_template("history/entry.html", record=record, reasons=REASONS,
                           form=feedback_form(record.id, record.sources),
                           max_chars=current_app.config["MAX_QUESTION_CHARS"])


# --------------------------------------------------------------------------- review

@bp.get("/review")
def review():
    refused = _gate()
    if refused is not None:
        return refused
    from kb.review import build_review

    queue = build_review(store(), current_kb().corpus)
    return render_template("history/review.html", review=queue, reasons=REASONS, csrf=csrf_token(),
                           state=history_state())


@bp.post("/review/propose")
def propose():
    """Turn a group into a content edit: phrasings of a snippet (a patch) or a new snippet (a file)."""
    refused = _gate()
    if refused is not None:
        return refused
    if not _csrf_ok():
        return error_response("This form has expired or did not come from this site: reload Review and try again.", 400)
    from kb.review import ReviewError, propose_phrasings, propose_snippet, save_proposal

    try:
        draft_ids = [int(x) for x in request.form.get("drafts", "").replace(" ", "").split(",") if x]
    except ValueError:
        return error_response("drafts must be draft numbers separated by commas", 400)
    action = request.form.get("action", "")
    content_dir = Path(current_app.config["CONTENT_DIR"])
    corpus = current_kb().corpus
    try:
        if action == "phrasings":
            proposal = propose_phrasings(store(), corpus, content_dir, draft_ids, request.form.get("snippet", ""))
        elif action == "new-snippet":
            proposal = propose_snippet(store(), corpus, content_dir, draft_ids)
        else:
            return error_response("choose 'phrasings' or 'new-snippet'", 400)
    except ReviewError as exc:
        return error_response(str(exc) + (f" ({exc.hint})" if exc.hint else ""), 400)
    write_error = None
    home = current_app.config.get("HOME_DIR")
    if home:
        try:
            save_proposal(proposal, Path(home))
        except OSError as exc:
            write_error = f"could not write it to {Path(home) / 'proposals'}: {exc.strerror or exc}"
    else:
        write_error = "no data folder is configured"
    return render_template("history/proposal.html", proposal=proposal, write_error=write_error)
