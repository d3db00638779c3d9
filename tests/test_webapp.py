"""The web app through Flask's test client: every page and endpoint, hostile input, headers, reloads.

The index is built once per session from the real ``content/`` (the fixtures below), so content
assertions (quorum, did-you-mean) test what users see.
"""
from __future__ import annotations

import doctest
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.index import build_index, read_current
from webapp import create_app
from webapp.holder import KbHolder
from conftest import REAL_CONTENT

CONTENT = REAL_CONTENT

# A question the knowledge base answers well, and one it does not cover.
GOOD_QUESTION = ("We have a two-node Windows Server 2012 R2 Hyper-V cluster. When one node reboots the whole "
                 "cluster goes down. Do I need a witness for quorum?")
OFF_TOPIC_QUESTION = "What is the best recipe for banana bread with walnuts?"


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def web_corpus(real_corpus):
    return real_corpus


@pytest.fixture(scope="session")
def web_index_dir(real_index_dir) -> Path:
    return real_index_dir  # read only here: the shipped content, built once for the whole session


@pytest.fixture(scope="session")
def app(web_index_dir):
    return create_app({"TESTING": True, "CONTENT_DIR": str(CONTENT), "INDEX_DIR": str(web_index_dir)})


@pytest.fixture
def client(app):
    return app.test_client()


def text_of(response) -> str:
    return response.get_data(as_text=True)


def assert_json_error(response, status: int) -> dict:
    """The one error shape of the API."""
    assert response.status_code == status, text_of(response)
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == {"ok", "error", "status"}
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    return body


# --------------------------------------------------------------------------- home, topics, glossary

def test_home_has_search_box_draft_form_and_topics_with_counts(client, web_corpus):
    r = client.get("/")
    html = text_of(r)
    assert r.status_code == 200
    assert re.search(r'<form[^>]+action="/search"[^>]+method="get"', html)
    assert re.search(r'<form[^>]+action="/answer"[^>]+method="post"', html)
    assert 'name="q"' in html and 'name="question"' in html
    for topic in web_corpus.topics.values():
        n = sum(1 for a in web_corpus.articles.values() if a.topic == topic.id)
        assert f'href="/topics#topic-{topic.id}"' in html
        assert f"{n} article{'' if n == 1 else 's'}" in html


def test_topics_page_lists_every_topic_with_its_articles(client, web_corpus):
    html = text_of(client.get("/topics"))
    for topic in web_corpus.topics.values():
        assert f'id="topic-{topic.id}"' in html
    for article in web_corpus.articles.values():
        assert f'href="/articles/{article.id}"' in html


def test_glossary_shows_terms_synonyms_and_definitions(client, web_corpus):
    r = client.get("/glossary")
    html = text_of(r)
    assert r.status_code == 200
    ic = web_corpus.glossary.lookup("IC")
    assert ic is not None
    assert ">IC</a>" in html
    assert "Integration Services" in html
    assert "make a VM Hyper-V aware" in html
    assert html.count('class="term"') == len(web_corpus.glossary.entries)


# --------------------------------------------------------------------------- search page

def test_api_search_corrects_typo_and_ranks_quorum_first(client):
    data = client.get("/api/search?q=quorom+witness").get_json()
    assert data["results"][0]["topic"] == "quorum"
    assert data["corrections"] == {"quorom": "quorum"}
    assert set(data) >= {"query", "results", "total", "page", "limit", "suggestion", "corrections", "expansions"}


def test_search_page_offers_did_you_mean_link(client):
    html = text_of(client.get("/search?q=quorom"))
    assert "Did you mean" in html
    assert 'href="/search?q=quorum"' in html


def test_search_page_keeps_query_and_shows_hits_with_badges_and_marks(client):
    r = client.get("/search?q=quorum+witness")
    html = text_of(r)
    assert r.status_code == 200
    assert 'value="quorum witness"' in html
    assert "<mark" in html                         # highlighted excerpts rendered as markup
    assert 'class="badge badge-article"' in html or 'class="badge badge-snippet"' in html
    assert 'class="badge badge-topic"' in html and ">quorum</a>" in html
    assert 'class="badge badge-version"' in html   # applies_to


