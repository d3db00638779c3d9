"""The whoosh index: schema, analyzers, documents, atomic builds, and opening a built index.

Layout of an index directory::

    <index_dir>/CURRENT          name of the live build (replaced atomically)
    <index_dir>/build-<id>/      whoosh segment files + manifest.json + corpus.json + vocab.json
                                 (the manifest lists every other file's size and CRC-32)
    <index_dir>/.tmp-<id>/       a build in progress; never read, removed if a build dies
    <index_dir>/.build.lock      held while a build runs

A build writes a complete ``.tmp-`` directory, renames it to ``build-<id>``, then points
``CURRENT`` at it with ``os.replace``: readers see the old index or the new one, never half of one.

A build is never written again once live, so a reader can tell damage cheaply: :class:`KbIndex`
checks every file against the manifest when it opens a build (size and checksum) and before each
search (size, mtime and inode, a few ``stat`` calls). Segments are read with plain file reads, not
``mmap``: a segment that shrinks under a memory map kills the process with SIGBUS, while a short
read raises an error that becomes a clear :class:`IndexCorruptError`.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import struct
import shutil
import threading
import time
import uuid
import weakref
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import Filter, Token, Tokenizer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.filedb.filestore import FileStorage
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.lang.porter import stem as porter_stem

from kb import text as textmod
from kb.content import Article, Corpus, Snippet, content_hash, load_corpus
from kb.errors import (BuildLockedError, ContentValidationError, IndexCorruptError, IndexMissingError, IndexStaleError,
                       IndexWriteError, KbError)
from kb.fuzzy import MAX_CACHED_WORD_CHARS

# Bump when the schema, analyzers or stored files change: older indexes are rebuilt.
# 4: the manifest lists each file's size and CRC-32 (older builds could not be checked).
SCHEMA_VERSION = 4
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".build.lock"
MANIFEST_FILE = "manifest.json"
# whoosh's empty write-lock file: not part of the index, left out of the manifest's file list.
WHOOSH_LOCK_FILE = "MAIN_WRITELOCK"
# A second build waits this long for the first before giving up with a clear message.
BUILD_LOCK_TIMEOUT = 120.0
# whoosh's in-memory postings pool; past it, sorted runs spill to disk and are merged at commit. A
# 10k-document KB fits in 1 GB: 256 MB spilled and took a fifth longer (peak RSS 450 -> 820 MB).
WRITER_LIMIT_MB = 1024
# Words people type that carry no meaning for search; "not" and "no" stay (they flip answers).
STOPWORDS = frozenset(STOP_WORDS - {"not", "no", "can"}) | {"hi", "hello", "thanks", "please", "regards"}


# --------------------------------------------------------------------------- analysis

@lru_cache(maxsize=16)
def _recent_tokens(text: str) -> list[textmod.Token]:
    """:func:`kb.text.tokens` of the last few texts: a build tokenizes each body for the ``exact``
    field's identifiers and then, in the same document, for the ``body`` field. Read-only lists."""
    return textmod.tokens(text)


