"""Search: user text -> a whoosh query built in code (never parsed) -> ranked, de-duplicated hits.

User text is never handed to whoosh's query parser, so ``foo AND (``, ``title:``, ``"``, ``*`` and
``~`` are searched as words, never errors. Ranking is BM25F with field boosts; exact words outrank
stems, glossary synonyms and typo corrections, in that order.
"""
from __future__ import annotations

import heapq
import re
import sys
from bisect import bisect_left, bisect_right
import threading
import weakref
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, compress

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import ListMatcher
from whoosh.query import And, Or, Phrase, Query, Term
from whoosh.scoring import BM25FScorer

from kb.errors import QueryError
from kb.index import KbIndex, exact_analyzer, stemming_analyzer, version_key
from kb.text import normalize, tokens, words
from kb.versions import covers, find_versions, normalize_version

# Field weights: what a document is *about* (title, question phrasings) beats what it mentions.
FIELD_BOOSTS = {"title": 4.0, "questions": 3.0, "summary": 2.0, "tags": 2.0, "body": 1.0}
EXACT_BOOST = 3.0        # unstemmed title/question words: an exact hit beats a stem
VARIANT_BOOST = 0.25     # parts of compounds ("set" in Set-VMProcessor)
SYNONYM_BOOST = 0.5      # glossary alternatives of a query phrase
CORRECTION_BOOST = 0.35  # typo corrections: always below what was typed
# A query that names a topic ("quorum", "storage spaces direct") ranks that topic's documents a
# little higher, so the general answer comes before a neighbouring topic's special case that
# happens to repeat the word ("pool quorum vs cluster quorum" for "quorum").
TOPIC_NAME_BOOST = 0.25
# A document all of whose phrasings (title, question phrasings, section heading) name a subject of
# the glossary the query does not name is a special case of what was asked ("backup vms on csv" for
# "backup hyper-v vms dpm", "time sync for virtual domain controller" for "IC time sync"): it ranks
# this many times lower, so the general answer comes first (0.85 left "hyper-v time sync" a tie).
UNNAMED_SUBJECT = 0.8
# ...in a query of at most this many words, typed to name a subject. A pasted question describes
# its own case, often in other words than the glossary's, so there the absence of a name says
# little (applied to the drafter's searches of real questions, hit@3 0.744 -> 0.698).
SUBJECT_QUERY_WORDS = 6
# A query that names a version ("... on 2022") ranks documents written only for other versions lower.
VERSION_MISMATCH = 0.8
# A document without the cmdlet, error code or file name that makes up the whole query ranks this
# many times lower, so those that contain it whole come first even where a part of it ("vmms" of
# vmms.exe) stems like another word ("VMM"). A name that is one of n query words counts 1/n of it:
# in a pasted question a cmdlet is one clue among many (holdout hit@1 0.907 -> 0.895 at full weight).
MISSING_NAME = 0.5
MAX_EXPANSIONS = 24     # glossary alternatives searched for at most, first found first
MAX_QUERY_WORDS = 64     # a pasted wall of text is searched by its first distinct words
MAX_QUERY_CHARS = 2_000  # ...and no more than its first 2,000 characters are even read
KINDS = ("article", "snippet")
EXCERPT_CHARS = 220


@dataclass(frozen=True)
class Hit:
    id: str              # the article's or snippet's id (slug)
    kind: str            # "article" or "snippet"
    topic: str           # topic id
    section: str | None  # heading anchor, None for the whole document
    title: str
    score: float
    excerpt: str         # HTML-escaped text; matched words wrapped in <mark>
    section_title: str | None = None
    applies_to: tuple[str, ...] = ()
    parent: str | None = None  # a snippet's article id

    def to_dict(self) -> dict:
        # Field by field: dataclasses.asdict deep-copies, a tenth of a search's time in the API.
        return {"id": self.id, "kind": self.kind, "topic": self.topic, "section": self.section, "title": self.title,
                "score": round(self.score, 4), "excerpt": self.excerpt, "section_title": self.section_title,
                "applies_to": list(self.applies_to), "parent": self.parent}


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    total: int
    suggestion: str | None = None
    corrections: dict[str, str] = field(default_factory=dict)
    expansions: list[str] = field(default_factory=list)
    page: int = 1
    limit: int = 10

    def to_dict(self) -> dict:
        return {"query": self.query, "results": [h.to_dict() for h in self.hits], "total": self.total,
                "page": self.page, "limit": self.limit, "suggestion": self.suggestion,
                "corrections": self.corrections, "expansions": self.expansions}


_STEM = stemming_analyzer()
_EXACT = exact_analyzer()
_PHRASE_RE = re.compile(r'"([^"]+)"')