def test_search_hit_links_point_at_sections_and_snippet_anchors(client):
    data = client.get("/api/search?q=witness&limit=20").get_json()
    html = text_of(client.get("/search?q=witness&limit=20"))
    snippets = [h for h in data["results"] if h["kind"] == "snippet"]
    sections = [h for h in data["results"] if h["kind"] == "article" and h["section"]]
    assert snippets and sections
    for h in snippets:
        assert f'href="/articles/{h["parent"]}#snippet-{h["id"]}"' in html
    for h in sections:
        assert f'href="/articles/{h["id"]}#{h["section"]}"' in html


@pytest.mark.parametrize("kind", ["article", "snippet"])
def test_search_kind_filter(client, kind):
    data = client.get(f"/api/search?q=cluster&kind={kind}").get_json()
    assert data["results"] and {h["kind"] for h in data["results"]} == {kind}
    html = text_of(client.get(f"/search?q=cluster&kind={kind}"))
    assert f'<option value="{kind}" selected>' in html


def test_search_topic_and_version_filters(client):
    data = client.get("/api/search?q=migration&topic=live-migration").get_json()
    assert data["results"] and {h["topic"] for h in data["results"]} == {"live-migration"}
    data = client.get("/api/search?q=quorum&version=Windows+Server+2008+R2&limit=50").get_json()
    assert data["results"]
    for h in data["results"]:
        assert not h["applies_to"] or "Windows Server 2008 R2" in h["applies_to"]
    html = text_of(client.get("/search?q=quorum&version=Windows+Server+2008+R2&topic=quorum"))
    assert '<option value="Windows Server 2008 R2" selected>' in html
    assert '<option value="quorum" selected>' in html


def test_search_pagination_links(client):
    first = client.get("/api/search?q=cluster&limit=3").get_json()
    assert first["total"] > 6
    html = text_of(client.get("/search?q=cluster&limit=3"))
    assert 'rel="next" href="/search?q=cluster&amp;page=2"' in html
    assert 'rel="prev"' not in html
    page2 = client.get("/api/search?q=cluster&limit=3&page=2").get_json()
    assert {h["id"] for h in page2["results"]}.isdisjoint({h["id"] for h in first["results"]})
    html2 = text_of(client.get("/search?q=cluster&limit=3&page=2"))
    assert 'rel="prev" href="/search?q=cluster"' in html2


def test_search_page_without_query_shows_the_form(client):
    r = client.get("/search")
    assert r.status_code == 200
    assert 'name="q"' in text_of(r) and "Type a few words" in text_of(r)


@pytest.mark.parametrize("url", ["/search?q=the+and+of", "/search?q=quorum&kind=bogus", "/search?q=quorum&page=abc",
                                 "/search?q=quorum&page=0", "/search?q=quorum&topic=no-such-topic",
                                 "/search?q=quorum&version=Windows+95", "/search?q=quorum&limit=" + "9" * 5000])
def test_search_page_bad_input_is_a_400_page_not_a_500(client, url):
    r = client.get(url)
    assert r.status_code == 400
    assert 'class="notice notice-error"' in text_of(r)
    assert 'name="q"' in text_of(r)


def test_search_escapes_markup_in_the_query(client):
    r = client.get("/search", query_string={"q": '<script>alert("x")</script> quorum'})
    html = text_of(r)
    assert r.status_code == 200
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    # A query that is only markup-ish punctuation is refused politely, still escaped.
    r = client.get("/search", query_string={"q": "<img src=x onerror=alert(1)>"})
    assert "<img src=x" not in text_of(r)


def test_search_handles_nul_bytes(client):
    assert client.get("/search?q=%00").status_code == 200          # nothing left: just the form
    r = client.get("/search?q=quorum%00witness")
    assert r.status_code == 200 and "\x00" not in text_of(r)
    assert_json_error(client.get("/api/search?q=%00"), 400)
    assert client.get("/api/search?q=quorum%00").get_json()["results"]


def test_search_invalid_utf8_in_query(client):
    assert client.get("/search?q=%ff%fe%fd").status_code in (200, 400)
    assert client.get("/api/search?q=quorum%ff").status_code == 200


