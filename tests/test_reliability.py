"""Reliability and security (issue #7): bad input, broken content, killed and concurrent builds.

The rule every test here checks: each input ends in results or a clear message (a ``KbError``, or
exit code 1 or 2 with text), never an unexpected exception and never a traceback on the terminal.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

from kb.answer import Draft, answer_question
from kb.cli import cli
from kb.content import check_content, load_corpus
from kb.errors import ContentValidationError, InputTooLargeError, KbError, QueryError
from kb.index import CURRENT_FILE, build_index, ensure_index, open_index, read_current
from kb.searching import KINDS, search
from kb.settings import MAX_QUESTION_CHARS
from conftest import FIXTURE_CONTENT, REAL_CONTENT, ROOT, copy_content

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
VALID = BROKEN / "_valid"   # the small, valid content every broken folder is a variation of
SLOW_CALL = 5.0             # seconds; far above what any single query or draft should take


# --------------------------------------------------------------------------- helpers

def assert_clean_exit(result, codes=(0, 1, 2)) -> None:
    """A CLI run ended on purpose: an expected exit code, no unexpected exception, no traceback."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(f"unexpected {type(result.exception).__name__} from the CLI:\n{tb}")
    assert result.exit_code in codes, (result.exit_code, result.output)
    assert "Traceback" not in result.output


def assert_search_well_formed(result, corpus) -> None:
    ids = [h.id for h in result.hits]
    assert len(ids) == len(set(ids)), f"duplicate ids: {ids}"
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    for h in result.hits:
        doc = corpus.get(h.id)
        assert doc is not None, f"hit {h.id!r} is not in the corpus"
        assert h.kind in KINDS and h.kind == doc.kind
        # The excerpt is HTML shown as is: only <mark> tags, everything else escaped.
        bare = re.sub(r"</?mark>", "", h.excerpt)
        assert "<" not in bare and ">" not in bare, h.excerpt
    json.dumps(result.to_dict())


def assert_draft_well_formed(draft: Draft, corpus) -> None:
    assert 0.0 <= draft.confidence <= 1.0
    assert draft.draft.strip() and draft.text.strip()
    for s in draft.sources:
        assert corpus.get(s.id) is not None, f"source {s.id!r} is not in the corpus"
    json.dumps(draft.to_dict())


@pytest.fixture
def cli_env(real_index_dir, tmp_path):
    """CLI environment on the session index of the real content; HVKB_HOME never the user's folder."""
    return {"HVKB_HOME": str(tmp_path / "home"), "HVKB_CONTENT": str(REAL_CONTENT),
            "HVKB_INDEX": str(real_index_dir)}


# --------------------------------------------------------------------------- 1. bad queries

TEN_THOUSAND_WORDS = " ".join(["quorum", "witness", "two", "node", "cluster"] * 2000)
TEN_THOUSAND_DISTINCT = " ".join(f"w{i}" for i in range(10_000)) + " checkpoint"

# (query, expect): "hits" = at least one result; "ok" = results or none, no error;
# "error" = a QueryError with a message (exit 1 on the CLI).
QUERY_CASES = [
    pytest.param("checkpoint AND (", "hits", id="whoosh-and-open-paren"),
    pytest.param("title:", "ok", id="whoosh-field-colon"),
    pytest.param("title:quorum body:witness", "hits", id="whoosh-field-terms"),
    pytest.param('"', "error", id="lone-double-quote"),
    pytest.param('"live migration', "hits", id="unclosed-phrase"),
    pytest.param('"live migration" "', "hits", id="phrase-plus-stray-quote"),
    pytest.param("*", "error", id="lone-star"),
    pytest.param("quor*", "ok", id="wildcard-suffix"),
    pytest.param("?", "error", id="lone-question-mark"),
    pytest.param("witness?", "hits", id="trailing-question-mark"),
    pytest.param("quorom~2", "hits", id="fuzzy-tilde"),
    pytest.param("~", "error", id="lone-tilde"),
    pytest.param("witness^3 quorum", "hits", id="boost-caret"),
    pytest.param("^", "error", id="lone-caret"),
    pytest.param("[a TO", "error", id="open-range"),
    pytest.param("[2012 TO 2019]", "hits", id="closed-range"),
    pytest.param("{} () [] <> :: || &&", "error", id="syntax-only"),
    pytest.param("NOT", "ok", id="bare-not"),
    pytest.param("AND OR", "error", id="bare-and-or"),
    pytest.param("checkpoint)))))(((((", "hits", id="unbalanced-parens"),
    pytest.param("\\", "error", id="backslash"),
    pytest.param("C:\\ClusterStorage\\Volume1", "hits", id="windows-path"),
    pytest.param(TEN_THOUSAND_WORDS, "hits", id="10000-words"),
    pytest.param(TEN_THOUSAND_DISTINCT, "ok", id="10000-distinct-words"),
    pytest.param("q" * 100_000, "ok", id="one-100k-char-word"),
    pytest.param("quorum\x1b[31m witness\x07\x08", "hits", id="control-chars"),
    pytest.param("quorum\x00witness", "hits", id="nul-inside"),
    pytest.param("\x00\x01\x02\x7f", "error", id="only-control-chars"),
    pytest.param("\udcffquorum\udcfe", "hits", id="undecodable-argv-bytes"),
    pytest.param("\ud800 witness", "hits", id="lone-surrogate"),
    pytest.param("\ufffd\ufffd\ufffd", "error", id="replacement-chars"),
    pytest.param("💥 cluster quorum 🔥", "hits", id="emoji-and-words"),
    pytest.param("😀🔥💥", "error", id="only-emoji"),
    pytest.param("שלום مرحبا بالعالم", "ok", id="right-to-left"),
    pytest.param("\u202equorum witness\u202c", "hits", id="rtl-override-chars"),
    pytest.param("live\u200bmigration", "ok", id="zero-width-space"),
    pytest.param("ｑｕｏｒｕｍ", "hits", id="fullwidth-letters"),
    pytest.param("e\u0301" * 5000, "ok", id="combining-marks"),
    pytest.param("the and of to is a an", "error", id="only-stopwords"),
    pytest.param("!!! ??? ... --- ,,,", "error", id="only-punctuation"),
    pytest.param("", "error", id="empty"),
    pytest.param(" \t\n\r ", "error", id="whitespace"),
    pytest.param("<script>alert(1)</script> checkpoint", "hits", id="html-script"),
    pytest.param("' OR 1=1 -- quorum", "hits", id="sql-injection-shape"),
    pytest.param("%s %n %x {0} ${jndi:ldap://x} quorum", "hits", id="format-strings"),
    pytest.param("0x" + "f" * 5000, "ok", id="huge-hex"),
    pytest.param("a." * 5000, "ok", id="dotted-run"),
    pytest.param("Set-VM " * 3000, "hits", id="repeated-cmdlet"),
]


@pytest.mark.parametrize("query,expect", QUERY_CASES)
def test_search_api_bad_input(real_index, query, expect):
    started = time.perf_counter()
    try:
        result = search(real_index, query)
    except QueryError as exc:
        assert expect == "error", f"unexpected QueryError: {exc}"
        assert str(exc).strip()
    else:
        assert expect != "error", f"expected a QueryError, got {len(result.hits)} hits"
        if expect == "hits":
            assert result.hits
        assert_search_well_formed(result, real_index.corpus)
    assert time.perf_counter() - started < SLOW_CALL


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
@pytest.mark.parametrize("query,expect", QUERY_CASES)
def test_search_cli_bad_input(runner, cli_env, query, expect, as_json):
    args = ["search", *(["--json"] if as_json else []), "--", query]
    result = runner.invoke(cli, args, env=cli_env)
    assert_clean_exit(result)
    if expect == "error":
        assert result.exit_code == 1 and "Error: " in result.output, result.output
    else:
        assert result.exit_code == 0, result.output
        if as_json:
            data = json.loads(result.stdout)
            assert expect != "hits" or data["results"]
        else:
            assert expect != "hits" or "1. " in result.stdout