def _analyze(analyzer, text: str) -> list[tuple[str, bool]]:
    """Analyzed terms of ``text``, each flagged True when it is a compound's part or joined form.

    The tokenizer emits a compound's variants at the whole token's position, right after it.
    """
    out = []
    last_pos = None
    for t in analyzer(text, positions=True, removestops=True):
        out.append((t.text, t.pos == last_pos))
        last_pos = t.pos
    return out


def _word_query(word: str, boost: float = 1.0) -> list[Query]:
    """One typed word over every field: stemmed fields, the exact field, compound parts lower.

    A cmdlet's verb and a file name's extension are no parts to search by: "set" and "exe" are in
    documents about anything.
    """
    subs: list[Query] = []
    generic = _generic_parts(word)
    for term, variant in _analyze(_STEM, word):
        if variant and term in generic:
            continue
        b = boost * (VARIANT_BOOST if variant else 1.0)
        subs += [Term(f, term, boost=fb * b) for f, fb in FIELD_BOOSTS.items()]
    for term, variant in _analyze(_EXACT, word):
        if variant and term in generic:
            continue
        subs.append(Term("exact", term, boost=EXACT_BOOST * boost * (VARIANT_BOOST if variant else 1.0)))
    return subs


def _generic_parts(word: str) -> frozenset[str]:
    """The parts of a cmdlet or file name that say nothing of it: the verb, the extension (stemmed
    and as typed).

    >>> sorted(_generic_parts("set-vmprocessor")), sorted(_generic_parts("vmms.exe"))
    (['set'], ['exe'])
    """
    m = _CMDLET_RE.fullmatch(word)
    if m and m.group(1) in CMDLET_VERBS:
        part = m.group(1)
    elif _FILE_RE.fullmatch(word):
        part = word.rsplit(".", 1)[1]
    else:
        return frozenset()
    return frozenset({part, *(t for t, _v in _analyze(_STEM, part))})


# PowerShell's approved verbs (Get-Verb) that Hyper-V and cluster cmdlets use: "Set-VMProcessor" is
# a cmdlet, "scale-out" and "hyper-v" are words.
CMDLET_VERBS = frozenset("""add backup checkpoint clear compare complete connect convert copy debug disable
    disconnect dismount enable enter exit expand export find format get grant import initialize install invoke
    measure merge mount move new optimize publish read register remove rename repair reset resize restart restore
    resume revoke save select set show start stop suspend sync test uninstall unregister update use wait
    write""".split())
_CMDLET_RE = re.compile(r"([a-z]+)-([a-z][a-z0-9]{2,})")
_CODE_RE = re.compile(r"0x[0-9a-f]{6,8}|kb\d{6,7}")
_FILE_RE = re.compile(r"[a-z0-9_][\w-]*\.[a-z][a-z0-9]{1,3}")


def is_named_identifier(word: str) -> bool:
    """A cmdlet, error code or file name: text a user copies whole, which must match whole.

    >>> [is_named_identifier(w) for w in ("set-vmprocessor", "0x8007274d", "vmms.exe", "hyper-v", "2.7.5")]
    [True, True, True, False, False]
    """
    m = _CMDLET_RE.fullmatch(word)
    return bool(m and m.group(1) in CMDLET_VERBS or _CODE_RE.fullmatch(word) or _FILE_RE.fullmatch(word))


def _cmdlet_nouns(word: str, vocab: dict[str, int]) -> list[str]:
    """The corpus words a cmdlet's noun is made of (``set-vmprocessor``: vm, processor), or none.

    A section about the processor setting is about ``Set-VMProcessor``; one that only mentions the
    cmdlet is not. Split by the vocabulary, so a noun typed in lower case splits as well.

    >>> _cmdlet_nouns("get-vmswitch", {"vm": 9, "switch": 4})
    ['vm', 'switch']
    """
    m = _CMDLET_RE.fullmatch(word)
    if not m or m.group(1) not in CMDLET_VERBS:
        return []

    def split(noun: str) -> list[str]:
        if noun in vocab:
            return [noun]
        for i in range(2, len(noun) - 1):
            if noun[:i] in vocab:
                rest = split(noun[i:])
                if rest:
                    return [noun[:i], *rest]
        return []

    noun = m.group(2)
    for i in range(2, len(noun) - 1):  # the noun itself is a corpus word too ("vmprocessor"): split it
        if noun[:i] in vocab:
            rest = split(noun[i:])
            if rest:
                return [noun[:i], *rest]
    return []


PHRASE_FIELDS = ("title", "questions", "body")   # a phrase the user typed in quotes
SYNONYM_FIELDS = ("title", "questions")           # a glossary alternative: what a document is about


