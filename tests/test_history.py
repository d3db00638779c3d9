"""The history store (kb.history): drafts, searches and feedback in SQLite; migrations; purge; a locked,
read-only or damaged database turning history off while search and drafting go on; the CLI commands;
the feedback export read back by scripts/train_ranker.py."""
from __future__ import annotations

import doctest
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import kb.history
from kb.cli import cli
from kb.history import History, HistoryInputError, open_history, schema_version
from conftest import FIXTURE_CONTENT, ROOT

ANSWERED = {"answerable": True, "confidence": 0.91, "topic": "quorum", "draft": "Yes, add a witness.",
            "detected": {"cluster": True, "os_versions": ["Windows Server 2019"]},
            "focus": {"title": "", "asks": ["Do I need a witness?"], "errors": [], "tried": []},
            "sources": [{"id": "quorum-two-node-witness", "kind": "snippet", "title": "Witness", "topic": "quorum",
                         "score": 0.9, "section": None, "url": None},
                        {"id": "quorum", "kind": "article", "title": "Quorum", "topic": "quorum", "score": 0.9}]}
ABSTAINED = {"answerable": False, "confidence": 0.2, "topic": None, "draft": "No confident answer.",
             "detected": {}, "focus": {}, "sources": [{"id": "integration-services-time-sync", "kind": "snippet",
                                                       "title": "Time sync", "topic": "integration-services",
                                                       "score": 0.2}]}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path) -> History:
    history = open_history(tmp_path / "home")
    assert history.enabled, history.disabled_reason
    yield history
    history.close()


def test_doctests():
    for module in (kb.history,):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# --------------------------------------------------------------------------- the store

def test_a_draft_its_feedback_and_a_search_are_kept_and_read_back(store):
    draft_id = store.record_draft("Do I need a witness for 2 nodes?", ANSWERED, build="build-1", origin="api")
    fb = store.record_feedback(draft_id, "down", "wrong-fact", note="  it is 2019  ", snippet_id="Quorum-Votes")
    assert store.record_search("quorom", 0, build="build-1") and store.record_search("quorum", 7)
    record = store.get_draft(draft_id)
    assert record.question == "Do I need a witness for 2 nodes?" and record.origin == "api"
    assert record.build == "build-1" and record.confidence == pytest.approx(0.91) and record.answerable
    assert record.facts == ANSWERED["detected"] and record.focus["asks"] == ["Do I need a witness?"]
    assert [s["id"] for s in record.sources] == ["quorum-two-node-witness", "quorum"]
    assert record.answer_ids == ["quorum-two-node-witness"] and record.top_source == "quorum-two-node-witness"
    assert record.draft == "Yes, add a witness."
    (given,) = record.feedback
    assert (given.id, given.verdict, given.reason, given.note, given.snippet_id) == \
        (fb, "down", "wrong-fact", "it is 2019", "quorum-votes")
    assert record.verdict == "down" and given.reason_label == "Wrong fact"
    assert store.counts() == {"drafts": 1, "feedback": 1, "searches": 2}
    assert store.no_result_searches() == [{"query": "quorom", "count": 1, "last": store.no_result_searches()[0]["last"]}]
    assert json.loads(json.dumps(record.to_dict()))["feedback"][0]["reason"] == "wrong-fact"


def test_the_file_is_wal_with_the_current_schema_version(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version() >= 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"drafts", "searches", "feedback"} <= tables
    conn.close()


def test_an_abstention_has_no_answer_ids_but_keeps_its_best_candidate(store):
    record = store.get_draft(store.record_draft("banana bread?", ABSTAINED))
    assert record.answer_ids == [] and record.top_source == "integration-services-time-sync" and not record.answerable


@pytest.mark.parametrize("fields, message", [
    (("sideways", None), "'up' or 'down'"),
    (("down", None), "say what was wrong"),
    (("down", "bad-vibes"), "unknown reason"),
    (("up", "wrong-fact"), "only given for a draft that was wrong"),
])
def test_feedback_that_does_not_check_is_a_clear_error(store, fields, message):
    draft_id = store.record_draft("q", ANSWERED)
    with pytest.raises(HistoryInputError, match=message):
        store.record_feedback(draft_id, *fields)
    assert store.counts()["feedback"] == 0