@pytest.mark.parametrize("args,code,message", [
    pytest.param(["search"], 2, "Missing argument", id="no-query"),
    pytest.param(["search", "x", "--limit", "0"], 2, "--limit", id="limit-zero"),
    pytest.param(["search", "x", "--limit", "-5"], 2, "--limit", id="limit-negative"),
    pytest.param(["search", "x", "--limit", "9" * 40], 2, "--limit", id="limit-huge"),
    pytest.param(["search", "x", "--page", "abc"], 2, "--page", id="page-not-a-number"),
    pytest.param(["search", "x", "--kind", "video"], 2, "--kind", id="unknown-kind"),
    pytest.param(["search", "quorum", "--version", "Windows 95"], 2, "unknown version", id="unknown-version"),  # issue 14
    pytest.param(["search", "quorum", "--version", "\x00"], 2, "unknown version", id="nul-version"),
    pytest.param(["search", "quorum", "--topic", "x' OR '1'='1"], 2, "unknown topic", id="injection-topic"),
    pytest.param(["show", "../../etc/passwd"], 1, "no article or snippet", id="show-path-traversal"),
    pytest.param(["show", "quorum\x00"], 1, "no article or snippet", id="show-nul"),
    pytest.param(["answer", "/nonexistent/q.txt"], 2, "cannot read", id="answer-missing-file"),
    pytest.param(["answer", "/"], 2, "cannot read", id="answer-directory"),
    pytest.param(["list", "--topic", "nope"], 2, "unknown topic", id="list-unknown-topic"),  # issue 14: a usage error
])
def test_cli_bad_options(runner, cli_env, args, code, message):
    result = runner.invoke(cli, args, env=cli_env)
    assert_clean_exit(result)
    assert result.exit_code == code, result.output
    assert message in result.output


QUESTION = "Hi all, we have a two node Hyper-V 2019 cluster. Do we need a witness? Thanks"
RNG_BYTES = random.Random(7).randbytes(4096)


