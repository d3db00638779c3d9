"""The opened index of a running app: reopened when a new build is swapped in, checked for damage,
and rebuilt in the background when it is damaged or the content changes."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flask import after_this_request, current_app, g

import kb
from kb.content import content_hash
from kb.errors import IndexCorruptError, IndexStaleError, KbError
from kb.index import KbIndex, check_fresh, ensure_index, open_fallback, open_index, point_current, read_current

log = logging.getLogger(__name__)

# How often the content folder is hashed to notice edits (7 ms for the shipped 2.4 MB KB), in a
# background thread; None turns the watch off.
WATCH_SECONDS = 5.0
# A rebuild that failed (broken content, full disk) is retried when the content changes again, or
# after this long: a full disk must not cost a build every few seconds.
RETRY_SECONDS = 60.0
# A background build runs as `hvkb build` in its own process: it neither holds the server's GIL
# for seconds nor leaves the server with a build's peak memory. A 10k-document KB builds in ~1 min.
BUILD_TIMEOUT_SECONDS = 30 * 60


class KbHolder:
    """Hands out the live :class:`KbIndex`; notices a rebuilt, damaged or outdated index without a restart.

    The first :meth:`get` opens (building if needed) the index. Every call stats the files of the
    build being served; at most once every ``recheck_seconds`` a call also opens the new build
    when ``CURRENT`` changed; at most once every ``watch_seconds`` a background thread hashes the
    content and rebuilds (``hvkb build`` in a child process) when it changed. A damaged build is
    dropped at once: the previous good build is served while a background rebuild runs, or, when
    there is none, requests get a 503 saying so. A request keeps the object it got, so requests in
    flight finish on the old build.
    """

    def __init__(self, content_dir: str | Path, index_dir: str | Path, recheck_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, watch_seconds: float | None = WATCH_SECONDS,
                 retry_seconds: float = RETRY_SECONDS):
        self.content_dir = Path(content_dir)
        self.index_dir = Path(index_dir)
        self.recheck_seconds = recheck_seconds
        self.watch_seconds = watch_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._index: KbIndex | None = None
        self._build: str | None = None
        self._checked = 0.0
        self._watched = 0.0
        self._error: KbError | None = None  # why the first open failed; retried after recheck_seconds
        self._damage: str | None = None     # why the live build was dropped, until a good one is served
        self._stale: str | None = None      # why the index served is older than the content
        self._failed: tuple[str, float, str] | None = None  # (content hash, when, why) of the last failed rebuild
        self._unopenable: str | None = None  # a new build that failed to open: not retried every recheck
        self._worker: threading.Thread | None = None

    @property
    def build(self) -> str | None:
        """Name of the build currently handed out (``None`` before the first request)."""
        return self._build

    @property
    def stale(self) -> str | None:
        """Why the index handed out is older than the content or a fallback, ``None`` when it is current."""
        return self._stale

    def status(self) -> dict:
        """The holder's state, for a health check: build, stale, damaged, rebuilding."""
        return {"build": self._build, "stale": self._stale, "damaged": self._damage, "rebuilding": self._rebuilding()}

    def get(self) -> KbIndex:
        """Return the live index.

        :raises KbError: no usable index and it cannot be built (e.g. the content does not validate),
            or the live build is damaged and nothing good is left while it is rebuilt.
        """
        index = self._index
        if index is not None and self._clock() - self._checked < self.recheck_seconds:
            try:
                index.check_files()  # a few stat calls (~12 us): never hand out a build known to be damaged
                return index
            except IndexCorruptError:
                self.suspect()
        with self._lock:
            if self._index is None and self._damage is None:
                self._open_first()
            elif self._clock() - self._checked >= self.recheck_seconds:
                self._checked = self._clock()
                self._reopen_if_rebuilt()
                self._check_damage()
            self._watch_content()
            if self._index is None:
                raise self._unavailable()
            return self._index

    def suspect(self) -> None:
        """Check the index on the next :meth:`get` (a request served from it failed)."""
        self._checked = float("-inf")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background rebuild or content check; ``True`` when none is running any more."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return not self._rebuilding()

    # ------------------------------------------------------------------ opening and reopening

    def _open_first(self) -> None:
        # Broken content would otherwise be re-read on every request: fail fast for a while.
        if self._error is not None and self._clock() - self._checked < self.recheck_seconds:
            raise self._error
        self._checked = self._watched = self._clock()
        notes: list[str] = []
        try:
            self._index = ensure_index(self.content_dir, self.index_dir, on_build=notes.append)
        except KbError as exc:
            self._error = exc
            raise
        self._error = None
        self._build = self._index.path.name
        try:
            check_fresh(self._index, self.content_dir)
        except IndexStaleError as exc:  # the rebuild failed: ensure_index kept an older index
            self._stale = notes[-1] if notes else str(exc)
            self._failed = (content_hash(self.content_dir), self._clock(), self._stale)
            log.warning("serving a stale index %s: %s", self._build, self._stale)

    def _reopen_if_rebuilt(self) -> None:
        current = read_current(self.index_dir)
        if current is None or current in (self._build, self._unopenable):
            return
        try:
            fresh = open_index(self.index_dir)
        except KbError as exc:
            # A damaged new build must not take the site down: keep serving the last good one.
            log.warning("keeping index %s: cannot open new build %s: %s", self._build, current, exc)
            self._unopenable = current
            return
        # No close() of the old index: requests in flight may still be searching it.
        self._serve(fresh)
        log.info("opened rebuilt index %s", self._build)

    def _serve(self, fresh: KbIndex, stale: str | None = None) -> None:
        self._index, self._build = fresh, fresh.path.name
        self._stale = stale
        if stale is None:
            self._damage = None

    def _check_damage(self) -> None:
        if self._index is None:  # already dropped: _watch_content retries the rebuild
            return
        try:
            self._index.check_files()
        except IndexCorruptError as exc:
            self._drop(exc)

    def _drop(self, exc: IndexCorruptError) -> None:
        """Stop serving a damaged build: serve the previous good one, or nothing, and rebuild."""
        damaged = self._build
        self._damage = str(exc)
        log.error("dropping the damaged index: %s", exc)
        fallback = open_fallback(self.index_dir, exclude={damaged} if damaged else ())
        if fallback is not None:
            # Point CURRENT back at it too: the rebuild then keeps it and removes the damaged one.
            if not point_current(self.index_dir, fallback.path.name):
                self._unopenable = damaged
            self._serve(fallback, stale=f"serving the previous build {fallback.path.name}: {exc}")
            log.warning("serving the previous build %s until the damaged one is rebuilt", fallback.path.name)
        else:
            self._index = None
            self._unopenable = damaged
        self._failed = None
        self._start(self._rebuild, "the index is damaged")

    def _unavailable(self) -> KbError:
        if self._rebuilding():
            return IndexCorruptError(f"{self._damage}; rebuilding it in the background",
                                     hint="try again in a moment")
        why = self._failed[2] if self._failed else "no rebuild has run yet"
        return IndexCorruptError(f"{self._damage}; it cannot be rebuilt: {why}")

    # ------------------------------------------------------------------ background work

    def _rebuilding(self) -> bool:
        worker = self._worker
        return worker is not None and worker.is_alive()

    def _start(self, target: Callable[[str], None], reason: str) -> None:
        if self._rebuilding():
            return
        self._worker = threading.Thread(target=target, args=(reason,), name="hvkb-index", daemon=True)
        self._worker.start()

    def _may_retry(self, digest: str | None) -> bool:
        failed = self._failed
        if failed is None:
            return True
        return (digest is not None and digest != failed[0]) or self._clock() - failed[1] >= self.retry_seconds

    def _watch_content(self) -> None:
        if self._rebuilding() or (self._index is None and self._damage is None):
            return
        interval = self.watch_seconds
        if interval is None:  # no watch: a damaged index is still repaired now and then
            if self._damage is None:
                return
            interval = self.retry_seconds
        if self._clock() - self._watched < interval:
            return
        self._watched = self._clock()
        self._start(self._check_content, "the index is damaged" if self._damage else "the content changed")

    def _check_content(self, reason: str) -> None:
        """Background: hash the content; rebuild when it differs from the index being served."""
        try:
            digest = content_hash(self.content_dir)
        except OSError as exc:
            log.warning("cannot read the content in %s: %s", self.content_dir, exc)
            return
        index = self._index
        if index is not None and digest == index.content_hash and self._damage is None:
            self._stale = None  # e.g. an edit that could not be built was undone
            return
        if self._may_retry(digest):
            self._rebuild(reason, digest)

    def _rebuild(self, reason: str, digest: str | None = None) -> None:
        """Background: build from the content and swap the new build in; on failure keep what is served."""
        log.info("rebuilding the index in the background (%s)", reason)
        try:
            if digest is None:
                digest = content_hash(self.content_dir)
            self._run_build()
            fresh = open_index(self.index_dir)
        except (KbError, OSError, subprocess.SubprocessError) as exc:
            with self._lock:
                self._failed = (digest or "", self._clock(), str(exc))
                if self._index is not None:
                    self._stale = f"the index could not be rebuilt ({reason}): {exc}"
            log.warning("background rebuild failed (%s): %s", reason, exc)
            return
        with self._lock:
            self._serve(fresh)
            self._failed = None
            self._checked = self._clock()
        log.info("rebuilt the index in the background: %s", self._build)

    def _run_build(self) -> None:
        """Run ``hvkb build`` for this holder's folders in a child process.

        :raises KbError: the build failed; its message is the one ``hvkb build`` printed.
        """
        env = dict(os.environ)
        root = str(Path(kb.__file__).resolve().parent.parent)  # the child imports this very kb
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        done = subprocess.run([sys.executable, "-m", "kb.cli", "build", "--content", str(self.content_dir),
                               "--index", str(self.index_dir)], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace", timeout=BUILD_TIMEOUT_SECONDS)
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.strip().splitlines() if not ln.startswith("hint:")]
            if any(ln.startswith("Traceback") for ln in lines):
                lines = lines[-1:]  # an unexpected crash: its last line says what it was
            message = "\n".join(lines).removeprefix("Error: ") or f"hvkb build exited with {done.returncode}"
            raise KbError(message)


def current_kb() -> KbIndex:
    """The index for this request: fetched once, then the same object until the request ends."""
    if "kb" not in g:
        holder = current_app.extensions["kb"]
        g.kb = holder.get()

        @after_this_request
        def _check_after_failure(response):
            if response.status_code >= 500:  # a read may have failed: look at the files on the next request
                holder.suspect()
            return response
    return g.kb