def test_feedback_notes_ids_and_drafts_are_checked(store):
    draft_id = store.record_draft("q", ANSWERED)
    with pytest.raises(HistoryInputError, match="the limit is 2,000"):
        store.record_feedback(draft_id, "up", note="x" * 2001)
    with pytest.raises(HistoryInputError, match="is not a snippet id"):
        store.record_feedback(draft_id, "down", "other", snippet_id="<script>")
    with pytest.raises(HistoryInputError, match="no snippet with id 'nope'"):
        store.record_feedback(draft_id, "down", "other", snippet_id="nope", known_snippets={"quorum-two-node-witness"})
    with pytest.raises(HistoryInputError, match="no draft 999"):
        store.record_feedback(999, "up")
    assert store.record_feedback(draft_id, "up") is not None


def test_lists_are_newest_first_and_review_drafts_are_the_doubtful_ones(store):
    ok = store.record_draft("sure", ANSWERED)
    low = store.record_draft("unsure", {**ANSWERED, "confidence": 0.55})
    abstained = store.record_draft("no idea", ABSTAINED)
    rated = store.record_draft("rated", ANSWERED)
    store.record_feedback(rated, "up")
    assert [d.id for d in store.list_drafts(2)] == [rated, abstained]
    assert [d.id for d in store.list_drafts(2, offset=2)] == [low, ok]
    assert {d.id for d in store.review_drafts(0.65)} == {low, abstained, rated}
    assert [d.id for d in store.drafts_with_feedback()] == [rated]


# --------------------------------------------------------------------------- migrations

def test_a_database_at_user_version_0_is_migrated_on_open(tmp_path):
    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE unrelated (x)")  # a file some other tool started: kept as it is
    conn.commit()
    conn.close()
    history = History(path)
    assert history.enabled, history.disabled_reason
    assert history.record_draft("q", ANSWERED) == 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version()
    assert conn.execute("SELECT COUNT(*) FROM unrelated").fetchone()[0] == 0
    conn.close()


