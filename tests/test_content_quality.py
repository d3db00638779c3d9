"""The shipped knowledge base: coverage per topic, own words, glossary coverage, clean check."""
import re
from pathlib import Path

import pytest

from kb.conditions import CONDITION_FORMS
from kb.content import check_content
from kb.markdown import plain_text
from conftest import REAL_CONTENT

BLOG_TOPICS = ["vmbus-architecture", "integration-services", "cpu-compatibility", "vm-backup",
               "cluster-requirements", "quorum", "dc-virtualization", "azure-itpro"]
SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seed" / "000_6d178368a610f3a5.txt"
RUN = 12  # words in a row that may not be copied from the blog


def test_shipped_content_checks_clean_even_strict():
    corpus, problems = check_content(REAL_CONTENT)
    assert not problems, "\n".join(str(p) for p in problems)


@pytest.mark.parametrize("topic", BLOG_TOPICS)
def test_each_blog_topic_has_its_article_and_five_snippets(real_corpus, topic):
    assert topic in real_corpus.articles and real_corpus.articles[topic].topic == topic
    assert len([s for s in real_corpus.snippets.values() if s.topic == topic]) >= 5


def test_beyond_the_blog(real_corpus):
    others = [a for a in real_corpus.articles.values() if a.topic not in BLOG_TOPICS]
    assert len(others) >= 10
    for a in others:
        assert len(real_corpus.snippets_of(a.id)) >= 3, a.id
    assert sum(1 for s in real_corpus.snippets.values() if s.topic in BLOG_TOPICS) >= 50


def test_every_article_says_which_versions_it_applies_to(real_corpus):
    for a in real_corpus.articles.values():
        assert a.applies_to, a.id
        if a.topic in BLOG_TOPICS and a.topic != "azure-itpro":
            assert any(s.heading.lower().startswith("what changed") for s in a.sections), a.id


def _norm_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("`", "'"))


@pytest.mark.skipif(not SEED.is_file(), reason="the blog seed lives in ../shared/, which only developers and CI have")
def test_no_twelve_word_run_of_the_blog_is_copied(real_corpus):
    seed = _norm_words(SEED.read_text(encoding="utf-8"))
    runs = {tuple(seed[i:i + RUN]) for i in range(len(seed) - RUN + 1)}
    for doc in [*real_corpus.articles.values(), *real_corpus.snippets.values()]:
        text = Path(doc.path).read_text(encoding="utf-8")
        w = _norm_words(text)
        copied = [" ".join(w[i:i + RUN]) for i in range(len(w) - RUN + 1) if tuple(w[i:i + RUN]) in runs]
        assert not copied, f"{doc.path}: copied from the blog: {copied[0]!r}"


# Capitalised words that are not acronyms, or are product names rather than field jargon.
NOT_ACRONYMS = {"I", "A", "OK", "II", "IT", "US", "UK", "FAQ", "PS", "TL", "DR", "NO", "YES", "AND", "OR", "NOT", "BY",
                "WITH", "OFF", "ON", "IDE", "BUT", "IS", "MS", "XP", "NT", "R2", "SP1", "SP2", "TO", "ALL", "HP",
                "ACTION", "ATTR", "URL", "STOP",
                # Syntax and names quoted as they appear (LDAP CN=, PCIROOT() location paths, udev and
                # fsfreeze keywords, the "S3 Cap" video device), not jargon to explain.
                "CN", "PCIROOT", "FREEZE", "THAW", "SYMLINK", "S3"}
# Product and model names (GPU models, VMware adapter types): named, not field jargon.
PRODUCT_NAMES = re.compile(r"^(?:[AL]\d{1,2}S?|VMXNET3|E1000)$")
HOST_NAME = re.compile(r"^(?:VM|HV|NODE|NIC|FW|HOST|DC|SRV|SQL|APP|FS|WEB)\d+$")  # example machine names


def test_glossary_covers_every_acronym_used(real_corpus):
    known = set()
    for e in real_corpus.glossary.entries:
        for p in e.phrases:
            known.update(re.findall(r"[A-Za-z0-9/.+-]+", p.upper()))
            known.add(p.upper())
    missing = {}
    for doc in [*real_corpus.articles.values(), *real_corpus.snippets.values()]:
        text = plain_text(doc.body if doc.kind == "article" else doc.answer)
        for acr in re.findall(r"(?<![\w\\/.-])([A-Z][A-Z0-9]{1,6}s?)(?![\w\\/.-])", text):
            base = acr[:-1] if acr.endswith("s") and acr[:-1].isupper() else acr
            if (base not in known and base not in NOT_ACRONYMS and not base.isdigit() and not HOST_NAME.match(base)
                    and not PRODUCT_NAMES.match(base)):
                missing.setdefault(base, doc.id)
    assert not missing, f"acronyms not in content/glossary.yaml: {missing}"