def _phrase_query(phrase: str, boost: float, kind: type[Phrase] = Phrase,
                  fields: tuple[str, ...] = PHRASE_FIELDS) -> list[Query]:
    """A multi-word phrase over ``fields`` (positions must line up)."""
    terms = [t for t, variant in _analyze(_STEM, phrase) if not variant]
    if len(terms) <= 1:
        return _word_query(phrase, boost) if terms else []
    return [kind(f, terms, boost=FIELD_BOOSTS[f] * boost) for f in fields]


class GlossaryPhrase(Phrase):
    """A glossary alternative's phrase: content-defined, so its postings may be kept per index."""


class SumOr(Or):
    """An OR of leaf queries scored term at a time: each leaf's BM25F scores summed into an array.

    The same scores as nested ``Or`` queries (BM25F adds up, leaf by leaf in order), but each
    term's postings are read a block at a time and scored in one tight loop, where whoosh's
    union matchers make about ten Python calls per posting: 5-10x faster on the wide queries
    ``build_query`` makes. A term's (and a glossary phrase's) scored postings are kept in the
    index's :class:`ScoreCache`, so a word many searches share is read once. Other leaves (typed
    phrases) go through their own whoosh matcher. The combined matcher cannot report which terms
    matched; nothing here needs that.
    """

    def __init__(self, subqueries, boost=1.0, cache: "ScoreCache | None" = None):
        super().__init__(subqueries, boost=boost)
        self.cache = cache if cache is not None else ScoreCache()

    def scores(self, searcher) -> array:
        """Score of every document of an atomic (one-segment) ``searcher``; 0.0 where nothing matched."""
        context = searcher.context()
        acc = array("d", bytes(8 * searcher.doc_count_all()))
        reader = searcher.reader()
        segment = getattr(reader, "segment", None)
        # Scored postings are kept per segment; a reader with deletions is scored afresh each time.
        seg = segment().segment_id() if segment is not None and not reader.has_deletions() else None
        for q in self.subqueries:
            if seg is not None and type(q) is Term:
                ids, unit_scores = _term_postings(searcher, context, seg, q.fieldname, q.text, self.cache)
            elif seg is not None and type(q) is GlossaryPhrase:
                key = (seg, q.fieldname, tuple(q.words))
                cached = self.cache.get(key)
                if cached is None:
                    cached = self.cache.put(key, _phrase_postings(searcher, context, seg, q.fieldname, q.words,
                                                                  self.cache))
                ids, unit_scores = cached
            elif seg is not None and type(q) is Phrase and q.slop == 1:
                ids, unit_scores = _phrase_postings(searcher, context, seg, q.fieldname, q.words, self.cache)
            else:
                _add_scores(q.matcher(searcher, context), searcher, acc, self.boost)
                continue
            b = q.boost
            if self.boost == 1.0:
                for d, sc in zip(ids, unit_scores):
                    acc[d] += sc * b  # == whoosh: the leaf's score times its boost (WrappingMatcher)
            else:
                for d, sc in zip(ids, unit_scores):
                    acc[d] += sc * b * self.boost
        return acc

    def _matcher(self, subs, searcher, context):
        acc = self.scores(searcher)
        ids = list(compress(range(len(acc)), acc))
        return ListMatcher(ids, weights=[acc[d] for d in ids])


class ScoreCache:
    """Scored postings and BM25 length norms of one opened index, shared by its threads.

    A built index never changes, so a term's scores stay right for its lifetime. Bounded by what it
    holds, misses included (a word no document has is an entry too): at most ``max_entries``
    entries and about ``max_bytes`` bytes, least recently used first out. This caches index data
    that every query containing the word shares, never a query's results.
    """

    # Random 64-word queries add ~400 entries a search, nearly all misses; uncounted, they took a
    # server from 83 MB to 1.77 GB in 8,000 searches. The shipped content has 13,000 terms over the
    # searched fields, so 100,000 entries keep every real word and plenty of misses; 32 MB hold
    # ~2,000,000 postings (12 bytes each), as the old cap did.
    MAX_ENTRIES = 100_000
    MAX_BYTES = 32 * 1024 * 1024

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._leaves: OrderedDict[tuple, tuple[array, array]] = OrderedDict()
        self._bytes: dict[tuple, int] = {}
        self._nbytes = 0
        self.norms: dict[tuple, list[float]] = {}
        self.fields: dict[int, dict] = {}  # docnum -> stored fields but the body, for ranking

    def __len__(self) -> int:
        return len(self._leaves)

    @property
    def nbytes(self) -> int:
        """Approximate bytes held by the entries (keys, postings, and the dicts' own slots)."""
        return self._nbytes

    def get(self, key):
        with self._lock:
            hit = self._leaves.get(key)
            if hit is not None:
                self._leaves.move_to_end(key)
            return hit

    def put(self, key, postings: tuple[array, array]):
        """Keep ``postings`` under ``key`` (unless already there) and return what is kept."""
        with self._lock:
            kept = self._leaves.get(key)
            if kept is not None:
                self._leaves.move_to_end(key)
                return kept
            if not postings[0]:
                postings = _NO_POSTINGS  # every miss shares one empty pair
            size = _entry_bytes(key, postings)
            if size > self.max_bytes:
                return postings  # larger than the whole cache: used once, not kept
            self._leaves[key] = postings
            self._bytes[key] = size
            self._nbytes += size
            while len(self._leaves) > self.max_entries or self._nbytes > self.max_bytes:
                old, _postings = self._leaves.popitem(last=False)
                self._nbytes -= self._bytes.pop(old)
            return postings