def test_a_new_migration_upgrades_an_older_database_and_keeps_its_rows(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite3"
    History(path).record_draft("kept across the upgrade", ANSWERED)
    monkeypatch.setattr(kb.history, "MIGRATIONS", [*kb.history.MIGRATIONS,
                                                    ("ALTER TABLE drafts ADD COLUMN language TEXT",)])
    upgraded = History(path)
    assert upgraded.enabled and upgraded.list_drafts()[0].question == "kept across the upgrade"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version() == len(kb.history.MIGRATIONS)
    assert "language" in {r[1] for r in conn.execute("PRAGMA table_info(drafts)")}
    conn.close()


def test_a_failing_migration_changes_nothing_and_turns_history_off(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setattr(kb.history, "MIGRATIONS", [(*kb.history.MIGRATIONS[0], "CREATE TABLE drafts (x)")])
    history = History(path)
    assert not history.enabled and "history and feedback are off" in history.disabled_reason
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    conn.close()


def test_a_database_from_a_newer_hvkb_is_left_alone(tmp_path):
    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    history = History(path)
    assert not history.enabled
    assert "newer hvkb (schema version 99" in history.disabled_reason
    assert history.record_draft("q", ANSWERED) is None


# --------------------------------------------------------------------------- purge

def test_purge_older_than_deletes_old_drafts_with_their_feedback_and_old_searches(tmp_path):
    clock = Clock()
    history = History(tmp_path / "history.sqlite3", clock=clock)
    old = history.record_draft("old question", ANSWERED)
    history.record_search("old search", 0)
    clock.now += 10 * 86400
    history.record_feedback(old, "up")  # new feedback on an old draft goes with its draft
    new = history.record_draft("new question", ANSWERED)
    history.record_feedback(new, "down", "missing-step")
    history.record_search("new search", 3)
    clock.now += 86400
    result = history.purge(older_than_days=5)
    assert result.to_dict() == {"drafts": 1, "feedback": 1, "searches": 1}
    assert [d.question for d in history.list_drafts()] == ["new question"]
    assert history.counts() == {"drafts": 1, "feedback": 1, "searches": 1}
    with pytest.raises(HistoryInputError):
        history.purge(older_than_days=-1)


def test_purge_all_leaves_no_text_in_the_file(tmp_path):
    history = History(tmp_path / "history.sqlite3")
    marker = "purple-elephant-quorum-question"
    for _ in range(50):
        history.record_feedback(history.record_draft(marker, ANSWERED), "down", "other", note=marker)
        history.record_search(marker, 0)
    result = history.purge()
    assert result.to_dict() == {"drafts": 50, "feedback": 50, "searches": 50}
    assert history.counts() == {"drafts": 0, "feedback": 0, "searches": 0}
    history.close()
    for f in tmp_path.iterdir():
        assert marker.encode() not in f.read_bytes(), f.name
    # Ids are never reused: a link to a purged draft cannot open a new one.
    assert History(tmp_path / "history.sqlite3").record_draft("next", ANSWERED) == 51


def test_parse_age():
    assert kb.history.parse_age("30d") == 30 and kb.history.parse_age("36h") == 1.5
    with pytest.raises(ValueError, match="such as 30d"):
        kb.history.parse_age("thirty")


# --------------------------------------------------------------------------- failures turn history off

def test_a_locked_database_turns_history_off_and_it_comes_back_later(tmp_path):
    clock = Clock()
    path = tmp_path / "history.sqlite3"
    history = History(path, busy_timeout=0.1, retry_seconds=60, clock=clock)
    assert history.record_draft("before", ANSWERED) == 1
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        assert history.record_draft("while locked", ANSWERED) is None
        assert "is locked by another program" in history.disabled_reason
        assert "Search and drafting work as usual" in history.disabled_reason
        assert not History(path, busy_timeout=0.1).enabled  # opening it meanwhile: off too, same reason
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert history.record_draft("too soon", ANSWERED) is None  # no retry before retry_seconds
    clock.now += 61
    assert history.record_draft("after", ANSWERED) is not None and history.disabled_reason is None
    assert [d.question for d in history.list_drafts()] == ["after", "before"]


def test_a_damaged_database_turns_history_off(tmp_path):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not an SQLite file " * 200)
    history = History(path)
    assert not history.enabled and "is damaged" in history.disabled_reason and "move it aside" in history.disabled_reason
    assert history.record_draft("q", ANSWERED) is None and history.list_drafts() == [] and history.purge() is None


def test_a_database_damaged_inside_is_found_at_open(tmp_path):
    path = tmp_path / "history.sqlite3"
    history = History(path)
    for n in range(300):
        history.record_draft(f"question {n} " + "x" * 500, ANSWERED)
    history.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page:6 * page] = b"\xff" * (3 * page)  # a few pages of the drafts table
    path.write_bytes(bytes(data))
    damaged = History(path)
    assert not damaged.enabled and "is damaged" in damaged.disabled_reason


def _read_only(home: Path):
    """Make a data folder holding a history database read-only (a read-only bind mount when root,
    whom chmod does not stop); yield it; undo."""
    history = open_history(home)
    history.record_draft("kept before", ANSWERED)
    history.close()
    if os.geteuid() == 0:
        if sys.platform != "linux" or subprocess.run(["mount", "--bind", str(home), str(home)],
                                                     capture_output=True).returncode != 0:
            pytest.skip("root, and cannot bind-mount a folder here")
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(home)], capture_output=True).returncode != 0:
            subprocess.run(["umount", str(home)], capture_output=True)
            pytest.skip("root, and cannot remount a folder read-only here")
        try:
            yield home
        finally:
            subprocess.run(["umount", str(home)], check=True)
    else:
        (home / "history.sqlite3").chmod(0o444)
        home.chmod(0o555)
        try:
            yield home
        finally:
            home.chmod(0o755)
            (home / "history.sqlite3").chmod(0o644)


@pytest.fixture
def read_only_home(tmp_path):
    yield from _read_only(tmp_path / "home")


def test_a_read_only_database_turns_history_off(read_only_home):
    history = open_history(read_only_home)
    assert not history.enabled and "read-only" in history.disabled_reason
    assert history.record_draft("q", ANSWERED) is None


# --------------------------------------------------------------------------- search and drafting go on

