"""The exception family of hvkb: one class per failure kind, all under :class:`KbError`.

Only the edges (``kb.cli``, ``webapp``) translate these into exit codes or HTTP statuses.
"""
from __future__ import annotations

from pathlib import Path


class KbError(Exception):
    """Base class of every error hvkb raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


class ContentError(KbError):
    """One problem in one content file, located by line: ``path:line: message``."""

    def __init__(self, path: Path | str, line: int, message: str, *, warning: bool = False):
        self.path = Path(path)
        self.line = max(int(line), 1)
        self.problem = message
        self.warning = warning
        super().__init__(f"{self.path}:{self.line}: {message}")

    def to_dict(self) -> dict:
        return {"path": str(self.path), "line": self.line, "message": self.problem,
                "severity": "warning" if self.warning else "error"}


class ContentValidationError(KbError):
    """Every :class:`ContentError` of one load, raised once so one run shows them all."""

    hint = "fix the files above, then run `hvkb check`"

    def __init__(self, errors: list[ContentError]):
        self.errors = list(errors)
        n = len(self.errors)
        lines = "\n".join(str(e) for e in self.errors)
        super().__init__(f"{n} content problem{'s' if n != 1 else ''}:\n{lines}")


class IndexMissingError(KbError):
    hint = "run `hvkb build`"


class IndexStaleError(KbError):
    hint = "run `hvkb build`"


class IndexCorruptError(KbError):
    hint = "run `hvkb build` to rebuild it"


class IndexWriteError(IndexMissingError):
    """A build could not be written (disk full, read-only index folder).

    A subclass of :class:`IndexMissingError`: no new index came of it, so a server that has no
    older index to fall back on answers 503, as for a missing one.
    """

    hint = "free some disk space or make the index folder writable, then run `hvkb build`"


class BuildLockedError(KbError):
    hint = "another `hvkb build` is running; wait for it to finish"


class QueryError(KbError):
    """A query that cannot be searched at all (empty, or nothing searchable in it)."""


class InputTooLargeError(KbError):
    """A query or pasted question over the size cap."""

    def __init__(self, message: str, limit: int):
        super().__init__(message)
        self.limit = limit


class UnknownDocumentError(KbError):
    def __init__(self, doc_id: str):
        self.doc_id = doc_id
        super().__init__(f"no article or snippet with id {doc_id!r}",
                         hint="`hvkb list` shows every id")
