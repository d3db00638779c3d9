"""hvkb: a Hyper-V knowledge base and forum-answer assistant.

Data flows one way: content files -> :func:`load_corpus` -> :func:`build_index` ->
:func:`open_index` / :func:`search` -> :func:`answer_question` (focus, retrieval, features, ranker,
compose). Heavy modules load on first use so
``import kb`` stays cheap for the CLI.
"""
from __future__ import annotations

from kb.errors import (ContentError, ContentValidationError, IndexCorruptError, IndexMissingError,
                       IndexStaleError, InputTooLargeError, KbError, QueryError, UnknownDocumentError)
from kb.settings import Settings

__version__ = "0.1.0"

_LAZY = {
    "load_corpus": ("kb.content", "load_corpus"),
    "check_content": ("kb.content", "check_content"),
    "Corpus": ("kb.content", "Corpus"),
    "build_index": ("kb.index", "build_index"),
    "open_index": ("kb.index", "open_index"),
    "ensure_index": ("kb.index", "ensure_index"),
    "KbIndex": ("kb.index", "KbIndex"),
    "search": ("kb.searching", "search"),
    "Hit": ("kb.searching", "Hit"),
    "SearchResult": ("kb.searching", "SearchResult"),
    "decide": ("kb.answer", "decide"),
    "answer_question": ("kb.answer", "answer_question"),
    "Draft": ("kb.answer", "Draft"),
}

__all__ = ["ContentError", "ContentValidationError", "IndexCorruptError", "IndexMissingError", "IndexStaleError",
           "InputTooLargeError", "KbError", "QueryError", "Settings", "UnknownDocumentError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kb' has no attribute {name!r}")
