"""Content models and the loader: read every file, validate, and return one :class:`Corpus`.

Problems are collected as :class:`ContentError` (``file:line: message``) and raised together in one
:class:`ContentValidationError`, so one run shows every broken file.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

# Reading files and YAML is kb.contentfiles' job; its public names are re-exported here.
from kb.contentfiles import (LIST_FILES, MAX_DOCUMENT_BYTES, MAX_LIST_BYTES, MAX_YAML_DEPTH,  # noqa: F401
                             Unreadable, content_files, content_hash, parse_front_matter, parse_yaml,
                             read_regular_file, read_text, size_limit)
from kb.errors import ContentError, ContentValidationError
from kb.facts import CLARIFYING_QUESTIONS
from kb.glossary import Glossary, GlossaryEntry
from kb.text import has_blocks, sentences
from kb.versions import expand_applies_to

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# An absolute https address with a host: what a forum reader can open (no spaces, no relative paths).
URL_RE = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?(?:[/?#][^\s<>\"]*)?$")
# A snippet is pasted into a forum reply: past ~120 words it stops being a short answer.
MAX_SNIPPET_WORDS = 120
MIN_QUESTIONS = 2
# What the drafter knows how to ask for: one clarifying question each.
NEEDS = tuple(CLARIFYING_QUESTIONS)

ARTICLE_FIELDS = {"id", "title", "topic", "tags", "applies_to", "summary", "related", "updated", "references"}
ARTICLE_REQUIRED = ("id", "title", "topic", "summary", "updated")
SNIPPET_FIELDS = {"id", "article", "title", "questions", "conditions", "when", "applies_to", "needs", "see", "asides"}
SNIPPET_REQUIRED = ("id", "article", "questions")



@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Reference:
    """A public page that backs an article (Microsoft Learn first), linked from pasted drafts."""
    title: str
    url: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Section:
    anchor: str
    heading: str
    markdown: str
    line: int  # 1-based line in the file

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    topic: str
    summary: str
    body: str                      # Markdown, raw HTML off when rendered
    tags: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ()   # expanded: "2012+" is already every release from 2012
    related: tuple[str, ...] = ()
    updated: str = ""
    references: tuple[Reference, ...] = ()
    sections: tuple[Section, ...] = ()
    path: str = ""
    line: int = 1
    kind: str = field(default="article", init=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sections"] = [s.to_dict() for s in self.sections]
        d["references"] = [r.to_dict() for r in self.references]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Article":
        d = {k: v for k, v in d.items() if k != "kind"}
        d["sections"] = tuple(Section(**s) for s in d.get("sections", ()))
        d["references"] = tuple(Reference(**r) for r in d.get("references", ()))
        for k in ("tags", "applies_to", "related"):
            d[k] = tuple(d.get(k, ()))
        return cls(**d)


@dataclass(frozen=True)
class Snippet:
    id: str
    article: str
    topic: str
    title: str
    questions: tuple[str, ...]
    answer: str                    # Markdown
    conditions: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    when: tuple[tuple[str, str], ...] = ()   # machine-checkable conditions (kb.conditions), sorted pairs
    # The article's references (their URLs, best first) that back this answer, as its author chose them;
    # () when none does, None when not chosen (kb.references then picks by title).
    see: tuple[str, ...] | None = None
    # The opening words of the answer's sentences that answer a side question ("While Hyper-V runs in the
    # VM, Dynamic Memory stops adjusting it."): the answer keeps them, a draft gives them only to a
    # question about them (kb.compose.without_asides).
    asides: tuple[str, ...] = ()
    path: str = ""
    line: int = 1
    kind: str = field(default="snippet", init=False)

    @property
    def when_map(self) -> dict[str, str]:
        return dict(self.when)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["when"] = dict(self.when)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Snippet":
        d = {k: v for k, v in d.items() if k != "kind"}
        for k in ("questions", "conditions", "applies_to", "needs", "asides"):
            d[k] = tuple(d.get(k, ()))
        d["when"] = tuple(sorted((d.get("when") or {}).items()))
        d["see"] = tuple(d["see"]) if d.get("see") is not None else None
        return cls(**d)


@dataclass
class Corpus:
    topics: dict[str, Topic]
    articles: dict[str, Article]
    snippets: dict[str, Snippet]
    glossary: Glossary
    content_hash: str = ""

    def get(self, doc_id: str) -> Article | Snippet | None:
        return self.articles.get(doc_id) or self.snippets.get(doc_id)

    def snippets_of(self, article_id: str) -> list[Snippet]:
        return list(self._snippets_by_article.get(article_id, ()))

    @cached_property
    def _snippets_by_article(self) -> dict[str, list[Snippet]]:
        # Built on first use: the drafter asks for ten articles' snippets per question.
        out: dict[str, list[Snippet]] = {}
        for s in self.snippets.values():
            out.setdefault(s.article, []).append(s)
        return out

    def to_dict(self) -> dict:
        return {
            "content_hash": self.content_hash,
            "topics": [t.to_dict() for t in self.topics.values()],
            "articles": [a.to_dict() for a in self.articles.values()],
            "snippets": [s.to_dict() for s in self.snippets.values()],
            "glossary": [e.to_dict() for e in self.glossary.entries],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Corpus":
        return cls(
            topics={t["id"]: Topic(**t) for t in d["topics"]},
            articles={a["id"]: Article.from_dict(a) for a in d["articles"]},
            snippets={s["id"]: Snippet.from_dict(s) for s in d["snippets"]},
            glossary=Glossary([GlossaryEntry.from_dict(e) for e in d["glossary"]]),
            content_hash=d.get("content_hash", ""),
        )


class _Fields:
    """Typed access to one file's front matter, recording a ContentError per problem."""

    def __init__(self, data: dict, lines: dict[str, int], path: Path, errors: list[ContentError],
                 allowed: set[str], required: tuple[str, ...], what: str):
        self.data, self.lines, self.path, self.errors = data, lines, path, errors
        for key in data:
            if f"__dup__{key}" in lines:
                self.error(key, f"{what}: '{key}' appears twice")
            if key not in allowed:
                self.warn(key, f"{what}: unknown field '{key}' (known: {', '.join(sorted(allowed))})")
        for key in required:
            if data.get(key) in (None, "", []):
                errors.append(ContentError(path, 1, f"{what}: '{key}' is required"))

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)

    def error(self, key: str, message: str) -> None:
        self.errors.append(ContentError(self.path, self.line(key), message))

    def warn(self, key: str, message: str) -> None:
        self.errors.append(ContentError(self.path, self.line(key), message, warning=True))

    def str(self, key: str, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, (_dt.date, int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.error(key, f"'{key}' must be text, not {type(value).__name__}")
            return default
        return value.strip()

    def list(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(key, f"'{key}' must be a list, not {type(value).__name__}")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                self.errors.append(ContentError(self.path, self.lines.get(f"{key}[{i}]", self.line(key)),
                                                f"'{key}' item {i + 1} must be text"))
            else:
                out.append(str(item).strip())
        return tuple(out)

    def references(self) -> tuple[Reference, ...]:
        """``references``: a list of ``{title, url}``, each url an absolute https address."""
        value = self.data.get("references")
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error("references", f"'references' must be a list of {{title, url}}, not {type(value).__name__}")
            return ()
        out = []
        for i, item in enumerate(value):
            line = self.lines.get(f"references[{i}]", self.line("references"))
            if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not isinstance(item.get("url"), str):
                self.errors.append(ContentError(self.path, line, f"references item {i + 1} needs text 'title' and 'url'"))
                continue
            title, url = item["title"].strip(), item["url"].strip()
            if not title:
                self.errors.append(ContentError(self.path, line, f"references item {i + 1}: 'title' is empty"))
            if not URL_RE.match(url):
                self.errors.append(ContentError(self.path, line,
                                                f"references item {i + 1}: {url!r} is not an absolute https URL"))
                continue
            unknown = set(item) - {"title", "url"}
            if unknown:
                self.errors.append(ContentError(self.path, line, f"references item {i + 1}: unknown field(s) "
                                                f"{', '.join(sorted(map(str, unknown)))} (known: title, url)", warning=True))
            out.append(Reference(title, url))
        urls = [r.url for r in out]
        for url in {u for u in urls if urls.count(u) > 1}:
            self.error("references", f"references: {url} is listed twice")
        return tuple(out)

    def applies_to(self) -> tuple[str, ...]:
        entries = self.list("applies_to")
        try:
            return tuple(expand_applies_to(list(entries)))
        except ValueError as exc:
            self.error("applies_to", f"applies_to: {exc} (see content/README.md for the version names)")
            return ()

    def slug(self, key: str, expected: str | None = None) -> str:
        value = self.str(key)
        if value and not SLUG_RE.match(value):
            self.error(key, f"'{key}' must be a slug (lowercase letters, digits, hyphens): {value!r}")
        if value and expected and value != expected:
            self.error(key, f"id {value!r} does not match the file name {expected + '.md'!r}")
        return value


# --------------------------------------------------------------------------- loading

def _load_list_file(path: Path, errors: list[ContentError]):
    """Read and parse ``topics.yaml`` or ``glossary.yaml``: ``(node, data)``, or None after recording why not."""
    if not os.path.lexists(path):
        errors.append(ContentError(path, 1, f"{path.name} is missing"))
        return None
    text = read_text(path, errors)
    if text is None:
        return None
    try:
        return parse_yaml(text, path)
    except ContentError as exc:
        errors.append(exc)
        return None


def _load_topics(path: Path, errors: list[ContentError]) -> dict[str, Topic]:
    parsed = _load_list_file(path, errors)
    if parsed is None:
        return {}
    node, data = parsed
    if not isinstance(data, list):
        errors.append(ContentError(path, 1, "topics.yaml must be a list of {id, title, description}"))
        return {}
    topics: dict[str, Topic] = {}
    for i, item in enumerate(data):
        line = node.value[i].start_mark.line + 1
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("title"), str):
            errors.append(ContentError(path, line, "each topic needs text 'id' and 'title'"))
            continue
        if item["id"] in topics:
            errors.append(ContentError(path, line, f"duplicate topic id {item['id']!r}"))
        topics[item["id"]] = Topic(item["id"], item["title"], str(item.get("description") or ""))
    return topics


def _load_glossary(path: Path, errors: list[ContentError]) -> Glossary:
    parsed = _load_list_file(path, errors)
    if parsed is None:
        return Glossary([])
    node, data = parsed
    data = data or []
    if not isinstance(data, list):
        errors.append(ContentError(path, 1, "glossary.yaml must be a list of {term, synonyms, definition}"))
        return Glossary([])
    entries: list[GlossaryEntry] = []
    owner: dict[str, str] = {}
    for i, item in enumerate(data):
        line = node.value[i].start_mark.line + 1
        if not isinstance(item, dict) or not isinstance(item.get("term"), str):
            errors.append(ContentError(path, line, "each glossary entry needs a text 'term'"))
            continue
        syns = item.get("synonyms") or []
        if not isinstance(syns, list) or not all(isinstance(s, (str, int, float)) for s in syns):
            errors.append(ContentError(path, line, f"glossary {item['term']!r}: 'synonyms' must be a list of text"))
            syns = []
        entry = GlossaryEntry(item["term"], tuple(str(s) for s in syns), str(item.get("definition") or "").strip(),
                              bool(item.get("expand", True)))
        for phrase in entry.phrases:
            key = phrase.lower()
            if key in owner and owner[key] != entry.term:
                errors.append(ContentError(path, line, f"glossary: {phrase!r} is already listed under {owner[key]!r}"))
            owner.setdefault(key, entry.term)
        entries.append(entry)
    return Glossary(entries)


def _read_front_matter(path: Path, errors: list[ContentError]):
    """Read a Markdown content file and split its front matter; record a problem and return None on failure."""
    text = read_text(path, errors)
    if text is None:
        return None
    try:
        return parse_front_matter(text, path)
    except ContentError as exc:
        errors.append(exc)
        return None


def _load_article(path: Path, topics: dict[str, Topic], errors: list[ContentError]) -> Article | None:
    parsed = _read_front_matter(path, errors)
    if parsed is None:
        return None
    data, lines, body, body_line = parsed
    f = _Fields(data, lines, path, errors, ARTICLE_FIELDS, ARTICLE_REQUIRED, "article")
    doc_id = f.slug("id", path.stem)
    topic = f.str("topic")
    if topic and topics and topic not in topics:
        f.error("topic", f"unknown topic {topic!r} (topics.yaml has: {', '.join(topics)})")
    if not body.strip():
        errors.append(ContentError(path, body_line, "article body is empty"))
    from kb.markdown import split_sections  # markdown-it loads only when content is read, not to search

    intro, raw_sections = split_sections(body)
    sections = []
    for s in raw_sections:
        if not s.markdown.strip():
            errors.append(ContentError(path, body_line + s.line, f"section {s.heading!r} is empty", warning=True))
        sections.append(Section(s.anchor, s.heading, s.markdown, body_line + s.line))
    return Article(
        id=doc_id, title=f.str("title"), topic=topic, summary=f.str("summary"), body=body.strip(),
        tags=tuple(t.lower() for t in f.list("tags")), applies_to=f.applies_to(), related=f.list("related"),
        updated=f.str("updated"), references=f.references(), sections=tuple(sections), path=str(path), line=lines.get("id", 1),
    )


def _load_snippet(path: Path, errors: list[ContentError]) -> Snippet | None:
    parsed = _read_front_matter(path, errors)
    if parsed is None:
        return None
    data, lines, body, body_line = parsed
    f = _Fields(data, lines, path, errors, SNIPPET_FIELDS, SNIPPET_REQUIRED, "snippet")
    doc_id = f.slug("id", path.stem)
    questions = f.list("questions")
    if "questions" in data and len(questions) < MIN_QUESTIONS:
        f.error("questions", f"snippet needs at least {MIN_QUESTIONS} question phrasings, has {len(questions)}")
    needs = f.list("needs")
    for i, n in enumerate(needs):
        if n not in NEEDS:
            errors.append(ContentError(path, lines.get(f"needs[{i}]", f.line("needs")),
                                       f"unknown need {n!r} (known: {', '.join(NEEDS)})"))
    from kb.conditions import parse_when

    when, when_problems = parse_when(data.get("when"))
    for problem in when_problems:
        f.error("when", problem)
    answer = body.strip()
    if not answer:
        errors.append(ContentError(path, body_line, "snippet answer (the body) is empty"))
    from kb.markdown import plain_text

    n_words = len(plain_text(answer).split())
    if n_words > MAX_SNIPPET_WORDS:
        errors.append(ContentError(path, body_line, f"snippet answer has {n_words} words; the limit is {MAX_SNIPPET_WORDS}"))
    asides = f.list("asides")
    _check_asides(asides, answer, lambda i: lines.get(f"asides[{i}]", f.line("asides")), path, errors)
    return Snippet(
        id=doc_id, article=f.slug("article"), topic="", title=f.str("title") or (questions[0] if questions else doc_id),
        questions=questions, answer=answer, conditions=f.list("conditions"), applies_to=f.applies_to(),
        needs=needs, when=tuple(sorted(when.items())), see=f.list("see") if "see" in data else None,
        asides=asides, path=str(path), line=lines.get("id", 1),
    )


def _check_asides(asides: tuple[str, ...], answer: str, line_of, path: Path, errors: list[ContentError]) -> None:
    """Each aside must open exactly one sentence of the answer, never its first (the direct answer)."""
    if not asides:
        return
    if has_blocks(answer):   # an answer with lists, tables or code keeps all of its sentences
        errors.append(ContentError(path, line_of(0), "asides are for answers in plain prose; this one has a list, "
                                                     "table or code block"))
        return
    said = sentences(answer)
    for i, aside in enumerate(asides):
        opens = [j for j, x in enumerate(said) if aside and x.startswith(aside)]
        if len(opens) != 1:
            errors.append(ContentError(path, line_of(i), f"aside {aside[:40]!r} must open exactly one sentence of "
                                                         f"the answer; it opens {len(opens)}"))
        elif opens[0] == 0:
            errors.append(ContentError(path, line_of(i), f"aside {aside[:40]!r} opens the answer's first sentence, "
                                                         "which is the direct answer"))


def check_content(content_dir: Path) -> tuple[Corpus, list[ContentError]]:
    """Read and validate every content file; return what loaded and every problem (errors and warnings)."""
    content_dir = Path(content_dir)
    errors: list[ContentError] = []
    if not content_dir.is_dir():
        raise ContentValidationError([ContentError(content_dir, 1, "content folder not found")])
    topics = _load_topics(content_dir / "topics.yaml", errors)
    glossary = _load_glossary(content_dir / "glossary.yaml", errors)
    articles: dict[str, Article] = {}
    snippets: dict[str, Snippet] = {}
    first_seen: dict[str, Article | Snippet] = {}
    article_files = sorted((content_dir / "articles").glob("*.md"))
    if not article_files:
        errors.append(ContentError(content_dir / "articles", 1, "no articles found (expected articles/*.md)"))
    for path in article_files:
        art = _load_article(path, topics, errors)
        if art and art.id:
            if art.id in first_seen:
                other = first_seen[art.id]
                errors.append(ContentError(path, art.line, f"duplicate id {art.id!r} (also in {other.path}:{other.line})"))
                continue
            first_seen[art.id] = articles[art.id] = art
    for path in sorted((content_dir / "snippets").glob("*.md")):
        snip = _load_snippet(path, errors)
        if snip and snip.id:
            if snip.id in first_seen:
                other = first_seen[snip.id]
                errors.append(ContentError(path, snip.line, f"duplicate id {snip.id!r} (also in {other.path}:{other.line})"))
                continue
            parent = articles.get(snip.article)
            if snip.article and parent is None:
                errors.append(ContentError(path, _line_of(path, "article"), f"parent article {snip.article!r} does not exist"))
                continue
            if parent:
                snip = replace(snip, topic=parent.topic)
                known_urls = {r.url for r in parent.references}
                for i, url in enumerate(snip.see or ()):
                    if url not in known_urls:
                        errors.append(ContentError(path, _line_of(path, "see") + 1 + i,
                                                   f"see: {url!r} is not among the references of article {parent.id!r}"))
            first_seen[snip.id] = snippets[snip.id] = snip
    for art in articles.values():
        for rel in art.related:
            if rel not in articles:
                errors.append(ContentError(art.path, _line_of(Path(art.path), "related"),
                                           f"related article {rel!r} does not exist"))
    corpus = Corpus(topics, articles, snippets, glossary, content_hash(content_dir))
    return corpus, errors


def _line_of(path: Path, key: str) -> int:
    try:
        text = read_regular_file(Path(path), size_limit(Path(path))).decode("utf-8", "replace")
    except Unreadable:
        return 1  # changed since it was loaded; the next run reports it
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return i
    return 1


def load_corpus(content_dir: Path, strict: bool = False) -> Corpus:
    """Load and validate the content folder.

    :param strict: treat warnings (unknown fields, empty sections) as errors too.
    :raises ContentValidationError: every problem found, at once.
    """
    corpus, problems = check_content(content_dir)
    failing = [p for p in problems if strict or not p.warning]
    if failing:
        raise ContentValidationError(failing)
    return corpus
