"""The ``hvkb`` command line: each command parses options, calls one ``kb`` function, prints.

Heavy imports live inside the commands so ``hvkb --help`` stays instant.
Exit codes: 0 ok, 1 problems found (or a KbError), 2 usage error.
"""
from __future__ import annotations

import functools
import json
import math
import sys
import textwrap
from pathlib import Path

import click

from kb.errors import KbError
from kb.settings import FEEDBACK_PER_MINUTE, SERVE_CHANNEL_TIMEOUT, SERVE_CONNECTION_LIMIT, Settings


class KbGroup(click.Group):
    """Turns every :class:`KbError` into a one-line message plus hint, exit 1, no traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KbError as exc:
            msg = str(exc)
            if exc.hint:
                msg += f"\nhint: {exc.hint}"
            raise click.ClickException(msg) from None


def content_options(f):
    """``--content`` / ``--index`` (and the ``HVKB_HOME`` data folder) -> ``settings`` argument."""

    @click.option("--content", "content", envvar="HVKB_CONTENT", type=click.Path(file_okay=False),
                  help="Content folder (default: the knowledge base shipped with hvkb). Env: HVKB_CONTENT.")
    @click.option("--index", "index", envvar="HVKB_INDEX", type=click.Path(file_okay=False),
                  help="Index folder (default: $HVKB_HOME/index, HVKB_HOME defaults to the user data folder).")
    @click.option("--home", "home", envvar="HVKB_HOME", type=click.Path(file_okay=False), hidden=True)
    @functools.wraps(f)
    def wrapper(*args, content=None, index=None, home=None, **kwargs):
        return f(*args, settings=Settings.from_options(content, index, home), **kwargs)

    return wrapper


def _progress(label: str):
    """A progress bar on a terminal, nothing when piped (CI, scripts)."""
    if not sys.stderr.isatty():
        return None

    def wrap(items, length):
        with click.progressbar(items, length=length, label=label, file=sys.stderr) as bar:
            yield from bar

    return wrap


def _note(message: str) -> None:
    click.echo(f"hvkb: {message}", err=True)


def open_kb(settings: Settings):
    """The index for ``settings``, built or rebuilt first when missing or stale."""
    from kb.index import ensure_index

    return ensure_index(settings.content_dir, settings.index_dir, progress=_progress("Indexing"), on_build=_note)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _terminal_excerpt(html_excerpt: str) -> str:
    import html
    import re

    marked = re.sub(r'<mark[^>]*>(.*?)</mark>', lambda m: click.style(m.group(1), bold=True, fg="yellow"),
                    html_excerpt)
    return html.unescape(re.sub(r"<[^>]+>", "", marked))


@click.group(cls=KbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hvkb", prog_name="hvkb")
def cli():
    """hvkb: search a Hyper-V knowledge base and draft forum answers.

    Example: hvkb search "quorom witness"
    """


@cli.command()
@content_options
def build(settings: Settings):
    """(Re)build the search index from the content folder.

    Refuses to replace a good index with one built from content that fails `hvkb check`.

    Example: hvkb build --content ./content --index /tmp/hvkb-index
    """
    from kb.content import load_corpus
    from kb.index import build_index

    corpus = load_corpus(settings.content_dir)
    result = build_index(corpus, settings.index_dir, progress=_progress("Indexing"))
    click.echo(f"Indexed {result.documents} documents ({len(corpus.articles)} articles, "
               f"{len(corpus.snippets)} snippets) in {result.seconds:.2f} s -> {result.path}")


@cli.command()
@content_options
@click.option("--strict", is_flag=True, help="Fail on warnings too (unknown fields, empty sections).")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def check(settings: Settings, strict: bool, as_json: bool):
    """Validate all content; print every problem as file:line: message.

    Exit code 1 when any error is found (or any warning, with --strict).

    Example: hvkb check --strict
    """
    from kb.content import check_content
    from kb.errors import ContentValidationError

    try:
        corpus, problems = check_content(settings.content_dir)
    except ContentValidationError as exc:
        corpus, problems = None, exc.errors
    failing = [p for p in problems if strict or not p.warning]
    if as_json:
        _echo_json({"ok": not failing, "problems": [p.to_dict() for p in problems]})
    else:
        for p in problems:
            label = "warning: " if p.warning else ""
            click.echo(f"{p.path}:{p.line}: {label}{p.problem}", err=False)
        if corpus is not None and not failing:
            click.echo(f"ok: {len(corpus.articles)} articles, {len(corpus.snippets)} snippets, "
                       f"{len(corpus.glossary)} glossary entries, {len(corpus.topics)} topics"
                       + (f" ({len(problems)} warnings)" if problems else ""))
        elif failing:
            click.echo(f"{len(failing)} problem{'s' if len(failing) != 1 else ''} found", err=True)
    sys.exit(1 if failing else 0)


KIND_CHOICE = click.Choice(["article", "snippet"], case_sensitive=False)
# Content files are wrapped at 100 columns; text hvkb wraps itself (an intro, a definition) matches.
TEXT_WIDTH = 100
# Ids, topics and terms offered as "did you mean": enough to spot the right one, few enough to read.
MAX_SUGGESTIONS = 5
# Below this WRatio a suggested id or topic is mostly coincidence; one typo in a six-letter word
# ("quorom") scores 83, under the 85 that titles need.
MIN_SUGGEST_SCORE = 80


def _closest(typed: str, choices) -> list[str]:
    """The choices most like ``typed`` (ties: the one closer as a whole string first).

    >>> _closest("quorom", ["quorum", "checkpoints"])
    ['quorum']
    """
    from rapidfuzz import fuzz, process, utils

    found = process.extract(typed, list(choices), scorer=fuzz.WRatio, processor=utils.default_process,
                            score_cutoff=MIN_SUGGEST_SCORE, limit=4 * MAX_SUGGESTIONS)
    found.sort(key=lambda f: (-f[1], -fuzz.ratio(typed.lower(), f[0].lower()), f[0]))
    return [f[0] for f in found[:MAX_SUGGESTIONS]]


def _bad_choice(what: str, typed: str, valid: list[str], option: str) -> click.BadParameter:
    """A usage error (exit 2) for an unknown ``--topic``/``--version``: the closest and every valid value."""
    close = _closest(typed, valid)
    hint = f" (did you mean {' or '.join(repr(c) for c in close[:3])}?)" if close else ""
    return click.BadParameter(f"unknown {what} {typed!r}{hint}; choose from: {', '.join(valid)}",
                              ctx=click.get_current_context(), param_hint=f"'{option}'")


def _checked_topic(corpus, topic: str | None) -> str | None:
    """``topic`` as a topic id of ``corpus`` (any case); ``None`` when not given.

    :raises click.BadParameter: an unknown topic.
    """
    if not topic:
        return None
    if topic.strip().lower() in corpus.topics:
        return topic.strip().lower()
    raise _bad_choice("topic", topic, list(corpus.topics), "--topic")


def _checked_version(version: str | None) -> str | None:
    """``version`` as a version name ("2012 r2" -> "Windows Server 2012 R2"); ``None`` when not given.

    :raises click.BadParameter: a version hvkb does not know.
    """
    if not version:
        return None
    from kb.versions import ALL_VERSIONS, normalize_version

    name = normalize_version(version)
    if name is None:
        raise _bad_choice("version", version, ALL_VERSIONS, "--version")
    return name


@cli.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--page", default=1, type=click.IntRange(1, 1000), help="Page of results.")
@click.option("--topic", help="Only this topic id (see `hvkb topics`).")
@click.option("--kind", type=KIND_CHOICE, help="Only articles or only snippets.")
@click.option("--version", "version", help="Only content that applies to this version, e.g. '2012 R2'.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@content_options
def search(settings: Settings, query, limit, page, topic, kind, version, as_json):
    """Search the knowledge base.

    Example: hvkb search "vm won't start after checkpoint" --limit 5 --json
    """
    from kb.searching import search as run_search

    kb_index = open_kb(settings)
    topic, version = _checked_topic(kb_index.corpus, topic), _checked_version(version)
    result = run_search(kb_index, " ".join(query), limit=limit, topic=topic, kind=kind,
                        version=version, page=page)
    if as_json:
        _echo_json(result.to_dict())
        return
    if result.suggestion:
        click.echo(f"Did you mean: {click.style(result.suggestion, bold=True)}?\n")
    if not result.hits:
        click.echo("No results." + ("" if result.suggestion else " Try fewer or other words, or `hvkb list`."))
        return
    for i, h in enumerate(result.hits, (result.page - 1) * result.limit + 1):
        where = f"{h.id}#{h.section}" if h.section else h.id
        head = click.style(h.title, bold=True)
        if h.section_title:
            head += f" > {h.section_title}"
        click.echo(f"{i}. {head}\n   {h.kind} | {h.topic} | {where} | score {h.score:.2f}")
        click.echo(f"   {_terminal_excerpt(h.excerpt)}\n")


@cli.command()
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@content_options
def show(settings: Settings, doc_id: str, as_json: bool):
    """Show an article or a snippet by id (any case; a `#section` part is ignored).

    Example: hvkb show quorum
    """
    from kb.errors import UnknownDocumentError

    kb_index = open_kb(settings)
    wanted = doc_id.split("#", 1)[0].strip().lower()  # ids are lowercase slugs
    doc = kb_index.corpus.get(wanted)
    if doc is None:
        error = UnknownDocumentError(doc_id)
        close = _closest(wanted, [*kb_index.corpus.articles, *kb_index.corpus.snippets])
        if close:
            error.hint = f"did you mean {', '.join(close)}? (`hvkb list` shows every id)"
        raise error
    if as_json:
        data = doc.to_dict()
        if doc.kind == "article":
            data["snippets"] = [s.id for s in kb_index.corpus.snippets_of(doc.id)]
        _echo_json(data)
        return
    click.echo(click.style(doc.title, bold=True))
    if doc.kind == "article":
        click.echo(f"{doc.id} | topic {doc.topic} | updated {doc.updated}")
        if doc.applies_to:
            click.echo(textwrap.fill("Applies to: " + ", ".join(doc.applies_to), TEXT_WIDTH, subsequent_indent="  "))
        click.echo(f"\n{textwrap.fill(doc.summary, TEXT_WIDTH)}\n\n{doc.body}\n")
        snippets = kb_index.corpus.snippets_of(doc.id)
        if snippets:
            click.echo(click.style("Decision snippets:", bold=True))
            for s in snippets:
                click.echo(f"  - {s.id}: {s.title}")
        if doc.references:
            click.echo(click.style("Sources:", bold=True))
            for r in doc.references:
                click.echo(f"  - {r.title}: {r.url}")
        if doc.related:
            click.echo("Related: " + ", ".join(doc.related))
    else:
        click.echo(f"{doc.id} | snippet of {doc.article} | topic {doc.topic}")
        click.echo("Asked as:\n" + "\n".join(f"  - {q}" for q in doc.questions))
        click.echo(f"\n{doc.answer}\n")
        if doc.conditions:
            click.echo("Holds when:\n" + "\n".join(f"  - {c}" for c in doc.conditions))
        if doc.applies_to:
            click.echo("Applies to: " + ", ".join(doc.applies_to))


@cli.command(name="list")
@click.option("--topic", help="Only this topic id.")
@click.option("--kind", type=KIND_CHOICE, help="Only articles or only snippets.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@content_options
def list_(settings: Settings, topic, kind, as_json):
    """List every article and snippet with id, title, topic and kind.

    Example: hvkb list --topic quorum --kind snippet
    """
    corpus = open_kb(settings).corpus
    topic = _checked_topic(corpus, topic)
    rows = []
    for doc in [*corpus.articles.values(), *corpus.snippets.values()]:
        if (topic and doc.topic != topic) or (kind and doc.kind != kind):
            continue
        row = {"id": doc.id, "title": doc.title, "topic": doc.topic, "kind": doc.kind}
        if doc.kind == "snippet":
            row["article"] = doc.article
        rows.append(row)
    if as_json:
        _echo_json(rows)
        return
    if rows:
        click.echo(click.style(f"{'KIND':8} {'TOPIC':22} ID (IN ARTICLE)\n{'':8} TITLE", bold=True))
    for r in rows:
        parent = f" (in {r['article']})" if r.get("article") else ""
        click.echo(f"{r['kind']:8} {r['topic']:22} {r['id']}{parent}\n         {r['title']}")
    click.echo(f"{len(rows)} item{'s' if len(rows) != 1 else ''}", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@content_options
def topics(settings: Settings, as_json: bool):
    """List the topics: id, how many articles and snippets each has, title.

    Example: hvkb topics --json
    """
    corpus = open_kb(settings).corpus
    rows = []
    for t in corpus.topics.values():
        row = t.to_dict()
        row["articles"] = [a.id for a in corpus.articles.values() if a.topic == t.id]
        row["snippets"] = [s.id for s in corpus.snippets.values() if s.topic == t.id]
        rows.append(row)
    if as_json:
        _echo_json(rows)
        return
    click.echo(click.style(f"{'TOPIC':22} {'ARTICLES':>8} {'SNIPPETS':>8}  TITLE", bold=True))
    for r in rows:
        click.echo(f"{r['id']:22} {len(r['articles']):8} {len(r['snippets']):8}  {r['title']}")
    click.echo(f"{len(rows)} topic{'s' if len(rows) != 1 else ''}", err=True)


@cli.command()
@click.argument("term", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of entries).")
@content_options
def glossary(settings: Settings, term: str | None, as_json: bool):
    """Look up a term or acronym in the glossary (any case, synonyms too), or list every entry.

    Without an exact match, shows the entries whose term or synonyms contain TERM; exit 1 when none do.

    Example: hvkb glossary IC
    """
    from kb.text import normalize

    known = open_kb(settings).corpus.glossary
    entries = sorted(known.entries, key=lambda e: e.term.casefold())
    if term is not None and term.strip():
        wanted = normalize(term).strip().casefold()
        exact = known.lookup(wanted)
        entries = [exact] if exact else [e for e in entries if any(wanted in p.casefold() for p in e.phrases)]
        if not entries:
            close = _closest(term, sorted({p for e in known.entries for p in e.phrases}))
            hint = f"did you mean {', '.join(close)}? (`hvkb glossary` lists every entry)" if close else \
                "`hvkb glossary` lists every entry"
            raise click.ClickException(f"no glossary entry for {term!r}\nhint: {hint}")
    if as_json:
        _echo_json([e.to_dict() for e in entries])
        return
    for e in entries:
        also = f" ({', '.join(e.synonyms)})" if e.synonyms else ""
        click.echo(click.style(e.term, bold=True) + also)
        if e.definition:
            click.echo(textwrap.fill(e.definition, TEXT_WIDTH, initial_indent="    ", subsequent_indent="    "))


def _read_input(source: str) -> str:
    """Read a file or stdin as text; undecodable bytes become U+FFFD instead of an error."""
    if source == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {source}: {exc.strerror}", param_hint="FILE") from None
    import codecs

    # Windows tools (PowerShell's `>`, Notepad) write UTF-16 with a byte-order mark.
    # (ASCII text in UTF-16 is about half NUL bytes; without those, \xff\xfe is just a bad UTF-8 start.)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and data.count(b"\0") >= len(data) // 4:
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def history_switch(hidden: bool = False):
    """``--history/--no-history`` (env ``HVKB_HISTORY=on|off``) -> ``history_on`` argument."""
    return click.option("--history/--no-history", "history_on", default=True, show_default=True, envvar="HVKB_HISTORY",
                        hidden=hidden, help="Keep drafts, searches and feedback in the data folder's history "
                                            "(history.sqlite3). Env: HVKB_HISTORY=on|off.")


def _open_history(settings: Settings, history_on: bool = True):
    from kb.history import open_history

    return open_history(settings.home_dir, enabled=history_on, off_reason="history is off (HVKB_HISTORY=off)")


def _draft_logger(settings: Settings, kb_index, history_on: bool, batch: bool = False):
    """``keep(question, draft_dict)`` for ``hvkb answer --log``: records each draft, or says once why it cannot.

    A single draft's id is printed; a batch's count is printed when ``keep.done()`` is called.
    """
    history = _open_history(settings, history_on)
    logged: list[int] = []
    said: list[bool] = []

    def keep(question: str, draft: dict) -> None:
        draft_id = history.record_draft(question, draft, build=kb_index.path.name, origin="cli")
        if draft_id is None and not said:
            said.append(True)
            _note(f"{history.disabled_reason}; not logged")
        elif draft_id is not None:
            logged.append(draft_id)
            if not batch:
                _note(f"logged as draft {draft_id} in {history.path}")

    def done() -> None:
        if batch and logged:
            _note(f"logged {len(logged)} draft{'s' if len(logged) != 1 else ''} in {history.path}")

    if not history.enabled:
        _note(f"{history.disabled_reason}; not logged")
        said.append(True)
    keep.done = done
    return keep


def _no_log(question: str, draft: dict) -> None:
    """``keep`` without ``--log``."""


_no_log.done = lambda: None


# A --jsonl line holds one question of at most ``max_question_chars``: even with every character
# escaped (an emoji is 12 characters as "\ud83d\ude00") it fits in 12 times that, plus the id.
JSONL_ESCAPE_FACTOR = 12
JSONL_LINE_SLACK = 4096


class _BadLine(ValueError):
    """A ``--jsonl`` line that is not a question; ``item_id`` is its id when it has a usable one."""

    def __init__(self, message: str, item_id=None):
        super().__init__(message)
        self.item_id = item_id


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _batch_item(line: str, max_chars: int) -> dict:
    """One ``hvkb answer --jsonl`` line as ``{"id": ..., "question": ...}``.

    :raises ValueError: a line too large, invalid or too deeply nested JSON, not an object, no text
        ``question``, or an ``id`` that is not a string or a number; in words, for the line's error object.
    """
    limit = JSONL_ESCAPE_FACTOR * max_chars + JSONL_LINE_SLACK
    if len(line) > limit:
        raise _BadLine(f"too large ({len(line):,} characters; the limit is {limit:,})")
    try:
        item = json.loads(line, parse_constant=_reject_constant)
    except RecursionError:  # the C decoder stops at the recursion limit, about 1,000 levels
        raise _BadLine("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of over 4,300 digits
        raise _BadLine(f"invalid JSON: {exc}") from None
    if not isinstance(item, dict):
        raise _BadLine('each line needs an object with a text "question"')
    qid = item.get("id")
    if not (qid is None or type(qid) in (str, int) or type(qid) is float and math.isfinite(qid)):  # 1e999 is inf
        raise _BadLine('"id" must be a string or a number')
    if not isinstance(item.get("question"), str):
        raise _BadLine('each line needs an object with a text "question"', qid)
    return {"id": qid, "question": item["question"]}


@cli.command()
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "text"]), default="markdown", show_default=True,
              help="Format of the printed draft.")
@click.option("--jsonl", is_flag=True,
              help='Batch: read one JSON object a line ({"id", "question"}), write one JSON result a line, in order; '
                   'a line that fails gets {"id", "error"} instead. Blank lines are skipped.')
@click.option("--log", is_flag=True,
              help="Keep the question and the draft in the history (as `hvkb serve` does), for `hvkb review`.")
@history_switch(hidden=True)
@content_options
def answer(settings: Settings, source, as_json, fmt, jsonl, log, history_on):
    """Draft a forum answer to a pasted question (from FILE or stdin).

    Example: hvkb answer question.txt --format text --log
    """
    from kb.answer import answer_question

    kb_index = open_kb(settings)
    keep = _draft_logger(settings, kb_index, history_on, batch=jsonl) if log else _no_log
    if source == "-" and sys.stdin.isatty():  # else a user at a terminal sees nothing and waits
        what = "one JSON object a line" if jsonl else "the question"
        click.echo(f"Paste {what}, then press Ctrl-D (Ctrl-Z Enter on Windows)", err=True)
    text = _read_input(source)
    if jsonl:
        failures = 0
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            item = None
            try:
                item = _batch_item(line, settings.max_question_chars)
                out = answer_question(kb_index, item["question"], question_id=item.get("id"),
                                      max_chars=settings.max_question_chars).to_dict()
                keep(item["question"], out)
            except (ValueError, KbError) as exc:
                failures += 1
                out = {"id": item["id"] if item else getattr(exc, "item_id", None), "error": f"line {n}: {exc}"}
            click.echo(json.dumps(out, ensure_ascii=False))
        keep.done()
        sys.exit(1 if failures else 0)
    draft = answer_question(kb_index, text, max_chars=settings.max_question_chars)
    keep(text, draft.to_dict())
    if as_json:
        _echo_json(draft.to_dict())
    else:
        click.echo(draft.draft if fmt == "markdown" else draft.text)


def _bind_error(exc: OSError | ValueError, host: str, port: int) -> str | None:
    """What to tell a user whose ``hvkb serve`` could not listen on ``host:port``; ``None``: not a bind error."""
    import errno

    if isinstance(exc, ValueError):  # waitress's word for a host that getaddrinfo cannot resolve
        if "Invalid host/port" not in str(exc):
            return None
        return f"cannot find the address of host {host!r}; choose another with --host"
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another hvkb serve?); "
                f"choose another with --port, e.g. --port {port + 1 if port < 65535 else 8000}")
    if exc.errno == errno.EACCES:
        return (f"no permission to listen on port {port} (ports below 1024 need administrator rights); "
                "choose another with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: it is not an address of this machine; choose another with --host"
    return None


# Requests are CPU-bound Python under one GIL: a few threads keep a 2-core machine busy, more only
# add lock hand-offs (load test, 2 cores: 4 threads ~330 req/s, 8 threads ~290 req/s, same p95 or better).
SERVE_THREADS = 4


def _check_base_url(ctx, param, value):
    if not value:
        return ""
    from webapp import public_base_url  # only `serve` pays for importing flask

    try:
        return public_base_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (127.0.0.1: this machine only).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=SERVE_THREADS, show_default=True, type=click.IntRange(1, 64),
              help="Waitress worker threads.")
@click.option("--connection-limit", default=SERVE_CONNECTION_LIMIT, show_default=True, envvar="HVKB_CONNECTION_LIMIT",
              type=click.IntRange(10, 10_000),
              help="Open connections at once; at the limit the longest-idle one is closed to admit a new one. "
                   "Env: HVKB_CONNECTION_LIMIT.")
@click.option("--channel-timeout", default=SERVE_CHANNEL_TIMEOUT, show_default=True, envvar="HVKB_CHANNEL_TIMEOUT",
              type=click.IntRange(1, 3600),
              help="Seconds a connection may sit idle (a half-sent request included) before it is closed. "
                   "Env: HVKB_CHANNEL_TIMEOUT.")
@click.option("--base-url", envvar="HVKB_BASE_URL", default="", callback=_check_base_url, metavar="URL",
              help="Public address this server is reached at (https://kb.example.org): drafts then also link "
                   "its article pages. Unset, drafts link only public references, since a site-relative "
                   "link is dead on a forum. Env: HVKB_BASE_URL.")
@history_switch()
@click.option("--feedback-rate", default=FEEDBACK_PER_MINUTE, show_default=True, envvar="HVKB_FEEDBACK_RATE",
              type=click.IntRange(1, 1_000_000), help="Feedback posts one client address may send a minute. "
                                                      "Env: HVKB_FEEDBACK_RATE.")
# Only from the environment: a command line is visible to every user of the machine (ps).
@click.option("--admin-token", envvar="HVKB_ADMIN_TOKEN", default="", hidden=True)
@content_options
def serve(settings: Settings, host, port, threads, connection_limit, channel_timeout, base_url, history_on,
          feedback_rate, admin_token):
    """Serve the web app (waitress) on the embedded index, built on first run.

    History (drafts, searches, feedback) is kept in the data folder unless --no-history; the History
    and Review pages answer only this machine, or a request with the token in HVKB_ADMIN_TOKEN.

    Example: hvkb serve --port 8000 --channel-timeout 10
    """
    from webapp import create_app, server

    open_kb(settings)  # build before the first request, with progress on the terminal
    app = create_app({"CONTENT_DIR": str(settings.content_dir), "INDEX_DIR": str(settings.index_dir),
                      "PUBLIC_BASE_URL": base_url, "HOME_DIR": str(settings.home_dir), "HISTORY": history_on,
                      "ADMIN_TOKEN": admin_token, "FEEDBACK_PER_MINUTE": feedback_rate})
    history = app.extensions["history"]
    if history.enabled:
        _note(f"history is on: {history.path} (turn it off with --no-history or HVKB_HISTORY=off)")
    elif not history.off_by_choice:
        _note(history.disabled_reason)
    if not admin_token and host not in ("127.0.0.1", "localhost", "::1"):
        _note("History and Review answer only this machine; set HVKB_ADMIN_TOKEN to open them from elsewhere")
    try:
        server.serve(app, host=host, port=port, threads=threads, connection_limit=connection_limit,
                     channel_timeout=channel_timeout, ident="hvkb",
                     on_bound=lambda _: click.echo(f"hvkb serving on http://{host}:{port}/  (Ctrl+C to stop)", err=True))
    except (OSError, ValueError) as exc:
        message = _bind_error(exc, host, port)
        if message is None:
            raise
        raise click.ClickException(message) from None


# --------------------------------------------------------------------------- history, review, feedback

def _history_or_fail(settings: Settings):
    """The store of the data folder; exit 1 with the reason when it cannot be used."""
    history = _open_history(settings)
    if not history.enabled:
        raise click.ClickException(history.disabled_reason)
    return history


def _age(ctx, param, value):
    if value is None:
        return None
    from kb.history import parse_age

    try:
        return parse_age(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@cli.group()
def history():
    """The history of drafts, searches and feedback kept in the data folder (history.sqlite3).

    Example: hvkb history purge --older-than 30d
    """


@history.command(name="list")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@content_options
def history_list(settings: Settings, limit: int, as_json: bool):
    """List the latest drafts kept: id, time, confidence, feedback, question.

    Example: hvkb history list --limit 5
    """
    from kb.review import phrasing_of

    store = _history_or_fail(settings)
    drafts = store.list_drafts(limit)
    if as_json:
        _echo_json([d.to_dict() for d in drafts])
        return
    import time as _time

    for d in drafts:
        mark = {"up": "right", "down": "WRONG"}.get(d.verdict or "", "")
        state = "answered" if d.answerable else "abstained"
        click.echo(f"{d.id:>6}  {_time.strftime('%Y-%m-%d %H:%M', _time.localtime(d.created))}  "
                   f"{state:9} {d.confidence:4.0%}  {mark:5}  {phrasing_of(d.question, d.focus)[:80]}")
    counts = store.counts()
    click.echo(f"{counts['drafts']} drafts, {counts['feedback']} feedback, {counts['searches']} searches in "
               f"{store.path}", err=True)


@history.command()
@click.option("--older-than", "older_than", callback=_age, metavar="AGE",
              help="Only what is older than AGE: 30d, 12h, 2w (a bare number is days). Default: everything.")
@click.option("--json", "as_json", is_flag=True, help="Print what was deleted as JSON.")
@content_options
def purge(settings: Settings, older_than: float | None, as_json: bool):
    """Delete the kept drafts, feedback and searches (all of them, or those older than AGE).

    Example: hvkb history purge --older-than 30d
    """
    store = _history_or_fail(settings)
    result = store.purge(older_than)
    if result is None:
        raise click.ClickException(store.disabled_reason or "history is off")
    if as_json:
        _echo_json(result.to_dict())
        return
    scope = f"older than {older_than:g} days" if older_than is not None else "all"
    click.echo(f"Deleted {result.drafts} drafts, {result.feedback} feedback and {result.searches} searches "
               f"({scope}) from {store.path}")


def _print_group(g) -> None:
    extra = f"; add to: {', '.join(g.candidates[:3])}" if g.candidates else ""
    reasons = ", ".join(f"{r} x{n}" if n > 1 else r for r, n in g.reasons.items())
    click.echo(click.style(f"  {g.id:8}", bold=True) + f" {len(g.items)} question{'s' if len(g.items) != 1 else ''}"
               + (f" ({reasons})" if reasons else "") + extra)
    for it in g.items:
        state = "answered" if it.answerable else "abstained"
        click.echo(f"           #{it.draft_id} {state} {it.confidence:.0%}: {it.phrasing[:90]}")
        for f in it.feedback:
            if f.verdict == "down" and (f.note or f.snippet_id):
                should = f" should be {f.snippet_id}." if f.snippet_id else ""
                click.echo(f"             wrong:{should} {f.note[:80]}".rstrip())


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@content_options
@click.pass_context
def review(ctx, settings: Settings, as_json: bool):
    """The review queue: questions hvkb abstained on or answered with low confidence (near-duplicates
    grouped), drafts marked wrong with their reasons, and searches with no result by count.

    `hvkb review propose GROUP` turns a group into a content edit for you to commit.

    Example: hvkb review --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from kb.review import build_review

    queue = build_review(_history_or_fail(settings), open_kb(settings).corpus)
    if as_json:
        _echo_json(queue.to_dict())
        return
    for title, groups in (("Drafts marked wrong", queue.wrong),
                          ("Questions it abstained on or answered with low confidence", queue.unanswered)):
        click.echo(click.style(f"{title}: {len(groups)} group{'s' if len(groups) != 1 else ''}", bold=True))
        for g in groups:
            _print_group(g)
    click.echo(click.style(f"Searches with no result: {len(queue.no_results)}", bold=True))
    for s in queue.no_results:
        click.echo(f"  {s['count']:>5}  {s['query']}")
    if queue.wrong or queue.unanswered:
        click.echo("Propose an edit: hvkb review propose GROUP --phrasings-of SNIPPET | --new-snippet", err=True)


