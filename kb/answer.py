"""The answer drafter: a pasted forum question -> a forum-style draft with a calibrated confidence.

Pipeline, one module a step: clean and detect facts (:mod:`kb.facts`) -> find what is asked
(:mod:`kb.focus`) -> retrieve candidates (:mod:`kb.retrieval`) -> describe each (:mod:`kb.features`;
snippets whose ``when`` the question contradicts drop out) -> rank and calibrate (:mod:`kb.ranker`)
-> decide (answer or abstain) -> compose (:mod:`kb.compose`). :func:`answer_question` runs it all.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from kb.compose import Draft, Source, compose, compose_abstention, describe_versions, markdown_to_text, unwrap
from kb.conditions import deciding_needs, known_facts, presumed_facts
from kb.errors import InputTooLargeError, QueryError
from kb.facts import Facts, clean_question, detect_facts
from kb.features import Candidate, describe
from kb.focus import Focus, find_focus
from kb.ranker import Ranker, default_ranker
from kb.references import public_page
from kb.retrieval import Candidates, fuzz_text, retrieve
from kb.settings import MAX_QUESTION_CHARS

__all__ = ["Draft", "Source", "answer_question", "analyse", "decide", "validate_question", "describe_versions",
           "markdown_to_text", "unwrap"]

MIN_CONTENT_WORDS = 2      # "vm fails" says too little to answer; ask instead
BINARY_RATIO = 0.1         # more than this share of control / replacement chars: not text
SECOND_SHARE = 0.8         # a second snippet joins only when nearly as probable as the first...
SECOND_ASK_MATCH = 60      # ...and one of the other question sentences matches its phrasings this well
ALTERNATIVES = 2           # sources from other topics, shown so a reader sees the nearest other reading...
ALTERNATIVE_SHARE = 0.6    # ...in an answer only when at least this probable relative to the main snippet
NEAREST_SHARE = 0.3        # ...and, when abstaining, when at least this probable (no unrelated "closest" articles)
# ...and at least this confident on their own: below it, other topics are noise. At 0.05, 260 such pointers
# were shown in 485 cross-validated real abstentions and 22 of them were right; at 0.08, 131 and 18 (blind
# readers marked an unrelated pointer in 18 of 60 drafts).
NEAREST_MIN = 0.08
NEEDS_FROM = 3             # candidates whose differing `when` decide what to ask


@dataclass
class Analysis:
    """Everything the decision needs about one question."""
    question: str
    facts: Facts
    focus: Focus
    candidates: Candidates
    ranked: list[tuple[float, Candidate]]


def analyse(kb_index, cleaned: str, ranker: Ranker | None = None) -> Analysis:
    """Facts, focus, candidates and their probabilities for a cleaned question."""
    ranker = ranker or default_ranker()
    facts = detect_facts(cleaned)
    focus = find_focus(cleaned)
    c = retrieve(kb_index, cleaned, focus.text)
    ranked = ranker.rank(describe(kb_index, cleaned, focus, facts, c, semantic=ranker.semantic))
    return Analysis(cleaned, facts, focus, c, ranked)


def _guard(a: Analysis) -> tuple[float | None, str | None]:
    """A cap on the confidence for questions that are not answerable from this KB at all, and what to
    tell the asker about it (``None`` when the draft says nothing more: a question about another
    hypervisor gets its own paragraph, and "it names neither Hyper-V nor a virtualization feature" is
    the drafter's reason, not the asker's; blind readers struck it as noise)."""
    f = a.facts
    if f.other_hypervisors and not f.mentions_hyperv:
        return 0.15, None
    if not f.mentions_virtualization and not f.mentions_hyperv:
        return 0.3, None
    if a.candidates.content_words < MIN_CONTENT_WORDS:
        return 0.3, "the question is too short to tell what is asked"
    return None, None


def _second(a: Analysis, threshold_p: float) -> Candidate | None:
    """The snippet for a second, different question in the paste, if there is one."""
    if len(a.focus.asks) < 2 or len(a.ranked) < 2:
        return None
    p1, first = a.ranked[0]
    asks = [fuzz_text(x) for x in a.focus.asks]

    def best_ask(c: Candidate) -> tuple[int, float]:
        texts = [fuzz_text(q) for q in (c.snippet.title, *c.snippet.questions)]
        scores = [max(fuzz.token_set_ratio(ask, t) for t in texts) for ask in asks]
        i = max(range(len(scores)), key=scores.__getitem__)
        return i, scores[i]

    first_ask, _ = best_ask(first)
    for p, cand in a.ranked[1:4]:
        if p < max(SECOND_SHARE * p1, threshold_p):
            break
        ask, score = best_ask(cand)
        if ask != first_ask and score >= SECOND_ASK_MATCH:
            return cand
    return None


def _sources(a: Analysis, used: list[Candidate], corpus, answered: bool = True, min_p: float = 0.0) -> list[Source]:
    """The snippets used, their articles, then the strongest candidates of other topics (in an answer,
    only those nearly as probable as the main snippet; none below ``min_p``)."""
    sources: list[Source] = []
    seen: set[str] = set()
    prob = {c.snippet.id: p for p, c in a.ranked}

    def add(doc_id: str, score: float) -> None:
        doc = corpus.get(doc_id)
        if doc is None or doc_id in seen:
            return
        seen.add(doc_id)
        art = corpus.articles.get(doc.article if doc.kind == "snippet" else doc.id)
        sources.append(Source(doc_id, doc.title, doc.topic, doc.kind, score, None,
                              public_page(art, doc, a.focus.text, corpus)))

    for c in used:
        add(c.snippet.id, prob.get(c.snippet.id, 0.0))
    for c in used:
        add(c.snippet.article, prob.get(c.snippet.id, 0.0))
    topics = {c.snippet.topic for c in used}
    others = 0
    floor = max((ALTERNATIVE_SHARE if answered else NEAREST_SHARE) * prob.get(used[0].snippet.id, 0.0), min_p)
    for p, c in a.ranked:
        if others >= ALTERNATIVES or p < floor:
            break
        if c.snippet.topic not in topics:
            add(c.snippet.id, p)
            topics.add(c.snippet.topic)
            others += 1
    return sources


def decide(a: Analysis, corpus, ranker: Ranker | None = None, question_id: str | None = None,
           base_url: str = "") -> Draft:
    """Answer with the most probable snippet when the calibrated confidence clears the threshold;
    otherwise say so plainly. Pure: no I/O."""
    ranker = ranker or default_ranker()
    cap, reason = _guard(a)
    known = known_facts(a.facts)
    detected = a.facts.to_dict()
    focus = a.focus.to_dict()
    if not a.ranked:
        return compose_abstention(question_id, 0.0, reason or "nothing in the knowledge base matches", a.facts,
                                  [], [], corpus, base_url, None, detected, focus)
    p1, best = a.ranked[0]
    confidence = ranker.confidence(p1)
    if cap is not None:
        confidence = min(confidence, cap)
    top_whens = [c.snippet.when_map for _p, c in a.ranked[:NEEDS_FROM]]
    deciding = deciding_needs(top_whens, {**presumed_facts(a.facts), **known})
    # The hosts' version changes the answer only when the best snippet does not hold on every current release.
    version_matters = "os_version" in best.snippet.needs and not _holds_on_current_releases(best.snippet)
    if confidence < ranker.threshold or cap is not None:
        used = [best]
        # Abstaining, the version is worth asking for a reported failure only: for a question about design
        # the closest snippet's versions say nothing about what was asked. The exact error, only when the
        # paste reports a failure without giving it (no error code, event ID or pasted message) and one of
        # the closest answers turns on it (its `needs` names error_code): blind readers marked the request
        # as asking for what the paste gives in all 7 of 60 drafts that made it otherwise.
        ask_error = (a.focus.wants_error_text(a.question) and not a.facts.has("error_code")
                     and any("error_code" in c.snippet.needs for _p, c in a.ranked[:NEEDS_FROM]))
        needs = deciding + (["os_version"] if version_matters and a.focus.reports_failure else [])
        nearest = _sources(a, used, corpus, False, _probability_at(ranker, NEAREST_MIN))
        return compose_abstention(question_id, confidence, reason, a.facts, needs, nearest,
                                  corpus, base_url, best.snippet.topic, detected, focus, a.focus.text, ask_error,
                                  a.question)
    used = [best]
    threshold_p = _probability_at(ranker, ranker.threshold)
    second = _second(a, threshold_p)
    if second is not None:
        used.append(second)
    # Ask only for what would change the answer: facts on which the best candidates' `when` differ,
    # the version when the answer is not true on every release, and the exact error for error answers.
    needs = list(deciding) + (["os_version"] if version_matters else [])
    if "error_code" in best.snippet.needs:
        needs.append("error_code")
    return compose(question_id, [c.snippet for c in used], confidence, a.facts, needs,
                   _sources(a, used, corpus), corpus, base_url, detected, focus, a.focus.text, a.focus.asks_yes_no,
                   a.question)


CURRENT_RELEASES = ("Windows Server 2016", "Windows Server 2019", "Windows Server 2022", "Windows Server 2025")


def _holds_on_current_releases(snippet) -> bool:
    """True when the answer is the same on every release most askers run: the version would not change it."""
    from kb.versions import covers

    return bool(snippet.applies_to) and all(covers(list(snippet.applies_to), v) for v in CURRENT_RELEASES)


def _probability_at(ranker: Ranker, confidence: float) -> float:
    """The raw probability whose calibrated confidence equals ``confidence`` (inverse Platt)."""
    import math

    c = min(max(confidence, 1e-6), 1 - 1e-6)
    z = (math.log(c / (1 - c)) - ranker.calib_b) / (ranker.calib_a or 1.0)
    return 1.0 / (1.0 + math.exp(-z))


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
                    base_url: str = "", ranker: Ranker | None = None) -> Draft:
    """Draft a forum answer to a pasted question.

    :param ranker: the relevance model; the shipped one by default (cross-validation passes its own).
    :raises QueryError: not text, empty after cleaning, or binary. :raises InputTooLargeError: over ``max_chars``.
    """
    validate_question(question, max_chars)
    cleaned = clean_question(question)
    if not cleaned.strip():
        raise QueryError("the question is empty once greetings and signatures are removed")
    return decide(analyse(kb_index, cleaned, ranker), kb_index.corpus, ranker, question_id, base_url)