_NO_POSTINGS = (array("i"), array("d"))
# An entry's slot in the OrderedDict (hash table entry and linked-list node) and in ``_bytes``,
# with the key tuple and the postings' tuple: about 190 bytes measured with tracemalloc.
_ENTRY_OVERHEAD = 200


def _entry_bytes(key: tuple, postings: tuple[array, array]) -> int:
    """Approximate memory of one cache entry; the shared empty pair of a miss costs nothing more.

    ``key`` is (segment, field, text) or, for a phrase, (segment, field, (word, ...)); the segment
    id and field name are the same few strings in every key, so only the text counts.
    """
    size = _ENTRY_OVERHEAD
    for part in key[2:]:
        size += sys.getsizeof(part) + (sum(map(sys.getsizeof, part)) if type(part) is tuple else 0)
    if postings is not _NO_POSTINGS:
        size += sys.getsizeof(postings[0]) + sys.getsizeof(postings[1])
    return size


_SCORE_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SCORE_CACHES_LOCK = threading.Lock()


def score_cache(kb_index: KbIndex) -> ScoreCache:
    """The :class:`ScoreCache` of an opened index (made on first use)."""
    with _SCORE_CACHES_LOCK:
        cache = _SCORE_CACHES.get(kb_index)
        if cache is None:
            cache = _SCORE_CACHES[kb_index] = ScoreCache()
        return cache


def _length_norms(searcher, sc: BM25FScorer, fieldname: str, cache: ScoreCache) -> list[float]:
    """``K1 * ((1 - B) + B * length / avgfl)`` per document: the part of BM25 that depends on it."""
    reader = searcher.reader()
    key = (reader.segment().segment_id(), fieldname, sc.B, sc.K1, sc.avgfl)
    norms = cache.norms.get(key)
    if norms is None:
        B, K1, avgfl, dfl = sc.B, sc.K1, sc.avgfl, searcher.doc_field_length
        # Computed exactly as whoosh.scoring.bm25 does, so the sums match whoosh's to the last bit. A
        # document without the field has no length (None) and no postings in it: never looked up.
        norms = cache.norms[key] = [K1 * ((1 - B) + B * (dfl(d, fieldname, 1) or 0) / avgfl)
                                    for d in range(searcher.doc_count_all())]
    return norms


def _read_block_ids(m: W3LeafMatcher) -> None:
    """``m._read_ids()``, with the delta decoding in C (``accumulate``) instead of a generator."""
    if m._ids is None:
        if m._data is None:
            m._read_data()
        m._ids = m._data[0] if m._byteids else tuple(accumulate(m._data[0]))


def _leaf_postings(m, searcher, cache: ScoreCache) -> tuple[array, array]:
    """Every document ``m`` matches and its score (``m`` is unboosted), in document order."""
    ids, scores = array("i"), array("d")
    sc = getattr(m, "scorer", None)
    if type(m) is W3LeafMatcher and type(sc) is BM25FScorer and m.is_active() and m._i == 0:
        # A term's postings, a block at a time (whoosh-reloaded 2.7.5's W3 codec, pinned).
        norms = _length_norms(searcher, sc, m._term[0], cache)
        idf, k1p = sc.idf, sc.K1 + 1
        while m.is_active():
            _read_block_ids(m)
            if m._weights is None:
                m._read_weights()
            ids.extend(m._ids)
            # == whoosh.scoring.bm25(idf, tf, length, avgfl, B, K1), operation for operation
            scores.extend([idf * ((tf * k1p) / (tf + norms[d])) for d, tf in zip(m._ids, m._weights)])
            m._next_block()
        return ids, scores
    while m.is_active():
        ids.append(m.id())
        scores.append(m.score())
        m.next()
    return ids, scores


