"""Semantic similarity between a question and each snippet, from static word vectors (optional).

With the ``semantic`` extra installed (``pip install "hvkb[semantic]"``: the ``wordllama`` package,
whose 256-dimension vectors ship inside it), the drafter adds three features per candidate: the
cosine similarity of the pasted question to the snippet (title, phrasings and answer), that minus the
best of its pool, and its lead over the best other (for the confidence only); the question's nearest
snippets also join the candidates. They catch a problem told in other words than the snippet's ("enhanced mode grey
out" for "Enhanced Session ... Linux guests"). Without the package, or with ``HVKB_SEMANTIC=off``, the
drafter runs on its lexical features and the weights trained without these.

Static vectors cost little: every snippet of the shipped KB is embedded in about 10 ms when an index
is first used (kept on the opened index, so nothing is stored at build time), a question in well under
a millisecond. Nothing is ever downloaded: the model is loaded from the package's own folder.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

FEATURES = ("sem", "sem_rel", "sem_lead")   # "sem_lead" feeds the confidence model only (kb.features.LEAD)
CONFIDENCE_ONLY = ("sem_lead",)
MAX_CHARS = 1500          # the paste is embedded by its first characters, like the vectors were fitted
ENV = "HVKB_SEMANTIC"     # "off" turns the semantic features off even when the package is installed

_lock = threading.Lock()


def enabled() -> bool:
    """Whether semantic features are on: the extra installed and not turned off by ``HVKB_SEMANTIC``."""
    if os.environ.get(ENV, "").strip().lower() in ("0", "off", "no", "false"):
        return False
    return _model() is not None


@lru_cache(maxsize=1)
def _model():
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError:
        return None
    try:
        # The package looks for its tokenizer under ``tokenizer/`` but ships it under ``tokenizers/``;
        # pointing its cache at the package folder finds both files there, and downloads stay off.
        return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    except (OSError, ValueError, RuntimeError):
        return None


def embed(texts: list[str]):
    """Unit-length vectors (a numpy array, one row per text)."""
    import numpy as np

    model = _model()
    if model is None:
        raise RuntimeError("semantic features need the wordllama package: pip install \"hvkb[semantic]\"")
    with _lock:  # the tokenizer is shared; embedding is fast enough that callers never wait long
        vectors = np.asarray(model.embed([t[:MAX_CHARS] for t in texts]), dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)


def snippet_text(snippet) -> str:
    """What a snippet is embedded by: its title, its question phrasings and its answer."""
    return f"{snippet.title}. {' '.join(snippet.questions)} {snippet.answer}"


class SnippetVectors:
    """Every snippet's vector, computed once per opened index."""

    def __init__(self, corpus):
        self.ids = sorted(corpus.snippets)
        self.row = {sid: i for i, sid in enumerate(self.ids)}
        self.matrix = embed([snippet_text(corpus.snippets[sid]) for sid in self.ids]) if self.ids else None

    def similarities(self, question: str, ids: list[str] | None = None) -> dict[str, float]:
        """Cosine similarity of ``question`` to each of ``ids`` (default: every snippet; unknown ids get 0)."""
        if ids is None:
            ids = self.ids
        if self.matrix is None or not ids:
            return {sid: 0.0 for sid in ids}
        sims = self.matrix @ embed([question])[0]
        return {sid: float(sims[self.row[sid]]) if sid in self.row else 0.0 for sid in ids}


def snippet_vectors(kb_index) -> SnippetVectors:
    """The opened index's snippet vectors (two threads racing on first use both compute the same)."""
    v = getattr(kb_index, "_snippet_vectors", None)
    if v is None:
        v = kb_index._snippet_vectors = SnippetVectors(kb_index.corpus)
    return v