class HvTokenizer(Tokenizer):
    """Whoosh tokenizer over :func:`kb.text.tokens`: identifiers whole, compounds also by part."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos - 1
        for tok in _recent_tokens(value):
            if not tok.variant:
                pos += 1
            t.text = tok.text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = tok.text
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + tok.start
                t.endchar = start_char + tok.end
            yield t


def stem_word(word: str) -> str:
    """Porter-stem plain words; identifiers (digits, hyphens, dots) stay exactly as typed.

    Words up to ``MAX_CACHED_WORD_CHARS`` long are cached (the last 50,000); longer ones, pasted
    junk, are stemmed each time and never kept.
    """
    if len(word) > MAX_CACHED_WORD_CHARS:
        return _stem_word(word)
    return _cached_stem_word(word)


def _stem_word(word: str) -> str:
    if textmod.is_identifier(word) or len(word) <= 3:
        return word
    return porter_stem(word)


_cached_stem_word = lru_cache(maxsize=50_000)(_stem_word)
stem_word.cache_info = _cached_stem_word.cache_info    # as on an lru_cache function
stem_word.cache_clear = _cached_stem_word.cache_clear


class HvFilter(Filter):
    """Drop lone letters and stop words; stem plain words when ``stem`` is on."""

    def __init__(self, stem: bool = True):
        self.stem = stem

    def __eq__(self, other):
        return type(other) is type(self) and other.stem == self.stem

    def __call__(self, tokens):
        for t in tokens:
            word = t.text
            if len(word) == 1 and not word.isdigit():
                continue
            if word in STOPWORDS:
                if t.removestops:
                    continue
                t.stopped = True
            elif self.stem:  # stem_word, inlined: a build stems every token
                t.text = _cached_stem_word(word) if len(word) <= MAX_CACHED_WORD_CHARS else _stem_word(word)
            yield t


def stemming_analyzer():
    return HvTokenizer() | HvFilter(stem=True)


def exact_analyzer():
    return HvTokenizer() | HvFilter(stem=False)


def schema() -> Schema:
    stem, exact = stemming_analyzer(), exact_analyzer()
    return Schema(
        key=ID(stored=True, unique=True),      # "quorum", "quorum#witness-types", snippet id
        id=ID(stored=True),                    # the article's or snippet's id
        kind=ID(stored=True),                  # "article" or "snippet"
        topic=ID(stored=True),
        section=STORED(),                      # heading anchor, or None for a whole document
        section_title=STORED(),
        title=TEXT(analyzer=stem, stored=True),
        questions=TEXT(analyzer=stem),
        summary=TEXT(analyzer=stem),
        tags=TEXT(analyzer=stem),
        body=TEXT(analyzer=stem, stored=True),
        exact=TEXT(analyzer=exact),            # title + questions + tags, unstemmed: exact words rank first
        applies=KEYWORD(commas=True, lowercase=True, stored=True),
    )


def version_key(version: str) -> str:
    """Index form of a version name: ``Windows Server 2012 R2`` -> ``windows-server-2012-r2``."""
    return textmod.slugify(version)


# --------------------------------------------------------------------------- documents

def _applies(versions) -> str:
    # A document with no applies_to holds for every version: "any" lets version filters keep it.
    return ",".join(version_key(v) for v in versions) or "any"


def _identifiers(text: str) -> str:
    """Identifier tokens of a text (cmdlets, codes, versions, file names) for the exact field."""
    return " ".join(dict.fromkeys(t.text for t in _recent_tokens(text)
                                  if not t.variant and textmod.is_identifier(t.text)))


def _article_docs(a: Article) -> Iterator[dict]:
    from kb.markdown import plain_text

    applies = _applies(a.applies_to)
    common = {"id": a.id, "kind": "article", "topic": a.topic, "applies": applies, "title": a.title}
    tags = " ".join(a.tags)
    body = plain_text(a.body)
    yield {**common, "key": a.id, "section": None, "section_title": None, "summary": a.summary, "tags": tags,
           "body": body, "exact": f"{a.title}\n{tags}\n{_identifiers(body)}", "questions": ""}
    for s in a.sections:
        body = plain_text(s.markdown)
        yield {**common, "key": f"{a.id}#{s.anchor}", "section": s.anchor, "section_title": s.heading,
               "summary": s.heading, "tags": "", "body": body, "exact": f"{s.heading}\n{_identifiers(body)}",
               "questions": ""}


def _snippet_doc(s: Snippet) -> dict:
    from kb.markdown import plain_text

    questions = "\n".join(s.questions)
    body = plain_text(s.answer)
    return {"key": s.id, "id": s.id, "kind": "snippet", "topic": s.topic, "section": None, "section_title": None,
            "applies": _applies(s.applies_to), "title": s.title, "questions": questions,
            "summary": "\n".join(s.conditions), "tags": "", "body": body,
            "exact": f"{s.title}\n{questions}\n{_identifiers(body)}"}


def documents(corpus: Corpus) -> Iterator[dict]:
    """Every index document: each article whole, each of its ``##`` sections, each snippet."""
    for a in corpus.articles.values():
        yield from _article_docs(a)
    for s in corpus.snippets.values():
        yield _snippet_doc(s)