@review.command()
@click.argument("group_id", metavar="GROUP")
@click.option("--phrasings-of", "snippet_id", metavar="SNIPPET", help="Add the group's questions as phrasings of this snippet.")
@click.option("--new-snippet", is_flag=True, help="Start a new snippet from the group's questions.")
@click.option("--print-only", is_flag=True, help="Print the edit only; do not write it to the proposals folder.")
@content_options
def propose(settings: Settings, group_id: str, snippet_id: str | None, new_snippet: bool, print_only: bool):
    """Turn a review group into a content edit (a patch or a new snippet file) in the proposals folder.

    Nothing changes the content: check the edit, apply it, run `hvkb check`, commit.

    Example: hvkb review propose u12 --phrasings-of quorum-two-node-witness
    """
    from kb.review import build_review, propose_phrasings, propose_snippet, save_proposal

    if bool(snippet_id) == bool(new_snippet):
        raise click.UsageError("give either --phrasings-of SNIPPET or --new-snippet")
    store = _history_or_fail(settings)
    corpus = open_kb(settings).corpus
    group = build_review(store, corpus).group(group_id.strip().lower())
    if group is None:
        raise click.BadParameter(f"no group {group_id!r} in the review queue (`hvkb review` lists them)",
                                 param_hint="GROUP")
    if new_snippet:
        proposal = propose_snippet(store, corpus, settings.content_dir, group.draft_ids)
    else:
        proposal = propose_phrasings(store, corpus, settings.content_dir, group.draft_ids, snippet_id)
    click.echo(proposal.text, nl=not proposal.text.endswith("\n"))
    for problem in proposal.problems:  # the loader's as file:line: message
        _note(f"{proposal.target}:{problem}" if problem[:1].isdigit() else problem)
    if not print_only:
        try:
            path = save_proposal(proposal, settings.home_dir)
        except OSError as exc:
            raise click.ClickException(f"cannot write the proposal to {settings.home_dir / 'proposals'}: "
                                       f"{exc.strerror or exc}") from None
        _note(f"written to {path}")