@pytest.mark.parametrize("data,code,message", [
    pytest.param(b"\xff\xfe" + QUESTION.encode() + b"\xc3", 0, "witness", id="invalid-utf8-around-question"),
    pytest.param(b"\x80\x81 " + b"cluster quorum witness \xe9\xe8 " * 20, 0, "", id="latin1-bytes-in-utf8"),
    pytest.param(RNG_BYTES, 1, "binary", id="random-bytes"),
    pytest.param(b"\x00" * 1000, 1, "binary", id="nul-bytes"),
    pytest.param(b"", 1, "empty", id="empty-stdin"),
    pytest.param(b" \n\t\r\n", 1, "empty", id="whitespace-stdin"),
    pytest.param(b"x" * (1 << 20), 1, "the limit is 20,000", id="one-megabyte"),
    pytest.param("\ufeff".encode() + QUESTION.encode(), 0, "witness", id="utf8-bom"),
    pytest.param(QUESTION.replace("\n", "\r\n").encode() + b"\r\n", 0, "witness", id="crlf"),
    pytest.param(QUESTION.encode("utf-16"), 0, "witness", id="utf16-with-bom"),
    pytest.param("🔥💥 😀".encode(), 0, "could not find a confident answer", id="only-emoji"),
])
def test_answer_cli_stdin_bytes(runner, cli_env, data, code, message):
    """``hvkb answer -`` gets raw bytes, as from a pipe; Windows PowerShell 5 writes UTF-16 with a BOM."""
    result = runner.invoke(cli, ["answer", "-"], input=data, env=cli_env)
    assert_clean_exit(result)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_answer_cli_jsonl_reports_bad_lines_and_keeps_going(runner, cli_env):
    lines = [
        json.dumps({"id": 1, "question": QUESTION}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": 4}),
        json.dumps({"id": 5, "question": 42}),
        json.dumps({"id": 6, "question": "x" * (MAX_QUESTION_CHARS + 1)}),
        json.dumps({"id": 7, "question": "\x00\x01" * 50}),
        "",
        json.dumps({"id": 8, "question": "do I need a witness for a 2 node cluster"}),
    ]
    result = runner.invoke(cli, ["answer", "--jsonl", "-"], input="\n".join(lines).encode(), env=cli_env)
    assert_clean_exit(result)
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == [1, None, None, 4, 5, 6, 7, 8]
    assert [("error" in o) for o in out] == [False, True, True, True, True, True, True, False]
    assert out[1]["error"].startswith("line 2: ")


# --------------------------------------------------------------------------- 1b. pastes to the drafter

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Hyper-V forum</title><style>body { color: red }</style>
<script>document.write("<p>hidden</p>"); alert("xss")</script></head>
<body><div class="post"><p>Hi all,</p>
<p>Our <b>two node</b> Hyper-V 2019 cluster loses quorum when one node reboots.
Do we need a witness, and which kind?</p>
<blockquote>On Monday Bob wrote: have you tried turning it off and on</blockquote>
<p>Thanks,<br>Alice</p></div></body></html>
"""
LOG_LINE = "2024-05-01 12:00:00 Hyper-V-VMMS Error 3040 'VM01' failed to start (0x80070005)\n"
# 5,000 lines of a log: the short form fits under the 20,000-character cap, the long one does not.
LOG_BELOW = "".join("err\n" for _ in range(4999)) + "err"        # 5,000 lines, 19,999 characters
LOG_ABOVE = LOG_LINE * 5000                                      # 5,000 lines, ~400,000 characters
ANSI_ERROR = ("\x1b[31mStart-VM : 'VM01' failed to start.\x1b[0m\n\x1b[31mThe Virtual Machine Management "
              "Service failed to start the virtual machine 'VM01' because one of the Hyper-V components "
              "is not running (0x800705AA).\x1b[0m\nHow do I fix this on Windows Server 2019?")


def _binary_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


DRAFT_CASES = [
    pytest.param("", QueryError, "empty", id="empty"),
    pytest.param(" \n\t\r\n  ", QueryError, "empty", id="whitespace"),
    pytest.param("x" * (1 << 20), InputTooLargeError, "the limit is 20,000", id="one-megabyte"),
    pytest.param(QUESTION + " " * (1 << 20), InputTooLargeError, "the limit is 20,000", id="one-megabyte-padding"),
    pytest.param(_binary_text(RNG_BYTES), QueryError, "binary", id="binary-utf8-replaced"),
    pytest.param(bytes(range(256)).decode("latin-1") * 8, QueryError, "binary", id="binary-latin1"),
    pytest.param("\x00" * 500, QueryError, "binary", id="nul-bytes"),
    pytest.param(b"quorum witness", QueryError, "must be text", id="bytes-object"),
    pytest.param(None, QueryError, "must be text", id="none"),
    pytest.param(12345, QueryError, "must be text", id="number"),
    pytest.param(HTML_PAGE, Draft, "witness", id="whole-html-page"),
    pytest.param(LOG_BELOW, Draft, "", id="log-5000-lines-below-cap"),
    pytest.param(LOG_ABOVE, InputTooLargeError, "the limit is 20,000", id="log-5000-lines-above-cap"),
    pytest.param("q" * MAX_QUESTION_CHARS, Draft, "", id="exactly-at-cap"),
    pytest.param("q" * (MAX_QUESTION_CHARS + 1), InputTooLargeError, "20,001", id="one-over-cap"),
    pytest.param("Hi all,\n\nThanks in advance,\nBob", QueryError, "empty", id="greeting-and-signoff-only"),
    pytest.param("> On Tue, Jan 3, Bob wrote:\n> quoted line\n> another", QueryError, "empty", id="quoted-reply-only"),
    # A paste that is only a Markdown blockquote is what the asker shows (an error), not an old reply.
    pytest.param("> Start-VM : 'web01' failed to start. The hypervisor is not running.", Draft, "", id="blockquote-only"),
    pytest.param("<script>alert(1)</script>", QueryError, "empty", id="html-script-only"),
    pytest.param("😀🔥💥" * 30, Draft, "could not find a confident answer", id="only-emoji"),
    pytest.param("مرحبا، هل أحتاج إلى شاهد لمجموعة من عقدتين؟", Draft, "", id="right-to-left"),
    pytest.param("checkpoint AND ( title: \"* ?~2 ^ [a TO", Draft, "", id="whoosh-syntax"),
    pytest.param(ANSI_ERROR, Draft, "", id="ansi-colored-error"),
    pytest.param("the of and to is a " * 100, Draft, "", id="only-stopwords"),
    pytest.param("?!.,;:" * 300, Draft, "", id="only-punctuation"),
    pytest.param(QUESTION + "\n" + "-- \nAlice\nSenior Admin\nContoso", Draft, "witness", id="with-signature"),
]


@pytest.mark.parametrize("question,outcome,message", DRAFT_CASES)
def test_answer_question_pastes(real_index, question, outcome, message):
    started = time.perf_counter()
    if outcome is Draft:
        draft = answer_question(real_index, question)
        assert_draft_well_formed(draft, real_index.corpus)
        assert message.lower() in draft.draft.lower()
        # Nothing of a pasted page's markup or script comes back in the draft.
        assert "<script" not in draft.draft and "alert(" not in draft.draft
    else:
        with pytest.raises(outcome) as info:
            answer_question(real_index, question)
        assert message in str(info.value)
        if outcome is InputTooLargeError:
            assert info.value.limit == MAX_QUESTION_CHARS
    assert time.perf_counter() - started < SLOW_CALL


def test_log_fixtures_have_the_sizes_they_claim():
    assert LOG_BELOW.count("\n") + 1 == 5000 and len(LOG_BELOW) < MAX_QUESTION_CHARS
    assert LOG_ABOVE.count("\n") == 5000 and len(LOG_ABOVE) > MAX_QUESTION_CHARS


def test_excerpts_escape_markup_from_the_content(real_index):
    """Excerpts are inserted into pages as HTML: angle brackets in the content come back escaped."""
    from kb.markdown import plain_text

    checked = 0
    for doc in [*real_index.corpus.articles.values(), *real_index.corpus.snippets.values()]:
        body = plain_text(doc.body if doc.kind == "article" else doc.answer)
        m = re.search(r"((?:[\w-]+\W+){1,3})<\w+>", body)
        if not m:
            continue
        result = search(real_index, m.group(1), limit=20)
        assert_search_well_formed(result, real_index.corpus)
        checked += any("&lt;" in h.excerpt for h in result.hits)
    if checked == 0:
        pytest.skip("no content text with <placeholders> to check")


def test_the_html_page_is_answered_from_its_text(real_index):
    draft = answer_question(real_index, HTML_PAGE)
    assert draft.answerable and draft.topic == "quorum"
    assert "hidden" not in draft.draft and "turning it off" not in draft.draft


# --------------------------------------------------------------------------- 3. broken content

def _p(folder: str, rel: str, line: int, message: str) -> str:
    return f"{(BROKEN / folder / rel).resolve()}:{line}: {message}"


NEEDS_LIST = ("os_version, cluster, cpu_vendor, guest_os, backup_product, host_count, scvmm, error_code, "
              "storage, vm_generation, boot_media, network, host_kind")
BROKEN_CASES = {
    "bad-yaml": [("snippets/quorum-two-node-witness.md", 3, "invalid YAML: mapping values are not allowed here")],
    "missing-field": [("articles/quorum.md", 1, "article: 'summary' is required")],
    "wrong-type": [("articles/checkpoints.md", 5, "'tags' must be a list, not dict")],
    "unknown-topic": [("articles/checkpoints.md", 4, "unknown topic 'backups' (topics.yaml has: quorum, checkpoints)")],
    "duplicate-ids": [
        ("topics.yaml", 4, "duplicate topic id 'quorum'"),
        ("snippets/quorum.md", 2,
         f"duplicate id 'quorum' (also in {(BROKEN / 'duplicate-ids/articles/quorum.md').resolve()}:2)"),
    ],
    "dangling-related": [("articles/quorum.md", 8, "related article 'vm-backup' does not exist")],
    "dangling-parent": [("snippets/checkpoints-delete-avhdx.md", 3, "parent article 'checkpoint' does not exist")],
    "empty-body": [
        ("articles/checkpoints.md", 10, "article body is empty"),
        ("snippets/quorum-two-node-witness.md", 12, "snippet answer (the body) is empty"),
    ],
    "long-snippet": [("snippets/checkpoints-delete-avhdx.md", 9, "snippet answer has 132 words; the limit is 120")],
    "unknown-need": [("snippets/checkpoints-delete-avhdx.md", 9, f"unknown need 'ram_size' (known: {NEEDS_LIST})")],
    "unknown-version": [("articles/checkpoints.md", 6, "applies_to: unknown version 'Windows Server 2030' "
                                                      "(see content/README.md for the version names)")],
    "several": [
        ("glossary.yaml", 7, "glossary: 'file share witness' is already listed under 'FSW'"),
        ("articles/checkpoints.md", 9, "article: 'updated' appears twice"),
        ("articles/checkpoints.md", 4, "unknown topic 'backups' (topics.yaml has: quorum, checkpoints)"),
        ("articles/quorum.md", 8, "related article 'vm-backup' does not exist"),
        ("snippets/checkpoints-delete-avhdx.md", 3, "parent article 'checkpoint' does not exist"),
        ("snippets/quorum-two-node-witness.md", 10, f"unknown need 'ram_size' (known: {NEEDS_LIST})"),
        ("snippets/quorum-two-node-witness.md", 12, "snippet answer has 132 words; the limit is 120"),
    ],
}


def test_every_broken_folder_has_a_case():
    folders = {p.name for p in BROKEN.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert folders == set(BROKEN_CASES)


def test_the_valid_base_is_valid(runner):
    result = runner.invoke(cli, ["check", "--strict", "--content", str(VALID)])
    assert result.exit_code == 0 and result.stdout.startswith("ok: 2 articles, 2 snippets"), result.output


@pytest.mark.parametrize("folder", sorted(BROKEN_CASES))
def test_check_prints_every_problem_as_file_line_message(runner, folder):
    result = runner.invoke(cli, ["check", "--content", str(BROKEN / folder)])
    assert_clean_exit(result, codes=(1,))
    expected = sorted(_p(folder, rel, line, msg) for rel, line, msg in BROKEN_CASES[folder])
    assert sorted(result.stdout.splitlines()) == expected
    n = len(expected)
    assert f"{n} problem{'s' if n != 1 else ''} found" in result.output


def test_one_run_reports_every_problem_of_a_folder(runner):
    result = runner.invoke(cli, ["check", "--json", "--content", str(BROKEN / "several")])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    files = {Path(p["path"]).relative_to((BROKEN / "several").resolve()).as_posix() for p in data["problems"]}
    assert files == {"glossary.yaml", "articles/checkpoints.md", "articles/quorum.md",
                     "snippets/checkpoints-delete-avhdx.md", "snippets/quorum-two-node-witness.md"}
    assert len(data["problems"]) == len(BROKEN_CASES["several"])
    with pytest.raises(ContentValidationError) as info:
        load_corpus(BROKEN / "several")
    assert len(info.value.errors) == len(BROKEN_CASES["several"])


def _valid_copy(tmp_path) -> Path:
    return copy_content(VALID, tmp_path / "content")


def _write(root: Path, rel: str, data: bytes) -> Path:
    (root / rel).write_bytes(data)
    return root


@pytest.mark.parametrize("make,rel,line,message", [
    pytest.param(lambda r: _write(r, "articles/quorum.md", (VALID / "articles/quorum.md").read_text()
                                  .replace("Every node", "Every n\xf6de").encode("latin-1")),
                 "articles/quorum.md", 11, "not valid UTF-8 (byte 0xf6); save the file as UTF-8", id="latin1-article"),
    pytest.param(lambda r: _write(r, "topics.yaml", b"- id: quorum\n  title: Qu\xf6rum\n"),
                 "topics.yaml", 2, "not valid UTF-8 (byte 0xf6); save the file as UTF-8", id="latin1-topics"),
    pytest.param(lambda r: _write(r, "snippets/checkpoints-delete-avhdx.md",
                                  (VALID / "snippets/checkpoints-delete-avhdx.md").read_bytes()
                                  .replace(b"No. Delete", b"No.\x00Delete")),
                 "snippets/checkpoints-delete-avhdx.md", 9, "contains a NUL byte (binary file?)", id="nul-in-snippet"),
    pytest.param(lambda r: _write(r, "snippets/checkpoints-delete-avhdx.md", "ab".encode("utf-16")),
                 "snippets/checkpoints-delete-avhdx.md", 1, "not valid UTF-8 (byte 0xff); save the file as UTF-8",
                 id="utf16-snippet"),
    pytest.param(lambda r: (r / "articles" / "extra.md").mkdir(),
                 "articles/extra.md", 1, None, id="directory-named-md"),
    pytest.param(lambda r: os.symlink(r / "missing-target.md", r / "articles" / "ghost.md"),
                 "articles/ghost.md", 1, None, id="dangling-symlink"),
])
def test_unreadable_files_are_content_errors(runner, tmp_path, make, rel, line, message):
    """Bytes written here rather than committed: a binary file in the repository is easy to 'fix' by accident."""
    root = _valid_copy(tmp_path)
    make(root)
    result = runner.invoke(cli, ["check", "--content", str(root)])
    assert_clean_exit(result, codes=(1,))
    prefix = f"{root.resolve() / rel}:{line}: "  # not rel.resolve(): a symlink is reported by its own name
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith(prefix)]
    assert lines, result.output
    if message is not None:
        assert lines[0] == prefix + message


def test_crlf_and_bom_files_are_fine(tmp_path):
    root = _valid_copy(tmp_path)
    art = root / "articles" / "quorum.md"
    art.write_bytes(b"\xef\xbb\xbf" + art.read_bytes().replace(b"\n", b"\r\n"))
    corpus, problems = check_content(root)
    assert problems == [] and corpus.articles["quorum"].sections[0].line == 13


@pytest.fixture(scope="module")
def good_small_index(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good-small-index")
    build_index(load_corpus(VALID), path)
    return path


@pytest.mark.parametrize("folder", sorted(BROKEN_CASES))
def test_build_refuses_broken_content_and_keeps_the_index(runner, tmp_path, good_small_index, folder):
    index = tmp_path / "index"
    shutil.copytree(good_small_index, index)
    before = read_current(index)
    result = runner.invoke(cli, ["build", "--content", str(BROKEN / folder), "--index", str(index)])
    assert_clean_exit(result, codes=(1,))
    assert "content problem" in result.output and "hint:" in result.output
    assert read_current(index) == before
    assert sorted(p.name for p in index.iterdir() if p.is_dir()) == [before]
    assert search(open_index(index), "witness two node").hits
    # Commands that open the index keep serving the last good build, and say why.
    found = runner.invoke(cli, ["search", "witness", "--json", "--content", str(BROKEN / folder),
                                "--index", str(index)])
    assert_clean_exit(found, codes=(0,))
    assert json.loads(found.stdout)["results"] and "keeping the last good index" in found.output


def test_broken_content_without_an_index_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(cli, ["search", "witness", "--content", str(BROKEN / "several"),
                                 "--index", str(tmp_path / "index")])
    assert_clean_exit(result, codes=(1,))
    assert "7 content problems" in result.output and "hint:" in result.output


# --------------------------------------------------------------------------- 4. damaged index folders

def _seg(build: Path) -> Path:
    return next(build.glob("*.seg"))


def _toc(build: Path) -> Path:
    return next(build.glob("_MAIN_*.toc"))


def _truncate(path: Path, keep: int | None = None) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2 if keep is None else keep])


def _scramble(path: Path) -> None:
    path.write_bytes(random.Random(3).randbytes(max(path.stat().st_size, 64)))


DAMAGE = [
    pytest.param(lambda ix, b: (ix / CURRENT_FILE).write_text("build-20990101-000000-deadbeef\n"),
                 id="current-points-at-missing-build"),
    pytest.param(lambda ix, b: (ix / CURRENT_FILE).write_text(""), id="current-empty"),
    pytest.param(lambda ix, b: (ix / CURRENT_FILE).write_bytes(b"\xff\xfe\x00garbage\x9c"), id="current-garbage-bytes"),
    pytest.param(lambda ix, b: ((ix / CURRENT_FILE).unlink(), (ix / CURRENT_FILE).mkdir()),
                 id="current-is-a-directory"),
    pytest.param(lambda ix, b: (ix / CURRENT_FILE).unlink(), id="no-current"),
    pytest.param(lambda ix, b: (shutil.rmtree(b), b.mkdir()), id="build-dir-empty"),
    pytest.param(lambda ix, b: [p.unlink() for p in list(ix.iterdir()) if p.is_file()], id="index-dir-without-files"),
    pytest.param(lambda ix, b: _truncate(_toc(b)), id="toc-truncated-half"),
    pytest.param(lambda ix, b: _truncate(_toc(b), 10), id="toc-truncated-10-bytes"),
    pytest.param(lambda ix, b: _truncate(_toc(b), 0), id="toc-empty"),
    pytest.param(lambda ix, b: _scramble(_toc(b)), id="toc-garbage"),
    pytest.param(lambda ix, b: _toc(b).unlink(), id="toc-missing"),
    pytest.param(lambda ix, b: _truncate(_seg(b)), id="segment-truncated-half"),
    pytest.param(lambda ix, b: _truncate(_seg(b), 0), id="segment-empty"),
    pytest.param(lambda ix, b: _scramble(_seg(b)), id="segment-garbage"),
    pytest.param(lambda ix, b: _seg(b).unlink(), id="segment-missing"),
    pytest.param(lambda ix, b: (b / "corpus.json").write_text("{not json"), id="corpus-json-garbage"),
    pytest.param(lambda ix, b: _truncate(b / "corpus.json"), id="corpus-json-truncated"),
    pytest.param(lambda ix, b: (b / "corpus.json").write_text("[]"), id="corpus-json-not-an-object"),
    pytest.param(lambda ix, b: _scramble(b / "corpus.json"), id="corpus-json-binary"),
    pytest.param(lambda ix, b: (b / "manifest.json").unlink(), id="manifest-missing"),
    pytest.param(lambda ix, b: (b / "manifest.json").write_text("[1, 2]"), id="manifest-not-an-object"),
    pytest.param(lambda ix, b: (b / "manifest.json").write_text('{"schema_version": "x"}'),
                 id="manifest-bad-schema-version"),
    pytest.param(lambda ix, b: (b / "vocab.json").write_text("{"), id="vocab-json-garbage"),
    pytest.param(lambda ix, b: (b / "vocab.json").write_text("[1, 2, 3]"), id="vocab-json-not-an-object"),
]


@pytest.fixture(scope="module")
def fixture_index_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fixture-index-template")
    build_index(load_corpus(FIXTURE_CONTENT), path)
    return path


def _damaged_copy(template: Path, tmp_path: Path, damage) -> Path:
    index = tmp_path / "index"
    shutil.copytree(template, index)
    damage(index, index / read_current(template))
    return index


@pytest.mark.parametrize("damage", DAMAGE)
def test_ensure_index_rebuilds_a_damaged_index(fixture_index_template, tmp_path, damage):
    index = _damaged_copy(fixture_index_template, tmp_path, damage)
    notes: list[str] = []
    kb_index = ensure_index(FIXTURE_CONTENT, index, on_build=notes.append)
    hits = search(kb_index, "quorum witness").hits
    assert hits and hits[0].topic == "quorum"
    assert notes and notes[0].startswith("building the index (")
    assert read_current(index) == kb_index.path.name


@pytest.mark.parametrize("damage", DAMAGE)
def test_cli_on_a_damaged_index_prints_a_message_and_rebuilds(runner, fixture_index_template, tmp_path, damage):
    index = _damaged_copy(fixture_index_template, tmp_path, damage)
    env = {"HVKB_HOME": str(tmp_path / "home"), "HVKB_CONTENT": str(FIXTURE_CONTENT), "HVKB_INDEX": str(index)}
    result = runner.invoke(cli, ["search", "quorum", "witness", "--json"], env=env)
    assert_clean_exit(result, codes=(0,))
    assert json.loads(result.stdout)["results"]
    assert "hvkb: building the index (" in result.stderr
    again = runner.invoke(cli, ["search", "quorum", "--json"], env=env)
    assert again.exit_code == 0 and "building" not in again.stderr  # repaired once, for good


@pytest.mark.parametrize("damage", DAMAGE)
def test_hvkb_build_repairs_a_damaged_index(runner, fixture_index_template, tmp_path, damage):
    """The hint of every index error is `run hvkb build`: that must always work."""
    index = _damaged_copy(fixture_index_template, tmp_path, damage)
    result = runner.invoke(cli, ["build", "--content", str(FIXTURE_CONTENT), "--index", str(index)])
    assert_clean_exit(result, codes=(0,))
    assert search(open_index(index), "quorum witness").hits


# --------------------------------------------------------------------------- 4b. killed and concurrent builds

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fcntl locks are POSIX")


def _build_cmd(content: Path, index: Path) -> list[str]:
    return [sys.executable, "-m", "kb.cli", "build", "--content", str(content), "--index", str(index)]


def _subprocess_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HVKB_HOME"] = str(tmp_path / "home")
    env.pop("HVKB_INDEX", None)
    env.pop("HVKB_CONTENT", None)
    return env


def _assert_index_usable(index: Path) -> None:
    kb_index = open_index(index)
    assert search(kb_index, "quorum witness").hits
    kb_index.close()


@pytest.fixture
def previous_index(tmp_path, fixture_index_template) -> Path:
    index = tmp_path / "index"
    shutil.copytree(fixture_index_template, index)
    return index


@pytest.mark.slow
@POSIX_ONLY
@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.5, "tmp-dir-appears"])
def test_build_killed_with_sigkill_keeps_the_previous_index(tmp_path, previous_index, delay):
    index = previous_index
    before = read_current(index)
    proc = subprocess.Popen(_build_cmd(REAL_CONTENT, index), cwd=ROOT, env=_subprocess_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if delay == "tmp-dir-appears":
            deadline = time.monotonic() + 30
            while not list(index.glob(".tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
        else:
            time.sleep(delay)
        proc.kill()
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    after = read_current(index)
    # Either the kill came first (old build live) or the build had finished (new build live).
    assert after == before or (after != before and (index / after / "manifest.json").is_file())
    _assert_index_usable(index)
    if delay == "tmp-dir-appears" and proc.returncode == -9:
        assert list(index.glob(".tmp-*")), "the kill should have left a half-written build behind"
    result = build_index(load_corpus(FIXTURE_CONTENT), index)
    assert read_current(index) == result.path.name
    assert not list(index.glob(".tmp-*"))
    assert len(list(index.glob("build-*"))) <= 2
    _assert_index_usable(index)


@pytest.mark.slow
@POSIX_ONLY
def test_build_leaves_no_stale_pointer_files(tmp_path, previous_index):
    """A kill between writing ``.CURRENT.<id>`` and renaming it leaves that file: the next build removes it."""
    stale = previous_index / f".{CURRENT_FILE}.20990101-000000-deadbeef"
    stale.write_text("build-20990101-000000-deadbeef\n")
    build_index(load_corpus(FIXTURE_CONTENT), previous_index)
    assert not stale.exists()


def test_a_superseded_build_survives_until_the_next_build_has_finished(tmp_path):
    """"Keep the previous build one more round": back-to-back builds must not delete it when they *start*.

    A server hands out the build it opened for up to a second after a swap; requests in flight keep it longer.
    """
    corpus = load_corpus(FIXTURE_CONTENT)
    first = build_index(corpus, tmp_path).path
    build_index(corpus, tmp_path)            # `first` is now the previous build, kept one more round
    seen = {}

    def probe(items, n):
        seen["first_exists_while_the_next_build_runs"] = first.is_dir()
        yield from items

    build_index(corpus, tmp_path, progress=probe)
    assert seen["first_exists_while_the_next_build_runs"]


def test_searching_a_build_removed_underneath_is_a_clear_error(tmp_path):
    """A reader still holding a removed build gets a KbError (a 503 in the web app), not a whoosh exception."""
    build_index(load_corpus(FIXTURE_CONTENT), tmp_path)
    held = open_index(tmp_path)
    shutil.rmtree(held.path)                 # what a later build's cleanup does to it
    outcome: list[BaseException | None] = []

    def fresh_thread():                      # a thread without a searcher yet, like a new waitress worker
        try:
            search(held, "quorum witness")
            outcome.append(None)
        except BaseException as exc:         # noqa: BLE001 - inspected below
            outcome.append(exc)

    t = threading.Thread(target=fresh_thread)
    t.start()
    t.join()
    assert outcome[0] is None or isinstance(outcome[0], KbError), repr(outcome[0])


@pytest.mark.slow
@POSIX_ONLY
@pytest.mark.parametrize("n", [2, 3])
def test_concurrent_builds_all_succeed_and_leave_a_valid_index(tmp_path, previous_index, n):
    index = previous_index
    env = _subprocess_env(tmp_path)
    procs = [subprocess.Popen(_build_cmd(REAL_CONTENT, index), cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    # Readers keep opening and searching while the builds swap builds in and out.
    problems: list[str] = []
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            try:
                kb_index = open_index(index)
                search(kb_index, "live migration").hits
                kb_index.close()
            except KbError:
                pass  # a build removed between reading CURRENT and opening it: a clear, retryable error
            except Exception as exc:  # noqa: BLE001 - the point of this test
                problems.append(f"{type(exc).__name__}: {exc}")

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        stop.set()
        reader.join()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "Traceback" not in err and out.startswith("Indexed ")
    assert not list(index.glob(".tmp-*"))
    assert len(list(index.glob("build-*"))) <= 2
    kb_index = open_index(index)
    assert len(kb_index.corpus.articles) == len(load_corpus(REAL_CONTENT).articles)
    assert search(kb_index, "live migration").hits
    assert not problems, problems[:5]


def test_threads_share_one_index_safely(real_index):
    queries = ["quorum witness", "live migration processor", "checkpoint avhdx merge", "dynamic memory sql",
               "integration services time sync", "0x80070005", "Set-VMProcessor", "quorom"]
    expected = {q: [h.id for h in search(real_index, q).hits] for q in queries}
    drafts = {q: answer_question(real_index, q).confidence for q in queries}
    problems: list[str] = []

    def worker(seed: int):
        rng = random.Random(seed)
        for _ in range(25):
            q = rng.choice(queries)
            try:
                if rng.random() < 0.3:
                    assert answer_question(real_index, q).confidence == drafts[q]
                else:
                    assert [h.id for h in search(real_index, q).hits] == expected[q]
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                problems.append(f"{q!r}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not problems, problems[:5]


# --------------------------------------------------------------------------- 5. scripts/load.py

def _load_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hvkb_load_script", ROOT / "scripts" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "0.0.0.0", "127.0.0.1.nip.io", "localhost.example.com",
                                  "::", "169.254.169.254"])
def test_load_script_refuses_other_hosts(host, capsys):
    load = _load_script()
    with pytest.raises(SystemExit) as info:
        load.main(["--host", host, "--seconds", "1"])
    assert info.value.code == 2 and "refusing host" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="refusing host"):
        load.check_host(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "LOCALHOST"])
def test_load_script_accepts_this_machine(host):
    assert _load_script().check_host(host) in ("127.0.0.1", "localhost", "::1")


@pytest.mark.slow
@POSIX_ONLY
def test_load_script_smoke_with_a_rebuild(tmp_path):
    """Start a server, drive it for a few seconds with one rebuild in the middle: no failed request."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "load.py"), "--start-server", "--seconds", "6",
                           "--clients", "8", "--rebuild-at", "1", "--json", "--content", str(FIXTURE_CONTENT)],
                          cwd=ROOT, env=_subprocess_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["endpoints"]["all"]["requests"] > 0 and data["endpoints"]["all"]["errors"] == 0
    assert data["rebuilds"][0]["exit_code"] == 0 and data["rebuilds"][0]["build_after"]


