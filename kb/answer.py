"""The answer drafter: a pasted forum question -> a forum-style draft with an honest confidence.

Pipeline: clean -> detect facts -> retrieve (whoosh BM25F scores relative to the best hit, plus
rapidfuzz over snippet phrasings by reciprocal rank, fused, aggregated by topic) -> decide
(confidence, abstain) -> compose (Markdown and plain text). :func:`answer_question` runs it all;
:func:`draft_answer` is the pure decide-and-compose step.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from kb.content import Corpus, Snippet
from kb.errors import InputTooLargeError, QueryError
from kb.facts import CLARIFYING_QUESTIONS, Facts, clean_question, detect_facts
from kb.searching import Hit, search
from kb.settings import MAX_QUESTION_CHARS
from kb.text import is_identifier, words
from kb.versions import WINDOWS_SERVER, covers, server_equivalent, version_rank

RRF_K = 10                 # reciprocal-rank constant: small, so the first few ranks dominate
FUZZY_WEIGHT = 0.5         # weight of the rapidfuzz phrasing ranking against the BM25F ranking
TOPIC_WEIGHT = 0.05        # how much a snippet's topic evidence counts when picking the best snippet
FUZZY_SCORER = fuzz.token_set_ratio
TOPIC_DECAY = 0.5          # a topic's n-th snippet adds this power n of its score: size alone does not win
RETRIEVE_LIMIT = 30        # candidates taken from each ranking
ANSWERABLE_THRESHOLD = 0.42  # below this confidence the draft says it has no confident answer
MAX_SNIPPETS = 2
EXTRA_SHARE = 0.85       # a second snippet joins the answer only when its score is this close to the best
EXTRA_FUZZY = 70         # ...and one of its phrasings is this similar (0-100) to the question
MAX_CLARIFYING = 3
ALTERNATIVES = 1           # sources from a topic the answer did not use, best first...
ALTERNATIVE_SHARE = 0.6    # ...when at least this close to the main snippet's score
MAX_SEARCH_CHARS = 1500    # a long paste is searched by its first part (questions come first)
MAX_SEARCH_WORDS = 40      # ...and by its most specific words: fewer, rarer terms rank as well, faster
MIN_CONTENT_WORDS = 2      # "vm fails" says too little to answer; ask instead
BINARY_RATIO = 0.1         # more than this share of control / replacement chars: not text

# Stop words for the fuzzy comparison: what every forum question says.
_FUZZ_STOP = frozenset("""a an the and or but if of to in on at for with from by is are was were be been being
i we you he she it they my our your me us this that these those there here what which who how why when where
do does did can could would should will shall may might must have has had not no yes any some all just also
so very really please thanks thank hi hello anyone someone know question help need want get got using use
vm vms hyper hyperv server windows""".split())


@dataclass
class Source:
    id: str
    title: str
    topic: str
    kind: str
    score: float
    section: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "topic": self.topic, "kind": self.kind,
                "score": round(self.score, 4), "section": self.section}


@dataclass
class Draft:
    id: str | None
    answerable: bool
    confidence: float
    draft: str                       # Markdown
    text: str                        # the same draft as plain text
    sources: list[Source]
    clarifying_questions: list[str]
    detected: dict
    topic: str | None = None
    caveats: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "answerable": self.answerable, "confidence": round(self.confidence, 3),
                "draft": self.draft, "text": self.text, "sources": [s.to_dict() for s in self.sources],
                "clarifying_questions": self.clarifying_questions, "detected": self.detected,
                "topic": self.topic, "caveats": self.caveats}


@dataclass
class Candidates:
    """Fused retrieval evidence for one question."""
    snippet_scores: dict[str, float]
    article_hits: list[Hit]
    topic_scores: dict[str, float]
    fuzzy: dict[str, float]          # snippet id -> best phrasing similarity 0..100
    top_bm25: float
    search_words: int
    content_words: int = 0           # words left after dropping what every question says


# --------------------------------------------------------------------------- retrieve

def _fuzz_text(text: str) -> str:
    """Words that say what a question is about, stemmed so "reboots" meets "rebooted"."""
    from kb.index import stem_word

    return " ".join(stem_word(w) for w in words(text) if w not in _FUZZ_STOP and len(w) > 1)


class _Phrasings:
    """Every snippet question phrasing, pre-processed once per opened index."""

    def __init__(self, corpus: Corpus):
        self.owner: list[str] = []
        self.choices: list[str] = []
        for s in corpus.snippets.values():
            for q in (s.title, *s.questions):
                self.owner.append(s.id)
                self.choices.append(_fuzz_text(q))
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


def _phrasings(kb_index) -> _Phrasings:
    p = getattr(kb_index, "_phrasings", None)
    if p is None:
        p = kb_index._phrasings = _Phrasings(kb_index.corpus)
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


def retrieve(kb_index, question: str) -> Candidates:
    """Rank snippets and articles for a cleaned question; fuse rankings; aggregate by topic."""
    corpus = kb_index.corpus
    text = question[:MAX_SEARCH_CHARS]
    try:
        result = search(kb_index, specific_words(text, kb_index.vocab), limit=RETRIEVE_LIMIT, excerpts=False)
        hits = result.hits
    except QueryError:
        hits = []
    snippet_hits = [h for h in hits if h.kind == "snippet"]
    article_hits = [h for h in hits if h.kind == "article"]
    fused: dict[str, float] = defaultdict(float)
    # BM25F by score, not by rank: a snippet far ahead of the rest keeps its lead, and ten
    # mediocre matches from one topic no longer add up to more than one strong match.
    top_snippet = snippet_hits[0].score if snippet_hits and snippet_hits[0].score > 0 else 1.0
    for h in snippet_hits:
        fused[h.id] += (h.score / top_snippet) / (RRF_K + 1)
    # Fuzzy: the question against every phrasing; a snippet counts once, by its best phrasing.
    ph = _phrasings(kb_index)
    qf = _fuzz_text(text)
    fuzzy: dict[str, float] = {}
    if qf:
        for score, idx in ph.extract(qf, limit=RETRIEVE_LIMIT * 3, score_cutoff=40):
            sid = ph.owner[idx]
            fuzzy[sid] = max(fuzzy.get(sid, 0.0), score)
    for rank, (sid, _score) in enumerate(sorted(fuzzy.items(), key=lambda kv: -kv[1])[:RETRIEVE_LIMIT]):
        fused[sid] += FUZZY_WEIGHT / (RRF_K + rank + 1)
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
    return Candidates(dict(fused), article_hits, dict(topic_scores), fuzzy,
                      hits[0].score if hits else 0.0, len(set(words(text))), len(set(qf.split())))


# --------------------------------------------------------------------------- decide

def _confidence(c: Candidates, facts: Facts, best: Snippet | None) -> tuple[float, str | None]:
    """Confidence in 0..1 and, when it is capped, why."""
    if best is None:
        return 0.0, "nothing in the knowledge base matches"
    best_rrf = 2.0 / (RRF_K + 1)          # rank 1 in both rankings
    fused = min(c.snippet_scores.get(best.id, 0.0) / best_rrf, 1.0)
    fz = c.fuzzy.get(best.id, 0.0) / 100.0
    ranked = sorted(c.topic_scores.values(), reverse=True)
    margin = (ranked[0] - ranked[1]) / ranked[0] if len(ranked) > 1 and ranked[0] > 0 else 1.0
    # BM25 grows with query length; per searched word it says how much of the question matched.
    density = min(c.top_bm25 / max(8.0 * min(c.search_words, 12), 1.0), 1.0)
    conf = 0.35 * fused + 0.25 * fz + 0.2 * margin + 0.2 * density
    reason = None
    if facts.other_hypervisors and not facts.mentions_hyperv:
        conf = min(conf, 0.15)
        reason = f"it is about {', '.join(facts.other_hypervisors)}, not Hyper-V"
    elif not facts.mentions_virtualization and not facts.mentions_hyperv:
        conf = min(conf, 0.3)
        reason = "it does not look like a Hyper-V question"
    elif c.content_words < MIN_CONTENT_WORDS:
        conf = min(conf, 0.3)
        reason = "the question is too short to tell what is asked"
    return max(0.0, min(conf, 1.0)), reason


def _pick_snippets(c: Candidates, corpus: Corpus) -> list[Snippet]:
    """Best snippets: topic-weighted fused score; extra ones only when nearly as strong."""
    def total(sid: str) -> float:
        s = corpus.snippets[sid]
        return c.snippet_scores[sid] + TOPIC_WEIGHT * c.topic_scores.get(s.topic, 0.0)

    ranked = sorted((sid for sid in c.snippet_scores if sid in corpus.snippets), key=total, reverse=True)
    if not ranked:
        return []
    picked = [ranked[0]]
    top = total(ranked[0])
    for sid in ranked[1:]:
        if len(picked) >= MAX_SNIPPETS or total(sid) < EXTRA_SHARE * top:
            break
        if c.fuzzy.get(sid, 0) >= EXTRA_FUZZY:
            picked.append(sid)
    return [corpus.snippets[s] for s in picked]


# --------------------------------------------------------------------------- compose

DETAIL_SENTENCES = 3       # extra sentences taken from the best-matching article section
DETAIL_MAX_WORDS = 100
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\[])")


def _stems(text: str) -> frozenset[str]:
    from kb.index import stem_word

    return frozenset(stem_word(w) for w in words(text) if w not in _FUZZ_STOP and len(w) > 2)


@lru_cache(maxsize=4096)
def _section_sentences(markdown: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """A section's candidate sentences (6 to 45 words) with their stems; content is immutable, so once."""
    from kb.markdown import plain_text

    out = []
    for sent in _SENTENCE_RE.split(plain_text(markdown).replace("\n", " ")):
        sent = sent.strip()
        if 6 <= len(sent.split()) <= 45:
            out.append((sent, _stems(sent)))
    return tuple(out)


