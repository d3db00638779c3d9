"""Reading request parameters: one place that turns query-string text into checked search options."""
from __future__ import annotations

import re
from dataclasses import dataclass

from kb.errors import InputTooLargeError, QueryError
from kb.index import KbIndex
from kb.searching import KINDS, SearchResult, search
from kb.text import normalize

MAX_PAGE = 1000     # deeper than anyone pages; keeps the collector small
MAX_LIMIT = 100
# Article and snippet ids are slugs; anything else cannot name a document.
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_INT_RE = re.compile(r"^-?[0-9]{1,6}$")  # no valid page or limit is longer; int() of 5,000 digits is slow


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    topic: str = ""
    kind: str = ""
    version: str = ""
    page: int = 1
    limit: int = 10

    def query_args(self, **changes) -> dict:
        """The non-empty parameters as URL arguments (for links to other pages of results)."""
        d = {"q": self.q, "topic": self.topic, "kind": self.kind, "version": self.version, "page": self.page}
        d.update(changes)
        return {k: v for k, v in d.items() if v not in ("", None) and not (k == "page" and v == 1)}


def clean_text(value: str | None) -> str:
    """Text from a form or URL without control characters (NUL and friends), trimmed.

    >>> clean_text(" quorum\\x00 ")
    'quorum'
    """
    return normalize(value or "").strip()


def int_arg(args, name: str, default: int, low: int, high: int) -> int:
    """An integer argument within ``low..high``.

    :raises QueryError: not a whole number, or out of range.
    """
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    raw = raw.strip()
    if not _INT_RE.match(raw):
        raise QueryError(f"{name} must be a whole number from {low} to {high}")
    value = int(raw)
    if not low <= value <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}")
    return value


def search_params(args, default_limit: int, max_query_chars: int) -> SearchParams:
    """Check the search arguments of a request (``q``, ``topic``, ``kind``, ``version``, ``page``, ``limit``).

    :raises QueryError: a bad number or kind. :raises InputTooLargeError: ``q`` over the cap.
    """
    q = clean_text(args.get("q"))
    if len(q) > max_query_chars:
        raise InputTooLargeError(f"the query is {len(q):,} characters long; the limit is {max_query_chars:,}. "
                                 "To ask about a long question, use Draft an answer.", max_query_chars)
    kind = clean_text(args.get("kind"))
    if kind and kind not in KINDS:
        raise QueryError(f"unknown kind {kind[:40]!r}; use one of: {', '.join(KINDS)}")
    return SearchParams(
        q=q,
        topic=clean_text(args.get("topic"))[:100],
        kind=kind,
        version=clean_text(args.get("version"))[:100],
        page=int_arg(args, "page", 1, 1, MAX_PAGE),
        limit=int_arg(args, "limit", default_limit, 1, MAX_LIMIT),
    )


def run_search(kb_index: KbIndex, p: SearchParams) -> SearchResult:
    """Search with checked parameters.

    :raises QueryError: empty query, nothing searchable, unknown topic or version.
    """
    if p.topic and p.topic not in kb_index.corpus.topics:
        raise QueryError(f"unknown topic {p.topic!r}; see /topics for the list")
    return search(kb_index, p.q, limit=p.limit, topic=p.topic or None, kind=p.kind or None,
                  version=p.version or None, page=p.page)