# --- issue 13: caches and batches

def _random_word(rng: random.Random, low: int = 4, high: int = 12) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(low, high)))


def test_random_queries_keep_the_search_caches_bounded(kb_index, monkeypatch):
    """Thousands of searches of made-up words (nearly every term a miss) stay inside every cache's cap."""
    from kb.index import MAX_CACHED_WORD_CHARS, stem_word
    from kb.searching import score_cache

    cache = score_cache(kb_index)
    # Small caps, so a few thousand searches of a small index reach them.
    monkeypatch.setattr(cache, "max_entries", 600)
    monkeypatch.setattr(cache, "max_bytes", 120_000)
    rng = random.Random(13)
    most_entries = most_bytes = 0
    for i in range(3000):
        query = " ".join(_random_word(rng, 4, 90) for _ in range(4)) + (" quorum witness" if i % 10 == 0 else "")
        search(kb_index, query, limit=3, excerpts=False)
        most_entries, most_bytes = max(most_entries, len(cache)), max(most_bytes, cache.nbytes)
    assert 0 < most_entries <= 600 and 0 < most_bytes <= 120_000
    assert len(cache) > 300  # full to near the cap, not emptied
    assert search(kb_index, "quorum witness").hits  # and searches still find things
    speller = kb_index.speller._cache
    assert len(speller) <= 20_000 and max(map(len, speller)) <= MAX_CACHED_WORD_CHARS
    assert stem_word.cache_info().currsize <= 50_000


