"""HTML pages: home, search, articles, answer drafts, topics and glossary.

Every page works with JavaScript off: plain links and GET/POST forms. ``static/app.js`` only adds
search-as-you-type and copy buttons.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from kb.errors import InputTooLargeError, QueryError, UnknownDocumentError
from kb.text import slugify
from kb.versions import ALL_VERSIONS
from webapp.display import hit_rows
from webapp.errors import kb_status
from webapp.history_views import record_draft, record_search
from webapp.holder import current_kb
from webapp.params import ID_RE, SearchParams, clean_text, run_search, search_params

bp = Blueprint("views", __name__)


@bp.app_template_global()
def doc_url(kind: str, doc_id: str, section: str | None = None, parent: str | None = None) -> str:
    """Link to a hit or source: an article (at its section) or a snippet's anchor in its article."""
    if kind == "snippet":
        if parent is None:
            snippet = current_kb().corpus.snippets.get(doc_id)
            parent = snippet.article if snippet else None
        if parent:
            return url_for("views.article", doc_id=parent, _anchor=f"snippet-{doc_id}")
    return url_for("views.article", doc_id=doc_id, _anchor=section or None)


def _topic_rows(corpus) -> list[dict]:
    """Each topic with its articles, in the order of topics.yaml."""
    by_topic: dict[str, list] = {t: [] for t in corpus.topics}
    for article in corpus.articles.values():
        by_topic.setdefault(article.topic, []).append(article)
    return [{"topic": t, "articles": sorted(by_topic.get(t.id, []), key=lambda a: a.title.casefold()),
             "snippets": sum(len(corpus.snippets_of(a.id)) for a in by_topic.get(t.id, []))}
            for t in corpus.topics.values()]


@bp.get("/")
def index():
    corpus = current_kb().corpus
    return render_template("views/index.html", topics=_topic_rows(corpus), params=SearchParams(),
                           articles=len(corpus.articles), snippets=len(corpus.snippets))


@bp.get("/search")
def search():
    kb_index = current_kb()
    topics = list(kb_index.corpus.topics.values())
    context = {"topics": topics, "topic_titles": {t.id: t.title for t in topics}, "versions": ALL_VERSIONS,
               "result": None, "error": None}
    try:
        params = search_params(request.args, current_app.config["SEARCH_LIMIT"],
                               current_app.config["MAX_QUERY_CHARS"])
    except (QueryError, InputTooLargeError) as exc:
        raw = SearchParams(q=clean_text(request.args.get("q"))[:current_app.config["MAX_QUERY_CHARS"]])
        return render_template("views/search.html", params=raw, **{**context, "error": str(exc)}), kb_status(exc)
    if not params.q:
        return render_template("views/search.html", params=params, **context)
    try:
        result = run_search(kb_index, params)
    except QueryError as exc:
        return render_template("views/search.html", params=params, **{**context, "error": str(exc)}), 400
    if params.page == 1:  # the next pages of one search are not searches of their own
        record_search(params.q, result.total, "web")
    rows, common_versions = hit_rows(result.hits, kb_index.corpus, result.query, result.corrections)
    last_page = max(1, -(-result.total // result.limit))
    return render_template("views/search.html", params=params, **{**context, "result": result}, rows=rows,
                           common_versions=common_versions, last_page=last_page)


@bp.get("/articles/<doc_id>")
def article(doc_id: str):
    if not ID_RE.match(doc_id):
        abort(404)
    corpus = current_kb().corpus
    doc = corpus.get(doc_id)
    if doc is None:
        raise UnknownDocumentError(doc_id)
    if doc.kind == "snippet":
        return redirect(url_for("views.article", doc_id=doc.article, _anchor=f"snippet-{doc.id}"))
    related = [corpus.articles[r] for r in doc.related if r in corpus.articles]
    return render_template("views/article.html", article=doc, topic=corpus.topics.get(doc.topic),
                           snippets=corpus.snippets_of(doc.id), related=related, params=SearchParams())


@bp.route("/answer", methods=["GET", "POST"])
def answer():
    """The draft-an-answer form and its result.

    With history on, the draft is kept (:func:`webapp.history_views.record_draft`) only when the form
    carries this session's CSRF token: a forged cross-site POST gets a draft but stores nothing.
    """
    max_chars = current_app.config["MAX_QUESTION_CHARS"]
    if request.method != "POST":  # GET, and HEAD (which Flask adds to GET routes): the empty form, never a draft
        return render_template("views/answer.html", question="", draft=None, error=None, max_chars=max_chars)
    question = request.form.get("question", "")
    from kb.answer import answer_question  # imported on use: drafting loads more than searching

    try:
        draft = answer_question(current_kb(), question, max_chars=max_chars,
                                base_url=current_app.config["PUBLIC_BASE_URL"])
    except (QueryError, InputTooLargeError) as exc:
        return render_template("views/answer.html", question=question, draft=None, error=str(exc),
                               max_chars=max_chars), kb_status(exc)
    data = draft.to_dict()
    return render_template("views/answer.html", question=question, draft=data, error=None, max_chars=max_chars,
                           draft_id=record_draft(question, data, "web"))


@bp.get("/topics")
def topics():
    corpus = current_kb().corpus
    return render_template("views/topics.html", topics=_topic_rows(corpus), params=SearchParams())


@bp.get("/glossary")
def glossary():
    entries = sorted(current_kb().corpus.glossary.entries, key=lambda e: e.term.casefold())
    groups: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for e in entries:
        anchor = base = slugify(e.term) or "term"
        n = 1
        while anchor in seen:  # "VM bus" and "VMBus" must not share an anchor
            n += 1
            anchor = f"{base}-{n}"
        seen.add(anchor)
        first = e.term[:1].upper()
        letter = first if "A" <= first <= "Z" else "#"
        groups.setdefault(letter, []).append({"entry": e, "anchor": anchor})
    return render_template("views/glossary.html", groups=groups, count=len(entries), params=SearchParams())