def test_very_long_query_is_refused_with_413(client):
    long_q = "cluster " * 400  # 3,200 characters, over the 2,000 cap
    r = client.get("/search", query_string={"q": long_q})
    assert r.status_code == 413
    assert "Draft an answer" in text_of(r)
    assert_json_error(client.get("/api/search", query_string={"q": long_q}), 413)
    ok = client.get("/api/search", query_string={"q": "cluster quorum witness " * 80})  # 1,840 characters
    assert ok.status_code == 200 and ok.get_json()["results"]


_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(q=_ANY_TEXT, topic=_ANY_TEXT, kind=st.sampled_from(["", "article", "snippet", "x"]), version=_ANY_TEXT,
       page=st.one_of(st.just(""), st.integers(-5, 2000).map(str), _ANY_TEXT))
def test_search_never_fails_on_any_input(client, q, topic, kind, version, page):
    args = {"q": q, "topic": topic, "kind": kind, "version": version, "page": page}
    html = client.get("/search", query_string=args)
    assert html.status_code in (200, 400, 413)
    api = client.get("/api/search", query_string=args)
    assert api.status_code in (200, 400, 413)
    if api.status_code != 200:
        assert_json_error(api, api.status_code)


@_FUZZ
@given(question=st.text(max_size=400))
def test_answer_never_fails_on_any_text(client, question):
    assert client.post("/answer", data={"question": question}).status_code in (200, 400, 413)
    r = client.post("/api/answer", json={"question": question})
    assert r.status_code in (200, 400, 413)


# --------------------------------------------------------------------------- API search errors

@pytest.mark.parametrize("query", ["q=", "q=%20%20", "q=quorum&limit=0", "q=quorum&limit=101", "q=quorum&limit=abc",
                                   "q=quorum&limit=1e3", "q=quorum&limit=" + "1" * 50, "q=quorum&page=-1",
                                   "q=quorum&kind=both", "q=quorum&version=nonsense", "q=quorum&topic=%3Cscript%3E",
                                   "q=...!!!", ""])
def test_api_search_bad_input_is_json_400(client, query):
    assert_json_error(client.get("/api/search?" + query), 400)


def test_api_search_limit_and_page(client):
    data = client.get("/api/search?q=cluster&limit=2&page=2").get_json()
    assert data["limit"] == 2 and data["page"] == 2 and len(data["results"]) == 2


# --------------------------------------------------------------------------- articles

def test_article_page_renders_markdown_toc_snippets_and_metadata(client, web_corpus):
    article = web_corpus.articles["quorum"]
    r = client.get("/articles/quorum")
    html = text_of(r)
    assert r.status_code == 200
    assert "<h1>How do quorum" in html
    assert "<ul>" in html and "<li>" in html           # Markdown rendered, not shown raw
    assert "## Votes and majorities" not in html
    for s in article.sections:
        assert f'href="#{s.anchor}"' in html          # table of contents ...
        assert f'id="{s.anchor}"' in html             # ... pointing at rendered headings
    for s in web_corpus.snippets_of("quorum"):
        assert f'id="snippet-{s.id}"' in html
        assert s.questions[0].replace("'", "&#39;") in html
    assert f'datetime="{article.updated}"' in html
    assert "Windows Server 2012+" in html             # applies_to, shortened
    for rel in article.related:
        assert f'href="/articles/{rel}"' in html
    assert 'href="/topics#topic-quorum"' in html


def test_article_page_lists_its_public_references_as_external_links(client, web_corpus):
    with_refs = [a for a in web_corpus.articles.values() if a.references]
    assert with_refs
    for article in with_refs:
        html = text_of(client.get(f"/articles/{article.id}"))
        assert 'id="kb-references"' in html and 'href="#kb-references"' in html
        for ref in article.references:
            assert f'<a href="{ref.url}" rel="noopener noreferrer external">' in html, (article.id, ref.url)
    bare = [a for a in web_corpus.articles.values() if not a.references]
    for article in bare:
        assert 'id="kb-references"' not in text_of(client.get(f"/articles/{article.id}"))