def test_score_cache_counts_misses_and_drops_least_recently_used():
    from array import array

    from kb.searching import ScoreCache

    cache = ScoreCache(max_entries=3, max_bytes=1 << 20)
    miss = (array("i"), array("d"))
    for w in ("a", "b", "c"):
        cache.put(("seg", "body", w), miss)
    assert cache.get(("seg", "body", "a")) is not None  # "a" used last: "b" is now the oldest
    cache.put(("seg", "body", "d"), miss)
    assert len(cache) == 3 and cache.get(("seg", "body", "b")) is None and cache.get(("seg", "body", "a"))
    assert cache.nbytes > 0  # misses take room too
    big = ScoreCache(max_entries=1000, max_bytes=50_000)
    for n in range(100):
        big.put(("seg", "body", f"w{n}"), (array("i", range(500)), array("d", [1.0] * 500)))
        assert big.nbytes <= 50_000
    assert 1 <= len(big) < 100


def test_a_very_long_word_is_not_kept_in_the_word_caches(kb_index):
    from kb.index import stem_word

    word = "".join(random.Random(7).choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2_000))
    search(kb_index, word, excerpts=False)  # through the speller and the stemmer
    assert word not in kb_index.speller._cache
    stem_word(word)
    before = stem_word.cache_info()
    assert stem_word(word) == stem_word(word)
    after = stem_word.cache_info()
    assert (after.hits, after.currsize) == (before.hits, before.currsize)  # looked up afresh, never kept
    assert stem_word("migrations") == "migrat"  # short words still are cached
    assert stem_word.cache_info().currsize >= 1