def _detail(question: str, snippets: list[Snippet], candidates: Candidates, corpus: Corpus) -> list[str]:
    """Sentences from the article sections that best match the question and are not in the answer yet."""
    if not snippets:
        return []
    q = _stems(question)
    used = _stems(" ".join(s.answer for s in snippets))
    topic = snippets[0].topic
    sections = []
    for h in candidates.article_hits[:5]:
        art = corpus.articles.get(h.id)
        if art and art.topic == topic:
            sections += [s for s in art.sections if s.anchor == h.section] or list(art.sections[:1])
    art = corpus.articles.get(snippets[0].article)
    if art:
        sections += list(art.sections)
    scored = []
    seen: set[str] = set()
    for order, sec in enumerate(sections):
        for sent, st in _section_sentences(sec.markdown):
            if sent in seen:
                continue
            seen.add(sent)
            overlap = len(st & q)
            new = len(st - used)
            if overlap >= 2 and new >= 3:
                scored.append((overlap + 0.1 * min(new, 10) - 0.02 * order, sent))
    scored.sort(key=lambda x: -x[0])
    out, total = [], 0
    for _score, sent in scored[:DETAIL_SENTENCES]:
        n = len(sent.split())
        if total + n > DETAIL_MAX_WORDS:
            break
        out.append(sent)
        total += n
    return out