def test_every_article_toc_anchor_exists_in_the_page(client, web_corpus):
    for article in web_corpus.articles.values():
        html = text_of(client.get(f"/articles/{article.id}"))
        ids = set(re.findall(r'\sid="([^"]+)"', html))
        missing = [s.anchor for s in article.sections if s.anchor not in ids]
        assert not missing, f"{article.id}: TOC anchors without a heading: {missing}"
        assert len(ids) == len(re.findall(r'\sid="', html)), f"{article.id}: duplicate ids"


def test_snippet_id_redirects_to_its_anchor_in_the_parent_article(client, web_corpus):
    snippet = web_corpus.snippets["quorum-two-node-witness"]
    r = client.get(f"/articles/{snippet.id}")
    assert r.status_code in (301, 302, 303, 307, 308)
    assert r.headers["Location"].endswith(f"/articles/{snippet.article}#snippet-{snippet.id}")


@pytest.mark.parametrize("path", ["/articles/no-such-article", "/articles/QUORUM", "/articles/quorum.md",
                                  "/articles/..%2F..%2Fetc%2Fpasswd", "/articles/%2e%2e", "/articles/../../etc/passwd",
                                  "/articles/%00", "/articles/quorum%00", "/articles/" + "a" * 5000,
                                  "/articles/%3Cscript%3Ealert(1)%3C%2Fscript%3E"])
def test_unknown_or_hostile_article_ids_get_the_404_page(client, path):
    r = client.get(path)
    assert r.status_code == 404
    html = text_of(r)
    assert "Page not found" in html and 'name="q"' in html     # the 404 page offers a search box
    assert "<script>alert" not in html and "root:" not in html


@pytest.mark.parametrize("path", ["/api/articles/no-such-article", "/api/articles/..%2F..%2Fetc%2Fpasswd",
                                  "/api/articles/%00", "/api/articles/%3Cscript%3E", "/api/nothing-here", "/api"])
def test_api_unknown_ids_and_routes_are_json_404(client, path):
    assert_json_error(client.get(path), 404)


def test_api_article_has_its_snippets(client, web_corpus):
    data = client.get("/api/articles/quorum").get_json()
    assert data["id"] == "quorum" and data["kind"] == "article"
    assert {s["id"] for s in data["snippets"]} == {s.id for s in web_corpus.snippets_of("quorum")}
    assert [s["anchor"] for s in data["sections"]] == [s.anchor for s in web_corpus.articles["quorum"].sections]
    snip = client.get("/api/articles/quorum-two-node-witness").get_json()
    assert snip["kind"] == "snippet" and snip["article"] == "quorum"


# --------------------------------------------------------------------------- draft an answer

def test_answer_get_shows_a_plain_form(client):
    r = client.get("/answer")
    html = text_of(r)
    assert r.status_code == 200
    assert re.search(r'<form[^>]+action="/answer"[^>]+method="post"', html)
    assert 'name="question"' in html and "Confidence" not in html


def test_answer_post_shows_draft_confidence_facts_and_sources(client):
    r = client.post("/answer", data={"question": GOOD_QUESTION})
    html = text_of(r)
    assert r.status_code == 200
    draft = client.post("/api/answer", json={"question": GOOD_QUESTION}).get_json()
    assert re.search(r'<textarea id="draft-md"[^>]*>', html)             # editable draft
    assert draft["draft"].splitlines()[0] in html
    assert f"{round(draft['confidence'] * 100)}%" in html                 # confidence, plainly
    assert 'data-copy="draft-md"' in html and 'data-copy="draft-plain"' in html
    assert "Windows Server 2012 R2" in html                             # detected facts
    assert draft["sources"]
    for s in draft["sources"][:3]:
        assert f'href="/articles/' in html and s["title"].replace("'", "&#39;") in html
    assert 'class="prose preview-body"' in html                          # rendered preview
    # The question is kept in its box for another try.
    assert "two-node Windows Server 2012 R2" in html


