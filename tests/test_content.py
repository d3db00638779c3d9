import os
from pathlib import Path

import pytest

from kb.content import check_content, load_corpus
from kb.errors import ContentValidationError
from conftest import FIXTURE_CONTENT, copy_content


def test_fixture_corpus_loads(corpus):
    assert set(corpus.articles) == {"quorum", "integration-services", "cpu-compatibility"}
    assert len(corpus.snippets) == 3
    snip = corpus.snippets["quorum-two-node-witness"]
    assert snip.topic == "quorum"  # derived from the parent article
    assert snip.applies_to[0] == "Windows Server 2012 R2" and "Windows Server 2025" in snip.applies_to
    art = corpus.articles["quorum"]
    assert [s.anchor for s in art.sections] == ["witness-types", "dynamic-quorum"]
    # Section lines point at the heading in the file.
    lines = Path(art.path).read_text().splitlines()
    assert lines[art.sections[0].line - 1] == "## Witness types"


def test_article_references_load_in_order(corpus):
    refs = corpus.articles["quorum"].references
    assert [r.url for r in refs] == ["https://learn.microsoft.com/en-us/windows-server/failover-clustering/manage-cluster-quorum",
                                     "https://learn.microsoft.com/en-us/windows-server/failover-clustering/deploy-cloud-witness"]
    assert refs[0].title == "Configure and manage quorum"
    assert corpus.articles["cpu-compatibility"].references == ()


def test_corpus_round_trips_through_dict(corpus):
    from kb.content import Corpus

    again = Corpus.from_dict(corpus.to_dict())
    assert again.articles == corpus.articles
    assert again.snippets == corpus.snippets
    assert [e.term for e in again.glossary.entries] == [e.term for e in corpus.glossary.entries]


def _broken(tmp_path, rel: str, text: str | bytes) -> Path:
    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    target = root / rel
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


def _messages(root: Path) -> list[str]:
    _, problems = check_content(root)
    return [f"{Path(p.path).relative_to(root)}:{p.line}: {p.problem}" for p in problems if not p.warning]


ARTICLE = """---
id: quorum
title: T
topic: quorum
summary: S.
updated: 2026-11-27
---
Body.
"""


