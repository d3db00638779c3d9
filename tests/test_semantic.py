"""The optional semantic features (issue 12, point 5): on with the extra, off without it or by choice."""
from __future__ import annotations

import sys

import pytest

from kb import semantic
from kb.facts import clean_question, detect_facts
from kb.features import SEMANTIC_POOL, describe
from kb.focus import find_focus
from kb.ranker import SEMANTIC_WEIGHTS_FILE, WEIGHTS_FILE, load_ranker
from kb.retrieval import retrieve

needs_wordllama = pytest.mark.skipif(semantic._model() is None,
                                     reason="the semantic extra (wordllama) is not installed")


@pytest.fixture
def fresh_model_cache():
    """Forget the loaded model (and the shipped rankers) before and after the test."""
    import kb.ranker as r

    def reset():
        semantic._model.cache_clear()
        r._DEFAULTS.clear()

    reset()
    yield
    reset()


def test_off_by_environment_even_when_installed(monkeypatch, fresh_model_cache):
    import kb.ranker as r

    monkeypatch.setenv(semantic.ENV, "off")
    assert not semantic.enabled()
    assert not r.default_ranker().semantic
    assert r.default_ranker() == load_ranker(WEIGHTS_FILE)


def test_off_when_the_package_is_missing(monkeypatch, fresh_model_cache):
    import kb.ranker as r

    monkeypatch.delenv(semantic.ENV, raising=False)
    monkeypatch.setitem(sys.modules, "wordllama", None)  # "import wordllama" raises ImportError
    assert semantic._model() is None and not semantic.enabled()
    assert not r.default_ranker().semantic
    with pytest.raises(RuntimeError, match=r'pip install "hvkb\[semantic\]"'):
        semantic.embed(["a question"])


def test_shipped_weights_for_both_modes_name_their_features():
    lexical = load_ranker(WEIGHTS_FILE)
    assert not lexical.semantic
    if SEMANTIC_WEIGHTS_FILE.exists():
        with_sem = load_ranker(SEMANTIC_WEIGHTS_FILE)
        assert with_sem.semantic and set(semantic.FEATURES) <= set(with_sem.features)
        assert with_sem.info["semantic"] is True and lexical.info["semantic"] is False


@needs_wordllama
def test_similarity_follows_meaning_not_shared_words(real_index):
    vectors = semantic.snippet_vectors(real_index)
    sims = vectors.similarities("enhanced mode is greyed out for my ubuntu vm",
                                ["enhanced-session-linux", "quorum-two-node-witness"])
    assert sims["enhanced-session-linux"] > sims["quorum-two-node-witness"]
    assert semantic.snippet_vectors(real_index) is vectors  # once per opened index


@needs_wordllama
def test_describe_adds_the_semantic_features_only_when_asked(real_index):
    q = clean_question("Hyper-V enhanced mode grey out on an Ubuntu 20.04 guest, the host policy is on")
    focus, facts = find_focus(q), detect_facts(q)
    c = retrieve(real_index, q, focus.text)
    plain = describe(real_index, q, focus, facts, c)
    assert plain and all("sem" not in cand.features for cand in plain)
    with_sem = describe(real_index, q, focus, facts, c, semantic=True)
    # The same candidates first, then up to SEMANTIC_POOL nearest by meaning that the words missed.
    ids = [x.snippet.id for x in with_sem]
    assert ids[:len(plain)] == [x.snippet.id for x in plain] and len(ids) - len(plain) <= SEMANTIC_POOL
    assert "enhanced-session-linux" in ids
    rel = [cand.features["sem_rel"] for cand in with_sem]
    assert max(rel) == 0.0 and all(-2.0 <= v <= 0.0 for v in rel)
    assert all(-1.0 <= cand.features["sem"] <= 1.0 for cand in with_sem)


@needs_wordllama
@pytest.mark.skipif(not SEMANTIC_WEIGHTS_FILE.exists(), reason="no semantic weights shipped")
def test_drafts_with_either_model(real_index, fresh_model_cache):
    import kb

    question = "Two node Windows Server 2019 cluster, do I need a witness for quorum?"
    with_sem = kb.answer_question(real_index, question, ranker=load_ranker(SEMANTIC_WEIGHTS_FILE))
    lexical = kb.answer_question(real_index, question, ranker=load_ranker(WEIGHTS_FILE))
    for d in (with_sem, lexical):
        assert d.sources and 0.0 <= d.confidence <= 1.0