def test_answer_low_confidence_is_shown_not_hidden(client):
    data = client.post("/api/answer", json={"question": OFF_TOPIC_QUESTION}).get_json()
    assert data["answerable"] is False
    html = text_of(client.post("/answer", data={"question": OFF_TOPIC_QUESTION}))
    assert "low confidence: check before posting" in html.lower()
    assert "confidence-low" in html
    for q in data["clarifying_questions"]:
        assert q.replace("'", "&#39;") in html


def test_answer_escapes_markup_in_the_question(client):
    question = GOOD_QUESTION + ' <script>alert("pwned")</script> <img src=x onerror=alert(2)>'
    html = text_of(client.post("/answer", data={"question": question}))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html or "alert(" not in html


@pytest.mark.parametrize("question", ["", "   ", "\x00\x00", "\u200b"])
def test_answer_empty_question_is_a_400_page(client, question):
    r = client.post("/answer", data={"question": question})
    assert r.status_code == 400
    assert 'class="notice notice-error"' in text_of(r) and 'name="question"' in text_of(r)


def test_answer_missing_field_is_a_400_page(client):
    assert client.post("/answer", data={}).status_code == 400


def test_answer_over_the_character_cap_is_413(client):
    r = client.post("/answer", data={"question": "cluster " * 4000})   # 32,000 characters, under 64 KiB
    assert r.status_code == 413
    assert "20,000" in text_of(r)
    assert_json_error(client.post("/api/answer", json={"question": "cluster " * 4000}), 413)


def test_one_megabyte_bodies_are_413(client):
    big = "a" * (1 << 20)
    r = client.post("/answer", data={"question": big})
    assert r.status_code == 413 and "text/html" in r.content_type
    assert "too much text" in text_of(r).lower()
    assert_json_error(client.post("/api/answer", json={"question": big}), 413)
    assert_json_error(client.post("/api/answer", data=big, content_type="text/plain"), 413)
    assert client.get("/", data=big).status_code == 413


def test_head_answer_is_the_form_not_a_draft(client, monkeypatch):
    """HEAD behaves as GET (issue 13, fault 10): no draft is computed, the status is the form's."""
    import kb.answer

    def no_draft(*args, **kwargs):
        raise AssertionError("HEAD /answer drafted an answer")

    monkeypatch.setattr(kb.answer, "answer_question", no_draft)
    get = client.get("/answer")
    for r in (client.head("/answer"), client.head("/answer", data={"question": GOOD_QUESTION})):
        assert r.status_code == 200 == get.status_code
        assert r.content_type == get.content_type and r.get_data() == b""


def test_api_answer_returns_the_draft_dict(client):
    r = client.post("/api/answer", json={"question": GOOD_QUESTION, "id": "q-1"})
    data = r.get_json()
    assert r.status_code == 200
    assert set(data) >= {"id", "answerable", "confidence", "draft", "text", "sources", "clarifying_questions",
                         "detected"}
    assert data["id"] == "q-1"
    assert 0.0 <= data["confidence"] <= 1.0
    assert data["sources"] and data["sources"][0]["topic"] == "quorum"


@pytest.mark.parametrize("body", ['{"question": 42}', '{"question": ["quorum"]}', '{"question": null}',
                                  '{"question": {"text": "quorum"}}', '{"question": true}', '{"q": "quorum"}', "{}",
                                  '["quorum"]', '"quorum"', "42", "null", '{"question": "quorum", "id": [1]}',
                                  '{"question": ""}', '{"question": "\\u0000"}'])
def test_api_answer_wrong_json_is_400(client, body):
    assert_json_error(client.post("/api/answer", data=body, content_type="application/json"), 400)


@pytest.mark.parametrize("body, content_type", [("{bad json", "application/json"), ('{"question": "x"', "application/json"),
                                                (b"\xff\xfe\x00", "application/json"),
                                                ('{"question": "quorum"}', "text/plain"),
                                                ("question=quorum", "application/x-www-form-urlencoded"),
                                                ("", "application/json")])
def test_api_answer_not_json_is_400(client, body, content_type):
    assert_json_error(client.post("/api/answer", data=body, content_type=content_type), 400)