def describe_versions(applies_to: tuple[str, ...] | list[str]) -> str:
    """Say a version list briefly: "Windows Server 2012 and later", "Windows Server 2008 R2"."""
    ws = [v for v in applies_to if v in WINDOWS_SERVER]
    if ws:
        idx = sorted(WINDOWS_SERVER.index(v) for v in ws)
        contiguous = idx == list(range(idx[0], idx[-1] + 1))
        first = WINDOWS_SERVER[idx[0]]
        if contiguous and idx[-1] == len(WINDOWS_SERVER) - 1 and len(idx) > 1:
            return f"{first} and later"
        if contiguous and len(idx) > 1:
            return f"{first} to {WINDOWS_SERVER[idx[-1]].replace('Windows Server ', '')}"
        if len(idx) == 1:
            return first
    return ", ".join(applies_to)


def _version_caveat(facts: Facts, snippets: list[Snippet], corpus: Corpus) -> list[str]:
    host = next((v for v in facts.os_versions if server_equivalent(v)), None)
    if host is None:
        return []
    out = []
    for s in snippets:
        if s.applies_to and not covers(list(s.applies_to), host):
            direction = ""
            ranks = [version_rank(v) for v in s.applies_to if version_rank(v) is not None]
            if ranks and version_rank(host) is not None:
                direction = (" Later releases changed this, so check what applies to yours"
                             if version_rank(host) > max(ranks) else
                             " Your version is older than that, so this may not be available to you")
            art = corpus.articles.get(s.article)
            where = f" (see \"{art.title}\")" if art else ""
            out.append(f"You mention {host}, but this part of the answer is written for "
                       f"{describe_versions(s.applies_to)}.{direction}{where}.")
    return list(dict.fromkeys(out))