@pytest.fixture(params=["locked", "damaged", "read-only"])
def broken_home(request, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    if request.param == "damaged":
        (home / "history.sqlite3").write_bytes(b"\x00garbage" * 500)
        yield home
    elif request.param == "locked":
        open_history(home).close()
        other = sqlite3.connect(home / "history.sqlite3", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        yield home
        other.execute("ROLLBACK")
        other.close()
    else:
        yield from _read_only(home)


def test_search_and_drafting_work_when_the_history_database_is_broken(broken_home, index_dir):
    from webapp import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(FIXTURE_CONTENT), "INDEX_DIR": str(index_dir),
                      "HOME_DIR": str(broken_home), "SECRET_KEY": "test"})
    history = app.extensions["history"]
    assert not history.enabled and "history and feedback are off" in history.disabled_reason
    client = app.test_client()
    r = client.get("/search?q=quorum+witness")
    assert r.status_code == 200 and "quorum" in r.get_data(as_text=True).lower()
    r = client.post("/answer", data={"question": "Do I need a witness for a two node Hyper-V cluster?"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="draft-md"' in html
    assert "Nothing is stored: history and feedback are off" in html and "Was this draft right?" not in html
    r = client.post("/api/answer", json={"question": "Do I need a witness for a two node Hyper-V cluster?"})
    assert r.status_code == 200 and r.get_json()["draft"]
    r = client.get("/review")
    assert r.status_code == 200 and "history and feedback are off" in r.get_data(as_text=True)


def test_hvkb_answer_log_works_and_says_so_when_history_is_broken(runner, broken_home, index_dir):
    env = {"HVKB_HOME": str(broken_home), "HVKB_CONTENT": str(FIXTURE_CONTENT), "HVKB_INDEX": str(index_dir)}
    result = runner.invoke(cli, ["answer", "-", "--log"], input="Do I need a witness for two nodes?", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() and "history and feedback are off" in result.stderr and "not logged" in result.stderr


# --------------------------------------------------------------------------- the CLI

@pytest.fixture
def cli_env(tmp_path, index_dir) -> dict:
    return {"HVKB_HOME": str(tmp_path / "home"), "HVKB_CONTENT": str(FIXTURE_CONTENT), "HVKB_INDEX": str(index_dir)}


def test_answer_log_keeps_the_draft_and_history_off_keeps_nothing(runner, cli_env, tmp_path):
    question = "Do I need a witness for a two-node cluster?"
    result = runner.invoke(cli, ["answer", "-", "--log", "--json"], input=question, env=cli_env)
    assert result.exit_code == 0, result.output
    assert "logged as draft 1" in result.stderr
    record = open_history(tmp_path / "home").get_draft(1)
    assert record.question == question and record.origin == "cli"
    assert record.confidence == pytest.approx(json.loads(result.stdout)["confidence"], abs=1e-3)
    result = runner.invoke(cli, ["answer", "-", "--log"], input=question, env={**cli_env, "HVKB_HISTORY": "off"})
    assert result.exit_code == 0 and "not logged" in result.stderr
    result = runner.invoke(cli, ["answer", "-"], input=question, env=cli_env)
    assert result.exit_code == 0 and "logged" not in result.stderr
    assert open_history(tmp_path / "home").counts()["drafts"] == 1


def test_answer_jsonl_log_keeps_every_answered_line(runner, cli_env, tmp_path):
    lines = "\n".join(json.dumps({"id": n, "question": q}) for n, q in
                      enumerate(["Do I need a witness for two nodes?", "", "Can I delete avhdx files?"])) + "\nnot json\n"
    result = runner.invoke(cli, ["answer", "--jsonl", "--log"], input=lines, env=cli_env)
    assert result.exit_code == 1  # the empty question and the bad line fail, as without --log
    assert "logged 2 drafts in" in result.stderr and "logged as draft" not in result.stderr
    assert [d.question for d in open_history(tmp_path / "home").list_drafts()] == \
        ["Can I delete avhdx files?", "Do I need a witness for two nodes?"]


def test_history_list_and_purge(runner, cli_env, tmp_path):
    history = open_history(tmp_path / "home")
    history.record_feedback(history.record_draft("Do I need a witness?", ANSWERED), "down", "other")
    history.record_search("zzz", 0)
    result = runner.invoke(cli, ["history", "list"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "Do I need a witness?" in result.stdout and "WRONG" in result.stdout
    assert "1 drafts, 1 feedback, 1 searches" in result.stderr
    result = runner.invoke(cli, ["history", "list", "--json"], env=cli_env)
    assert json.loads(result.stdout)[0]["feedback"][0]["reason"] == "other"
    result = runner.invoke(cli, ["history", "purge", "--older-than", "30d"], env=cli_env)
    assert result.exit_code == 0 and "Deleted 0 drafts" in result.stdout
    result = runner.invoke(cli, ["history", "purge", "--json"], env=cli_env)
    assert result.exit_code == 0 and json.loads(result.stdout) == {"drafts": 1, "feedback": 1, "searches": 1}
    assert history.counts() == {"drafts": 0, "feedback": 0, "searches": 0}


def test_history_cli_usage_errors_exit_2(runner, cli_env):
    result = runner.invoke(cli, ["history", "purge", "--older-than", "a month"], env=cli_env)
    assert result.exit_code == 2 and "such as 30d" in result.output
    result = runner.invoke(cli, ["feedback", "export"], env=cli_env)
    assert result.exit_code == 2 and "--jsonl" in result.output
    result = runner.invoke(cli, ["review", "propose", "u1"], env=cli_env)
    assert result.exit_code == 2 and "--phrasings-of" in result.output


def test_history_commands_on_a_damaged_database_exit_1_with_the_reason(runner, cli_env, tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "history.sqlite3").write_bytes(b"garbage" * 100)
    for args in (["history", "list"], ["history", "purge"], ["review"], ["feedback", "export", "--jsonl"]):
        result = runner.invoke(cli, args, env=cli_env)
        assert result.exit_code == 1 and "is damaged" in result.output and "Traceback" not in result.output, args


def test_serve_passes_the_history_switch_and_data_folder(runner, cli_env, tmp_path, monkeypatch):
    from webapp import server

    seen = {}
    monkeypatch.setattr(server, "serve", lambda app, **kw: seen.setdefault("app", app))
    result = runner.invoke(cli, ["serve", "--no-history"], env=cli_env)
    assert result.exit_code == 0, result.output
    app = seen.pop("app")
    assert not app.extensions["history"].enabled and app.extensions["history"].off_by_choice
    result = runner.invoke(cli, ["serve", "--feedback-rate", "99"], env={**cli_env, "HVKB_ADMIN_TOKEN": "s3cret"})
    assert result.exit_code == 0, result.output
    app = seen.pop("app")
    assert app.extensions["history"].enabled and "history is on" in result.stderr
    assert app.extensions["history"].path == tmp_path / "home" / "history.sqlite3"
    assert app.config["ADMIN_TOKEN"] == "s3cret" and app.config["FEEDBACK_PER_MINUTE"] == 99
    result = runner.invoke(cli, ["serve"], env={**cli_env, "HVKB_HISTORY": "off"})
    assert result.exit_code == 0 and not seen.pop("app").extensions["history"].enabled
    result = runner.invoke(cli, ["serve"], env={**cli_env, "HVKB_HISTORY": "sometimes"})
    assert result.exit_code == 2 and "not a valid boolean" in result.output


# --------------------------------------------------------------------------- the export, read by train_ranker

def _train_ranker():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_ranker
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return train_ranker


def test_feedback_export_is_read_back_by_train_ranker(runner, cli_env, tmp_path, kb_index):
    history = open_history(tmp_path / "home")
    question = "Do I need a witness for a two node cluster? One node reboots and everything stops."
    right = history.record_draft(question, ANSWERED)
    history.record_feedback(right, "up")
    wrong = history.record_draft("Can we live migrate our VMs from the Intel hosts to the new AMD hosts?", ANSWERED)
    history.record_feedback(wrong, "down", "wrong-subject", snippet_id="cpu-compatibility-intel-amd")
    unknown = history.record_draft("Two node cluster: where do I put the witness disk?", ANSWERED)
    history.record_feedback(unknown, "down", "wrong-fact")
    nothing = history.record_draft("What is the best banana bread?", ABSTAINED)
    history.record_feedback(nothing, "down", "other")  # an abstention marked wrong, no snippet: no label
    out = tmp_path / "feedback.jsonl"
    result = runner.invoke(cli, ["feedback", "export", "--jsonl", str(out)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "3 labelled questions exported; 1 without a usable label" in result.stderr

    rows = _train_ranker().load_feedback(out)
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {f"fb-{right}", f"fb-{wrong}", f"fb-{unknown}"}
    for r in rows:  # the fields of tests/data/real_questions.jsonl that training reads
        assert isinstance(r["question"], str) and r["source"] == "hvkb-feedback"
    assert by_id[f"fb-{right}"]["gold"] == ["quorum-two-node-witness"] and by_id[f"fb-{right}"]["wrong"] == []
    assert by_id[f"fb-{wrong}"]["gold"] == ["cpu-compatibility-intel-amd"]
    assert by_id[f"fb-{wrong}"]["wrong"] == ["quorum-two-node-witness"]
    assert by_id[f"fb-{unknown}"]["gold"] is None and by_id[f"fb-{unknown}"]["wrong"] == ["quorum-two-node-witness"]

    questions = {q.id: q for q in _train_ranker().feedback_questions(kb_index, rows)}
    labelled = questions[f"fb-{right}"]
    assert dict(zip(labelled.ids, labelled.y)).get("quorum-two-node-witness") == 1
    only_wrong = questions[f"fb-{unknown}"]
    assert only_wrong.ids == ["quorum-two-node-witness"] and only_wrong.y == [0]


def test_train_ranker_refuses_a_file_that_is_not_feedback(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q", "gold": "maybe"}\n')
    with pytest.raises(SystemExit, match=re.escape(f"{bad}:1: not a feedback row")):
        _train_ranker().load_feedback(bad)