@pytest.mark.parametrize("body", ["[" * 2000 + "]" * 2000, '{"question": ' + "[" * 1000 + "]" * 1000 + "}",
                                  '{"a":' * 2000 + "1" + "}" * 2000, "[" * 100_000])
def test_api_answer_deeply_nested_json_is_400_not_500(client, body):
    """2 KB of brackets overflow the JSON parser's recursion (issue 13, fault 8): a clear 400, no traceback."""
    body = body[:60_000]  # under MAX_CONTENT_LENGTH: the parser must see it, not the 413 check
    error = assert_json_error(client.post("/api/answer", data=body, content_type="application/json"), 400)["error"]
    assert "nested too deeply" in error


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_api_wrong_method_is_json_405(client, method):
    r = getattr(client, method)("/api/answer")
    assert_json_error(r, 405)
    assert "POST" in r.headers["Allow"]
    assert_json_error(getattr(client, method if method != "get" else "post")("/api/search?q=quorum"), 405)


def test_html_wrong_method_is_405_page(client):
    r = client.post("/search?q=quorum")
    assert r.status_code == 405 and "text/html" in r.content_type
    assert client.delete("/articles/quorum").status_code == 405
    assert "GET" in client.put("/").headers["Allow"]


# --------------------------------------------------------------------------- health, errors, headers

def test_healthz_reports_build_and_documents(client, web_index_dir):
    data = client.get("/healthz").get_json()
    assert data["ok"] is True
    assert data["build"] == read_current(web_index_dir)
    assert data["documents"] > 100


def test_unknown_page_is_404_with_a_search_box(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert 'name="q"' in text_of(r) and "text/html" in r.content_type


@pytest.mark.parametrize("path", ["/", "/search?q=quorum", "/articles/quorum", "/answer", "/topics", "/glossary",
                                  "/no-such-page", "/api/search?q=quorum", "/api/nothing", "/healthz",
                                  "/static/style.css", "/static/app.js"])
def test_security_headers_everywhere(client, path):
    r = client.get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"]


@pytest.mark.parametrize("path", ["/", "/search?q=quorum", "/articles/quorum", "/answer", "/topics", "/glossary",
                                  "/no-such-page"])
def test_pages_have_no_inline_script_style_or_external_assets(client, path):
    html = text_of(client.get(path))
    assert not re.search(r"<script(?![^>]*\ssrc=)", html), "inline <script> blocked by the CSP"
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    # Nothing is loaded from elsewhere; only plain links (an article's public sources) lead out.
    assert not re.search(r'src="(https?:)?//', html), "external asset"
    assert not re.search(r'<link[^>]+href="(https?:)?//', html), "external stylesheet"
    for a in re.findall(r'<a [^>]*href="(?:https?:)?//[^>]*>', html):
        assert 'rel="noopener noreferrer external"' in a, a


def test_answer_page_has_no_inline_code_either(client):
    html = text_of(client.post("/answer", data={"question": GOOD_QUESTION}))
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html)


def test_works_without_javascript(client):
    """Forms are plain GET/POST; the JS-only copy buttons start hidden."""
    html = text_of(client.post("/answer", data={"question": GOOD_QUESTION}))
    for button in re.findall(r"<button[^>]*data-copy[^>]*>", html):
        assert " hidden" in button
    assert '<script src="/static/app.js" defer></script>' in html
    static = client.get("/static/app.js")
    assert static.status_code == 200 and "javascript" in static.content_type
    assert "/api/search" in text_of(static)


@pytest.mark.parametrize("method, path, kwargs", [
    ("get", "/answer", {}),
    ("post", "/answer", {"data": {"question": GOOD_QUESTION}}),
    ("post", "/answer", {"data": {"question": ""}}),                          # the 400 page echoes it too
    ("post", "/api/answer", {"json": {"question": GOOD_QUESTION}}),
    ("post", "/api/answer", {"json": {"question": "x" * 30_000}}),              # an error that names its size
    ("get", "/api/search?q=quorum", {}),
    ("get", "/api/articles/quorum", {}),
    ("get", "/api/articles/nope", {}),
    ("get", "/healthz", {}),
])
def test_drafts_and_api_answers_are_not_stored(client, method, path, kwargs):
    """A draft echoes the pasted question; no cache (browser or proxy) may keep it (issue 13, fault 13)."""
    r = getattr(client, method)(path, **kwargs)
    assert r.headers.get("Cache-Control") == "no-store", (path, r.status_code, r.headers.get("Cache-Control"))


