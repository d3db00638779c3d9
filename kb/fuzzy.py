"""rapidfuzz look-ups: typo correction against the corpus vocabulary, and "did you mean" titles."""
from __future__ import annotations

from kb.text import is_identifier, words

# Below this WRatio, a title "match" is mostly coincidence (measured on the shipped titles).
MIN_FUZZY_SCORE = 85
# Words shorter than this are not corrected: too many real words lie one edit apart.
MIN_CORRECTABLE_LEN = 4
# Word caches (this speller's, the stemmer's) keep no longer words: real words and identifiers are
# far shorter, and unique 1,990-character "words" grew a server to 548 MB through two caches.
MAX_CACHED_WORD_CHARS = 64
# Distinct words whose correction is kept per opened index; later new words are looked up each time.
MAX_CACHED_CORRECTIONS = 20_000


def max_edits(word: str) -> int:
    """Edits allowed when correcting a word: 1 up to five letters, 2 beyond."""
    return 1 if len(word) <= 5 else 2


class Speller:
    """Corrects typed words to corpus words. Identifiers (versions, codes, cmdlets) are never touched."""

    def __init__(self, vocab: dict[str, int], corpus=None):
        self.vocab = vocab
        # Only plain alphabetic words are candidates; built once per opened index.
        self._choices = [w for w in vocab if w.isalpha() and len(w) >= 3]
        self._cache: dict[str, str | None] = {}
        self._titles: list[str] = []
        if corpus is not None:
            self._titles = [a.title for a in corpus.articles.values()]

    def known(self, word: str) -> bool:
        return word in self.vocab

    def correct(self, word: str) -> str | None:
        """Return the corpus word closest to an unknown ``word``, or ``None`` to leave it as typed.

        >>> Speller({"quorum": 9, "witness": 4}).correct("quorom")
        'quorum'
        >>> Speller({"2012": 3, "2016": 5}).correct("2013") is None
        True
        """
        if word in self._cache:
            return self._cache[word]
        result = None
        if (len(word) >= MIN_CORRECTABLE_LEN and word.isalpha() and not is_identifier(word)
                and word not in self.vocab):
            from rapidfuzz import process  # loaded on the first unknown word: a CLI search of known words skips it
            from rapidfuzz.distance import Levenshtein

            limit = max_edits(word)
            found = process.extract(word, self._choices, scorer=Levenshtein.distance,
                                    score_cutoff=limit, limit=8)
            if found:
                # Fewest edits first, then the word more documents use, then alphabetical order.
                found.sort(key=lambda f: (f[1], -self.vocab.get(f[0], 0), f[0]))
                result = found[0][0]
        if len(word) <= MAX_CACHED_WORD_CHARS and len(self._cache) < MAX_CACHED_CORRECTIONS:
            self._cache[word] = result
        return result

    def corrections(self, query: str) -> dict[str, str]:
        """Map each correctable typed word of ``query`` to its correction."""
        out = {}
        for w in words(query):
            c = self.correct(w)
            if c:
                out[w] = c
        return out

    def similar_title(self, query: str) -> str | None:
        """The article title most like ``query``, if any is close enough to suggest."""
        if not self._titles or not query.strip():
            return None
        from rapidfuzz import fuzz, process, utils

        best = process.extractOne(query, self._titles, scorer=fuzz.WRatio, processor=utils.default_process,
                                  score_cutoff=MIN_FUZZY_SCORE)
        return best[0] if best else None