@pytest.mark.parametrize("rel,text,expected", [
    ("articles/quorum.md", ARTICLE.replace("title: T\n", ""), "articles/quorum.md:1: article: 'title' is required"),
    ("articles/quorum.md", ARTICLE.replace("topic: quorum", "topic: [oops"),
     "articles/quorum.md:5: invalid YAML"),
    ("articles/quorum.md", ARTICLE.replace("topic: quorum", "topic: storage"),
     "articles/quorum.md:4: unknown topic 'storage'"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\ntags: 5"),
     "articles/quorum.md:6: 'tags' must be a list, not int"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nrelated: [nope]"),
     "articles/quorum.md:6: related article 'nope' does not exist"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\napplies_to: [Windows Server 2013]"),
     "articles/quorum.md:6: applies_to: unknown version 'Windows Server 2013'"),
    ("articles/quorum.md", ARTICLE.replace("Body.\n", ""), "articles/quorum.md:8: article body is empty"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nreferences:\n  - title: Docs\n    url: /articles/quorum"),
     "articles/quorum.md:7: references item 1: '/articles/quorum' is not an absolute https URL"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nreferences:\n  - title: Docs\n    url: https://ok.example.com/a\n"
                                          "  - title: Plain\n    url: http://learn.microsoft.com/x"),
     "articles/quorum.md:9: references item 2: 'http://learn.microsoft.com/x' is not an absolute https URL"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nreferences:\n  - https://learn.microsoft.com/x"),
     "articles/quorum.md:7: references item 1 needs text 'title' and 'url'"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nreferences: https://learn.microsoft.com/x"),
     "articles/quorum.md:6: 'references' must be a list of {title, url}, not str"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nreferences:\n  - title: ''\n    url: https://a.example.org/"),
     "articles/quorum.md:7: references item 1: 'title' is empty"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nreferences:\n  - title: Docs\n    url: https://learn microsoft.com/x"),
     "articles/quorum.md:7: references item 1: 'https://learn microsoft.com/x' is not an absolute https URL"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nreferences:\n  - {title: A, url: 'https://a.example.org/p'}\n"
                                          "  - {title: B, url: 'https://a.example.org/p'}"),
     "articles/quorum.md:6: references: https://a.example.org/p is listed twice"),
    ("articles/quorum.md", ARTICLE.replace("id: quorum", "id: quorum-x"),
     "articles/quorum.md:2: id 'quorum-x' does not match the file name 'quorum.md'"),
    ("articles/quorum.md", b"---\nid: quorum\ntitle: caf\xe9\n---\nx\n", "articles/quorum.md:3: not valid UTF-8"),
    ("articles/quorum.md", "no front matter\n", "articles/quorum.md:1: front matter: the file must start with"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [one]\n---\nAnswer.\n",
     "snippets/quorum-two-node-witness.md:4: snippet needs at least 2 question phrasings, has 1"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: nowhere\nquestions: [a, b]\n---\nAnswer.\n",
     "snippets/quorum-two-node-witness.md:3: parent article 'nowhere' does not exist"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nneeds:\n  - os_version\n  - mood\n---\nA.\n",
     "snippets/quorum-two-node-witness.md:7: unknown need 'mood'"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\n---\n" + "word " * 130 + "\n",
     "snippets/quorum-two-node-witness.md:6: snippet answer has 130 words; the limit is 120"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nwhen: {cpu_vendor: maybe}\n---\nA.\n",
     "snippets/quorum-two-node-witness.md:5: when: cpu_vendor must be one of same, mixed, not 'maybe'"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nwhen: {colour: red}\n---\nA.\n",
     "snippets/quorum-two-node-witness.md:5: when: unknown key 'colour'"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nwhen: mixed\n---\nA.\n",
     "snippets/quorum-two-node-witness.md:5: 'when' must be a mapping"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nsee:\n"
     "  - https://learn.microsoft.com/en-us/windows-server/failover-clustering/deploy-cloud-witness\n"
     "  - https://example.com/not-listed\n---\nA.\n",
     "snippets/quorum-two-node-witness.md:7: see: 'https://example.com/not-listed' is not among the references "
     "of article 'quorum'"),
    ("snippets/dup.md", "---\nid: quorum\narticle: quorum\nquestions: [a, b]\n---\nA.\n",
     "snippets/dup.md:2: id 'quorum' does not match the file name 'dup.md'"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nasides:\n  - Also\n  - Nowhere\n---\n"
     "Yes. Also a side note.\n",
     "snippets/quorum-two-node-witness.md:7: aside 'Nowhere' must open exactly one sentence of the answer; it opens 0"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nasides: ['Yes']\n---\nYes. More.\n",
     "snippets/quorum-two-node-witness.md:5: aside 'Yes' opens the answer's first sentence"),
    ("snippets/quorum-two-node-witness.md",
     "---\nid: quorum-two-node-witness\narticle: quorum\nquestions: [a, b]\nasides: [Run]\n---\nYes.\n\n- Run it.\n",
     "snippets/quorum-two-node-witness.md:5: asides are for answers in plain prose"),
])
def test_each_broken_file_is_reported_with_file_and_line(tmp_path, rel, text, expected):
    root = _broken(tmp_path, rel, text)
    msgs = _messages(root)
    assert any(m.startswith(expected) for m in msgs), msgs


def test_duplicate_ids_name_both_files(tmp_path):
    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    (root / "snippets" / "quorum.md").write_text("---\nid: quorum\narticle: quorum\nquestions: [a, b]\n---\nA.\n")
    msgs = _messages(root)
    assert any("snippets/quorum.md:2: duplicate id 'quorum' (also in" in m for m in msgs), msgs


def test_every_problem_is_reported_in_one_run(tmp_path):
    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    (root / "articles" / "quorum.md").write_text(ARTICLE.replace("title: T\n", ""))
    (root / "articles" / "cpu-compatibility.md").write_text(ARTICLE.replace("id: quorum", "id: cpu-compatibility")
                                                             .replace("topic: quorum", "topic: nope"))
    with pytest.raises(ContentValidationError) as exc:
        load_corpus(root)
    text = str(exc.value)
    assert "quorum.md:1: article: 'title' is required" in text
    assert "cpu-compatibility.md:4: unknown topic 'nope'" in text


def test_unknown_field_is_a_warning_and_strict_fails(tmp_path):
    root = _broken(tmp_path, "articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\ncolour: red"))
    load_corpus(root)  # warnings do not fail a normal load
    with pytest.raises(ContentValidationError, match="unknown field 'colour'"):
        load_corpus(root, strict=True)