def _term_postings(searcher, context, seg: str, fieldname: str, text: str, cache: ScoreCache):
    """A term's documents and unboosted BM25F scores, from the cache or read once into it."""
    key = (seg, fieldname, text)
    cached = cache.get(key)
    if cached is None:
        cached = cache.put(key, _leaf_postings(Term(fieldname, text).matcher(searcher, context), searcher, cache))
    return cached


def _tree_sum(values: list[float]) -> float:
    # Added in the order of whoosh's binary tree of IntersectionMatchers (make_binary_tree).
    if len(values) == 1:
        return values[0]
    half = len(values) // 2
    return _tree_sum(values[:half]) + _tree_sum(values[half:])


def _phrase_postings(searcher, context, seg: str, fieldname: str, words, cache: ScoreCache):
    """Documents holding ``words`` at consecutive positions of a field, with whoosh's phrase score.

    Exactly what whoosh's ``Phrase`` (a ``SpanNear2`` of slop 1 over the words' terms) matches and
    scores, the sum of the words' BM25F scores, but found by intersecting the words' document sets
    in C and decoding positions only for the documents in all of them.
    """
    reader = searcher.reader()
    field = searcher.schema[fieldname] if fieldname in searcher.schema else None
    empty = (array("i"), array("d"))
    if field is None or not words:
        return empty
    try:
        btexts = [field.to_bytes(w) for w in words]
    except ValueError:
        return empty
    if any((fieldname, b) not in reader for b in btexts):
        return empty
    postings = [_term_postings(searcher, context, seg, fieldname, w, cache) for w in words]
    docs = set(postings[0][0])
    for ids, _scores in postings[1:]:
        docs.intersection_update(ids)
    if not docs:
        return empty
    # Positions of each word in the candidate documents only; a block holding none is not even unpacked.
    wanted = sorted(docs)
    positions: list[dict[int, list[int]]] = []
    for w in dict.fromkeys(words):
        m = Term(fieldname, w).matcher(searcher, context)
        found: dict[int, list[int]] = {}
        first = 0  # the block's lowest possible document: just past the previous block's highest
        while m.is_active():
            last = m.block_max_id()
            if bisect_right(wanted, last) > bisect_left(wanted, first):
                _read_block_ids(m)
                if m._values is None:
                    m._read_values()
                decode = m.format.decode_positions
                for i, d in enumerate(m._ids):
                    if d in docs:
                        found[d] = decode(m._values[i])
            first = last + 1
            m._next_block()
        positions.append(found)
    by_word = dict(zip(dict.fromkeys(words), positions))
    out_ids, out_scores = array("i"), array("d")
    for d in wanted:
        ends = set(by_word[words[0]][d])
        for w in words[1:]:
            ends = {p for p in by_word[w][d] if p - 1 in ends}  # the next word right after
            if not ends:
                break
        if ends:
            out_ids.append(d)
            out_scores.append(_tree_sum([scores[bisect_left(ids, d)] for ids, scores in postings]))
    return out_ids, out_scores


def _add_scores(m, searcher, acc: array, boost: float) -> None:
    """Add matcher ``m``'s score, times ``boost``, to ``acc`` for each (undeleted) document it matches."""
    is_deleted = searcher.reader().is_deleted if searcher.reader().has_deletions() else None
    while m.is_active():
        d = m.id()
        if is_deleted is None or not is_deleted(d):
            acc[d] += m.score() * boost
        m.next()


def build_query(kb_index: KbIndex, text: str) -> tuple[SumOr, dict[str, str], list[str]]:
    """Turn user text into a whoosh query.

    :returns: the query, the typo corrections applied, and the glossary phrases added.
    :raises QueryError: nothing searchable in the text.
    """
    typed = words(text)
    seen: set[str] = set()
    distinct = [w for w in typed if not (w in seen or seen.add(w))][:MAX_QUERY_WORDS]
    parts: list[Query] = []
    corrections: dict[str, str] = {}
    for w in distinct:
        parts += _word_query(w)
        for noun in _cmdlet_nouns(w, kb_index.vocab):
            parts += _word_query(noun, VARIANT_BOOST)
        fix = kb_index.speller.correct(w)
        if fix:
            corrections[w] = fix
            parts += _word_query(fix, CORRECTION_BOOST)
    for phrase in _PHRASE_RE.findall(text)[:8]:
        parts += _phrase_query(phrase, 2.0)
    expansions: list[str] = []
    glossary = kb_index.corpus.glossary
    # Look for glossary phrases in the text as typed and as corrected ("intergration services").
    as_typed = tuple(typed[:MAX_QUERY_WORDS])
    for seq in dict.fromkeys([as_typed, tuple(corrections.get(w, w) for w in as_typed)]):  # in this order
        for match in glossary.find(list(seq)):
            for alt in glossary.alternatives(match):
                if alt not in expansions and alt not in seen:
                    expansions.append(alt)
    for alt in expansions[:MAX_EXPANSIONS]:
        # Titles and question phrasings only: a synonym there says what a document is about, while
        # body mentions add little (boost 0.5) and cost most (the longest postings; 10k search p95
        # 2.9x -> about 1.2x FTS5, dev hit@1 0.948 -> 0.939, holdout unchanged).
        parts += _phrase_query(alt, SYNONYM_BOOST, GlossaryPhrase, SYNONYM_FIELDS)
    if not parts:
        raise QueryError("the query has no searchable words (only punctuation or very common words)")
    # No coordination bonus (``Or(scale=...)``): whoosh's CoordMatcher re-walks the matcher tree for
    # every candidate document, tripling search time, and its bonus (~0.01 against BM25 scores of
    # 5-200) barely ranks; BM25F already favours documents that match more of the words.
    return SumOr(parts, cache=score_cache(kb_index)), corrections, expansions