def vocabulary(corpus: Corpus, docs: list[dict] | None = None) -> dict[str, int]:
    """Unstemmed words of the corpus with their document counts: the typo corrector's dictionary.

    :param docs: the corpus's :func:`documents`, when already made (their plain text is reused).
    """
    df: Counter[str] = Counter()
    # Whole documents only (a section's words are in its article's); snippet questions are left
    # out on purpose: they carry the typos users make ("quorom").
    for d in (documents(corpus) if docs is None else docs):
        if d["section"] is None:
            text = (f"{d['title']} {d['summary']} {d['tags']} {d['body']}" if d["kind"] == "article"
                    else f"{d['summary']} {d['body']}")
            df.update({t.text for t in textmod.tokens(text) if len(t.text) >= 2})
    for entry in corpus.glossary.entries:
        df.update({t.text for p in entry.phrases for t in textmod.tokens(p)})
    return dict(sorted(df.items()))  # sorted: the same words give the same file and the same corrections


# --------------------------------------------------------------------------- building

@dataclass(frozen=True)
class BuildResult:
    path: Path
    build_id: str
    documents: int
    seconds: float
    content_hash: str


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def file_records(build_dir: Path) -> dict[str, dict[str, int]]:
    """Size and CRC-32 of every file of a build but the manifest: what the manifest records."""
    return {p.name: {"size": p.stat().st_size, "crc32": _crc32(p)} for p in sorted(Path(build_dir).iterdir())
            if p.is_file() and p.name not in (MANIFEST_FILE, WHOOSH_LOCK_FILE)}


def _write_error(index_dir: Path, exc: OSError, previous: str | None) -> IndexWriteError:
    what = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename and exc.errno not in (errno.ENOSPC, errno.EDQUOT) else ""
    kept = (f"; the previous index ({previous}) is still in place and searches keep using it" if previous
            else "; there is no older index to use")
    return IndexWriteError(f"cannot write the index in {index_dir}: {what}{where}",
                           hint=IndexWriteError.hint + kept)


def _cleanup(index_dir: Path, keep: set[str]) -> None:
    """Remove dead temporary builds and superseded builds (called while holding the build lock)."""
    for child in index_dir.iterdir():
        if child.name in keep:
            continue
        if child.name.startswith(f".{CURRENT_FILE}.") and child.is_file():
            child.unlink(missing_ok=True)  # a pointer file left by a build killed before its swap
        elif child.is_dir() and child.name.startswith((".tmp-", "build-")):
            shutil.rmtree(child, ignore_errors=True)


class _Unreadable(str):
    """A CURRENT pointer that exists but cannot be read: treated as a damaged index."""


def read_current(index_dir: Path) -> str | None:
    """Name of the live build, ``None`` when nothing was built; an unreadable pointer is flagged."""
    path = Path(index_dir) / CURRENT_FILE
    try:
        name = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError):
        return _Unreadable("?")
    if not name or "/" in name or "\\" in name or not name.startswith("build-"):
        return _Unreadable(name[:40] or "?")
    return name


def build_index(corpus: Corpus, index_dir: Path,
                progress: Callable[[Iterator[dict], int], Iterator[dict]] | None = None,
                lock_timeout: float = BUILD_LOCK_TIMEOUT) -> BuildResult:
    """Index a validated corpus into ``index_dir`` and swap it in atomically.

    :param progress: wraps the document iterator (e.g. a progress bar) given the document count.
    :raises BuildLockedError: another build held the lock for longer than ``lock_timeout`` seconds.
    :raises IndexWriteError: the disk is full or the folder is not writable; the half-written
        build is removed and the previous index stays live.
    """
    from filelock import FileLock, Timeout

    started = time.perf_counter()
    index_dir = Path(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(index_dir / LOCK_FILE))
        lock.acquire(timeout=lock_timeout)
    except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
        raise BuildLockedError(f"another build of {index_dir} is still running") from None
    except OSError as exc:
        raise _write_error(index_dir, exc, _live_build(index_dir)) from None
    try:
        previous = _live_build(index_dir)
        # Only leftovers of dead builds go now; earlier builds stay until this one is live.
        _cleanup(index_dir, keep={p.name for p in index_dir.glob("build-*")})
        build_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
        try:
            final, documents_written = _write_build(corpus, index_dir, build_id, progress)
        except OSError as exc:
            raise _write_error(index_dir, exc, previous) from None
        # Keep the previous build one more round: a server may still be reading it.
        _cleanup(index_dir, keep={final.name} | ({previous} if previous else set()))
        return BuildResult(final, build_id, documents_written, time.perf_counter() - started, corpus.content_hash)
    finally:
        lock.release()


