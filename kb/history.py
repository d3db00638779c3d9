"""The history store: drafts made, searches run and feedback given, in one SQLite file in the data folder.

Standard library ``sqlite3`` in WAL mode (readers never wait for the writer) with a busy timeout,
one connection behind a lock (writes are serialized by SQLite anyway). The schema is versioned with
``PRAGMA user_version`` and migrated on open. History is a side line: a locked, read-only or damaged
database turns the store off with a clear :attr:`History.disabled_reason`, and every call then does
nothing (``None`` / empty results) instead of raising into search or drafting. It tries again after
``RETRY_SECONDS``, so a lock that is released, or a file that is put back, brings it back by itself.

    history = open_history(settings.home_dir)
    draft_id = history.record_draft(question, draft.to_dict(), build="b-20260101-...", origin="web")
    history.record_feedback(draft_id, "down", "wrong-subject", note="it is about 2019")
"""
from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KbError

log = logging.getLogger(__name__)

HISTORY_FILE = "history.sqlite3"
# A write waits this long for another process's lock (an `hvkb history purge` running) before the
# store turns itself off: a request must not hang on history, which is not what it came for.
BUSY_TIMEOUT_SECONDS = 1.0
# After a failure the store stays off this long, then reopens: a lock released or a file restored
# brings history back without a restart, and a persistent failure costs one attempt a minute.
RETRY_SECONDS = 60.0

# Opening checks a file up to this size page by page (a fraction of a second); a larger one is
# checked by use: SQLite reports a damaged page when it reads it, and the store turns off then.
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024

VERDICTS = ("up", "down")
# Why a draft was wrong: a fixed set, so the review queue and the training export can count them.
REASONS = {
    "wrong-subject": "Wrong subject",
    "wrong-fact": "Wrong fact",
    "outdated": "Outdated for my version",
    "missing-step": "Missing step",
    "other": "Other",
}
ORIGINS = ("web", "api", "cli")
MAX_NOTE_CHARS = 2000
# Snippet ids are slugs; anything else cannot name one.
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID_CHARS = 120

_REASON_SQL = ", ".join(f"'{r}'" for r in REASONS)

# Each entry moves the schema one version up (its index + 1 is the version it produces). Append
# only: a released migration is never edited, so every database follows the same steps.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE drafts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused after a purge: an old link cannot reach a new draft
            created REAL NOT NULL,                 -- Unix time
            origin TEXT NOT NULL,                  -- web, api or cli
            question TEXT NOT NULL,
            facts TEXT NOT NULL DEFAULT '{}',      -- the detected facts (JSON)
            focus TEXT NOT NULL DEFAULT '{}',      -- what the question asks (JSON: title, asks, errors, tried)
            sources TEXT NOT NULL DEFAULT '[]',    -- the top sources (JSON: id, kind, title, topic, score)
            answer_ids TEXT NOT NULL DEFAULT '[]', -- the snippets the answer was built from (JSON; [] when abstaining)
            top_source TEXT,                       -- the best candidate snippet, answered or not
            confidence REAL NOT NULL,
            answerable INTEGER NOT NULL,
            topic TEXT,
            build TEXT,                            -- the index build that answered
            draft TEXT NOT NULL DEFAULT ''         -- the Markdown draft as shown
        )""",
        """CREATE TABLE searches (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created REAL NOT NULL,
            origin TEXT NOT NULL,
            query TEXT NOT NULL,
            results INTEGER NOT NULL,
            build TEXT
        )""",
        f"""CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created REAL NOT NULL,
            draft_id INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
            verdict TEXT NOT NULL CHECK (verdict IN ('up', 'down')),
            reason TEXT CHECK (reason IS NULL OR reason IN ({_REASON_SQL})),
            note TEXT NOT NULL DEFAULT '',
            snippet_id TEXT                        -- the snippet that should have answered, when the user said
        )""",
        # The one index: a draft's feedback is read with it, and deleted with it. Time and result
        # counts are only scanned by a purge or the review page; an index there would cost every
        # insert a page write (the load test's drafting latency) to save a rare scan.
        "CREATE INDEX feedback_draft ON feedback(draft_id)",
    ),
]


def schema_version() -> int:
    """The schema version this hvkb writes."""
    return len(MIGRATIONS)


class HistoryInputError(KbError):
    """Feedback that cannot be stored as given (unknown verdict or reason, a note too long, no such draft)."""


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    created: float
    draft_id: int
    verdict: str
    reason: str | None
    note: str
    snippet_id: str | None

    @property
    def reason_label(self) -> str:
        return REASONS.get(self.reason or "", "")

    def to_dict(self) -> dict:
        return {"id": self.id, "created": iso_time(self.created), "draft_id": self.draft_id, "verdict": self.verdict,
                "reason": self.reason, "note": self.note, "snippet_id": self.snippet_id}


@dataclass(frozen=True)
class DraftRecord:
    id: int
    created: float
    origin: str
    question: str
    facts: dict
    focus: dict
    sources: list[dict]
    answer_ids: list[str]
    top_source: str | None
    confidence: float
    answerable: bool
    topic: str | None
    build: str | None
    draft: str
    feedback: tuple[FeedbackRecord, ...] = ()

    @property
    def verdict(self) -> str | None:
        """The latest feedback's verdict (``up`` / ``down``), ``None`` when none was given."""
        return self.feedback[-1].verdict if self.feedback else None

    def to_dict(self) -> dict:
        return {"id": self.id, "created": iso_time(self.created), "origin": self.origin, "question": self.question,
                "detected": self.facts, "focus": self.focus, "sources": self.sources, "answer_ids": self.answer_ids,
                "top_source": self.top_source, "confidence": self.confidence, "answerable": self.answerable,
                "topic": self.topic, "build": self.build, "draft": self.draft,
                "feedback": [f.to_dict() for f in self.feedback]}


