"""History, feedback and review in the web app: CSRF, the loopback / admin-token gate, the feedback rate
limit, escaping of stored text, history off, and which drafts and searches are kept."""
from __future__ import annotations

import re

import pytest

from webapp import create_app
from webapp.history_views import RateLimiter
from conftest import REAL_CONTENT

QUESTION = ("We have a two-node Windows Server 2012 R2 Hyper-V cluster. When one node reboots the whole "
            "cluster goes down. Do I need a witness for quorum?")
REMOTE = {"REMOTE_ADDR": "203.0.113.7"}


def make_app(home, index_dir, **config):
    return create_app({"TESTING": True, "CONTENT_DIR": str(REAL_CONTENT), "INDEX_DIR": str(index_dir),
                       "HOME_DIR": str(home), **config})


@pytest.fixture
def app(tmp_path, real_index_dir):
    app = make_app(tmp_path / "home", real_index_dir)
    yield app
    app.extensions["history"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def _field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no {name} field"
    return m.group(1)


def draft(client, question: str = QUESTION) -> tuple[str, str, str]:
    """Draft through the form, as a browser does: ``(csrf token, draft token, page)``."""
    token = _field(client.get("/answer").get_data(as_text=True), "csrf_token")
    r = client.post("/answer", data={"question": question, "csrf_token": token})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    return token, _field(html, "draft"), html


def remote_client(app):
    client = app.test_client()
    client.environ_base.update(REMOTE)
    return client


def history_of(app):
    return app.extensions["history"]


# --------------------------------------------------------------------------- the draft page

def test_the_draft_page_keeps_the_draft_says_so_and_asks_for_feedback(app, client, tmp_path):
    _, _, html = draft(client)
    assert "History is on" in html and "--no-history" in html and "HVKB_HISTORY=off" in html
    assert "Was this draft right?" in html and "static/feedback.js" in html
    for label in ("Wrong subject", "Wrong fact", "Outdated for my version", "Missing step", "Other"):
        assert label in html
    (record,) = history_of(app).list_drafts()
    assert record.question == QUESTION and record.origin == "web" and record.build.startswith("build-")
    assert record.top_source and record.draft and record.facts
    assert 'href="/history"' in html and 'href="/review"' in html  # this machine: the pages are linked


def test_a_draft_posted_without_the_csrf_token_is_made_but_not_kept(app, client):
    r = client.post("/answer", data={"question": QUESTION})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="draft-md"' in html
    assert "Was this draft right?" not in html
    assert history_of(app).counts()["drafts"] == 0


def test_api_drafts_and_searches_are_kept_but_not_search_as_you_type_or_later_pages(app, client):
    assert client.post("/api/answer", json={"question": QUESTION}).status_code == 200
    client.get("/api/search?q=quorom+witness")
    client.get("/api/search?q=quor", headers={"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"})
    client.get("/search?q=qqxzv+vvqxz")
    client.get("/search?q=quorum&page=2")
    history = history_of(app)
    (record,) = history.list_drafts()
    assert record.origin == "api"
    assert [s["query"] for s in history.no_result_searches()] == ["qqxzv vvqxz"]
    assert history.counts()["searches"] == 2


# --------------------------------------------------------------------------- feedback

def test_feedback_is_stored_with_its_reason_note_and_snippet(app, client):
    token, signed, _ = draft(client)
    r = client.post("/feedback", data={"csrf_token": token, "draft": signed, "verdict": "down",
                                       "reason": "missing-step", "note": "forgot the cloud witness",
                                       "snippet": "quorum-two-node-witness"})
    assert r.status_code == 200 and "Thanks: marked as wrong" in r.get_data(as_text=True)
    (record,) = history_of(app).list_drafts()
    (fb,) = record.feedback
    assert (fb.verdict, fb.reason, fb.note, fb.snippet_id) == ("down", "missing-step", "forgot the cloud witness",
                                                             "quorum-two-node-witness")


def test_feedback_from_javascript_gets_json(client):
    token, signed, _ = draft(client)
    r = client.post("/feedback", data={"csrf_token": token, "draft": signed, "verdict": "up"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["ok"] is True and "marked as right" in r.get_json()["message"]
    r = client.post("/feedback", data={"csrf_token": token, "draft": signed, "verdict": "down"},
                    headers={"Accept": "application/json"})
    body = r.get_json()
    assert r.status_code == 400 and body == {"ok": False, "error": body["error"], "status": 400}
    assert "say what was wrong" in body["error"]


@pytest.mark.parametrize("change", [
    {"csrf_token": None},              # no token
    {"csrf_token": "forged"},          # a token of no session
])
def test_feedback_without_a_valid_csrf_token_is_refused(app, client, change):
    token, signed, _ = draft(client)
    data = {"csrf_token": token, "draft": signed, "verdict": "up", **change}
    r = client.post("/feedback", data={k: v for k, v in data.items() if v is not None})
    assert r.status_code == 400 and "did not come from this site" in r.get_data(as_text=True)
    assert history_of(app).counts()["feedback"] == 0


def test_feedback_from_another_browser_session_is_refused(app, client):
    _, signed, _ = draft(client)
    other = app.test_client()
    other_token, _, _ = draft(other, "Can I delete the avhdx files?")
    altered = ("y" if other_token[0] == "x" else "x") + other_token[1:]   # one character off, never the same
    r = other.post("/feedback", data={"csrf_token": altered, "draft": signed, "verdict": "up"})
    assert r.status_code == 400
    r = client.post("/feedback", data={"csrf_token": other_token, "draft": signed, "verdict": "up"})
    assert r.status_code == 400  # the other session's token is not this session's
    assert history_of(app).counts()["feedback"] == 0


def test_feedback_on_a_draft_not_signed_by_this_server_is_refused(app, client):
    token, _, _ = draft(client)
    r = client.post("/feedback", data={"csrf_token": token, "draft": "1", "verdict": "up"})
    assert r.status_code == 400 and "not one this server made" in r.get_data(as_text=True)


def test_feedback_is_rate_limited_per_client(tmp_path, real_index_dir):
    app = make_app(tmp_path / "home", real_index_dir, FEEDBACK_BURST=2, FEEDBACK_PER_MINUTE=1)
    client = app.test_client()
    token, signed, _ = draft(client)
    data = {"csrf_token": token, "draft": signed, "verdict": "up"}
    assert [client.post("/feedback", data=data).status_code for _ in range(3)] == [200, 200, 429]
    r = client.post("/feedback", data=data)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too much feedback" in r.get_data(as_text=True)
    assert client.post("/feedback", data=data, environ_base={"REMOTE_ADDR": "127.0.0.2"}).status_code == 200
    assert history_of(app).counts()["feedback"] == 3


def test_rate_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=2, clock=lambda: now[0], max_clients=3)
    assert [limiter.allow("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.allow("a") == pytest.approx(10.0)
    now[0] += 10
    assert limiter.allow("a") == 0.0 and limiter.allow("a") > 0
    for c in "bcde":  # more clients than it remembers: the least limited are forgotten, not the busy one
        limiter.allow(c)
    assert len(limiter._buckets) <= 3 and limiter.allow("a") > 0


# --------------------------------------------------------------------------- the gate

@pytest.mark.parametrize("path", ["/history", "/history/1", "/review"])
def test_history_and_review_answer_only_this_machine(client, path):
    draft(client)
    assert client.get(path).status_code == 200
    r = client.get(path, environ_base=REMOTE)
    assert r.status_code == 403 and "only from the machine hvkb runs on" in r.get_data(as_text=True)
    # Behind a proxy on this machine every client would look local: a forwarded request is not.
    assert client.get(path, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    assert client.get(path, environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}).status_code == 200


def test_the_admin_token_opens_history_and_review_from_elsewhere(tmp_path, real_index_dir):
    app = make_app(tmp_path / "home", real_index_dir, ADMIN_TOKEN="s3cret-token")
    client = remote_client(app)
    assert client.get("/review").status_code == 403
    assert "need the admin token" in client.get("/review").get_data(as_text=True)
    assert client.get("/review", headers={"X-HVKB-Admin-Token": "wrong"}).status_code == 403
    assert client.get("/review", headers={"X-HVKB-Admin-Token": "s3cret-token"}).status_code == 200
    assert client.get("/review?token=s3cret-token-but-longer").status_code == 403
    r = client.get("/history?token=s3cret-token")
    assert r.status_code == 303 and "token" not in r.headers["Location"]
    assert client.get("/history").status_code == 200  # remembered by the session
    assert client.get("/history", environ_base=REMOTE).status_code == 200
    assert remote_client(app).get("/history").status_code == 403  # another browser


def test_remote_users_get_the_draft_page_without_links_to_history(client):
    r = client.get("/answer", environ_base=REMOTE)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'href="/history"' not in html and 'href="/review"' not in html


def test_proposing_needs_the_gate_and_the_csrf_token(app, client, tmp_path):
    token, signed, _ = draft(client)
    data = {"csrf_token": token, "drafts": "1", "action": "new-snippet"}
    assert client.post("/review/propose", data={**data, "csrf_token": ""}).status_code == 400
    assert client.post("/review/propose", data=data, environ_base=REMOTE).status_code == 403
    r = client.post("/review/propose", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "A new snippet:" in html and "Written to" in html
    (saved,) = (tmp_path / "home" / "proposals").glob("*-new-snippet-*.md")
    assert "Do I need a witness for quorum?" in saved.read_text() or "two-node" in saved.read_text()
    r = client.post("/review/propose", data={**data, "action": "phrasings", "snippet": "no-such-snippet"})
    assert r.status_code == 400 and "no snippet with id" in r.get_data(as_text=True)


# --------------------------------------------------------------------------- escaping and caching

def test_stored_text_is_escaped_on_history_and_review(app, client):
    hostile = "<script>alert('q')</script> witness for a <b>two</b> node cluster?"
    token, signed, _ = draft(client, hostile)
    note = '<img src=x onerror="alert(1)">'
    client.post("/feedback", data={"csrf_token": token, "draft": signed, "verdict": "down", "reason": "other",
                                   "note": note})
    client.get("/search?q=" + "%3Cvvqxz%3Eqqxzv%3C/vvqxz%3E")  # a tag in a search that finds nothing
    entry = client.get("/history/1").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in entry
    review = client.get("/review").get_data(as_text=True)
    listing = client.get("/history").get_data(as_text=True)
    for html in (entry, review, listing):
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>two</b>" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in review
    assert "&lt;vvqxz&gt;qqxzv&lt;/vvqxz&gt;" in review and "<vvqxz>" not in review


def test_history_pages_are_not_cached(client):
    draft(client)
    for path in ("/history", "/history/1", "/review"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_a_draft_not_in_the_history_is_a_404(client):
    assert client.get("/history/999").status_code == 404


# --------------------------------------------------------------------------- history off

def test_with_history_off_nothing_is_kept_and_no_cookie_is_set(tmp_path, real_index_dir):
    app = make_app(tmp_path / "home", real_index_dir, HISTORY="off")
    client = app.test_client()
    r = client.get("/answer")
    assert "Set-Cookie" not in r.headers and "csrf_token" not in r.get_data(as_text=True)
    r = client.post("/answer", data={"question": QUESTION})
    html = r.get_data(as_text=True)
    assert "Nothing is stored (history is off)" in html and "Was this draft right?" not in html
    assert "Set-Cookie" not in r.headers and 'href="/history"' not in html
    assert client.get("/history").status_code == 404 and client.get("/review").status_code == 404
    assert client.post("/feedback", data={"verdict": "up"}).status_code == 503
    assert not (tmp_path / "home" / "history.sqlite3").exists()


def test_an_app_with_its_own_index_folder_and_no_data_folder_keeps_no_history(real_index_dir):
    app = create_app({"TESTING": True, "CONTENT_DIR": str(REAL_CONTENT), "INDEX_DIR": str(real_index_dir)})
    assert not app.extensions["history"].enabled
    assert "no data folder" in app.extensions["history"].disabled_reason


def test_a_bad_history_setting_fails_at_start(tmp_path, real_index_dir):
    with pytest.raises(ValueError, match="HISTORY must be on or off"):
        make_app(tmp_path / "home", real_index_dir, HISTORY="maybe")


def test_the_session_key_is_kept_in_the_data_folder(tmp_path, real_index_dir):
    first = make_app(tmp_path / "home", real_index_dir)
    second = make_app(tmp_path / "home", real_index_dir)
    key = (tmp_path / "home" / "secret_key")
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key.read_text().strip()
    assert key.stat().st_mode & 0o077 == 0