@cli.group()
def feedback():
    """Feedback given on drafts ("Was this draft right?"), as training data for the drafter.

    Example: hvkb feedback export --jsonl feedback.jsonl
    """


@feedback.command()
@click.argument("output", default="-", metavar="[FILE|-]", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--jsonl", is_flag=True, help="One JSON object a line (the only format).")
@content_options
def export(settings: Settings, output: str, jsonl: bool):
    """Write the feedback as labelled questions for `scripts/train_ranker.py --feedback FILE`.

    Each line has the fields of tests/data/real_questions.jsonl that training reads (id, question,
    gold: snippet ids or "not-covered", or null when only the wrong ones are known) plus wrong
    (snippet ids shown and marked wrong) and source "hvkb-feedback". One line per draft, from its latest feedback.

    Example: hvkb feedback export --jsonl feedback.jsonl
    """
    from kb.review import feedback_examples

    if not jsonl:
        raise click.UsageError("choose the format: --jsonl")
    store = _history_or_fail(settings)
    rows, skipped = feedback_examples(store, open_kb(settings).corpus)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if output == "-":
        click.echo(text, nl=False)
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    _note(f"{len(rows)} labelled question{'s' if len(rows) != 1 else ''} exported"
          + (f"; {skipped} without a usable label left out (an abstention marked wrong with no snippet named)"
             if skipped else ""))


def main() -> None:
    cli(prog_name="hvkb")


if __name__ == "__main__":
    main()
