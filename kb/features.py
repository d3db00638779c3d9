"""Per (question, snippet) features for the relevance model.

Each candidate that retrieval found is described by the same numbers: how strongly BM25F and the
phrasings match the paste and its focus, how much of the question's specific vocabulary the snippet
covers, and whether its versions and ``when`` fit the asker. :mod:`kb.ranker` turns them into a
probability that the snippet answers. Whether a question is about Hyper-V at all is not a feature:
:func:`kb.answer._guard` caps the confidence of one that is not.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from kb.conditions import agreement, contradicts, known_facts
from kb.content import Snippet
from kb.facts import Facts
from kb.focus import Focus
from kb.retrieval import FUZZ_STOP, Candidates
from kb.text import words
from kb.versions import covers, server_equivalent

POOL = 20               # candidates described per question, by fused retrieval score
FOCUS_POOL = 5          # ...plus the best few for the focus alone
# ...and, with the semantic features on, the question's nearest by meaning. Cross-validated on 816 real
# questions, 5 / 10 / 15 / 25 of them gave hit@1 0.570 / 0.574 / 0.578 / 0.582 (retrieval found no gold
# at all for 19 covered questions, and the vectors put it in the first 20 for five of them); 15 answered the
# most right (9 of 11; 7 of 9 at 5) for fewer candidates to describe than 25.
SEMANTIC_POOL = 15
TRIED_SHARE = 0.5       # a snippet whose title is this much inside what the asker has tried is not offered
# A word of a snippet's title or phrasings that at most this share of its topic's snippets use tells it
# from its siblings ("Linux" among the Enhanced Session snippets); 0.1-0.5 all helped in cross-validation.
DISTINCT_SHARE = 0.25
# "turned it on" and the common slip "I have turn it on" read as "enabled", as snippet titles say it.
_SWITCHED_ON = re.compile(r"\b(?:turn(?:ed)?|switch(?:ed)?|set) (?:(?:it|them|that|this) )?on\b|\bticked\b|"
                          r"\bchecked the box\b", re.I)
_SWITCHED_OFF = re.compile(r"\b(?:turn(?:ed)?|switch(?:ed)?|set) (?:(?:it|them|that|this) )?off\b|\bunticked\b", re.I)

# BM25 of the question over each of a snippet's fields on its own (Okapi k1 and b; scaled by 1/100 and capped
# at 1, where the answers' 99th percentile is near 0.3). The index's BM25F sums the fields and scores only
# what it retrieved, so the candidates that only the semantic pool adds have none. They feed the confidence
# only (CONFIDENCE_ONLY): cross-validated on 816 real questions, in the order model too they left hit@1 where
# it was (0.578 -> 0.574; 0.492 -> 0.496 without the extra) and took the synthetic holdout's hit@1 to 0.849,
# under its 0.85 floor; in the confidence alone they answer 13 real questions, 11 right (11, 9 right before),
# and 16, 11 right, without the extra (11, 7), with the order untouched.
FIELDS = ("title", "phrasings", "answer")
BM25_K1 = 1.2
BM25_B = 0.75
BM25_SCALE = 100.0

# Matching signals that are also given relative to the question's best candidate ("_rel" = value minus
# the pool's maximum): a candidate far behind the best of its question is unlikely, whatever its value.
RELATIVE = ("fuzzy", "focus_fuzzy", "bm25", "coverage", "rare_coverage", "focus_coverage", "title_coverage",
            "distinct_coverage")
# How far a candidate is ahead of the best other one of its question ("_lead" = value minus that): for the
# first, its lead. They say how sure a question's best answer is, so they feed only the confidence model
# (kb.ranker: ``order`` gives them no weight); in the order model they cost hit@1.
LEAD = ("fused",)
# The matchers that each rank a question's candidates on their own: a candidate first for most of them is
# a surer answer than one that only the fusion puts first.
AGREE = ("bm25", "focus_bm25", "fuzzy", "focus_fuzzy", "distinct_coverage", "rare_coverage")
CONFIDENCE_ONLY = tuple(f"{name}_lead" for name in LEAD) + ("top_agree",) + tuple(f"bm25_{name}" for name in FIELDS)
# No feature of the question alone (whether it names Hyper-V, another hypervisor or a virtualization word,
# how densely it matches the KB): one is the same for every candidate, so it never changes the order, and
# in the confidence it learned where the real questions came from. Without the four, cross-validated on the
# real questions under scripts/eval.py's four splits, 45 were answered with 9 wrong against 44 with 9, and
# with folds by source (--by-source) 37 with 10 wrong against 34 with 13.
FEATURES = (
    "bm25", "bm25_rank", "focus_bm25", "fuzzy", "focus_fuzzy", "fused", "topic_share", "parent_rank",
    "coverage", "rare_coverage", "focus_coverage", "title_coverage", "distinct_coverage", "version_fit", "when_agree",
    "cluster_agree", "code_match", "topic_named",
    *(f"{name}_rel" for name in RELATIVE),
    *CONFIDENCE_ONLY,
)


@dataclass
class Candidate:
    snippet: Snippet
    features: dict[str, float]

    def vector(self, names: tuple[str, ...] = FEATURES) -> list[float]:
        return [self.features[f] for f in names]


def stems(text: str) -> list[str]:
    """The stems of a text's words that say what it is about (no stop words, no one- or two-letter
    words), in order and repeated as often as they occur."""
    from kb.index import stem_word

    return [stem_word(w) for w in words(text) if w not in FUZZ_STOP and len(w) > 2]


def content_stems(text: str) -> frozenset[str]:
    """The distinct stems of :func:`stems`."""
    return frozenset(stems(text))


def _field_text(snippet: Snippet, name: str) -> str:
    return {"title": snippet.title, "phrasings": " ".join(snippet.questions), "answer": snippet.answer}[name]


class SnippetTexts:
    """Stems of every snippet's title and of its whole text, worked out once per opened index."""

    def __init__(self, corpus):
        self.title: dict[str, frozenset[str]] = {}
        self.all: dict[str, frozenset[str]] = {}
        self.lower: dict[str, str] = {}
        self.df: dict[str, int] = {}
        by_topic: dict[str, list[str]] = {}
        for s in corpus.snippets.values():
            text = " ".join([s.title, *s.questions, s.answer])
            self.title[s.id] = content_stems(s.title)
            self.all[s.id] = content_stems(text)
            self.lower[s.id] = text.lower()
            for st in self.all[s.id]:
                self.df[st] = self.df.get(st, 0) + 1
            by_topic.setdefault(s.topic, []).append(s.id)
        self.n = max(len(corpus.snippets), 1)
        # Per field: each snippet's stem counts and BM25 length factor, and each stem's BM25 idf.
        self.field_tf: dict[str, dict[str, Counter]] = {}
        self.field_norm: dict[str, dict[str, float]] = {}
        self.field_idf: dict[str, dict[str, float]] = {}
        for name in FIELDS:
            tfs = {s.id: Counter(stems(_field_text(s, name))) for s in corpus.snippets.values()}
            lengths = {sid: sum(tf.values()) for sid, tf in tfs.items()}
            avg = (sum(lengths.values()) / self.n) or 1.0
            df = Counter(st for tf in tfs.values() for st in tf)
            self.field_tf[name] = tfs
            self.field_norm[name] = {sid: BM25_K1 * (1 - BM25_B + BM25_B * n / avg) for sid, n in lengths.items()}
            self.field_idf[name] = {st: math.log(1.0 + (self.n - d + 0.5) / (d + 0.5)) for st, d in df.items()}
        # Per snippet, the words of its title and phrasings few of its topic's snippets use, weighted by
        # how rare they are within the topic: what tells it from its siblings.
        self.distinct: dict[str, dict[str, float]] = {}
        self.telling_when: dict[str, dict[str, str]] = {}
        for sids in by_topic.values():
            topic_df: dict[str, int] = {}
            for sid in sids:
                for st in self.all[sid]:
                    topic_df[st] = topic_df.get(st, 0) + 1
            # The `when` conditions that tell a snippet from some of its siblings: agreeing with one says
            # more than the topic does ("cpu_vendor: mixed" among processor answers), unlike a condition
            # every sibling carries ("cluster: yes" on every quorum snippet).
            for sid in sids:
                when = corpus.snippets[sid].when_map
                self.telling_when[sid] = {k: v for k, v in when.items()
                                          if any(corpus.snippets[o].when_map.get(k) != v for o in sids)}
            limit = max(1, int(len(sids) * DISTINCT_SHARE))
            for sid in sids:
                s = corpus.snippets[sid]
                self.distinct[sid] = {st: math.log(1.0 + len(sids) / topic_df.get(st, 0.5))
                                      for st in content_stems(" ".join([s.title, *s.questions])) if topic_df.get(st, 0) <= limit}

    def field_bm25(self, name: str, sid: str, question: frozenset[str]) -> float:
        """Okapi BM25 of the question's stems (each counted once) over one field of a snippet."""
        tf, idf, norm = self.field_tf[name][sid], self.field_idf[name], self.field_norm[name][sid]
        return sum(idf[st] * tf[st] * (BM25_K1 + 1) / (tf[st] + norm) for st in question & tf.keys())

    def idf(self, stem: str) -> float:
        """Rarer stems say more about what is asked: log(1 + N / (1 + snippets with it))."""
        return math.log(1.0 + self.n / (1.0 + self.df.get(stem, 0)))


