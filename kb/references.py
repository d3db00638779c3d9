"""Public pages for a draft: which of an article's references back an answer, the Further reading list,
and links for the snippets and articles an answer cites by id.

A pasted draft is read on a forum, where hvkb's own pages are unreachable unless a public base URL is
configured: every link goes to a page the reader can open and that is about what it stands next to.
"""
from __future__ import annotations

import re
from functools import lru_cache

from kb.content import Article, Corpus, Snippet

MAX_LINKS = 3
REFERENCES_PER_ARTICLE = 1   # the page nearest the answer; plus the reference page of each cmdlet it runs
CMDLET_REFERENCES = 2


# Where an answer may cite a snippet or article by id: "the licensing article", or a lowercase hyphenated
# token ("dc-virtualization", "linux-guests-screen-resolution"); a set lookup decides whether it is one.
_CITED_ID = re.compile(r"\bthe (?P<article>[a-z0-9][a-z0-9-]*) article\b(?:'s [\w-]+ section)?|"
                       r"(?<![\w/#-])(?P<id>[a-z0-9]+(?:-[a-z0-9]+)+)(?![\w/-])")
# An article id is also a plain compound ("enhanced-session support"): cited only after these.
_CITE_CUE = re.compile(r"(?:\bsee|\bread|Details:|\band|\bor)\s$")


def public_ids(text: str, corpus: Corpus, base_url: str = "") -> str:
    """Answers cite other snippets and articles by id ("see dc-virtualization"), which a forum reader
    cannot open: each becomes a link, to hvkb's page (titled as there) when a public base URL is set,
    else to the public reference nearest it, titled as that page (or the title, quoted, when it has none).

    Snippet ids are cited anywhere; an article id only as "the licensing article", or after "see",
    "read", "Details:", "and" or "or" ("read live-migration and cpu-compatibility")."""
    def link(m: re.Match) -> str:
        doc_id = m.group("article") or m.group("id")
        if m.group("article"):
            if doc_id not in corpus.articles:
                return m.group(0)
        elif doc_id not in corpus.snippets and not (
                doc_id in corpus.articles and _CITE_CUE.search(text[max(0, m.start() - 9):m.start()])):
            return m.group(0)
        doc = corpus.get(doc_id)
        art = corpus.articles.get(doc.article if doc_id in corpus.snippets else doc_id)
        if base_url:
            section = f"snippet-{doc_id}" if doc_id in corpus.snippets else None
            return f"[{doc.title}]({hvkb_link(base_url, art.id if art else doc_id, section)})"
        refs = []
        if art is not None:
            # A snippet: the page about it; an article: its first reference, the overview page.
            refs = ((snippet_references(art, doc, corpus=corpus) if doc_id in corpus.snippets else []) or list(art.references[:1]))
        # Linked to a public page, the text names that page (its heading, without the note on what it
        # covers), so the reader knows where the link goes.
        return f"[{refs[0].title.split(' (')[0]}]({refs[0].url})" if refs else f'"{doc.title}"'

    return _CITED_ID.sub(link, text)


def hvkb_link(base_url: str, doc_id: str, section: str | None = None) -> str:
    return f"{base_url.rstrip('/')}/articles/{doc_id}" + (f"#{section}" if section else "")


# Words of reference titles that say where a page is, not what it is about: they tell nothing about
# whether the page fits an answer.
_REF_GENERIC = frozenset(
    "windows server microsoft learn hyper v hyperv hyper-v powershell reference documentation docs source module "
    "docset class blog archive article support kb previous version versions overview what new whats "
    "virtual machine machines vm vms guide use using how about in on for and the of a to with".split())
MIN_REFERENCE_OVERLAP = 2   # distinctive words a reference's title must share with the answer it backs


def content_words(text: str) -> frozenset[str]:
    """Stems of the distinctive words of ``text``; version tokens (2012, r2, 1809) say which release,
    not what about."""
    from kb.index import stem_word
    from kb.text import words

    return frozenset(stem_word(w) for w in words(text) if w not in _REF_GENERIC and not any(ch.isdigit() for ch in w)
                     and len(w) > 1)


# Cached for the KB's own texts only (reference titles, snippet titles and answers, conditions: a bounded
# set); a pasted question goes through content_words, so a server never keeps what users paste.
kb_words = lru_cache(maxsize=4096)(content_words)


def _weight(words) -> int:
    return sum(2 if "-" in w else 1 for w in words)