@pytest.mark.parametrize("path", ["/static/style.css", "/static/app.js"])
def test_static_files_are_cached_for_an_hour(client, path):
    r = client.get(path)
    assert r.status_code == 200
    directives = {d.strip() for d in r.headers.get("Cache-Control", "").split(",")}
    assert directives == {"public", "max-age=3600"}, r.headers.get("Cache-Control")
    r.close()


def test_huge_headers_are_harmless(client):
    r = client.get("/search?q=quorum", headers={"X-Padding": "x" * 200_000, "Accept-Language": "q" * 50_000,
                                                "Referer": "https://evil.example/" + "a" * 50_000})
    assert r.status_code == 200


def test_every_api_error_has_one_shape(client):
    """A shape test across the /api routes (and /healthz's blueprint)."""
    cases = [
        (client.get("/api/search?q="), 400),
        (client.get("/api/search?q=" + "x" * 2500), 413),
        (client.get("/api/articles/nope"), 404),
        (client.get("/api/answer"), 405),
        (client.post("/api/answer", data="[]", content_type="application/json"), 400),
        (client.post("/api/answer", json={"question": "x" * 30_000}), 413),
        (client.get("/api/does-not-exist"), 404),
    ]
    for response, status in cases:
        assert_json_error(response, status)


# --------------------------------------------------------------------------- the index: lazy, reloaded, missing

def test_index_is_opened_lazily_and_built_on_first_request(tmp_path):
    index_dir = tmp_path / "index"
    app = create_app({"TESTING": True, "CONTENT_DIR": str(CONTENT), "INDEX_DIR": str(index_dir)})
    assert read_current(index_dir) is None            # create_app did not build anything
    assert app.extensions["kb"].build is None
    assert app.test_client().get("/healthz").get_json()["ok"] is True
    assert read_current(index_dir) is not None


def test_rebuilt_index_is_picked_up_without_restart(tmp_path, web_corpus):
    index_dir = tmp_path / "index"
    build_index(web_corpus, index_dir)
    app = create_app({"TESTING": True, "CONTENT_DIR": str(CONTENT), "INDEX_DIR": str(index_dir),
                      "INDEX_RECHECK_SECONDS": 0.0})
    client = app.test_client()
    first = client.get("/healthz").get_json()["build"]
    old = app.extensions["kb"].get()
    build_index(web_corpus, index_dir)                 # what `hvkb build` does while the server runs
    second = client.get("/healthz").get_json()["build"]
    assert second != first and second == read_current(index_dir)
    assert app.extensions["kb"].get() is not old
    # A request still holding the old object can keep searching it.
    from kb.searching import search
    assert search(old, "quorum witness").hits


def test_holder_checks_for_a_rebuild_at_most_once_per_interval(tmp_path, web_corpus):
    index_dir = tmp_path / "index"
    build_index(web_corpus, index_dir)
    now = [100.0]
    holder = KbHolder(CONTENT, index_dir, recheck_seconds=1.0, clock=lambda: now[0])
    first = holder.get()
    build_index(web_corpus, index_dir)
    now[0] += 0.5
    assert holder.get() is first                       # within the interval: no look at CURRENT
    now[0] += 0.6
    second = holder.get()
    assert second is not first and holder.build == read_current(index_dir)


def test_holder_keeps_the_old_index_when_the_new_build_is_broken(tmp_path, web_corpus):
    index_dir = tmp_path / "index"
    build_index(web_corpus, index_dir)
    now = [0.0]
    holder = KbHolder(CONTENT, index_dir, recheck_seconds=1.0, clock=lambda: now[0])
    first = holder.get()
    (index_dir / "CURRENT").write_text("build-does-not-exist\n", encoding="utf-8")
    now[0] += 5
    assert holder.get() is first