def snippet_texts(kb_index) -> SnippetTexts:
    t = getattr(kb_index, "_snippet_texts", None)
    if t is None:
        t = kb_index._snippet_texts = SnippetTexts(kb_index.corpus)
    return t


def pool(c: Candidates, corpus) -> list[str]:
    """The snippet ids worth describing: best fused, then the focus's best, in that order."""
    ranked = sorted((sid for sid in c.snippet_scores if sid in corpus.snippets), key=lambda s: -c.snippet_scores[s])
    out = ranked[:POOL]
    for sid in sorted(c.focus_bm25, key=lambda s: -c.focus_bm25[s])[:FOCUS_POOL]:
        if sid in corpus.snippets and sid not in out:
            out.append(sid)
    return out


def _weighted_share(weights: dict[str, float], present: frozenset[str]) -> float:
    """The weight of the words in ``present`` over the weight of them all (0 when there are none)."""
    total = sum(weights.values())
    return sum(w for st, w in weights.items() if st in present) / total if total else 0.0


def already_tried(title_stems: frozenset[str], tried_stems: frozenset[str]) -> bool:
    """Whether a snippet's subject is a step the asker says they have done ("I already enabled
    processor compatibility" against "Turn on processor compatibility for a VM")."""
    shared = title_stems & tried_stems
    return len(shared) >= 2 and len(shared) >= TRIED_SHARE * len(title_stems)


