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
            refs = ((snippet_references(art, doc) if doc_id in corpus.snippets else []) or list(art.references[:1]))
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


def reference_overlap(title: str, context: str) -> int:
    """How much a reference's title is about ``context`` (a snippet's title and answer): the distinctive
    words they share, a shared cmdlet name (``Get-VMConnectAccess``) counting for two."""
    shared = kb_words(title) & kb_words(context)
    return sum(2 if "-" in w else 1 for w in shared)


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
                    min_overlap: int = 0):
    """The article's references whose titles are nearest the question and the answer given from it
    (a cmdlet's reference for an answer that runs the cmdlet), the first ones on ties. With
    ``min_overlap``, only references whose titles share that much with the answer
    (:func:`reference_overlap`): an unrelated page under a fitting title is worse than no link."""
    refs = list(enumerate(art.references))
    if min_overlap:
        refs = [(i, r) for i, r in refs if reference_overlap(r.title, answer) >= min_overlap]
    if not question and not answer:
        return [r for _i, r in refs[:n]]
    from rapidfuzz import fuzz, utils

    def score(title: str) -> float:
        return sum(fuzz.token_set_ratio(text, title, processor=utils.default_process) for text in (question, answer) if text)

    ranked = sorted(refs, key=lambda ir: (-score(ir[1].title), ir[0]))
    return [ref for _i, ref in ranked[:n]]


def snippet_references(art: Article, snippet: Snippet, question: str = "", n: int = 1) -> list:
    """The article's references about ``snippet`` (its title and answer), nearest ``question`` first;
    none when no reference is about it."""
    return best_references(art, question, n, answer=f"{snippet.title} {snippet.answer}",
                           min_overlap=MIN_REFERENCE_OVERLAP)


def article_links(articles: list[Article], base_url: str = "", question: str = "",
                  answers: dict[str, str] | None = None) -> list[str]:
    """Markdown list items a forum reader can open: each article's public references (those nearest the
    question and the answer given from it, ``answers`` by article id), and hvkb's own page only when a
    public base URL is configured (a site-relative link is dead on a forum)."""
    items: list[str] = []
    for art in articles:
        answer = (answers or {}).get(art.id, "")
        # The references about the answer given; failing any, the one page nearest it, so a posted
        # answer still cites a public source.
        refs = (best_references(art, question, answer=answer, min_overlap=MIN_REFERENCE_OVERLAP)
                or best_references(art, question, 1, answer=answer, min_overlap=1))
        refs += [r for r in cmdlet_references(art, answer) if r not in refs][:CMDLET_REFERENCES]
        for ref in refs:
            item = f"- [{ref.title}]({ref.url})"
            if item not in items:
                items.append(item)
        if base_url:
            items.append(f"- [{art.title}]({hvkb_link(base_url, art.id)})")
    return items[:MAX_LINKS * 2]