def reference_overlap(title: str, context: str | frozenset[str], common: frozenset[str] = frozenset()) -> int:
    """How much a reference's title is about ``context`` (a snippet's title and answer, or its words
    already, :func:`kb_words`): the distinctive words they share, a shared cmdlet name
    (``Get-VMConnectAccess``) counting for two. Words in ``common`` (what every answer of the article
    is about, :func:`article_words`) do not count."""
    about = kb_words(context) if isinstance(context, str) else context
    return _weight((kb_words(title) & about) - common)


def reference_fit(title: str, context: str | frozenset[str], common: frozenset[str]) -> int:
    """How well a reference backs an answer: 2 when its title shares MIN_REFERENCE_OVERLAP words with the
    answer beyond what the whole article is about (``common``); 1 for a page about the article's subject
    as a whole (at most GENERAL_SHARE of its title's words are not ``common``: "Use Cluster Shared
    Volumes in a failover cluster") that shares that many words with the answer; else 0. A page about
    one case (a Best Practices Analyzer rule, "Get-WBVssBackupOption") backs only answers about that
    case, however many of the article's own words its title repeats."""
    if reference_overlap(title, context) < MIN_REFERENCE_OVERLAP:
        return 0
    if reference_overlap(title, context, common) >= MIN_REFERENCE_OVERLAP:
        return 2
    words = kb_words(title)
    return 1 if len(words - common) <= GENERAL_SHARE * len(words) else 0


GENERAL_SHARE = 0.5   # a title with at most this share of words beyond the article's common ones is about it all
COMMON_SHARE = 0.3   # a word in more of an article's snippets than this says what the article is about


def article_words(corpus: Corpus | None, art: Article) -> frozenset[str]:
    """The words most of an article's snippets share ("backup" in VM backup, "quorum" in quorum): a
    reference title sharing one with an answer is about the article, not about that answer."""
    if corpus is None:
        return frozenset()
    cache = corpus.__dict__.setdefault("_article_words", {})   # per opened corpus: its texts do not change
    if art.id not in cache:
        cache[art.id] = _article_words(corpus.snippets_of(art.id))
    return cache[art.id]


def _article_words(snippets: list[Snippet]) -> frozenset[str]:
    if len(snippets) < 4:
        return frozenset()
    counts: dict[str, int] = {}
    for sn in snippets:
        for w in kb_words(f"{sn.title} {sn.answer}"):
            counts[w] = counts.get(w, 0) + 1
    return frozenset(w for w, n in counts.items() if n > COMMON_SHARE * len(snippets))


@lru_cache(maxsize=4096)
def _title_releases(title: str) -> tuple[int, ...]:
    """The Windows Server releases a reference title names, as ranks (KB text only: cached)."""
    from kb.versions import find_versions, version_rank

    return tuple(r for r in map(version_rank, find_versions(title)) if r is not None)


RELEASE_GAP = 2   # releases between a page's and an answer's before the page is about another release


def other_release(title: str, applies_to) -> bool:
    """Whether a reference's title names only Windows Server releases at least RELEASE_GAP away from
    every release an answer applies to ("Set-ClusterQuorum (Windows Server 2008 R2)" for a cloud
    witness, which arrived in 2016). A page about the release next to it (2012 for a 2012 R2 answer)
    usually still holds."""
    from kb.versions import version_rank

    named = _title_releases(title)
    mine = [r for r in map(version_rank, applies_to or ()) if r is not None]
    if not named or not mine:
        return False
    return min(abs(a - b) for a in named for b in mine) >= RELEASE_GAP


_CMDLET = re.compile(r"\b[A-Z][a-z]+-[A-Z][A-Za-z]+\b")


def cmdlet_references(art: Article, answer: str) -> list:
    """The article's references for the cmdlets an answer runs: a title that opens with a cmdlet name
    (``Set-VMHost (Hyper-V PowerShell reference)``) whose cmdlet the answer names."""
    named = {m.group(0).lower() for m in _CMDLET.finditer(answer)}
    out = []
    for ref in art.references:
        m = _CMDLET.match(ref.title)
        if m and m.group(0).lower() in named:
            out.append(ref)
    return out