def test_unusable_index_is_503_page_and_json(tmp_path):
    content = tmp_path / "content"
    content.mkdir()                                   # no topics.yaml, nothing: content does not validate
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INDEX_DIR": str(tmp_path / "index")})
    client = app.test_client()
    r = client.get("/")
    assert r.status_code == 503 and "not available" in text_of(r)
    assert_json_error(client.get("/api/search?q=quorum"), 503)
    assert_json_error(client.get("/healthz"), 503)
    # Pages that need no index still work.
    assert client.get("/static/style.css").status_code == 200


def test_index_built_from_a_copy_of_the_content(tmp_path, web_corpus):
    """CONTENT_DIR and INDEX_DIR come from the config, not from the defaults."""
    content = shutil.copytree(CONTENT, tmp_path / "content")
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INDEX_DIR": str(tmp_path / "index")})
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    data = app.test_client().get("/api/search?q=quorum").get_json()
    assert data["results"][0]["topic"] == "quorum"


def test_display_and_params_doctests():
    import webapp.display
    import webapp.errors
    import webapp.params

    for module in (webapp.display, webapp.params, webapp.errors):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__


# --- issue 14: web

def _hit_blocks(html: str) -> list[str]:
    return re.findall(r'<li class="hit">(.*?)</li>', html, flags=re.S)


def _versions_in(block: str) -> tuple[str, ...]:
    return tuple(re.findall(r'<span class="badge badge-version">([^<]*)</span>', block))


def test_snippet_hits_show_their_title_and_the_phrasing_that_matched(client, web_corpus):
    snippet = web_corpus.snippets["storage-spaces-direct-two-node-witness"]
    asked = "2 node s2d witness options"
    assert asked in snippet.questions and snippet.title != asked
    blocks = _hit_blocks(text_of(client.get("/search", query_string={"q": asked})))
    mine = next(b for b in blocks if f"#snippet-{snippet.id}" in b)
    assert f">{snippet.title}</a>" in mine
    assert f'<p class="hit-matched"><span class="label">Asked as</span> <q>{asked}</q></p>' in mine
    # Every snippet hit is headed by its own title (sentence-cased when it has none) and, when a
    # phrasing matched, shows one of its own questions.
    for block in _hit_blocks(text_of(client.get("/search?q=witness+two+node+cluster&limit=30"))):
        doc_id = re.search(r'#snippet-([a-z0-9-]+)"', block)
        if not doc_id:
            continue
        s = web_corpus.snippets[doc_id.group(1)]
        title = re.search(r'class="hit-title"[^>]*>([^<]*)', block).group(1).strip()
        assert title.casefold() == s.title.casefold() and title[:1] == title[:1].upper(), (s.id, title)
        matched = re.search(r"<q>(.*?)</q>", block)
        if matched:
            from html import unescape
            assert unescape(matched.group(1)) in s.questions


def test_search_shows_the_common_version_set_once(client):
    html = text_of(client.get("/search?q=quorum+witness"))
    common = re.search(r'<p class="common-versions">(.*?)</p>', html, flags=re.S)
    assert common, "the versions most hits share are shown above the list"
    shared = _versions_in(common.group(1))
    assert shared and html.count(f'<span class="badge badge-version">{shared[0]}</span>') >= 1
    shown = [_versions_in(b) for b in _hit_blocks(html)]
    assert len(shown) >= 5
    assert shared not in shown, "a hit with the common set repeats no badges"
    assert any(shown), "a hit with other versions still shows them"


def test_page_past_the_last_says_so_and_links_to_the_last_page(client):
    total = client.get("/api/search?q=quorum&limit=10").get_json()["total"]
    last = -(-total // 10)
    r = client.get("/search?q=quorum&page=50")
    html = text_of(r)
    assert r.status_code == 200
    assert "past the last page" in html and "Try fewer" not in html
    assert f'rel="last" href="/search?q=quorum&amp;page={last}"' in html
    assert "Page 50 of" not in html  # no pagination bar pointing at page 49
    # A query with no results at all still gets the old advice.
    assert "Try fewer or other words" in text_of(client.get("/search?q=zzzzqqqq+xxyyzz"))