# --------------------------------------------------------------------------- hostile files (issue 13)

def _bomb(indent: str, levels: int = 6) -> str:
    """A YAML 'billion laughs' mapping: ``levels`` aliases deep, 9**levels strings once expanded."""
    rows = [f"{indent}a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        rows.append(f"{indent}a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(rows) + "\n"


GLOSSARY_HEAD = "- term: IC\n  synonyms: [Integration Services]\n  definition: Guest services.\n"
TOPICS_HEAD = (FIXTURE_CONTENT / "topics.yaml").read_text() + "- id: extra\n  title: Extra\n"
T = TOPICS_HEAD.count("\n")  # the extra topic's last line
DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("rel,text,expected", [
    # Each message points at the first alias, on the bomb's second row.
    ("glossary.yaml", GLOSSARY_HEAD + "- term: LM\n  definition:\n" + _bomb("    "),
     "glossary.yaml:7: YAML aliases (*name) are not allowed"),
    ("topics.yaml", TOPICS_HEAD + "  description:\n" + _bomb("    "),
     f"topics.yaml:{T + 3}: YAML aliases (*name) are not allowed"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: &s S.\ntags: [*s]"),
     "articles/quorum.md:6: YAML aliases (*name) are not allowed"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nx:\n" + _bomb("  ")),
     "articles/quorum.md:8: YAML aliases (*name) are not allowed"),
])
def test_yaml_aliases_are_refused_everywhere(tmp_path, rel, text, expected):
    """Expanding an alias bomb took 36 s and 2.2 GB: refuse aliases in every YAML the loader reads."""
    root = _broken(tmp_path, rel, text)
    msgs = _messages(root)
    assert any(m.startswith(expected) for m in msgs), msgs


@pytest.mark.parametrize("rel,text,expected", [
    ("articles/quorum.md", ARTICLE.replace("summary: S.", f"summary: S.\ntags: {DEEP}"),
     "articles/quorum.md:6: YAML nested more than 50 levels deep"),
    ("articles/quorum.md", ARTICLE.replace("summary: S.", "summary: S.\nx:\n"
                                          + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(200)) + "    " * 101 + "v\n"),
     "articles/quorum.md:55: YAML nested more than 50 levels deep"),
    ("glossary.yaml", GLOSSARY_HEAD + f"- term: LM\n  definition: {DEEP}\n",
     "glossary.yaml:5: YAML nested more than 50 levels deep"),
    ("topics.yaml", TOPICS_HEAD + "  description: " + "{a: " * 1000 + "}" * 1000 + "\n",
     f"topics.yaml:{T + 1}: YAML nested more than 50 levels deep"),
])
def test_deeply_nested_yaml_is_a_content_error(tmp_path, rel, text, expected):
    root = _broken(tmp_path, rel, text)
    msgs = _messages(root)
    assert any(m.startswith(expected) for m in msgs), msgs


def test_reasonable_nesting_and_quoted_stars_still_load(tmp_path):
    text = ARTICLE.replace("summary: S.", "summary: '*S* & more'\nx: " + "[" * 20 + "1" + "]" * 20)
    root = _broken(tmp_path, "articles/quorum.md", text)
    assert _messages(root) == []


@pytest.mark.parametrize("rel,size,limit", [
    ("articles/quorum.md", 1_000_001, 1_000_000),
    ("snippets/quorum-two-node-witness.md", 5_000_000, 1_000_000),
    ("glossary.yaml", 2_000_001, 2_000_000),
    ("topics.yaml", 2_000_001, 2_000_000),
])
def test_oversized_files_are_refused_before_reading(tmp_path, rel, size, limit):
    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    target = root / rel
    head = target.read_bytes()
    target.write_bytes(head + b"#" * (size - len(head) - 1) + b"\n")
    assert target.stat().st_size == size
    assert f"{rel}:1: too large ({size} bytes; the limit is {limit})" in _messages(root)


def test_a_file_at_the_size_limit_is_read(tmp_path):
    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    target = root / "topics.yaml"
    head = target.read_bytes()
    target.write_bytes(head + b"#" * (2_000_000 - len(head) - 1) + b"\n")
    assert _messages(root) == []