@dataclass(frozen=True)
class PurgeResult:
    drafts: int
    feedback: int
    searches: int

    def to_dict(self) -> dict:
        return {"drafts": self.drafts, "feedback": self.feedback, "searches": self.searches}


def iso_time(ts: float) -> str:
    """A stored time as ISO 8601 UTC.

    >>> iso_time(0)
    '1970-01-01T00:00:00Z'
    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def answer_ids_of(draft: dict) -> list[str]:
    """The snippets an answered draft was built from: the leading snippet sources (then come their articles).

    >>> answer_ids_of({"answerable": True, "sources": [{"id": "a", "kind": "snippet"}, {"id": "x", "kind": "article"}]})
    ['a']
    """
    if not draft.get("answerable"):
        return []
    out = []
    for s in draft.get("sources") or []:
        if s.get("kind") != "snippet":
            break
        out.append(s["id"])
    return out


def check_feedback(verdict: str, reason: str | None = None, note: str | None = None,
                   snippet_id: str | None = None, known_snippets: Container[str] | None = None):
    """Checked feedback fields: ``(verdict, reason, note, snippet_id)``, blanks as ``None`` / ``""``.

    :param known_snippets: when given, ``snippet_id`` must be one of them.
    :raises HistoryInputError: an unknown verdict or reason, no reason for a "down", a reason for an
        "up", a note over ``MAX_NOTE_CHARS``, or a snippet id that names no snippet.
    """
    verdict = (verdict or "").strip().lower()
    if verdict not in VERDICTS:
        raise HistoryInputError(f"the verdict must be 'up' or 'down', not {verdict[:20]!r}")
    reason = (reason or "").strip().lower() or None
    if verdict == "down" and reason is None:
        raise HistoryInputError("say what was wrong: " + ", ".join(REASONS.values()).lower())
    if reason is not None and reason not in REASONS:
        raise HistoryInputError(f"unknown reason {reason[:40]!r}; choose one of: {', '.join(REASONS)}")
    if verdict == "up" and reason is not None:
        raise HistoryInputError("a reason is only given for a draft that was wrong")
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise HistoryInputError(f"the note is {len(note):,} characters; the limit is {MAX_NOTE_CHARS:,}")
    snippet_id = (snippet_id or "").strip().lower() or None
    if snippet_id is not None:
        if len(snippet_id) > MAX_ID_CHARS or not _SLUG_RE.match(snippet_id):
            raise HistoryInputError(f"{snippet_id[:40]!r} is not a snippet id (lowercase words joined by hyphens)")
        if known_snippets is not None and snippet_id not in known_snippets:
            raise HistoryInputError(f"no snippet with id {snippet_id!r} (`hvkb list --kind snippet` shows them)")
    return verdict, reason, note, snippet_id


def _writable(path: Path) -> bool:
    """Whether the database file (or, before it exists, its folder) can be written."""
    import os

    target = path if path.exists() else path.parent
    return not target.exists() or os.access(target, os.W_OK)


def _describe_failure(path: Path, exc: BaseException) -> str:
    """Why the store is off, in words a user can act on."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "unable to open" in low and (not _writable(path) or not _writable(path.parent)):
        low += " read-only"  # SQLite's word for a file on a read-only disk, whose -shm file it cannot create
    if "locked" in low or "busy" in low:
        what = f"the history database {path} is locked by another program ({text})"
    elif "readonly" in low or "read-only" in low or "permission" in low or "access" in low:
        what = f"the history database {path} is read-only ({text}); make it and its folder writable"
    elif "not a database" in low or "malformed" in low or "corrupt" in low or "damaged" in low:
        what = f"the history database {path} is damaged ({text}); move it aside to start a new history"
    elif "newer" in low:
        what = f"the history database {path} {text}"
    else:
        what = f"the history database {path} cannot be used ({text})"
    return f"history and feedback are off: {what}. Search and drafting work as usual."