def _filter(topic: str | None, kind: str | None, version: str | None):
    subs = []
    if topic:
        subs.append(Term("topic", topic))
    if kind:
        if kind not in KINDS:
            raise QueryError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
        subs.append(Term("kind", kind))
    if version:
        name = normalize_version(version)
        if name is None:
            raise QueryError(f"unknown version {version!r}; e.g. '2012 R2' or 'Windows Server 2019'")
        subs.append(Or([Term("applies", version_key(name)), Term("applies", "any")]))
    return And(subs) if subs else None


def _top_documents(searcher, wq: SumOr, flt, limit: int) -> list[tuple[float, int, dict]]:
    """The ``limit`` best index documents for ``wq`` (BM25F score, document number, stored fields
    but the body), best first. Equal scores go by document number, as whoosh's collector orders them.
    """
    ranked: list[tuple[float, int]] = []
    allow = set(searcher.docs_for_query(flt)) if flt is not None else None
    for sub, offset in searcher.leaf_searchers():
        acc = wq.scores(sub)
        if allow is None:
            # The limit-th best score, in C; then only documents at or above it are sorted.
            floor = heapq.nlargest(limit, acc)[-1] if acc else 0.0
            docs = [d for d in compress(range(len(acc)), acc) if acc[d] >= floor]
        else:
            docs = [d for d in compress(range(len(acc)), acc) if d + offset in allow]
        ranked += [(acc[d], d + offset) for d in docs]
    ranked.sort(key=lambda sd: (-sd[0], sd[1]))
    fields = wq.cache.fields
    out = []
    for score, docnum in ranked[:limit]:
        f = fields.get(docnum)
        if f is None:  # the body is read again only for the few hits that show an excerpt
            f = fields[docnum] = {k: v for k, v in searcher.stored_fields(docnum).items() if k != "body"}
        out.append((score, docnum, f))
    return out


_WORD_RE = re.compile(r"\w[\w.-]*\w|\w")

_GENERIC_TOPIC_WORDS = frozenset({"hyper", "v", "vm", "vms", "virtual", "window", "server"})


def _topic_names(corpus) -> dict[str, frozenset[str]]:
    """Per topic, the stemmed words of its id that name it (``storage-spaces-direct``: storag, space,
    direct), without the words every topic shares (hyper, vm, virtual, server) or version numbers."""
    cached = getattr(corpus, "_topic_name_stems", None)
    if cached is None:
        cached = {}
        for tid in corpus.topics:
            stems = {st for st, _v in _analyze(_STEM, tid.replace("-", " "))} - _GENERIC_TOPIC_WORDS
            stems = frozenset(st for st in stems if not st.isdigit())
            if stems:
                cached[tid] = stems
        corpus._topic_name_stems = cached
    return cached


def _subjects(glossary, text: str) -> frozenset[str]:
    """The glossary entries (by term) a text names; entries too generic to widen a search do not count."""
    return frozenset(m.entry.term for m in glossary.find(words(text)) if m.entry.expand)


def _subject_stems(glossary) -> dict[str, tuple[frozenset[str], ...]]:
    """Per glossary entry (by term), the stemmed words of each of its phrases; kept on the glossary."""
    cached = getattr(glossary, "_phrase_stems", None)
    if cached is None:
        cached = glossary._phrase_stems = {
            e.term: tuple(st for st in (frozenset(t for t, v in _analyze(_STEM, p) if not v) for p in e.phrases)
                          if st)
            for e in glossary.entries}
    return cached