def test_answer_jsonl_gives_every_line_its_own_result_or_error(runner, env_small):
    """A bad line between good lines: one output line per input line, in order; no traceback."""
    good = json.dumps({"id": "good", "question": "do I need a witness for a 2 node cluster"})
    bad = [
        ("deep", "[" * 1000 + "]" * 1000),
        ("deep-object", '{"id": "x", "question": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"),
        ("deep-unclosed", "[" * 100_000),
        ("invalid", "{not json"),
        ("not-object", json.dumps([1, 2])),
        ("no-question", json.dumps({"id": 3})),
        ("bad-id", json.dumps({"id": {"a": [1]}, "question": "quorum"})),
        ("nan-id", '{"id": NaN, "question": "quorum"}'),
        ("inf-id", '{"id": 1e999, "question": "quorum"}'),
        ("huge-number", '{"id": ' + "9" * 5000 + ', "question": "quorum"}'),
        ("too-large", json.dumps({"id": "big", "question": "quorum " * 100_000})),
    ]
    lines = [good]
    for _name, line in bad:
        lines += [line, good]
    result = runner.invoke(cli, ["answer", "--jsonl", "-"], input="\n".join(lines).encode(), env=env_small)
    assert_clean_exit(result)
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines), result.output[-2000:]
    for n, (o, line) in enumerate(zip(out, lines), 1):
        if line is good:
            assert o["id"] == "good" and o["sources"], (n, o)
        else:
            assert set(o) == {"id", "error"} and o["error"].startswith(f"line {n}: "), (n, o)
    errors = {name: out[2 * i + 1]["error"] for i, (name, _line) in enumerate(bad)}
    assert "nested too deeply" in errors["deep"] and "nested too deeply" in errors["deep-object"]
    assert "too large" in errors["too-large"] and out[-2]["id"] is None
    assert "id" in errors["bad-id"]


@pytest.fixture
def env_small(index_dir, tmp_path):
    return {"HVKB_HOME": str(tmp_path / "home"), "HVKB_CONTENT": str(FIXTURE_CONTENT), "HVKB_INDEX": str(index_dir)}


# --- issue 13: server

def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthz_status(port: int, timeout: float) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _start_serve(tmp_path: Path, *options: str):
    """``hvkb serve`` on the fixture content, 127.0.0.1 and a free port; returns (process, port) once /healthz is 200."""
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--content", str(FIXTURE_CONTENT), *options],
                            cwd=ROOT, env=_subprocess_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"hvkb serve exited with {proc.returncode}:\n"
                                 + (tmp_path / "server.log").read_text(errors="replace")[-3000:])
        try:
            if _healthz_status(port, timeout=1.0) == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=10)
    raise AssertionError("hvkb serve was not ready after 60 s")


def _stop_serve(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _half_sent(port: int, n: int) -> list:
    import socket

    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: never completed
        socks.append(s)
    return socks


def _still_open(socks: list, seconds: float) -> list:
    """The sockets the server has not closed within ``seconds``."""
    deadline = time.monotonic() + seconds
    open_ones = list(socks)
    while open_ones and time.monotonic() < deadline:
        still = []
        for s in open_ones:
            s.settimeout(max(0.01, min(0.2, deadline - time.monotonic())))
            try:
                if s.recv(1024) == b"":
                    continue                       # closed by the server
            except (ConnectionResetError, BrokenPipeError):
                continue
            except TimeoutError:
                pass
            still.append(s)
        open_ones = still
    return open_ones


@pytest.mark.slow
def test_half_sent_requests_do_not_lock_out_healthz(tmp_path):
    """150 half-sent requests, more than the default connection limit, with the default (10 s) channel
    timeout: /healthz still answers within 3 s, and again after more of them (issue 13, fault 6)."""
    proc, port = _start_serve(tmp_path)
    slow = []
    try:
        for _ in range(2):
            slow += _half_sent(port, 150)
            started = time.monotonic()
            assert _healthz_status(port, timeout=5.0) == 200
            assert time.monotonic() - started < 3.0
    finally:
        for s in slow:
            s.close()
        _stop_serve(proc)


@pytest.mark.slow
def test_channel_timeout_closes_half_sent_requests(tmp_path):
    """``--channel-timeout 1``: a half-sent request is closed within the timeout plus one cleanup pass."""
    proc, port = _start_serve(tmp_path, "--channel-timeout", "1")
    slow = []
    try:
        slow = _half_sent(port, 5)
        assert len(_still_open(slow, 0.5)) == 5    # not closed at once: a slow but honest client gets its second
        assert not _still_open(slow, 5.0), "half-sent connections still open after the channel timeout"
        assert _healthz_status(port, timeout=5.0) == 200
    finally:
        for s in slow:
            s.close()
        _stop_serve(proc)


def test_shedding_closes_the_longest_idle_connection_not_a_busy_or_new_one():
    """At the limit the server frees a slot: the channel idle longest, never one being served or just opened."""
    from types import SimpleNamespace

    from webapp.server import MIN_AGE_TO_SHED, create_server

    server = create_server(lambda environ, start_response: [], "127.0.0.1", 0, 1, connection_limit=10)
    try:
        now = time.time()

        def channel(age, idle, **state):
            fields = {"requests": [], "will_close": False, "close_when_flushed": False, "total_outbufs_len": 0}
            return SimpleNamespace(creation_time=now - age, last_activity=now - idle, **{**fields, **state})

        busy = channel(60, 50, requests=["a request being served"])
        flushing = channel(60, 50, total_outbufs_len=10)
        new = channel(MIN_AGE_TO_SHED / 2, MIN_AGE_TO_SHED / 2)
        idle_long, idle_short = channel(30, 20), channel(30, 5)
        server.active_channels.update({1: busy, 2: flushing, 3: new, 4: idle_short, 5: idle_long})
        assert server.shed_idle_channel(now) and idle_long.will_close
        assert not (busy.will_close or flushing.will_close or new.will_close or idle_short.will_close)
        assert server.shed_idle_channel(now) and idle_short.will_close
        assert not server.shed_idle_channel(now) and not new.will_close  # nothing left that may go
        server.active_channels.clear()
    finally:
        server.close()


def test_serve_passes_connection_limit_and_channel_timeout(runner, monkeypatch, tmp_path):
    """Safe defaults reach waitress; flags and HVKB_CONNECTION_LIMIT / HVKB_CHANNEL_TIMEOUT change them."""
    import kb.cli
    import webapp.server

    calls = []
    monkeypatch.setattr(kb.cli, "open_kb", lambda settings: None)
    monkeypatch.setattr(webapp.server, "serve", lambda app, **options: calls.append(options))
    base = ["serve", "--content", str(FIXTURE_CONTENT), "--index", str(tmp_path / "index")]
    env = {"HVKB_HOME": str(tmp_path / "home")}

    result = runner.invoke(cli, base, env=env)
    assert result.exit_code == 0, result.output
    assert calls[-1]["connection_limit"] == 100
    assert calls[-1]["channel_timeout"] == 10
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8000

    result = runner.invoke(cli, base + ["--connection-limit", "300", "--channel-timeout", "30"], env=env)
    assert result.exit_code == 0, result.output
    assert (calls[-1]["connection_limit"], calls[-1]["channel_timeout"]) == (300, 30)

    result = runner.invoke(cli, base, env={**env, "HVKB_CONNECTION_LIMIT": "50", "HVKB_CHANNEL_TIMEOUT": "5"})
    assert result.exit_code == 0, result.output
    assert (calls[-1]["connection_limit"], calls[-1]["channel_timeout"]) == (50, 5)

    for bad in (["--channel-timeout", "0"], ["--connection-limit", "1"], ["--channel-timeout", "ten"]):
        result = runner.invoke(cli, base + bad, env=env)
        assert_clean_exit(result, codes=(2,))
    help_text = runner.invoke(cli, ["serve", "--help"]).output
    assert "--connection-limit" in help_text and "HVKB_CHANNEL_TIMEOUT" in help_text


# --- issue 13: index
# A damaged, shrunk or unwritable index never takes a process down, the web app serves the last
# good build (or 503) and repairs itself, and it picks up content edits without a restart.

_DAMAGE_SCRIPT = r'''
import json, os, shutil, sys, time
from pathlib import Path
from kb.content import load_corpus
from kb.errors import KbError
from kb.index import build_index, open_index, read_current

work, how, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
content = work / "content"
shutil.copytree(sys.argv[4], content)
index = work / "index"
build_index(load_corpus(content), index)
build = index / read_current(index)

def damage():
    seg, toc = next(build.glob("*.seg")), next(build.glob("_MAIN_*.toc"))
    if how == "segment-shrunk":
        os.truncate(seg, 4096)
    elif how == "segment-emptied":
        os.truncate(seg, 0)
    elif how == "segment-overwritten":
        data = bytearray(seg.read_bytes()); mid = len(data) // 2
        data[mid:mid + 2048] = bytes(2048)
        seg.write_bytes(bytes(data))
    elif how == "toc-deleted":
        toc.unlink()
    elif how == "build-deleted":
        shutil.rmtree(build)

if mode == "library":
    from kb.searching import search
    kb_index = open_index(index)
    assert search(kb_index, "quorum witness").hits
    damage()
    outcome = []
    for q in ("quorum witness", "live migration", "checkpoint", "cluster"):
        try:
            outcome.append(len(search(kb_index, q).hits))
        except KbError as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"outcome": outcome}))
else:
    from webapp import create_app
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INDEX_DIR": str(index),
                      "INDEX_RECHECK_SECONDS": 0})
    client = app.test_client()
    assert client.get("/api/search?q=quorum+witness").get_json()["results"]
    damage()
    seen, deadline = [], time.monotonic() + 10
    while time.monotonic() < deadline:
        r = client.get("/api/search?q=quorum+witness")
        body = r.get_json(silent=True) or {}
        seen.append([r.status_code, body.get("error"), len(body.get("results") or [])])
        if r.status_code == 200 and body.get("results") and read_current(index) != build.name:
            break
        time.sleep(0.05)
    print(json.dumps({"seen": seen, "damaged": build.name, "serving": app.extensions["kb"].build,
                      "current": read_current(index)}))
'''


def _run_damage_script(tmp_path: Path, how: str, mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _DAMAGE_SCRIPT, str(tmp_path), how, mode, str(FIXTURE_CONTENT)],
                          cwd=ROOT, env=_subprocess_env(tmp_path), capture_output=True, text=True, timeout=60)
    # -7 is SIGBUS: a memory-mapped segment shrank under the reader.
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@POSIX_ONLY
@pytest.mark.parametrize("how", ["segment-shrunk", "segment-emptied", "segment-overwritten", "toc-deleted"])
def test_damage_under_an_open_index_is_a_clear_error_never_a_crash(tmp_path, how):
    outcome = _run_damage_script(tmp_path, how, "library")["outcome"]
    assert all(isinstance(o, str) and o.startswith("IndexCorruptError: ") for o in outcome), outcome
    assert "changed since it was opened" in outcome[0], outcome