EVAL_SETS = sorted((Path(__file__).resolve().parent / "data").glob("*_questions.jsonl"))
COPY_LIMIT = 85  # rapidfuzz similarity (0-100) at which a phrasing counts as a copy of a question


def test_no_snippet_phrasing_copies_an_evaluation_question(real_corpus):
    """The question sets measure the drafter; a phrasing copied from one would only measure the copy."""
    import json

    from rapidfuzz import fuzz

    from kb.facts import clean_question

    questions = [clean_question(json.loads(line)["question"]).lower()
                 for path in EVAL_SETS for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert questions
    copies = []
    for s in real_corpus.snippets.values():
        for phrasing in (s.title, *s.questions):
            p = phrasing.lower()
            for q in questions:
                if max(fuzz.ratio(p, q), fuzz.token_sort_ratio(p, q)) >= COPY_LIMIT:
                    copies.append(f"{s.id}: {phrasing!r} ~ {q[:80]!r}")
    assert not copies, "\n".join(copies)


README = REAL_CONTENT.parent / "README.md"
README_COUNTS = re.compile(r"(\d+) articles, (\d+) decision snippets, (?:and )?an? (\d+)-entry glossary")


def test_readme_counts_match_the_shipped_content(real_corpus):
    """The README states how big the knowledge base is; it must never go stale again."""
    found = README_COUNTS.findall(README.read_text(encoding="utf-8"))
    assert found, "README.md no longer says 'N articles, N decision snippets, a N-entry glossary'"
    actual = (len(real_corpus.articles), len(real_corpus.snippets), len(real_corpus.glossary.entries))
    for claim in found:
        assert tuple(map(int, claim)) == actual, f"README says {claim}, the content has {actual}"


def test_every_article_cites_public_sources(real_corpus):
    """A pasted draft links to public pages, so every article names at least two."""
    thin = [a.id for a in real_corpus.articles.values() if len(a.references) < 2]
    assert not thin, f"articles with fewer than 2 references: {thin}"


def test_every_snippet_says_which_pages_back_it(real_corpus):
    """Each shipped snippet names the references that back its answer (``see``, possibly empty): a page
    picked by title words alone was unrelated to its answer for about a quarter of the snippets."""
    unchosen = [s.id for s in real_corpus.snippets.values() if s.see is None]
    assert not unchosen, f"snippets without see: {unchosen[:10]}"
    backed = sum(bool(s.see) for s in real_corpus.snippets.values())
    assert backed >= 0.6 * len(real_corpus.snippets), backed


# A condition stated in one of the plain forms of kb.conditions.CONDITION_FORMS is a fact the drafter
# checks, so the snippet must carry it as `when` too: prose alone does not stop an Ubuntu question getting
# the Windows-guest answer. Conditions with "or" state alternatives and are left to the reader.
def test_checkable_conditions_are_machine_checked(real_corpus):
    missing = []
    for s in real_corpus.snippets.values():
        for cond in s.conditions:
            if re.search(r"\bor\b", cond):
                continue
            for rx, key, value in CONDITION_FORMS:
                if rx.search(cond) and s.when_map.get(key) != value:
                    missing.append(f"{s.path}: condition {cond!r} needs when: {{{key}: {value}}}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("condition, key, value", [
    ("the guest is Windows and had a static IP", "guest", "windows"),
    ("the guest runs Linux", "guest", "linux"),
    ("the VM is generation 2 and shut down", "generation", "2"),
    ("the host is a failover cluster node", "cluster", "yes"),
    ("the VM is a clustered role", "cluster", "yes"),
    ("the host is not clustered", "cluster", "no"),
    ("the server is not a failover cluster node", "cluster", "no"),
])
def test_checkable_condition_forms(condition, key, value):
    assert [(k, v) for rx, k, v in CONDITION_FORMS if rx.search(condition)] == [(key, value)]


@pytest.mark.parametrize("condition, value", [
    ("the guests run Windows Server", "server"), ("the guest runs a Windows desktop edition", "client")])
def test_a_windows_edition_condition_states_the_guest_too(condition, value):
    assert [(k, v) for rx, k, v in CONDITION_FORMS if rx.search(condition)] == [
        ("guest", "windows"), ("guest_edition", value)]
