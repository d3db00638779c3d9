"""Template helpers: Markdown to HTML, compact version lists, detected facts in words, search rows."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask import Flask
from markupsafe import Markup

from kb.index import STOPWORDS, stem_word
from kb.markdown import render_html
from kb.text import words
from kb.versions import CLIENT, HYPERV_SERVER, WINDOWS_SERVER, release_of

# Families whose newest release is still current: a run up to the last one reads "2012+".
_OPEN_ENDED = (WINDOWS_SERVER, CLIENT)

FACT_LABELS = {
    "os_versions": "Versions",
    "cluster": "Failover cluster",
    "host_count": "Hosts",
    "cpu_vendors": "CPU vendor",
    "cpu_models": "CPU model",
    "guest_os": "Guest OS",
    "backup_products": "Backup product",
    "scvmm": "SCVMM",
    "error_codes": "Error codes",
    "event_ids": "Event IDs",
    "error_text": "Error message quoted",
    "vm_generation": "VM generation",
    "storage": "Storage",
    "network": "Networking details",
    "other_hypervisors": "Other hypervisors",
    "mentions_hyperv": "Hyper-V specific terms",
    "mentions_virtualization": "Virtualization terms",
}
# Shown through another key (os_version is os_versions[0]).
_HIDDEN_FACTS = {"os_version"}


def markdown(text: str | None) -> Markup:
    """Render content Markdown; safe because render_html escapes any raw HTML in the source."""
    return Markup(render_html(text or ""))


def version_ranges(versions) -> list[str]:
    """Shorten an expanded ``applies_to`` list to runs of consecutive releases.

    >>> version_ranges(["Windows Server 2012", "Windows Server 2012 R2", "Windows Server 2016",
    ...                 "Windows Server 2019", "Windows Server 2022", "Windows Server 2025"])
    ['Windows Server 2012+']
    >>> version_ranges(["Hyper-V Server 2012", "Hyper-V Server 2012 R2", "Hyper-V Server 2016", "Azure"])
    ['Hyper-V Server 2012 – 2016', 'Azure']
    """
    given = list(dict.fromkeys(versions or ()))
    out: list[str] = []
    used: set[str] = set()
    for family in (WINDOWS_SERVER, HYPERV_SERVER, CLIENT):
        i = 0
        while i < len(family):
            if family[i] not in given:
                i += 1
                continue
            j = i
            while j + 1 < len(family) and family[j + 1] in given:
                j += 1
            run = family[i:j + 1]
            used.update(run)
            if len(run) == 1:
                out.append(run[0])
            elif j == len(family) - 1 and family in _OPEN_ENDED:
                out.append(f"{run[0]}+")
            else:
                out.append(f"{run[0]} – {release_of(run[-1])}")
            i = j + 1
    out += [v for v in given if v not in used]
    return out


def _fact_value(key: str, value) -> str | None:
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, bool):
        if key == "cluster":
            return "yes" if value else "no (standalone hosts)"
        if key == "scvmm":
            return "yes" if value else "no"
        return "yes" if value else None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or None
    return str(value)


def describe_facts(detected: dict | None) -> list[tuple[str, str]]:
    """The facts found in a question as (label, value) rows; facts not found are left out.

    >>> describe_facts({"os_versions": ["Windows Server 2019"], "cluster": None, "network": False})
    [('Versions', 'Windows Server 2019')]
    """
    rows = []
    for key, value in (detected or {}).items():
        if key in _HIDDEN_FACTS:
            continue
        shown = _fact_value(key, value)
        if shown is not None:
            rows.append((FACT_LABELS.get(key) or key.replace("_", " ").capitalize(), shown))
    return rows


def percent(value) -> str:
    """A 0..1 score as a whole percentage.

    >>> percent(0.426)
    '43%'
    """
    try:
        return f"{round(float(value) * 100)}%"
    except (TypeError, ValueError):
        return "?"


def urlhost(url: str) -> str:
    """The host part of an address, shown beside an external link so a reader sees where it goes.

    >>> urlhost("https://learn.microsoft.com/en-us/windows-server/")
    'learn.microsoft.com'
    """
    from urllib.parse import urlsplit

    return urlsplit(str(url)).hostname or ""


def _stems(text: str) -> set[str]:
    return {stem_word(w) for w in words(text) if w not in STOPWORDS and len(w) > 1}


def matched_question(questions, query: str, corrections: dict[str, str] | None = None) -> str | None:
    """The phrasing of a snippet that shares the most words with the query (the first on a tie).

    >>> matched_question(["disk witness size", "how big should the quorum disk be"], "quorum disk sizing")
    'disk witness size'
    >>> matched_question(["force quorum"], "checkpoint") is None
    True
    """
    wanted = _stems(" ".join([query, *(corrections or {}).values()]))
    best, best_n = None, 0
    for q in questions:
        n = len(wanted & _stems(q))
        if n > best_n:
            best, best_n = q, n
    return best


@dataclass(frozen=True)
class HitRow:
    """What one search result shows: its heading, the phrasing that matched, its version badges."""
    hit: object
    title: str
    matched: str | None = None     # a snippet's question phrasing that matched the query
    versions: tuple[str, ...] = ()  # shown on this hit only when they differ from the page's common set


def hit_rows(hits, corpus, query: str, corrections: dict[str, str] | None = None) -> tuple[list[HitRow], tuple[str, ...]]:
    """Rows for a page of hits, and the version set most of them share (shown once, above the list).

    A snippet is headed by its own ``title``; a snippet without one falls back to its first question,
    sentence-cased. The question that best matches the query is a second line, unless it is the heading.
    The common set is the one at least two hits share (the most used, the first on a tie); a hit with
    that set shows no version badges, any other hit shows its own.
    """
    ranges = [tuple(version_ranges(h.applies_to)) for h in hits]
    counts = Counter(r for r in ranges if r)
    common: tuple[str, ...] = ()
    if counts:
        top, n = counts.most_common(1)[0]
        common = top if n >= 2 else ()
    rows = []
    for hit, versions in zip(hits, ranges):
        title, matched = hit.title, None
        snippet = corpus.snippets.get(hit.id) if hit.kind == "snippet" else None
        if snippet is not None:
            title = snippet.title
            if snippet.questions and title == snippet.questions[0]:  # no title of its own
                title = title[:1].upper() + title[1:]
            matched = matched_question(snippet.questions, query, corrections)
            if matched and matched.casefold().rstrip("?") == title.casefold().rstrip("?"):
                matched = None
        rows.append(HitRow(hit, title, matched, () if versions == common else versions))
    return rows, common


def register(app: Flask) -> None:
    app.jinja_env.filters.update(markdown=markdown, version_ranges=version_ranges, describe_facts=describe_facts,
                                 percent=percent, urlhost=urlhost)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