@POSIX_ONLY
@pytest.mark.parametrize("how", ["segment-shrunk", "segment-overwritten", "toc-deleted", "build-deleted"])
def test_the_web_app_survives_damage_while_serving_and_repairs_itself(tmp_path, how):
    got = _run_damage_script(tmp_path, how, "webapp")
    seen = got["seen"]
    assert all(status in (200, 503) for status, _e, _n in seen), seen
    for status, error, _n in seen:
        if status == 503:
            assert "index" in error and "rebuilding" in error, error
    assert seen[-1][0] == 200 and seen[-1][2] > 0, seen
    assert got["current"] != got["damaged"] and got["serving"] == got["current"], got


def _served_app(tmp_path, recheck_seconds: float, builds: int = 1):
    """A web app over a copy of the fixture content and its freshly built index (``builds`` builds,
    the earlier ones kept as previous builds): (content, index, client, holder)."""
    from webapp import create_app

    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    index = tmp_path / "index"
    for _ in range(builds):
        build_index(load_corpus(content), index)
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INDEX_DIR": str(index),
                      "INDEX_RECHECK_SECONDS": recheck_seconds})
    return content, index, app.test_client(), app.extensions["kb"]


def test_the_web_app_answers_503_when_no_good_index_is_left(tmp_path):
    content, index, client, holder = _served_app(tmp_path, 0)
    assert client.get("/api/search?q=quorum").status_code == 200
    (content / "articles" / "quorum.md").write_text("broken\n")      # no rebuild possible
    seg = next((index / read_current(index)).glob("*.seg"))
    data = bytearray(seg.read_bytes())
    data[len(data) // 2:len(data) // 2 + 2048] = bytes(2048)         # zlib errors, same size
    seg.write_bytes(bytes(data))
    r = client.get("/api/search?q=quorum+witness")
    assert r.status_code == 503 and "damaged" in r.get_json()["error"], r.get_json()
    assert holder.wait(5)       # the background rebuild fails on the broken content
    for _ in range(3):
        r = client.get("/api/search?q=quorum+witness")
        body = r.get_json()
        assert r.status_code == 503 and body["ok"] is False and body["status"] == 503, (r.status_code, body)
        assert "damaged" in body["error"] and "quorum.md:1" in body["error"], body["error"]
    page = client.get("/search?q=quorum")
    assert page.status_code == 503 and b"Traceback" not in page.data


def _fill_disk(mount: Path) -> None:
    with open(mount / "filler", "wb", buffering=0) as fh:  # unbuffered: close() has nothing left to write
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass


@pytest.fixture(params=["tmpfs", "monkeypatch"])
def full_disk(request, tmp_path, monkeypatch):
    """An index folder holding a good build of FIXTURE_CONTENT on a disk with no space left."""
    index = tmp_path / "index"
    index.mkdir()
    build_index(load_corpus(FIXTURE_CONTENT), tmp_path / "template")
    if request.param == "tmpfs":
        if sys.platform != "linux" or os.geteuid() != 0:
            pytest.skip("a real full disk needs root to mount a tmpfs; the monkeypatch case covers it")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(index)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
        request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(index)], check=True))
    shutil.copytree(tmp_path / "template", index, dirs_exist_ok=True)
    if request.param == "tmpfs":
        _fill_disk(index)
    else:
        import errno
        from whoosh.writing import SegmentWriter

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(SegmentWriter, "add_document", full)
    return index


def test_hvkb_build_on_a_full_disk_is_a_clear_error_and_keeps_the_old_index(runner, tmp_path, full_disk):
    before = read_current(full_disk)
    result = runner.invoke(cli, ["build", "--content", str(FIXTURE_CONTENT), "--index", str(full_disk)])
    assert_clean_exit(result, codes=(1,))
    assert "No space left on device" in result.output and "previous index" in result.output, result.output
    assert read_current(full_disk) == before and not list(full_disk.glob(".tmp-*"))
    _assert_index_usable(full_disk)


def test_hvkb_search_on_a_full_disk_serves_the_stale_index_and_says_so(runner, tmp_path, full_disk):
    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    path = content / "articles" / "quorum.md"
    path.write_text(path.read_text().replace("Every node has a vote", "Every node has one vote"))
    env = {"HVKB_HOME": str(tmp_path / "home"), "HVKB_CONTENT": str(content), "HVKB_INDEX": str(full_disk)}
    result = runner.invoke(cli, ["search", "quorum", "witness", "--json"], env=env)
    assert_clean_exit(result, codes=(0,))
    assert json.loads(result.stdout)["results"]
    assert "No space left on device" in result.stderr and "stale" in result.stderr, result.stderr
    assert not list(full_disk.glob(".tmp-*"))


def test_hvkb_build_into_a_read_only_index_folder_is_a_clear_error(runner, tmp_path, monkeypatch):
    import errno

    index = tmp_path / "index"
    build_index(load_corpus(FIXTURE_CONTENT), index)
    if os.geteuid() == 0:  # root writes through chmod: fail the writes the way a read-only folder does
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", str(index / ".build.lock"))

        monkeypatch.setattr("filelock.FileLock.acquire", refuse)
    else:
        index.chmod(0o555)
    try:
        result = runner.invoke(cli, ["build", "--content", str(FIXTURE_CONTENT), "--index", str(index)])
    finally:
        index.chmod(0o755)
    assert_clean_exit(result, codes=(1,))
    assert "Permission denied" in result.output and "cannot write the index" in result.output, result.output


def test_the_web_app_serves_the_stale_index_while_the_disk_is_full(tmp_path, monkeypatch):
    import errno
    from whoosh.writing import SegmentWriter
    from webapp import create_app

    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    index = tmp_path / "index"
    build_index(load_corpus(content), index)
    path = content / "articles" / "quorum.md"
    path.write_text(path.read_text().replace("Every node has a vote", "Every node has one xylophone vote"))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(SegmentWriter, "add_document", full)
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INDEX_DIR": str(index)})
    holder = app.extensions["kb"]
    holder.watch_seconds = holder.retry_seconds = 0.05  # a failed rebuild is retried after retry_seconds
    r = app.test_client().get("/api/search?q=quorum+witness")
    assert r.status_code == 200 and r.get_json()["results"]
    assert holder.stale and "No space left on device" in holder.stale and not list(index.glob(".tmp-*"))
    monkeypatch.undo()                       # space is freed: the next content check rebuilds
    _wait_for_hit(app.test_client(), "xylophone", "quorum")
    assert holder.stale is None