def _names_subject(glossary, subject: str, stems: set[str]) -> bool:
    """Whether a query's stems hold every word of one of ``subject``'s phrases, in any order: the
    drafter searches a question's most specific words, not its sentences."""
    return any(phrase <= stems for phrase in _subject_stems(glossary).get(subject, ()))


def _phrasing_subjects(corpus, doc_id: str, section: str | None) -> tuple[frozenset[str], ...]:
    """Per phrasing of an index document (a snippet's title and questions, an article's title, a
    section's heading), the glossary subjects it names; kept on the corpus."""
    cached = getattr(corpus, "_phrasing_subjects", None)
    if cached is None:
        cached = corpus._phrasing_subjects = {}
    key = (doc_id, section)
    found = cached.get(key)
    if found is None:
        doc = corpus.get(doc_id)
        if doc is None:
            texts = []
        elif doc.kind == "snippet":
            texts = [doc.title, *doc.questions]
        elif section is None:
            texts = [doc.title]
        else:
            texts = [s.heading for s in doc.sections if s.anchor == section]
        found = cached[key] = tuple(_subjects(corpus.glossary, t) for t in texts)
    return found


def _rerank(results, corpus, query: str, n_words: int | None = None):
    """Query-level priors on the BM25F candidates, re-sorted: documents of a topic the query names
    (every word of the topic's id) score ``1 + TOPIC_NAME_BOOST`` times more; documents whose
    ``applies_to`` covers none of the versions the query names score ``VERSION_MISMATCH`` times less;
    documents every phrasing of which names a glossary subject the query does not score
    ``UNNAMED_SUBJECT`` times less."""
    stems = {stem for stem, _v in _analyze(_STEM, query)}
    named = {tid for tid, name in _topic_names(corpus).items() if name <= stems} if TOPIC_NAME_BOOST else set()
    versions = find_versions(query) if VERSION_MISMATCH != 1.0 else []
    glossary = corpus.glossary
    n_words = n_words or len(words(query))
    subjects = (_subjects(glossary, query) if UNNAMED_SUBJECT != 1.0 and n_words <= SUBJECT_QUERY_WORDS
                else None)
    if not named and not versions and subjects is None:
        return results
    out, changed = [], False
    for score, docnum, r in results:
        before = score
        if r.get("topic") in named:
            score *= 1.0 + TOPIC_NAME_BOOST
        if subjects is not None:
            phrasings = _phrasing_subjects(corpus, r.get("id"), r.get("section"))
            if phrasings and all(any(not _names_subject(glossary, x, stems) for x in p - subjects)
                                 for p in phrasings):
                score *= UNNAMED_SUBJECT
        if versions:
            doc = corpus.get(r.get("id"))
            if doc is not None and doc.applies_to and not any(covers(list(doc.applies_to), v) for v in versions):
                score *= VERSION_MISMATCH
        changed = changed or score != before
        out.append((score, docnum, r))
    if not changed:
        return results
    out.sort(key=lambda x: (-x[0], x[1]))
    return out


def _prefer_whole_names(results, searcher, names: list[str], n_words: int):
    """Rank documents that hold ``names`` (cmdlets, codes, file names typed whole) whole first: one
    missing k of them scores ``MISSING_NAME ** (k / n_words)`` times less, however many of their
    parts it matches; ``n_words`` is the number of distinct words typed."""
    if not names or MISSING_NAME == 1.0:
        return results
    holding = []
    for name in names:
        terms = [Term(f, t) for f in FIELD_BOOSTS for t, variant in _analyze(_STEM, name) if not variant]
        terms += [Term("exact", t) for t, variant in _analyze(_EXACT, name) if not variant]
        holding.append(set(searcher.docs_for_query(Or(terms))) if terms else set())
    out = []
    for score, docnum, r in results:
        missing = sum(docnum not in docs for docs in holding)
        out.append((score * MISSING_NAME ** (missing / n_words) if missing else score, docnum, r))
    out.sort(key=lambda x: (-x[0], x[1]))
    return out


@lru_cache(maxsize=2048)
def _word_index(text: str) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[int, int]]]]:
    """A text's distinct words with their lowercase and stemmed forms, and where each occurs.

    Worked out once per text (bodies do not change while an index is open), so marking an excerpt
    costs only the words that match.
    """
    from kb.index import stem_word

    where: dict[str, list[tuple[int, int]]] = {}
    for m in _WORD_RE.finditer(text):
        where.setdefault(m.group(), []).append(m.span())
    return {w: (w.lower(), stem_word(w.lower())) for w in where}, where