_ALREADY = re.compile(r"\balready\b|\b(?:i|we)(?:'ve| have) (?:enabled|disabled|turned|switched|set|installed|"
                      r"configured|added|removed|updated|turn|switch)\b|"
                      r"\b(?:i|we) (?:turned|switched) (?:it|them|that|this) (?:on|off)\b", re.I)


def tried_stems(focus: Focus) -> frozenset[str]:
    """Stems of the steps the asker says are done ("we already enabled ..."); "turned on" is read as
    "enabled", as snippet titles say it. An attempt that failed ("I tried X but it fails") does not
    count: the right way to do X may still be the answer."""
    text = " ".join(t for t in focus.tried if _ALREADY.search(t))
    return content_stems(_SWITCHED_OFF.sub("disabled", _SWITCHED_ON.sub("enabled", text)))


def describe(kb_index, question: str, focus: Focus, facts: Facts, c: Candidates,
             semantic: bool = False) -> list[Candidate]:
    """Features of each pooled candidate. Left out: snippets whose ``when`` the question contradicts,
    and snippets that propose what the asker says they have already done. With ``semantic`` (the
    extra installed, :mod:`kb.semantic`), also the question's vector similarity to each snippet."""
    from kb.searching import _topic_names

    corpus = kb_index.corpus
    texts = snippet_texts(kb_index)
    known = known_facts(facts)
    q_all = content_stems(question)
    q_focus = content_stems(focus.text) or q_all
    tried = tried_stems(focus)
    idf = {st: texts.idf(st) for st in q_all}
    idf_total = sum(idf.values()) or 1.0
    host = next((v for v in facts.os_versions if server_equivalent(v)), None)
    codes = [x.lower() for x in (*facts.error_codes, *facts.event_ids)]
    named = {tid for tid, name in _topic_names(corpus).items() if name <= q_all}
    max_fused = max(c.snippet_scores.values(), default=0.0) or 1.0
    max_topic = max(c.topic_scores.values(), default=0.0) or 1.0
    article_rank = {h.id: i for i, h in enumerate(c.article_hits)}
    ids = pool(c, corpus)
    sims: dict[str, float] = {}
    if semantic:
        from kb.semantic import snippet_vectors

        # Told in other words than the KB's, a question may match no snippet by its words at all.
        sims = snippet_vectors(kb_index).similarities(question)
        ids += [sid for sid in sorted(sims, key=lambda x: (-sims[x], x)) if sid not in ids][:SEMANTIC_POOL]
    out = []
    for sid in ids:
        s = corpus.snippets[sid]
        when = s.when_map
        if when and contradicts(when, known):
            continue
        if tried and already_tried(texts.title[sid], tried):
            continue
        s_all = texts.all[sid]
        s_title = texts.title[sid]
        if host is None or not s.applies_to:
            version_fit = 0.0
        else:
            version_fit = 1.0 if covers(list(s.applies_to), host) else -1.0
        if codes:
            code_match = 1.0 if any(code in texts.lower[sid] for code in codes) else -1.0
        else:
            code_match = 0.0
        telling = texts.telling_when[sid]
        cluster_agree = float("cluster" in telling and known.get("cluster") == telling["cluster"])
        rank = c.bm25_rank.get(sid)
        parent = article_rank.get(s.article)
        f = {
            "bm25": c.bm25.get(sid, 0.0),
            "bm25_rank": 1.0 / (1 + rank) if rank is not None else 0.0,
            "focus_bm25": c.focus_bm25.get(sid, 0.0),
            "fuzzy": c.fuzzy.get(sid, 0.0) / 100.0,
            "focus_fuzzy": c.focus_fuzzy.get(sid, 0.0) / 100.0,
            "fused": c.snippet_scores.get(sid, 0.0) / max_fused,
            "topic_share": c.topic_scores.get(s.topic, 0.0) / max_topic,
            "parent_rank": 1.0 / (1 + parent) if parent is not None else 0.0,
            "coverage": len(q_all & s_all) / len(q_all) if q_all else 0.0,
            "rare_coverage": sum(idf[st] for st in q_all & s_all) / idf_total,
            "focus_coverage": len(q_focus & s_all) / len(q_focus) if q_focus else 0.0,
            "title_coverage": len(s_title & q_all) / len(s_title) if s_title else 0.0,
            "distinct_coverage": _weighted_share(texts.distinct[sid], q_all),
            "version_fit": version_fit,
            # Agreement on the specific conditions (CPU vendors, guest, generation, boot media, host) apart
            # from clustering, which most cluster questions settle and many snippets require.
            "when_agree": float(agreement(telling, known)) - cluster_agree,
            "cluster_agree": cluster_agree,
            "code_match": code_match,
            "topic_named": float(s.topic in named),
            **{f"bm25_{name}": min(texts.field_bm25(name, sid, q_all) / BM25_SCALE, 1.0) for name in FIELDS},
        }
        out.append(Candidate(s, f))
    for cand in out if semantic else ():
        cand.features["sem"] = sims.get(cand.snippet.id, 0.0)
    for name in RELATIVE + (("sem",) if semantic else ()):
        top = max((c.features[name] for c in out), default=0.0)
        for c in out:
            c.features[f"{name}_rel"] = c.features[name] - top
    for name in LEAD + (("sem",) if semantic else ()):
        values = sorted((c.features[name] for c in out), reverse=True)
        for c in out:
            best_other = values[1] if c.features[name] == values[0] and len(values) > 1 else values[0]
            c.features[f"{name}_lead"] = c.features[name] - best_other if len(values) > 1 else 0.0
    agree = AGREE + (("sem",) if semantic else ())
    tops = {name: max((c.features[name] for c in out), default=0.0) for name in agree}
    for c in out:
        c.features["top_agree"] = sum(c.features[n] == tops[n] and tops[n] > 0 for n in agree) / len(agree)
    return out