def _wait_for_hit(client, query: str, doc_id: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"/api/search?q={query}").get_json()
        if any(h["id"] == doc_id for h in body.get("results") or []):
            return
        time.sleep(0.05)
    raise AssertionError(f"{doc_id!r} never matched {query!r} within {seconds} s: {body}")


def test_the_running_app_picks_up_content_edits(tmp_path):
    from webapp import create_app

    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INDEX_DIR": str(tmp_path / "index")})
    app.extensions["kb"].watch_seconds = 0.05
    client = app.test_client()
    first = client.get("/api/search?q=xylophone").get_json()
    assert not any(h["id"] == "quorum" for h in first.get("results") or [])
    path = content / "articles" / "quorum.md"
    path.write_text(path.read_text().replace("Every node has a vote", "Every node has one xylophone vote"))
    _wait_for_hit(client, "xylophone", "quorum")
    # Broken edits keep the last good index serving.
    path.write_text("broken\n")
    time.sleep(0.3)
    _wait_for_hit(client, "xylophone", "quorum", seconds=1.0)


def _overwrite_live_segment(index: Path) -> str:
    name = read_current(index)
    seg = next((index / name).glob("*.seg"))
    data = bytearray(seg.read_bytes())
    data[len(data) // 2:len(data) // 2 + 2048] = bytes(2048)
    seg.write_bytes(bytes(data))
    return name


def _wait_until_serving_another_build(client, holder, damaged: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = client.get("/api/search?q=quorum+witness")
        serving = holder.build
        if r.status_code == 200 and serving not in (None, damaged) and serving == read_current(holder.index_dir):
            return
        time.sleep(0.05)
    raise AssertionError(f"still serving {holder.build} (damaged: {damaged}), last answer {r.status_code}")


def test_the_web_app_serves_the_previous_build_while_the_damaged_one_is_rebuilt(tmp_path):
    content, index, client, holder = _served_app(tmp_path, 0, builds=2)  # the first build stays as previous
    assert client.get("/api/search?q=quorum").status_code == 200
    damaged = _overwrite_live_segment(index)
    statuses = []
    for _ in range(5):
        r = client.get("/api/search?q=quorum+witness")
        statuses.append(r.status_code)
        assert r.get_json().get("results"), r.get_json()
    assert statuses == [200] * 5                 # never a 503: the previous build is good
    holder.wait(5)
    _wait_until_serving_another_build(client, holder, damaged)
    assert holder.stale is None and holder.status()["damaged"] is None
    assert not (index / damaged).exists()        # the rebuild removed the damaged build


def test_the_web_app_notices_a_damaged_build_between_periodic_checks(tmp_path):
    """Each request stats the build's files: no request is served from a build known to be damaged."""
    content, index, client, holder = _served_app(tmp_path, 3600)
    assert client.get("/api/search?q=quorum").status_code == 200
    damaged = _overwrite_live_segment(index)
    r = client.get("/api/search?q=quorum+witness")
    assert r.status_code == 503 and "changed since it was opened" in r.get_json()["error"], r.get_json()
    _wait_until_serving_another_build(client, holder, damaged)


# --- issue 13: content files

def _hvkb_bounded(args: list[str], tmp_path: Path, *, seconds: float = 20.0, memory: int = 1 << 30):
    """Run ``python -m kb.cli ARGS`` (or ``-c CODE``) capped in memory and time: a regression fails, never hangs."""
    def cap_memory():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    try:
        cmd = [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", "kb.cli", *args]
        return subprocess.run(cmd, env=_subprocess_env(tmp_path),
                              capture_output=True, text=True, timeout=seconds, preexec_fn=cap_memory)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hvkb {' '.join(args[:1])} still running after {seconds} s: {(exc.stderr or b'')[-500:]!r}")


def _yaml_bomb(indent: str, levels: int = 9) -> str:
    """A 'billion laughs' mapping: under 1 KB of YAML, 9**levels strings once expanded."""
    rows = [f"{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"{indent}a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(rows) + "\n"


@POSIX_ONLY
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["check", "build"])
def test_content_symlink_to_a_device_is_refused_not_read(tmp_path, device, command):
    """A symlink to /dev/zero was read until memory ran out (here: until the 1 GB cap)."""
    root = _valid_copy(tmp_path)
    (root / "articles" / "zero.md").symlink_to(device)
    args = [command, "--content", str(root)] + (["--index", str(tmp_path / "index")] if command == "build" else [])
    proc = _hvkb_bounded(args, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "articles/zero.md:1: not a regular file (a symlink to a character device)" in proc.stdout + proc.stderr


@POSIX_ONLY
@pytest.mark.parametrize("rel", ["articles/pipe.md", "snippets/pipe.md", "glossary.yaml"])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_fifo_in_the_content_does_not_hang_check_or_build(tmp_path, rel, command):
    root = _valid_copy(tmp_path)
    (root / rel).unlink(missing_ok=True)
    os.mkfifo(root / rel)
    args = [command, "--content", str(root)] + (["--index", str(tmp_path / "index")] if command == "build" else [])
    proc = _hvkb_bounded(args, tmp_path, seconds=15.0)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert f"{rel}:1: not a regular file (a FIFO)" in proc.stdout + proc.stderr


@POSIX_ONLY
def test_content_hash_does_not_read_a_device(tmp_path):
    """The staleness check hashes every content file on each CLI search: it must not read /dev/zero either."""
    root = _valid_copy(tmp_path)
    (root / "snippets" / "zero.md").symlink_to("/dev/zero")
    code = f"from pathlib import Path; from kb.content import content_hash; print(content_hash(Path({str(root)!r})))"
    proc = _hvkb_bounded(["-c", code], tmp_path)
    assert proc.returncode == 0 and len(proc.stdout.strip()) == 64, proc.stderr[-2000:]


def test_check_says_a_50_mb_article_is_too_large(runner, tmp_path):
    root = _valid_copy(tmp_path)
    article = root / "articles" / "quorum.md"
    with open(article, "r+b") as fh:  # sparse: 50 MB on paper, nothing on disk
        fh.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    result = runner.invoke(cli, ["check", "--content", str(root)])
    assert_clean_exit(result, codes=(1,))
    assert f"{article}:1: too large (52428800 bytes; the limit is 1000000)" in result.stdout, result.output
    assert time.perf_counter() - started < SLOW_CALL


def _with_front_matter_key(rel: str, yaml_text: str) -> str:
    """The valid base's file ``rel`` with ``yaml_text`` added as the first front matter lines."""
    return (VALID / rel).read_text().replace("---\n", "---\n" + yaml_text, 1)


@pytest.mark.parametrize("rel,text", [
    ("glossary.yaml", "- term: LOL\n  definition:\n" + _yaml_bomb("    ")),
    ("topics.yaml", (VALID / "topics.yaml").read_text() + "- id: lol\n  title: LOL\n  description:\n"
     + _yaml_bomb("    ")),
    ("articles/quorum.md", _with_front_matter_key("articles/quorum.md", "lol:\n" + _yaml_bomb("  "))),
])
def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path, rel, text):
    """9**9 strings from 500 bytes: 36 s and 2.2 GB before a MemoryError traceback (here: the 1 GB cap)."""
    root = _valid_copy(tmp_path)
    (root / rel).write_text(text)
    started = time.perf_counter()
    proc = _hvkb_bounded(["check", "--content", str(root)], tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert re.search(rf"{re.escape(rel)}:\d+: YAML aliases \(\*name\) are not allowed", proc.stdout), proc.stdout
    assert time.perf_counter() - started < SLOW_CALL + 5  # the interpreter's start included


@pytest.mark.parametrize("rel,text,line", [
    ("articles/quorum.md", _with_front_matter_key("articles/quorum.md", "deep: " + "[" * 1000 + "]" * 1000 + "\n"), 2),
    ("glossary.yaml", "- term: DEEP\n  definition: " + "[" * 1000 + "]" * 1000 + "\n", 2),
    ("topics.yaml", "- id: quorum\n  title: Q\n  description: " + "{a: " * 1000 + "}" * 1000 + "\n", 3),
])
def test_yaml_nested_1000_deep_is_a_file_line_error(runner, tmp_path, rel, text, line):
    """A RecursionError traceback before: libyaml refuses 1000 levels, and the pure-Python retry overflowed."""
    root = _valid_copy(tmp_path)
    (root / rel).write_text(text)
    for command in (["check"], ["build", "--index", str(tmp_path / "index")]):
        result = runner.invoke(cli, [*command, "--content", str(root)])
        assert_clean_exit(result, codes=(1,))
        assert f"{root / rel}:{line}: YAML nested more than 50 levels deep" in result.output, result.output