def _live_build(index_dir: Path) -> str | None:
    name = read_current(index_dir)
    return None if isinstance(name, _Unreadable) else name


def _write_build(corpus: Corpus, index_dir: Path, build_id: str, progress) -> tuple[Path, int]:
    """Write ``build-<build_id>`` through a ``.tmp-`` folder and point ``CURRENT`` at it.

    On any failure nothing of this build is left and ``CURRENT`` still names the old build.
    """
    tmp = index_dir / f".tmp-{build_id}"
    final = index_dir / f"build-{build_id}"
    pointer = index_dir / f".{CURRENT_FILE}.{build_id}"
    live = False
    try:
        tmp.mkdir()
        ix = whoosh_index.create_in(str(tmp), schema())
        count = sum(1 + len(a.sections) for a in corpus.articles.values()) + len(corpus.snippets)
        docs: list[dict] = []

        def made():  # each document is indexed right after it is made, while its tokens are cached
            for doc in documents(corpus):
                docs.append(doc)
                yield doc

        # One segment, few merges: the corpus is written once and then only read.
        writer = ix.writer(limitmb=WRITER_LIMIT_MB, procs=1)
        try:
            for doc in (progress(made(), count) if progress else made()):
                writer.add_document(**doc)
            writer.commit(optimize=True)
        except BaseException:
            writer.cancel()
            raise
        ix.close()
        manifest = {"schema_version": SCHEMA_VERSION, "content_hash": corpus.content_hash, "build_id": build_id,
                    "documents": len(docs), "articles": len(corpus.articles), "snippets": len(corpus.snippets),
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _write_json(tmp / "corpus.json", corpus.to_dict())
        _write_json(tmp / "vocab.json", vocabulary(corpus, docs))
        manifest["files"] = file_records(tmp)
        _write_json(tmp / MANIFEST_FILE, manifest)  # written last: its presence marks a complete build
        os.replace(tmp, final)
        pointer.write_text(final.name + "\n", encoding="utf-8")
        if (index_dir / CURRENT_FILE).is_dir():  # a damaged index: make room for the pointer
            shutil.rmtree(index_dir / CURRENT_FILE)
        os.replace(pointer, index_dir / CURRENT_FILE)
        live = True
        return final, len(docs)
    finally:
        if not live:  # a failed write (disk full, read-only, an error mid-build): remove this build's files
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            with contextlib.suppress(OSError):
                pointer.unlink(missing_ok=True)


# --------------------------------------------------------------------------- opening

# What reading a damaged index can raise: truncated or garbage JSON, pickles and whoosh segments.
_INDEX_DAMAGE = (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeDecodeError,
                 struct.error, zlib.error, pickle.UnpicklingError, whoosh_index.IndexError)


def _file_state(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ino


class KbIndex:
    """An opened, complete build: whoosh index, corpus snapshot, vocabulary and manifest."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.manifest = json.loads((self.path / MANIFEST_FILE).read_text(encoding="utf-8"))
            if not isinstance(self.manifest, dict):
                raise ValueError("manifest.json is not a manifest")
            if self.manifest.get("schema_version") != SCHEMA_VERSION:
                raise IndexStaleError(f"index at {self.path} was built by another hvkb version "
                                      f"(schema {self.manifest.get('schema_version')!r}, this one uses {SCHEMA_VERSION})")
            self._files = self._verify_files(self.manifest.get("files"))
            self.corpus = Corpus.from_dict(json.loads((self.path / "corpus.json").read_text(encoding="utf-8")))
            self.vocab: dict[str, int] = json.loads((self.path / "vocab.json").read_text(encoding="utf-8"))
            if not isinstance(self.vocab, dict):
                raise ValueError("vocab.json is not a word -> count mapping")
            # Plain reads, no mmap: a segment that shrinks later raises instead of killing the process.
            self.ix = FileStorage(str(self.path), supports_mmap=False).open_index()
            # Read every segment once now, so damage shows here and not in the middle of a search.
            with self.ix.searcher() as probe:
                if probe.doc_count() != self.manifest.get("documents"):
                    raise ValueError("the whoosh segment does not hold the documents the manifest lists")
                for fieldname in ("title", "body"):
                    list(probe.lexicon(fieldname))
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"index at {self.path} is incomplete ({Path(exc.filename or '?').name} is missing)"
                                    ) from None
        except _INDEX_DAMAGE as exc:
            raise IndexCorruptError(f"index at {self.path} is unreadable: {type(exc).__name__}: {exc}") from None
        self.build_id = self.manifest.get("build_id", "")
        self._local = threading.local()
        # Every thread's searcher holds the segment file open (plain reads, no mmap): close them all
        # when this index is dropped, instead of leaving each file to the garbage collector.
        self._searchers: set = set()
        weakref.finalize(self, _close_searchers, self._searchers)
        from kb.fuzzy import Speller  # built once per opened index, reused by every search
        self.speller = Speller(self.vocab, self.corpus)

    def _verify_files(self, records) -> dict[str, tuple[int, int, int]]:
        """Check every file against the manifest's size and CRC-32; return each file's stat state.

        :raises IndexCorruptError: a file is missing, has another size, or fails its checksum.
        """
        if not isinstance(records, dict) or not records:
            raise ValueError("manifest.json lists no files")
        states = {}
        for name, record in records.items():
            path = self.path / name
            if not isinstance(record, dict) or "/" in name or name in (MANIFEST_FILE, "..", "."):
                raise ValueError(f"manifest.json has a bad entry for {name!r}")
            try:
                st = path.stat()
            except FileNotFoundError:
                raise IndexCorruptError(f"index at {self.path} is incomplete ({name} is missing)") from None
            if st.st_size != record.get("size"):
                raise IndexCorruptError(f"index at {self.path} is damaged: {name} is {st.st_size} bytes, "
                                        f"the build wrote {record.get('size')}")
            if _crc32(path) != record.get("crc32"):
                raise IndexCorruptError(f"index at {self.path} is damaged: {name} does not match its checksum")
            states[name] = _file_state(st)
        return states

    def check_files(self) -> None:
        """Check, with one ``stat`` per file, that the build is still the one that was opened.

        Builds are never written again, so any change of size, mtime or inode is damage.

        :raises IndexCorruptError: a file was changed, replaced or removed since the index was opened.
        """
        for name, state in self._files.items():
            try:
                now = _file_state(os.stat(self.path / name))
            except OSError:
                problem = f"{name} is gone"
            else:
                if now == state:
                    continue
                problem = (f"{name} is {now[0]} bytes, was {state[0]}" if now[0] != state[0]
                           else f"{name} was rewritten")
            raise IndexCorruptError(f"index at {self.path} is damaged: it changed since it was opened ({problem})")

    @property
    def content_hash(self) -> str:
        return self.manifest.get("content_hash", "")

    @property
    def schema_version(self) -> int:
        return int(self.manifest.get("schema_version", 0))

    def searcher(self):
        """A whoosh searcher for this thread (whoosh searchers are not shared across threads).

        :raises IndexCorruptError: the build's files changed or went away since it was opened.
        """
        self.check_files()  # a few stat calls: damage is reported before whoosh reads a changed file
        s = getattr(self._local, "searcher", None)
        if s is None:
            try:
                s = self._local.searcher = self.ix.searcher()
            except _INDEX_DAMAGE as exc:  # the build was removed or damaged after it was opened
                raise IndexCorruptError(f"index at {self.path} can no longer be read: {exc}") from None
            self._searchers.add(s)
        return s

    def close(self) -> None:
        """Close this thread's searcher (other threads may still be searching)."""
        s = getattr(self._local, "searcher", None)
        if s is not None:
            self._searchers.discard(s)
            s.close()
            self._local.searcher = None


def _close_searchers(searchers: set) -> None:
    while searchers:
        searchers.pop().close()


def open_index(index_dir: Path) -> KbIndex:
    """Open the live build of ``index_dir``.

    :raises IndexMissingError: nothing built yet. :raises IndexCorruptError: the build is damaged.
    """
    index_dir = Path(index_dir)
    name = read_current(index_dir)
    if name is None:
        raise IndexMissingError(f"no index at {index_dir}")
    if isinstance(name, _Unreadable) or not (index_dir / name).is_dir():
        raise IndexCorruptError(f"index at {index_dir} points at a missing build {name!r}")
    return KbIndex(index_dir / name)


def check_fresh(kb_index: KbIndex, content_dir: Path) -> None:
    """:raises IndexStaleError: the content or the schema changed since the index was built."""
    if kb_index.schema_version != SCHEMA_VERSION:
        raise IndexStaleError(f"index at {kb_index.path} has schema {kb_index.schema_version}, expected {SCHEMA_VERSION}")
    if kb_index.content_hash != content_hash(Path(content_dir)):
        raise IndexStaleError(f"content in {content_dir} changed since the index was built")


def point_current(index_dir: Path, build_name: str) -> bool:
    """Make ``build_name`` the live build, atomically (e.g. the previous build when the live one is damaged).

    Returns ``False``, changing nothing, when a build is running (it swaps in its own build) or the
    pointer cannot be written.
    """
    from filelock import FileLock, Timeout

    index_dir = Path(index_dir)
    if not (index_dir / build_name / MANIFEST_FILE).is_file():
        return False
    lock = FileLock(str(index_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):  # a build is running, or the folder is read-only: leave CURRENT alone
        return False
    pointer = index_dir / f".{CURRENT_FILE}.{build_name.removeprefix('build-')}"
    try:
        pointer.write_text(build_name + "\n", encoding="utf-8")
        if (index_dir / CURRENT_FILE).is_dir():
            shutil.rmtree(index_dir / CURRENT_FILE)
        os.replace(pointer, index_dir / CURRENT_FILE)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            pointer.unlink(missing_ok=True)
        return False
    finally:
        lock.release()


def open_fallback(index_dir: Path, exclude: Iterable[str] = ()) -> KbIndex | None:
    """The newest complete build of ``index_dir`` that opens cleanly, other than those in ``exclude``.

    What to serve, stale but sound, while the live build is damaged and cannot be rebuilt.
    """
    try:
        names = sorted((p.name for p in Path(index_dir).glob("build-*") if p.is_dir()), reverse=True)
    except OSError:
        return None
    for name in names:
        if name in exclude:
            continue
        try:
            return KbIndex(Path(index_dir) / name)
        except KbError:
            continue
    return None


def ensure_index(content_dir: Path, index_dir: Path, progress=None, on_build: Callable[[str], None] | None = None,
                 ) -> KbIndex:
    """Open the index, building or rebuilding it first when it is missing, damaged or stale.

    When the rebuild fails (the content does not validate, the disk is full, the folder is read-only)
    and a good older index exists, that index is returned, stale, and ``on_build`` says why: the
    live build when only the content changed, else the previous build when the live one is damaged.

    :raises ContentValidationError: no usable index and the content does not validate.
    :raises IndexWriteError: no usable index and none can be written.
    """
    note = on_build or (lambda message: None)
    current: KbIndex | None = None
    damaged = None
    try:
        current = open_index(index_dir)
        check_fresh(current, content_dir)
        return current
    except (IndexMissingError, IndexCorruptError, IndexStaleError) as exc:
        reason = str(exc)
        if isinstance(exc, IndexCorruptError):
            damaged = _live_build(index_dir)
    note(f"building the index ({reason})")
    try:
        build_index(load_corpus(content_dir), index_dir, progress=progress)
    except (ContentValidationError, IndexWriteError) as exc:
        kept = current if current is not None and current.schema_version == SCHEMA_VERSION else None
        if kept is None and damaged is not None:
            kept = open_fallback(index_dir, exclude={damaged})
            if kept is not None:  # the next reader opens it directly; the next build keeps it
                point_current(index_dir, kept.path.name)
        if kept is None:
            raise
        what = "the last good index" if kept is current else f"the previous build {kept.path.name}"
        if isinstance(exc, ContentValidationError):
            note(f"content does not validate; keeping {what}\n{exc}")
        else:
            note(f"cannot rebuild the index: {exc}; searching {what}, which is stale")
        return kept
    if current is not None:
        current.close()
    return open_index(index_dir)
