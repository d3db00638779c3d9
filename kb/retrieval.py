"""Candidate snippets for a question: BM25F over the whole paste and over its focus, rapidfuzz over
every snippet phrasing, and article hits that vote for their topic.

Retrieval casts the net; :mod:`kb.features` describes each candidate and :mod:`kb.ranker` decides.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from kb.content import Corpus
from kb.errors import QueryError
from kb.searching import Hit, search
from kb.text import is_identifier, words

RRF_K = 10                 # reciprocal-rank constant: small, so the first few ranks dominate
FUZZY_WEIGHT = 0.5         # weight of the rapidfuzz phrasing ranking against the BM25F ranking
FUZZY_SCORER = fuzz.token_set_ratio
TOPIC_DECAY = 0.5          # a topic's n-th snippet adds this power n of its score: size alone does not win
RETRIEVE_LIMIT = 30        # candidates taken from each ranking
MAX_SEARCH_CHARS = 1500    # a long paste is searched by its first part (questions come first)
MAX_SEARCH_WORDS = 40      # ...and by its most specific words: fewer, rarer terms rank as well, faster

# Stop words for the fuzzy comparison: what every forum question says.
FUZZ_STOP = frozenset("""a an the and or but if of to in on at for with from by is are was were be been being
i we you he she it they my our your me us this that these those there here what which who how why when where
do does did can could would should will shall may might must have has had not no yes any some all just also
so very really please thanks thank hi hello anyone someone know question help need want get got using use
vm vms hyper hyperv server windows""".split())


@dataclass
class Candidates:
    """Retrieval evidence for one question."""
    snippet_scores: dict[str, float]            # fused BM25F + fuzzy score per snippet
    article_hits: list[Hit]
    topic_scores: dict[str, float]
    fuzzy: dict[str, float]                     # snippet id -> best phrasing similarity 0..100, whole paste
    content_words: int = 0                      # words left after dropping what every question says
    bm25: dict[str, float] = field(default_factory=dict)        # snippet -> BM25F relative to the best, paste
    bm25_rank: dict[str, int] = field(default_factory=dict)     # snippet -> 0-based rank among snippets
    focus_bm25: dict[str, float] = field(default_factory=dict)  # the same over the question's focus
    focus_fuzzy: dict[str, float] = field(default_factory=dict)


def fuzz_text(text: str) -> str:
    """Words that say what a question is about, stemmed so "reboots" meets "rebooted"."""
    from kb.index import stem_word

    return " ".join(stem_word(w) for w in words(text) if w not in FUZZ_STOP and len(w) > 1)


class Phrasings:
    """Every snippet question phrasing, pre-processed once per opened index."""

    def __init__(self, corpus: Corpus):
        self.owner: list[str] = []
        self.choices: list[str] = []
        for s in corpus.snippets.values():
            for q in (s.title, *s.questions):
                self.owner.append(s.id)
                self.choices.append(fuzz_text(q))
        # Many phrasings read the same once stemmed and stripped: rapidfuzz compares each text once.
        self.unique: list[str] = []
        self.where: list[list[int]] = []  # positions in ``choices`` of each unique text, in order
        slot: dict[str, int] = {}
        for i, text in enumerate(self.choices):
            if text not in slot:
                slot[text] = len(self.unique)
                self.unique.append(text)
                self.where.append([])
            self.where[slot[text]].append(i)

    def extract(self, query: str, limit: int, score_cutoff: float) -> list[tuple[float, int]]:
        """``process.extract(query, self.choices, ...)`` as ``(score, index)``, best first, ties in
        choice order: the same entries, with each distinct text scored once."""
        found = process.extract(query, self.unique, scorer=FUZZY_SCORER, limit=limit, score_cutoff=score_cutoff)
        entries = [(score, i) for _text, score, u in found for i in self.where[u]]
        entries.sort(key=lambda e: (-e[0], e[1]))
        return entries[:limit]

    def best(self, query: str, limit: int = RETRIEVE_LIMIT * 3, score_cutoff: float = 40) -> dict[str, float]:
        """Snippet id -> its best phrasing's similarity to ``query`` (fuzz_text already applied)."""
        out: dict[str, float] = {}
        if query:
            for score, idx in self.extract(query, limit=limit, score_cutoff=score_cutoff):
                sid = self.owner[idx]
                out[sid] = max(out.get(sid, 0.0), score)
        return out


def phrasings(kb_index) -> Phrasings:
    p = getattr(kb_index, "_phrasings", None)
    if p is None:
        p = kb_index._phrasings = Phrasings(kb_index.corpus)
    return p