def make_excerpt(body: str, query_terms: set[str], width: int = EXCERPT_CHARS) -> str:
    """An HTML-escaped window of ``body`` around the first run of query words, marked with <mark>.

    Words are compared by their stemmed analysis, so "migrations" marks for the query "migration".

    >>> make_excerpt("Live migration needs a network. Quorum is votes.", {"quorum"}, width=30)
    '… <mark>Quorum</mark> is votes.'
    """
    from html import escape

    text = body.replace("\n", " ")
    forms, where = _word_index(text)
    spans = sorted(span for w, (low, stem) in forms.items() if low in query_terms or stem in query_terms
                   for span in where[w])
    if not spans:
        cut = text[:width].rsplit(" ", 1)[0] if len(text) > width else text
        return escape(cut, quote=False) + ("…" if len(text) > width else "")
    # The window that holds the most matches, starting a little before its first one.
    ends = [en for _st, en in spans]  # increasing: words do not overlap
    best_i, best_n = 0, 0
    for i, (st, _en) in enumerate(spans):
        n = bisect_right(ends, st + width, i) - i
        if n > best_n:
            best_i, best_n = i, n
    start = max(0, spans[best_i][0] - width // 4)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < spans[best_i][0] else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > spans[best_i][1] else end
    out, pos = [], start
    for st, en in spans:
        if st < start or en > end:
            continue
        out.append(escape(text[pos:st], quote=False))
        out.append(f"<mark>{escape(text[st:en], quote=False)}</mark>")
        pos = en
    out.append(escape(text[pos:end], quote=False))
    return ("… " if start else "") + "".join(out).strip() + (" …" if end < len(text) else "")


def _query_terms(text: str) -> set[str]:
    """Analyzed (stemmed) terms of the words a user typed, for marking excerpts: a compound's parts
    too ("hyper-v" marks "HyperV"), but a cmdlet, code or file name only whole (not "set" and
    "sets" for ``Set-VMProcessor``)."""
    return {t for w in words(text) for t, variant in _analyze(_STEM, w)
            if not (variant and is_named_identifier(w))}


def clean_query(query) -> str:
    """Normalize a query string; :raises QueryError: not text, or empty."""
    if not isinstance(query, str):
        raise QueryError("the query must be text")
    q = normalize(query[:MAX_QUERY_CHARS * 2]).strip()[:MAX_QUERY_CHARS]
    if not q:
        raise QueryError("the query is empty")
    return q


def search(kb_index: KbIndex, query: str, limit: int = 10, topic: str | None = None, kind: str | None = None,
           version: str | None = None, page: int = 1, excerpts: bool = True) -> SearchResult:
    """Search the index; results are one per document (best section wins), best first.

    :raises QueryError: empty query, unknown kind/version filter, or nothing searchable.
    """
    q = clean_query(query)
    limit = max(1, min(int(limit), 100))
    page = max(1, int(page))
    wq, corrections, expansions = build_query(kb_index, q)
    flt = _filter(topic, kind, version)
    searcher = kb_index.searcher()
    want = page * limit
    typed = list(dict.fromkeys(words(q)))[:MAX_QUERY_WORDS]
    results = _rerank(_top_documents(searcher, wq, flt, max(want * 4, 40)), kb_index.corpus,
                      " ".join([q, *corrections.values(), *expansions]), len(typed))
    results = _prefer_whole_names(results, searcher, [w for w in typed if is_named_identifier(w)], len(typed))
    marks = (_query_terms(q) | {t for c in corrections.values() for t, _v in _analyze(_STEM, c)}) if excerpts else set()
    seen: dict[str, int] = {}
    ordered = []
    for score, docnum, r in results:
        doc_id = r["id"]
        if doc_id in seen:
            continue
        seen[doc_id] = len(ordered)
        ordered.append((score, docnum, r))
    total = len(ordered)
    corpus = kb_index.corpus
    hits = []
    for score, docnum, r in ordered[(page - 1) * limit:want]:
        doc = corpus.get(r["id"])
        hits.append(Hit(
            id=r["id"], kind=r["kind"], topic=r["topic"], section=r.get("section"),
            title=doc.title if doc else r["title"], score=float(score),
            excerpt=make_excerpt(searcher.stored_fields(docnum).get("body") or "", marks) if excerpts else "",
            section_title=r.get("section_title"), applies_to=tuple(doc.applies_to) if doc else (),
            parent=getattr(doc, "article", None),
        ))
    suggestion = None
    if corrections:
        suggestion = " ".join(corrections.get(w, w) for w in words(q)[:MAX_QUERY_WORDS])
    elif total < 3:
        suggestion = kb_index.speller.similar_title(q)
        if suggestion and suggestion.lower() == q.lower():
            suggestion = None
    return SearchResult(q, hits, total, suggestion, corrections, expansions, page, limit)
