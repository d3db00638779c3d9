"""The opened index of a running app, reopened when ``hvkb build`` swaps in a new build."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flask import current_app, g

from kb.errors import KbError
from kb.index import KbIndex, ensure_index, open_index, read_current

log = logging.getLogger(__name__)


class KbHolder:
    """Hands out the live :class:`KbIndex`; notices a rebuilt index without a restart.

    The first :meth:`get` opens (building if needed) the index. Later calls look at the index's
    ``CURRENT`` file at most once every ``recheck_seconds`` and open the new build when it
    changed. A request keeps the object it got, so requests in flight finish on the old build.
    """

    def __init__(self, content_dir: str | Path, index_dir: str | Path, recheck_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.content_dir = Path(content_dir)
        self.index_dir = Path(index_dir)
        self.recheck_seconds = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._index: KbIndex | None = None
        self._build: str | None = None
        self._checked = 0.0
        self._error: KbError | None = None  # why the first open failed; retried after recheck_seconds

    @property
    def build(self) -> str | None:
        """Name of the build currently handed out (``None`` before the first request)."""
        return self._build

    def get(self) -> KbIndex:
        """Return the live index.

        :raises KbError: no usable index and it cannot be built (e.g. the content does not validate).
        """
        index = self._index
        if index is not None and self._clock() - self._checked < self.recheck_seconds:
            return index
        with self._lock:
            if self._index is None:
                self._open_first()
            elif self._clock() - self._checked >= self.recheck_seconds:
                self._checked = self._clock()
                self._reopen_if_rebuilt()
            return self._index

    def _open_first(self) -> None:
        # Broken content would otherwise be re-read on every request: fail fast for a while.
        if self._error is not None and self._clock() - self._checked < self.recheck_seconds:
            raise self._error
        self._checked = self._clock()
        try:
            self._index = ensure_index(self.content_dir, self.index_dir)
        except KbError as exc:
            self._error = exc
            raise
        self._error = None
        self._build = self._index.path.name

    def _reopen_if_rebuilt(self) -> None:
        current = read_current(self.index_dir)
        if current is None or current == self._build:
            return
        try:
            fresh = open_index(self.index_dir)
        except KbError as exc:
            # A damaged new build must not take the site down: keep serving the last good one.
            log.warning("keeping index %s: cannot open new build %s: %s", self._build, current, exc)
            return
        # No close() of the old index: requests in flight may still be searching it.
        self._index, self._build = fresh, fresh.path.name
        log.info("opened rebuilt index %s", self._build)


def current_kb() -> KbIndex:
    """The index for this request: fetched once, then the same object until the request ends."""
    if "kb" not in g:
        g.kb = current_app.extensions["kb"].get()
    return g.kb