def specific_words(text: str, vocab: dict[str, int], limit: int = MAX_SEARCH_WORDS) -> str:
    """The ``limit`` most specific words of a question, in their order: rare corpus words first.

    Identifiers (versions, codes, cmdlets) always count as specific; words the corpus does not know
    (typos, product names) rank with the rare ones so the speller and glossary still see them.
    """
    from kb.index import STOPWORDS

    seen: dict[str, int] = {}
    for i, w in enumerate(words(text)):
        if w in STOPWORDS or w in seen or len(w) < 2:
            continue
        seen[w] = i
    if len(seen) <= limit:
        return " ".join(seen)

    def rarity(w: str) -> int:
        return 0 if is_identifier(w) else vocab.get(w, 1)
    keep = sorted(seen, key=lambda w: (rarity(w), seen[w]))[:limit]
    return " ".join(sorted(keep, key=seen.get))


def _snippet_bm25(kb_index, text: str) -> tuple[list[Hit], list[Hit]]:
    """(snippet hits, article hits) for ``text``; none when nothing in it is searchable."""
    try:
        hits = search(kb_index, specific_words(text, kb_index.vocab), limit=RETRIEVE_LIMIT, excerpts=False).hits
    except QueryError:
        hits = []
    return [h for h in hits if h.kind == "snippet"], [h for h in hits if h.kind == "article"]


def _relative(hits: list[Hit]) -> dict[str, float]:
    top = hits[0].score if hits and hits[0].score > 0 else 1.0
    return {h.id: h.score / top for h in hits}


def retrieve(kb_index, question: str, focus: str = "") -> Candidates:
    """Rank snippets and articles for a cleaned question (and its focus); fuse; aggregate by topic."""
    corpus = kb_index.corpus
    text = question[:MAX_SEARCH_CHARS]
    snippet_hits, article_hits = _snippet_bm25(kb_index, text)
    fused: dict[str, float] = defaultdict(float)
    # BM25F by score, not by rank: a snippet far ahead of the rest keeps its lead, and ten
    # mediocre matches from one topic no longer add up to more than one strong match.
    bm25 = _relative(snippet_hits)
    for sid, rel in bm25.items():
        fused[sid] += rel / (RRF_K + 1)
    # Fuzzy: the question against every phrasing; a snippet counts once, by its best phrasing.
    ph = phrasings(kb_index)
    qf = fuzz_text(text)
    fuzzy = ph.best(qf)
    for rank, (sid, _score) in enumerate(sorted(fuzzy.items(), key=lambda kv: -kv[1])[:RETRIEVE_LIMIT]):
        fused[sid] += FUZZY_WEIGHT / (RRF_K + rank + 1)
    # The focus (question sentences and errors) is searched on its own when it differs from the paste.
    focus_bm25: dict[str, float] = {}
    focus_fuzzy: dict[str, float] = {}
    if focus and focus.strip() != text.strip():
        f_snippets, _f_articles = _snippet_bm25(kb_index, focus)
        focus_bm25 = _relative(f_snippets)
        focus_fuzzy = ph.best(fuzz_text(focus))
        for sid, rel in focus_bm25.items():
            fused[sid] += 0.5 * rel / (RRF_K + 1)
    else:
        focus_bm25, focus_fuzzy = bm25, fuzzy
    # Articles vote for their topic and lend a little weight to their own snippets.
    topic_scores: dict[str, float] = defaultdict(float)
    for rank, h in enumerate(article_hits[:10]):
        topic_scores[h.topic] += 1.0 / (RRF_K + rank + 1)
        for s in corpus.snippets_of(h.id):
            if s.id in fused:
                fused[s.id] += 0.25 / (RRF_K + rank + 1)
    per_topic: dict[str, list[float]] = defaultdict(list)
    for sid, score in sorted(fused.items(), key=lambda kv: -kv[1])[:10]:
        s = corpus.snippets.get(sid)
        if s:
            per_topic[s.topic].append(score)
    for topic, scores in per_topic.items():
        topic_scores[topic] += sum(score * TOPIC_DECAY ** i for i, score in enumerate(scores))
    return Candidates(dict(fused), article_hits, dict(topic_scores), fuzzy, len(set(qf.split())),
                      bm25=bm25, bm25_rank={h.id: i for i, h in enumerate(snippet_hits)},
                      focus_bm25=focus_bm25, focus_fuzzy=focus_fuzzy)
