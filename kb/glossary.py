"""The glossary: acronyms and synonyms, found in queries and used to widen them.

>>> g = Glossary([GlossaryEntry("IC", ("Integration Services", "Integration Components"))])
>>> [(m.entry.term, m.start, m.end) for m in g.find(["ic", "time", "sync"])]
[('IC', 0, 1)]
>>> g.alternatives(g.find(["integration", "services"])[0])
['ic', 'integration components']
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from kb.text import words

MAX_PHRASE_WORDS = 6  # longest glossary phrase looked for in a query


@dataclass(frozen=True)
class GlossaryEntry:
    term: str
    synonyms: tuple[str, ...] = ()
    definition: str = ""
    expand: bool = True  # False: shown to users, never used to widen a search (too generic)

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.term, *self.synonyms)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["synonyms"] = list(self.synonyms)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GlossaryEntry":
        return cls(d["term"], tuple(d.get("synonyms", ())), d.get("definition", ""), d.get("expand", True))


@dataclass(frozen=True)
class GlossaryMatch:
    entry: GlossaryEntry
    start: int          # word positions in the query, end exclusive
    end: int
    phrase: str         # the normalized phrase that matched


class Glossary:
    def __init__(self, entries: list[GlossaryEntry]):
        self.entries = list(entries)
        # normalized phrase ("integration services") -> entry; built once per corpus.
        self._by_phrase: dict[tuple[str, ...], GlossaryEntry] = {}
        for e in self.entries:
            for p in e.phrases:
                key = tuple(words(p))
                if key:
                    self._by_phrase.setdefault(key, e)

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, phrase: str) -> GlossaryEntry | None:
        return self._by_phrase.get(tuple(words(phrase)))

    def find(self, query_words: list[str]) -> list[GlossaryMatch]:
        """Longest-first, non-overlapping glossary phrases in a list of lowercase words."""
        out: list[GlossaryMatch] = []
        i, n = 0, len(query_words)
        while i < n:
            for size in range(min(MAX_PHRASE_WORDS, n - i), 0, -1):
                key = tuple(query_words[i:i + size])
                entry = self._by_phrase.get(key)
                if entry is not None:
                    out.append(GlossaryMatch(entry, i, i + size, " ".join(key)))
                    i += size
                    break
            else:
                i += 1
        return out

    def alternatives(self, match: GlossaryMatch) -> list[str]:
        """The entry's other phrases (normalized), for widening a query; none if ``expand`` is off."""
        if not match.entry.expand:
            return []
        seen = {match.phrase}
        out = []
        for p in match.entry.phrases:
            norm = " ".join(words(p))
            if norm and norm not in seen:
                seen.add(norm)
                out.append(norm)
        return out
