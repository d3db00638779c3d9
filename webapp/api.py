"""The JSON API under /api, plus /healthz. Bodies are the models' own ``to_dict()``.

Errors (from :mod:`webapp.errors`) are ``{"ok": false, "error": "...", "status": N}``.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from kb.errors import QueryError, UnknownDocumentError
from webapp.history_views import record_draft, record_search
from webapp.holder import current_kb
from webapp.params import ID_RE, run_search, search_params

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)


@bp.get("/search")
def search():
    """``GET /api/search?q=&limit=&topic=&kind=&version=&page=`` -> the SearchResult dict."""
    params = search_params(request.args, current_app.config["SEARCH_LIMIT"], current_app.config["MAX_QUERY_CHARS"])
    result = run_search(current_kb(), params)
    if params.page == 1:
        record_search(params.q, result.total, "api")
    return jsonify(result.to_dict())


@bp.post("/answer")
def answer():
    """``POST /api/answer`` with ``{"question": "...", "id": optional}`` -> the Draft dict.

    With history on, the draft is kept. No CSRF token: a page on another site cannot send a JSON
    body (its Content-Type needs a CORS preflight this app never grants).
    """
    try:
        payload = request.get_json(silent=True) if request.is_json else None
    except RecursionError:  # silent=True only covers ValueError; a few KB of brackets overflow the parser
        raise QueryError('the JSON is nested too deeply; send a flat object like {"question": "..."}') from None
    if not isinstance(payload, dict):
        raise QueryError('send a JSON object like {"question": "..."} with Content-Type: application/json')
    if "question" not in payload:
        raise QueryError("'question' is required")
    question = payload["question"]
    if not isinstance(question, str):
        raise QueryError("'question' must be text")
    question_id = payload.get("id")
    if question_id is not None and (isinstance(question_id, bool) or not isinstance(question_id, (str, int))):
        raise QueryError("'id' must be text or a number")
    from kb.answer import answer_question  # imported on use: drafting loads more than searching

    draft = answer_question(current_kb(), question, question_id=question_id,
                            max_chars=current_app.config["MAX_QUESTION_CHARS"],
                            base_url=current_app.config["PUBLIC_BASE_URL"])
    data = draft.to_dict()
    record_draft(question, data, "api")
    return jsonify(data)


@bp.get("/articles/<doc_id>")
def article(doc_id: str):
    """``GET /api/articles/<id>`` -> the article dict with its snippets (or a snippet's dict)."""
    if not ID_RE.match(doc_id):
        raise UnknownDocumentError(doc_id[:100])
    corpus = current_kb().corpus
    doc = corpus.get(doc_id)
    if doc is None:
        raise UnknownDocumentError(doc_id)
    data = doc.to_dict()
    if doc.kind == "article":
        data["snippets"] = [s.to_dict() for s in corpus.snippets_of(doc.id)]
    return jsonify(data)


@health.get("/healthz")
def healthz():
    """``GET /healthz`` -> ``{"ok": true, "build": ..., "documents": ...}`` (503 JSON when the index is unusable)."""
    kb_index = current_kb()
    return jsonify({"ok": True, "build": kb_index.path.name, "documents": kb_index.manifest.get("documents"),
                    "articles": len(kb_index.corpus.articles), "snippets": len(kb_index.corpus.snippets)})