class _Unusable(Exception):
    """Raised inside the store when a database cannot be used; never leaves this module."""


# --------------------------------------------------------------------------- the store

class History:
    """The history store at ``path``; every method is safe to call when it is off.

    :param busy_timeout: seconds a write waits for another connection's lock.
    :param clock: the time source (tests pass a fake one).
    """

    def __init__(self, path: str | Path | None, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS,
                 retry_seconds: float = RETRY_SECONDS, clock: Callable[[], float] = time.time,
                 off_reason: str | None = None):
        self.path = Path(path) if path is not None else None
        self.busy_timeout = busy_timeout
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._reason: str | None = off_reason
        self._off_by_choice = off_reason is not None or self.path is None
        if self.path is None and off_reason is None:
            self._reason = "history is off: no data folder was given"
        self._retry_at = math.inf
        if not self._off_by_choice:
            with self._lock:
                self._open()

    @classmethod
    def off(cls, reason: str = "history is off") -> "History":
        """A store that keeps nothing, e.g. for ``hvkb serve --no-history``."""
        return cls(None, off_reason=reason)

    # ------------------------------------------------------------------ state

    @property
    def enabled(self) -> bool:
        """Whether the store keeps what it is given (it may come back after a failure, see ``RETRY_SECONDS``)."""
        return self._conn is not None

    @property
    def disabled_reason(self) -> str | None:
        """Why the store keeps nothing (``None`` while it works)."""
        return None if self._conn is not None else self._reason

    @property
    def off_by_choice(self) -> bool:
        """True when history was turned off (``--no-history``), not broken."""
        return self._off_by_choice

    def status(self) -> dict:
        return {"enabled": self.enabled, "path": str(self.path) if self.path else None,
                "disabled_reason": self.disabled_reason, "schema_version": schema_version()}

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._reason = "history is off: the store was closed"
                self._retry_at = math.inf

    # ------------------------------------------------------------------ opening and failing

    def _open(self) -> None:
        """Open (creating and migrating) the database; on any failure turn the store off."""
        assert self.path is not None
        conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)  # used by every server thread, behind self._lock
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")  # purged questions are overwritten, not left in free pages
            if not self.path.exists() or self.path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                check = conn.execute("PRAGMA quick_check").fetchone()
                if not check or check[0] != "ok":
                    raise _Unusable(f"is damaged (integrity check: {check[0] if check else 'no answer'})")
            self._migrate(conn)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                log.warning("history: %s is in %s journal mode, not WAL", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")  # safe in WAL: a crash loses at most the last commits, never the file
            # A write probe: a read-only file or folder fails here, at open, not on the first draft.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except (sqlite3.Error, OSError, _Unusable) as exc:
            if conn is not None:
                conn.close()
            self._fail(exc)
            return
        self._conn = conn
        self._reason = None
        self._retry_at = math.inf

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        target = schema_version()
        if version > target:
            raise _Unusable(f"was written by a newer hvkb (schema version {version}; this one knows up to {target})")
        if version == target:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for n in range(version, target):
                for statement in MIGRATIONS[n]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {n + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("history: migrated %s from schema version %d to %d", self.path, version, target)

    def _fail(self, exc: BaseException) -> None:
        assert self.path is not None
        self._reason = _describe_failure(self.path, exc)
        self._retry_at = self._clock() + self.retry_seconds
        log.warning("%s", self._reason)

    def _usable(self) -> sqlite3.Connection | None:
        """The connection, reopened after ``retry_seconds`` when the store had failed. Call under the lock."""
        if self._conn is None and not self._off_by_choice and self._clock() >= self._retry_at:
            self._open()
        return self._conn

    def _run(self, work: Callable[[sqlite3.Connection], object], default=None):
        """Run ``work(conn)`` under the lock; a database error turns the store off and returns ``default``."""
        with self._lock:
            conn = self._usable()
            if conn is None:
                return default
            try:
                return work(conn)
            except sqlite3.IntegrityError as exc:  # one bad row (inputs are checked first): not a broken store
                log.error("history: a row was refused: %s", exc)
                return default
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                conn.close()
                self._conn = None
                self._fail(exc)
                return default

    # ------------------------------------------------------------------ writing

    def record_draft(self, question: str, draft: dict, build: str | None = None, origin: str = "web") -> int | None:
        """Keep one draft (``Draft.to_dict()``); return its id, ``None`` when the store is off."""
        sources = [{k: s.get(k) for k in ("id", "kind", "title", "topic", "score")} for s in draft.get("sources") or []]
        top = next((s["id"] for s in sources if s.get("kind") == "snippet"), None)
        row = (self._clock(), origin if origin in ORIGINS else "web", question,
               json.dumps(draft.get("detected") or {}, ensure_ascii=False),
               json.dumps(draft.get("focus") or {}, ensure_ascii=False), json.dumps(sources, ensure_ascii=False),
               json.dumps(answer_ids_of(draft)), top, float(draft.get("confidence") or 0.0),
               int(bool(draft.get("answerable"))), draft.get("topic"), build, draft.get("draft") or "")
        return self._run(lambda c: c.execute(
            "INSERT INTO drafts (created, origin, question, facts, focus, sources, answer_ids, top_source, confidence,"
            " answerable, topic, build, draft) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row).lastrowid)

    def record_search(self, query: str, results: int, build: str | None = None, origin: str = "web") -> int | None:
        """Keep one search and how many results it had; return its id, ``None`` when the store is off."""
        row = (self._clock(), origin if origin in ORIGINS else "web", query, int(results), build)
        return self._run(lambda c: c.execute(
            "INSERT INTO searches (created, origin, query, results, build) VALUES (?, ?, ?, ?, ?)", row).lastrowid)

    def record_feedback(self, draft_id: int, verdict: str, reason: str | None = None, note: str | None = None,
                        snippet_id: str | None = None, known_snippets: Container[str] | None = None) -> int | None:
        """Keep feedback on a draft; return its id, ``None`` when the store is off.

        :raises HistoryInputError: the fields do not check (see :func:`check_feedback`), or there is no
            draft ``draft_id`` (purged, or never made).
        """
        verdict, reason, note, snippet_id = check_feedback(verdict, reason, note, snippet_id, known_snippets)

        def insert(c: sqlite3.Connection):
            # One statement, one transaction: the draft is looked up by the insert itself.
            cur = c.execute("INSERT INTO feedback (created, draft_id, verdict, reason, note, snippet_id)"
                            " SELECT ?, id, ?, ?, ?, ? FROM drafts WHERE id = ?",
                            (self._clock(), verdict, reason, note, snippet_id, int(draft_id)))
            if cur.rowcount == 0:
                return HistoryInputError(f"there is no draft {draft_id} in the history (it may have been purged)")
            return cur.lastrowid

        result = self._run(insert)
        if isinstance(result, HistoryInputError):
            raise result
        return result

    def purge(self, older_than_days: float | None = None) -> PurgeResult | None:
        """Delete everything, or what is older than ``older_than_days``; ``None`` when the store is off.

        Feedback goes with its draft. The file is then checkpointed and vacuumed, so the deleted text
        is gone from the disk too (``secure_delete`` overwrites it).
        """
        if older_than_days is not None and (older_than_days < 0 or not math.isfinite(older_than_days)):
            raise HistoryInputError("the age must be a positive number of days")
        cutoff = math.inf if older_than_days is None else self._clock() - older_than_days * 86400

        def delete(c: sqlite3.Connection) -> PurgeResult:
            c.execute("BEGIN IMMEDIATE")
            old = "SELECT id FROM drafts WHERE created < ?"
            feedback = c.execute(f"DELETE FROM feedback WHERE created < ? OR draft_id IN ({old})",
                                 (cutoff, cutoff)).rowcount
            drafts = c.execute("DELETE FROM drafts WHERE created < ?", (cutoff,)).rowcount
            searches = c.execute("DELETE FROM searches WHERE created < ?", (cutoff,)).rowcount
            c.execute("COMMIT")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.execute("VACUUM")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return PurgeResult(drafts, feedback, searches)

        return self._run(delete)

    # ------------------------------------------------------------------ reading

    def counts(self) -> dict:
        """How many drafts, feedback and searches are kept (all 0 when the store is off)."""
        def count(c):
            return {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("drafts", "feedback", "searches")}

        return self._run(count, default={"drafts": 0, "feedback": 0, "searches": 0})

    def get_draft(self, draft_id: int) -> DraftRecord | None:
        found = self.get_drafts([draft_id])
        return found[0] if found else None

    def get_drafts(self, draft_ids: Iterable[int]) -> list[DraftRecord]:
        """The drafts with these ids that are kept, in id order, with their feedback."""
        ids = sorted({int(i) for i in draft_ids})
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        return self._select(f"WHERE id IN ({marks}) ORDER BY id", ids)

    def list_drafts(self, limit: int = 50, offset: int = 0) -> list[DraftRecord]:
        """The latest drafts first, with their feedback."""
        return self._select("ORDER BY id DESC LIMIT ? OFFSET ?", (int(limit), int(offset)))

    def review_drafts(self, low_confidence: float, limit: int = 2000) -> list[DraftRecord]:
        """Drafts the review queue looks at: abstained, below ``low_confidence``, or with feedback (latest ``limit``)."""
        return self._select("WHERE answerable = 0 OR confidence < ? OR id IN (SELECT draft_id FROM feedback)"
                            " ORDER BY id DESC LIMIT ?", (float(low_confidence), int(limit)))

    def drafts_with_feedback(self) -> list[DraftRecord]:
        """Every draft that has feedback, oldest first."""
        return self._select("WHERE id IN (SELECT draft_id FROM feedback) ORDER BY id", ())

    def no_result_searches(self, limit: int = 50) -> list[dict]:
        """Searches that found nothing, by how often they were run (case and spacing ignored)."""
        def select(c):
            rows = c.execute("SELECT query, created FROM searches WHERE results = 0 ORDER BY id").fetchall()
            groups: dict[str, dict] = {}
            for query, created in rows:
                key = " ".join(query.casefold().split())
                g = groups.setdefault(key, {"query": query, "count": 0, "last": created})
                g["count"] += 1
                g["last"] = max(g["last"], created)
            ranked = sorted(groups.values(), key=lambda g: (-g["count"], -g["last"], g["query"]))
            return [{**g, "last": iso_time(g["last"])} for g in ranked[:limit]]

        return self._run(select, default=[])

    def _select(self, tail: str, params) -> list[DraftRecord]:
        def select(c):
            rows = c.execute("SELECT id, created, origin, question, facts, focus, sources, answer_ids, top_source,"
                             f" confidence, answerable, topic, build, draft FROM drafts {tail}", tuple(params)).fetchall()
            if not rows:
                return []
            ids = [r[0] for r in rows]
            feedback: dict[int, list[FeedbackRecord]] = {}
            for i in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
                chunk = ids[i:i + 500]
                for f in c.execute("SELECT id, created, draft_id, verdict, reason, note, snippet_id FROM feedback"
                                   f" WHERE draft_id IN ({', '.join('?' * len(chunk))}) ORDER BY id", chunk):
                    feedback.setdefault(f[2], []).append(FeedbackRecord(*f))
            return [DraftRecord(r[0], r[1], r[2], r[3], _json(r[4], {}), _json(r[5], {}), _json(r[6], []),
                                _json(r[7], []), r[8], r[9], bool(r[10]), r[11], r[12], r[13],
                                tuple(feedback.get(r[0], ()))) for r in rows]

        return self._run(select, default=[])


def _json(text: str | None, default):
    try:
        value = json.loads(text) if text else default
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def history_path(home_dir: str | Path) -> Path:
    """Where the history of a data folder is kept."""
    return Path(home_dir) / HISTORY_FILE


def open_history(home_dir: str | Path | None, enabled: bool = True, off_reason: str | None = None,
                 **options) -> History:
    """The history store of a data folder; one that keeps nothing when ``enabled`` is false or no folder is given.

    Never raises: a store that cannot be opened is returned off, with its :attr:`History.disabled_reason`.
    """
    if not enabled:
        return History.off(off_reason or "history is off")
    if home_dir is None:
        return History.off("history is off: no data folder was given")
    return History(history_path(home_dir), **options)


def parse_age(text: str) -> float:
    """Days in an age like ``30d``, ``12h``, ``2w`` or ``45`` (days).

    >>> parse_age("30d"), parse_age("12h"), parse_age("2w"), parse_age("7")
    (30.0, 0.5, 14.0, 7.0)

    :raises ValueError: not a number of days, hours or weeks.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhw]?)\s*", text or "", re.I)
    if not m:
        raise ValueError(f"{text!r} is not an age; use a number of days, hours or weeks such as 30d, 12h or 2w")
    n = float(m.group(1))
    return {"": n, "d": n, "h": n / 24, "w": n * 7}[m.group(2).lower()]


__all__ = ["BUSY_TIMEOUT_SECONDS", "DraftRecord", "FeedbackRecord", "History", "HistoryInputError", "MIGRATIONS",
           "PurgeResult", "REASONS", "VERDICTS", "answer_ids_of", "check_feedback", "history_path", "iso_time",
           "open_history", "parse_age", "schema_version"]
