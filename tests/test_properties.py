"""Property-based tests (issue #7): arbitrary text never breaks search, the drafter or the text helpers.

Text is drawn three ways: any Unicode (lone surrogates included, as undecodable argv bytes become),
forum-like text made of the words and syntax that reach the interesting code paths, and raw bytes
decoded the way ``hvkb answer -`` decodes stdin. Example counts stay moderate so the suite is fast.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.answer import answer_question, validate_question
from kb.content import ContentError, check_content, parse_front_matter
from kb.errors import InputTooLargeError, QueryError
from kb.facts import clean_question, detect_facts, strip_html
from kb.searching import KINDS, search
from kb.text import normalize, slugify, tokens, words
from kb.versions import ALL_VERSIONS, expand_applies_to, find_versions, normalize_version

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words and syntax that reach the interesting paths: identifiers, versions, glossary terms, typos,
# whoosh syntax (never parsed, must stay plain words), markup, control and bidi characters.
FRAGMENTS = [
    "quorum", "witness", "two node", "cluster", "Hyper-V", "hyper v", "2012 R2", "2k8r2", "W2K12 R2", "server 2019",
    "Windows 10", "gen 2", "generation 1", "Set-VMProcessor", "Get-VM", "0x8007274D", "0x80070005", "KB5034441",
    "kb 958662", "live migration", "LM", "IC", "FSW", "CSV", "checkpoint", "avhdx", "quorom", "intergration",
    "vmms.exe", "C:\\ClusterStorage\\Volume1", "event id 3040", "VMware", "vMotion", "Veeam", "DPM", "SCVMM",
    "Xeon E5-2690 v4", "EPYC", "Linux", "Ubuntu", "iSCSI", "VLAN", "dynamic memory", "not", "no", "the", "and",
    "AND", "OR", "NOT", "(", ")", '"', "*", "?", "~2", "^3", "[a TO", "title:", ":", "-", "--", "\\", "{", "}",
    "<p>", "</p>", "<script>alert(1)</script>", "<blockquote>", "&amp;", "&#0;", "> quoted", "Hi all,", "Thanks,",
    "Regards", "On Monday Bob wrote:", "-----Original Message-----", "\x00", "\x1b[31m", "\r\n", "\n", "\t",
    "\ufffd", "\ufeff", "\u200b", "\u202e", "😀", "🔥", "שלום", "مرحبا", "ｑｕｏｒｕｍ", "e\u0301", "İ", "ß",
]
SEPARATORS = st.sampled_from([" ", " ", " ", "", "\n", ", ", ". ", "-", "/", "\t"])
forum_text = st.lists(st.tuples(st.sampled_from(FRAGMENTS), SEPARATORS), max_size=40).map(
    lambda parts: "".join(f + s for f, s in parts))
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=300)
stdin_text = st.binary(max_size=400).map(lambda b: b.decode("utf-8", errors="replace"))
texts = st.one_of(forum_text, any_text, st.text(max_size=300), stdin_text)


# --------------------------------------------------------------------------- search

MARK_RE = re.compile(r"</?mark>")


def _check_search(kb_index, result, limit=None, topic=None, kind=None):
    corpus = kb_index.corpus
    ids = [h.id for h in result.hits]
    assert len(ids) == len(set(ids))
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    for h in result.hits:
        doc = corpus.get(h.id)
        assert doc is not None, h.id
        assert h.kind in KINDS and h.kind == doc.kind
        assert h.score >= 0
        # The excerpt is HTML shown as is: only <mark> tags, everything else escaped.
        assert "<" not in MARK_RE.sub("", h.excerpt) and ">" not in MARK_RE.sub("", h.excerpt)
        if kind:
            assert h.kind == kind
        if topic:
            assert h.topic == topic
    if limit is not None:
        assert len(result.hits) <= max(1, min(limit, 100))
    json.dumps(result.to_dict())


@PROPERTY
@given(query=texts)
def test_search_never_raises_and_is_well_formed(real_index, query):
    try:
        result = search(real_index, query)
    except QueryError as exc:
        assert str(exc)
        return
    _check_search(real_index, result)
    again = search(real_index, query)
    assert [h.id for h in again.hits] == [h.id for h in result.hits]


@FEW
@given(query=forum_text, limit=st.integers(-5, 500), page=st.integers(-5, 10**6),
       topic=st.one_of(st.none(), st.sampled_from(["quorum", "live-migration", "checkpoints", "nope"]),
                       st.text(max_size=20)),
       kind=st.one_of(st.none(), st.sampled_from([*KINDS, "video", ""])),
       version=st.one_of(st.none(), st.sampled_from(["2012 R2", "Windows Server 2019", "ws2016", "Windows 95", ""]),
                         st.text(max_size=20)))
def test_search_filters_and_paging_never_raise(real_index, query, limit, page, topic, kind, version):
    try:
        result = search(real_index, query, limit=limit, page=page, topic=topic, kind=kind, version=version)
    except QueryError as exc:
        assert str(exc)
        return
    _check_search(real_index, result, limit=limit, topic=topic, kind=kind)


# --------------------------------------------------------------------------- drafter

@PROPERTY
@given(question=texts)
def test_answer_question_never_raises_and_is_well_formed(real_index, question):
    try:
        draft = answer_question(real_index, question)
    except (QueryError, InputTooLargeError) as exc:
        assert str(exc)
        return
    assert 0.0 <= draft.confidence <= 1.0
    assert draft.draft.startswith("Hi,") and draft.text.strip()
    assert not draft.answerable or draft.sources
    for s in draft.sources:
        assert real_index.corpus.get(s.id) is not None, s.id
    json.dumps(draft.to_dict())


@FEW
@given(question=texts, cap=st.integers(0, 400))
def test_the_size_cap_is_exact(question, cap):
    if len(question) > cap:
        with pytest.raises(InputTooLargeError):
            validate_question(question, cap)
    else:
        try:
            assert validate_question(question, cap) == question
        except QueryError:
            pass


# --------------------------------------------------------------------------- text helpers

@PROPERTY
@given(text=texts)
def test_tokens_never_raise_and_point_into_the_text(text):
    for t in tokens(text):
        assert t.text
        assert 0 <= t.start < t.end <= len(text)
    assert all(w for w in words(text))
    slugify(text)


@PROPERTY
@given(text=texts)
def test_normalize_is_idempotent_and_printable(text):
    once = normalize(text)
    assert normalize(once) == once
    assert all(ch.isprintable() or ch in "\n\t" for ch in once)


@PROPERTY
@given(text=texts)
def test_find_versions_returns_known_names_once(text):
    found = find_versions(text)
    assert len(found) == len(set(found))
    assert set(found) <= set(ALL_VERSIONS)
    v = normalize_version(text)
    assert v is None or v in ALL_VERSIONS


@FEW
@given(entries=st.lists(st.one_of(st.sampled_from([*ALL_VERSIONS, *(v + "+" for v in ALL_VERSIONS)]),
                                  st.text(max_size=30)), max_size=6))
def test_expand_applies_to_raises_only_value_error(entries):
    try:
        out = expand_applies_to(entries)
    except ValueError:
        return
    assert set(out) <= set(ALL_VERSIONS) and len(out) == len(set(out))


@PROPERTY
@given(text=texts)
def test_detect_facts_never_raises(text):
    facts = detect_facts(text)
    assert set(facts.os_versions) <= set(ALL_VERSIONS)
    json.dumps(facts.to_dict())


@PROPERTY
@given(text=texts)
def test_clean_question_and_strip_html_never_raise(text):
    assert isinstance(strip_html(text), str)
    cleaned = clean_question(text)
    assert isinstance(cleaned, str) and cleaned == cleaned.strip()
    assert "\x00" not in cleaned


# --------------------------------------------------------------------------- content loader

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
                         st.dates())
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
FIELD_NAMES = ["id", "title", "topic", "tags", "applies_to", "summary", "related", "updated", "article", "questions",
               "conditions", "needs", "extra"]
front_matter = st.dictionaries(st.sampled_from(FIELD_NAMES), yaml_values, max_size=9)


@PROPERTY
@given(text=st.one_of(st.text(max_size=400), forum_text,
                      front_matter.map(lambda d: "---\n" + yaml.safe_dump(d, allow_unicode=True) + "---\nBody.\n")))
def test_parse_front_matter_raises_only_content_error(text):
    try:
        data, lines, body, body_line = parse_front_matter(text, Path("x.md"))
    except ContentError as exc:
        assert exc.line >= 1 and str(exc).startswith("x.md:")
        return
    assert isinstance(data, dict) and body_line >= 2


@pytest.fixture(scope="module")
def scratch_content(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scratch") / "content"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "broken" / "_valid", root)
    return root


@FEW
@given(article=front_matter, snippet=front_matter, body=st.one_of(st.text(max_size=200), forum_text),
       raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_check_content_reports_problems_and_never_raises(scratch_content, article, snippet, body, raw):
    """Whatever a content file holds, the loader returns problems with file:line, never an exception."""
    art = scratch_content / "articles" / "quorum.md"
    snip = scratch_content / "snippets" / "quorum-two-node-witness.md"
    art.write_text("---\n" + yaml.safe_dump(article, allow_unicode=True) + "---\n" + body, encoding="utf-8")
    if raw is None:
        snip.write_text("---\n" + yaml.safe_dump(snippet, allow_unicode=True) + "---\n" + body, encoding="utf-8")
    else:
        snip.write_bytes(raw)
    _corpus, problems = check_content(scratch_content)
    for p in problems:
        assert isinstance(p, ContentError) and p.line >= 1
        assert Path(p.path).is_relative_to(scratch_content)
        json.dumps(p.to_dict())