_BLOCK_LINE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|\||```|#)")


def unwrap(md: str) -> str:
    r"""Join hard-wrapped paragraph lines (forums keep newlines); lists, tables and code stay as they are.

    >>> unwrap("one\ntwo\n\n- a\n- b")
    'one two\n\n- a\n- b'
    """
    blocks = []
    for block in re.split(r"\n\s*\n", md.strip()):
        lines = block.splitlines()
        if any(_BLOCK_LINE.match(ln) for ln in lines):
            blocks.append(block)
        else:
            blocks.append(" ".join(ln.strip() for ln in lines))
    return "\n\n".join(blocks)


def _link(base_url: str, doc_id: str, section: str | None = None) -> str:
    return f"{base_url.rstrip('/')}/articles/{doc_id}" + (f"#{section}" if section else "")


def markdown_to_text(md: str) -> str:
    """Plain-text rendering of a draft: links as "title (url)", emphasis and code marks dropped."""
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (\2)", md)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = re.sub(r"^#{1,6}\s+", "", text, flags=re.M)
    return text


def draft_answer(question: str, candidates: Candidates, facts: Facts, corpus: Corpus,
                 question_id: str | None = None, base_url: str = "") -> Draft:
    """Decide and compose: a forum-style draft from fused candidates. Pure: no I/O."""
    snippets = _pick_snippets(candidates, corpus)
    best = snippets[0] if snippets else None
    confidence, reason = _confidence(candidates, facts, best)
    answerable = best is not None and confidence >= ANSWERABLE_THRESHOLD and reason is None
    detected = facts.to_dict()

    # Sources: the snippets used (or the nearest), then the articles they come from, then other articles.
    sources: list[Source] = []
    seen: set[str] = set()

    def add(doc_id: str, score: float, section: str | None = None) -> None:
        doc = corpus.get(doc_id)
        if doc is None or doc_id in seen:
            return
        seen.add(doc_id)
        sources.append(Source(doc_id, doc.title, doc.topic, doc.kind, score, section))

    # Best first: the main snippet, the article search ranks highest (often its parent; when not,
    # the nearest other reading of the question), then the rest of what the answer is built from.
    if snippets:
        add(snippets[0].id, candidates.snippet_scores.get(snippets[0].id, 0.0))
    for h in candidates.article_hits[:1]:
        add(h.id, h.score, h.section)
    for s in snippets[1:]:
        add(s.id, candidates.snippet_scores.get(s.id, 0.0))
    for s in snippets:
        add(s.article, candidates.topic_scores.get(s.topic, 0.0))
    for h in candidates.article_hits[1:3]:
        add(h.id, h.score, h.section)
    # The other reading of the question: the strongest snippet of the runner-up topic, so a reader
    # (and the JSON) sees the nearest alternative when the main answer took the wrong turn.
    shown = {src.topic for src in sources}
    others = sorted((sid for sid in candidates.snippet_scores
                     if sid in corpus.snippets and corpus.snippets[sid].topic not in shown),
                    key=lambda sid: -candidates.snippet_scores[sid])
    best_score = candidates.snippet_scores.get(snippets[0].id, 0.0) if snippets else 0.0
    for sid in others[:ALTERNATIVES]:
        if candidates.snippet_scores[sid] >= ALTERNATIVE_SHARE * best_score:
            add(sid, candidates.snippet_scores[sid])

    md: list[str] = ["Hi,", ""]
    clarifying: list[str] = []
    caveats: list[str] = []
    if answerable:
        spelled: set[str] = set()   # acronyms already written out in full once

        def prose(text: str) -> str:
            return corpus.glossary.spell_out(unwrap(text), spelled)

        md.append(prose(best.answer))
        for extra in snippets[1:]:
            md += ["", f"**Also, on {extra.title.rstrip('?').lower()}:** " + prose(extra.answer)]
        detail = _detail(question, snippets, candidates, corpus)
        if detail:
            md += ["", "**More detail:** " + prose(" ".join(detail))]
        conditions = list(best.conditions)  # the main answer's: extra snippets may hold under others
        if conditions:
            md += ["", "**This holds when:**"] + [f"- {c}" for c in conditions]
        caveats = _version_caveat(facts, snippets, corpus)
        if caveats:
            md += ["", "**Version note:** " + " ".join(caveats)]
        needs = list(dict.fromkeys(n for s in snippets for n in s.needs))
        clarifying = [CLARIFYING_QUESTIONS[n] for n in needs if n in CLARIFYING_QUESTIONS and not facts.has(n)]
        clarifying = clarifying[:MAX_CLARIFYING]
        if clarifying:
            md += ["", "To be sure this fits your setup, could you tell us:"] + [f"- {q}" for q in clarifying]
        articles = [s for s in sources if s.kind == "article"][:3]
        if articles:
            md += ["", "Further reading:"] + [f"- [{a.title}]({_link(base_url, a.id, a.section)})" for a in articles]
        md += ["", "Hope this helps."]
    else:
        why = f" ({reason})" if reason else ""
        md.append(f"I could not find a confident answer to this in the Hyper-V knowledge base{why}, "
                  "so I would rather not guess.")
        if facts.other_hypervisors and not facts.mentions_hyperv:
            md += ["", f"This looks like a {', '.join(facts.other_hypervisors)} question; the product's own "
                       "forum or documentation is the better place for it."]
        else:
            nearest = [s for s in sources if s.kind == "article"][:3] or sources[:3]
            if nearest:
                md += ["", "The closest articles I have are:"] + [
                    f"- [{s.title}]({_link(base_url, s.id, s.section)})" for s in nearest]
            clarifying = ["What exactly are you trying to do, and what happens instead (exact error text)?"]
            if not facts.has("os_version"):
                clarifying.append(CLARIFYING_QUESTIONS["os_version"])
            md += ["", "Could you add:"] + [f"- {q}" for q in clarifying]
        md += ["", "Thanks."]
    markdown = "\n".join(md).strip() + "\n"
    top_topic = max(candidates.topic_scores, key=candidates.topic_scores.get) if candidates.topic_scores else None
    return Draft(question_id, answerable, confidence, markdown, markdown_to_text(markdown), sources, clarifying,
                 detected, best.topic if best else top_topic, caveats)


# --------------------------------------------------------------------------- entry point

def validate_question(question, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Check a pasted question; :raises QueryError / InputTooLargeError: with a message for the user."""
    if not isinstance(question, str):
        raise QueryError("the question must be text")
    if len(question) > max_chars:
        raise InputTooLargeError(f"the question is {len(question):,} characters; the limit is {max_chars:,}. "
                                 "Paste the question and the relevant error lines only.", max_chars)
    if not question.strip():
        raise QueryError("the question is empty")
    bad = sum(1 for ch in question if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\r\t"))
    if bad > BINARY_RATIO * len(question):
        raise QueryError("the question looks like binary data, not text")
    return question


def answer_question(kb_index, question, question_id: str | None = None, max_chars: int = MAX_QUESTION_CHARS,
                    base_url: str = "") -> Draft:
    """Draft a forum answer to a pasted question.

    :raises QueryError: not text, empty after cleaning, or binary. :raises InputTooLargeError: over ``max_chars``.
    """
    validate_question(question, max_chars)
    cleaned = clean_question(question)
    if not cleaned.strip():
        raise QueryError("the question is empty once greetings and signatures are removed")
    facts = detect_facts(cleaned)
    candidates = retrieve(kb_index, cleaned)
    return draft_answer(cleaned, candidates, facts, kb_index.corpus, question_id=question_id, base_url=base_url)