@pytest.mark.parametrize("rel", ["articles/quorum.md", "snippets/extra.md", "glossary.yaml", "topics.yaml"])
def test_a_symlink_to_a_device_is_not_read(tmp_path, rel):
    """/dev/null reads as empty; /dev/zero (tests/test_reliability.py) never ends."""
    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    target = root / rel
    target.unlink(missing_ok=True)
    target.symlink_to("/dev/null")
    msgs = _messages(root)
    assert f"{rel}:1: not a regular file (a symlink to a character device)" in msgs, msgs


def test_a_symlink_to_a_regular_file_is_followed(tmp_path):
    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    article = root / "articles" / "quorum.md"
    real = tmp_path / "quorum.md"
    article.rename(real)
    article.symlink_to(real)
    corpus, problems = check_content(root)
    assert "quorum" in corpus.articles and problems == []


def _finishes(fn, fifo: Path, seconds: float = 5.0):
    """Run ``fn`` in a thread; if it blocks on ``fifo``, unblock it (open the write end) and fail."""
    import threading

    out: list = []
    worker = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        with open(fifo, "wb"):
            pass  # the reader now sees end of file and returns
        worker.join(seconds)
        pytest.fail(f"blocked for {seconds} s reading the FIFO {fifo}")
    return out[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("rel", ["articles/pipe.md", "glossary.yaml"])
def test_content_hash_and_check_never_open_a_fifo(tmp_path, rel):
    from kb.content import content_hash

    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    before = content_hash(root)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (root / rel).unlink(missing_ok=True)
    (root / rel).symlink_to(fifo)  # a symlink hides the FIFO from is_file() checks that look at the link
    assert _finishes(lambda: content_hash(root), fifo) != before
    _, problems = _finishes(lambda: check_content(root), fifo)
    assert f"{rel}:1: not a regular file (a symlink to a FIFO)" in [
        f"{Path(p.path).relative_to(root)}:{p.line}: {p.problem}" for p in problems]


def test_content_hash_notices_a_change_to_an_oversized_file(tmp_path):
    from kb.content import content_hash

    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    big = root / "articles" / "big.md"
    big.write_bytes(b"x" * 1_000_001)
    first = content_hash(root)
    big.write_bytes(b"y" * 1_000_002)
    assert content_hash(root) != first  # not read, but its size and mtime are hashed


def test_asides_load_and_round_trip(tmp_path):
    """``asides`` name sentences of the answer by their opening words; the answer itself keeps them."""
    from kb.content import Corpus

    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    path = root / "snippets" / "quorum-two-node-witness.md"
    text = path.read_text()
    body = text.split("---\n", 2)[2]
    second = body.split(". ")[1].split()[:3]
    aside = " ".join(second)
    path.write_text(text.replace("article: quorum\n", f"article: quorum\nasides: ['{aside}']\n", 1))
    corpus = load_corpus(root, strict=True)
    snip = corpus.snippets["quorum-two-node-witness"]
    assert snip.asides == (aside,) and aside in snip.answer
    assert Corpus.from_dict(corpus.to_dict()).snippets[snip.id].asides == (aside,)
    assert load_corpus(FIXTURE_CONTENT).snippets[snip.id].asides == ()


def test_chosen_references_load_and_round_trip(tmp_path):
    """``see`` keeps the author's order; ``see: []`` (none fits) differs from no ``see`` (not chosen)."""
    from kb.content import Corpus

    root = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    path = root / "snippets" / "quorum-two-node-witness.md"
    text = path.read_text()
    urls = ["https://learn.microsoft.com/en-us/windows-server/failover-clustering/deploy-cloud-witness",
            "https://learn.microsoft.com/en-us/windows-server/failover-clustering/manage-cluster-quorum"]
    path.write_text(text.replace("article: quorum\n", "article: quorum\nsee:\n" + "".join(f"  - {u}\n" for u in urls), 1))
    corpus = load_corpus(root, strict=True)
    snip = corpus.snippets["quorum-two-node-witness"]
    assert snip.see == tuple(urls)
    assert Corpus.from_dict(corpus.to_dict()).snippets[snip.id].see == tuple(urls)
    assert load_corpus(FIXTURE_CONTENT).snippets[snip.id].see is None
    path.write_text(text.replace("article: quorum", "article: quorum\nsee: []", 1))
    assert load_corpus(root, strict=True).snippets[snip.id].see == ()