def best_references(art: Article, question: str, n: int = REFERENCES_PER_ARTICLE, answer: str = "",
                    min_overlap: int = 0, common: frozenset[str] = frozenset(), applies_to=()):
    """The article's references whose titles are nearest the question and the answer given from it
    (a cmdlet's reference for an answer that runs the cmdlet), the first ones on ties. With
    ``min_overlap``, only references that fit the answer (:func:`reference_fit` beyond the article's
    ``common`` words; a page about the answer's own case before a page about the whole subject) and
    name no release outside ``applies_to``: an unrelated page under a fitting title is worse than no
    link."""
    fit = {}
    refs = list(enumerate(art.references))
    if min_overlap:
        about = kb_words(answer)
        for i, r in refs:
            if other_release(r.title, applies_to):
                continue
            if min_overlap >= MIN_REFERENCE_OVERLAP:
                fit[i] = reference_fit(r.title, about, common)
            else:
                fit[i] = 2 if reference_overlap(r.title, about, common) >= min_overlap else 0
        refs = [(i, r) for i, r in refs if fit.get(i)]
    if not question and not answer:
        return [r for _i, r in refs[:n]]
    from rapidfuzz import fuzz, utils

    def score(title: str) -> float:
        return sum(fuzz.token_set_ratio(text, title, processor=utils.default_process) for text in (question, answer) if text)

    ranked = sorted(refs, key=lambda ir: (-fit.get(ir[0], 0), -score(ir[1].title), ir[0]))
    return [ref for _i, ref in ranked[:n]]


def chosen_references(art: Article, snippet: Snippet) -> list | None:
    """The references the snippet's author chose for it (its ``see``), best first; None when not chosen."""
    if snippet.see is None:
        return None
    by_url = {r.url: r for r in art.references}
    return [by_url[u] for u in snippet.see if u in by_url]


def snippet_references(art: Article, snippet: Snippet, question: str = "", n: int = 1,
                       corpus: Corpus | None = None) -> list:
    """The article's references about ``snippet``: those its author chose (``see``), else the ones
    whose titles are about its title and answer (beyond what the article's snippets all share when
    ``corpus`` is given), nearest ``question`` first; none when no reference is about it."""
    chosen = chosen_references(art, snippet)
    if chosen is not None:
        return chosen[:n]
    return best_references(art, question, n, answer=f"{snippet.title} {snippet.answer}",
                           min_overlap=MIN_REFERENCE_OVERLAP, common=article_words(corpus, art),
                           applies_to=snippet.applies_to)


def public_page(art: Article | None, doc: Article | Snippet, question: str = "", corpus: Corpus | None = None) -> str | None:
    """The public page shown beside a source: for a snippet, the reference about it (the one its draft
    links; none when no reference is), for an article the reference nearest the question and its title.
    Never merely the article's first: "Which disk format Azure needs" was shown beside the
    Remove-AzureService page."""
    if art is None:
        return None
    if doc.kind == "snippet":
        refs = snippet_references(art, doc, question, corpus=corpus)
    else:
        refs = best_references(art, question, 1, answer=art.title)
    return refs[0].url if refs else None


def article_links(articles: list[Article], base_url: str = "", question: str = "",
                  snippets: list[Snippet] = (), corpus: Corpus | None = None) -> list[str]:
    """Markdown list items a forum reader can open: for each article, the references of the answers
    given from it (``snippets``: those their authors chose, else the ones nearest the question and the
    answer) and the reference page of each cmdlet they run, then hvkb's own page only when a public
    base URL is configured (a site-relative link is dead on a forum)."""
    items: list[str] = []
    for art in articles:
        used = [sn for sn in snippets if sn.article == art.id]
        answer = " ".join(f"{sn.title} {sn.answer}" for sn in used)
        chosen = [r for sn in used for r in (chosen_references(art, sn) or ())]
        if any(sn.see is not None for sn in used):
            refs = list(dict.fromkeys(chosen))[:REFERENCES_PER_ARTICLE]
        else:
            common = article_words(corpus, art)
            releases = tuple(dict.fromkeys(v for sn in used for v in sn.applies_to))
            # The references about the answer given; failing any, the one page nearest it, so a posted
            # answer still cites a public source.
            refs = (best_references(art, question, answer=answer, min_overlap=MIN_REFERENCE_OVERLAP,
                                    common=common, applies_to=releases)
                    or best_references(art, question, 1, answer=answer, min_overlap=1, common=common,
                                       applies_to=releases))
        refs += [r for r in cmdlet_references(art, answer) if r not in refs][:CMDLET_REFERENCES]
        for ref in refs:
            item = f"- [{ref.title}]({ref.url})"
            if item not in items:
                items.append(item)
        if base_url:
            items.append(f"- [{art.title}]({hvkb_link(base_url, art.id)})")
    return items[:MAX_LINKS * 2]
