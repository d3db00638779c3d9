"""Plain-text helpers shared by indexing, search, content checks and drafting: tokens, identifiers,
slugs, sentences.

No search-engine imports here: ``kb.index`` wraps :func:`tokens` in a whoosh tokenizer.

>>> [t.text for t in tokens("Set-VMProcessor on Hyper-V 2012 R2 (Gen 2), 0x80070005")]
['set-vmprocessor', 'set', 'vmprocessor', 'setvmprocessor', 'on', 'hyper-v', 'hyper', 'v', 'hyperv', '2012r2', 'gen2', '0x80070005']
"""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# One alternation, most specific first: generations and R2 releases become single tokens so
# "Gen 1" never matches "Gen 2" and "2012 R2" never matches "2012".
_TOKEN_RE = re.compile(
    r"(?P<gen>\bgen(?:eration)?[\s-]?(?P<genno>[12])\b)"
    r"|(?P<r2>\b(?P<r2year>2008|2012)[\s-]?r2\b)"
    r"|(?P<hex>\b0x[0-9a-f]{4,16}\b)"
    r"|(?P<kb>\bkb\s?(?P<kbno>\d{5,8})\b)"
    r"|(?P<compound>\w+(?:[-.]\w+)+)"
    r"|(?P<word>\w+)",
    re.IGNORECASE,
)
_HAS_DIGIT = re.compile(r"\d")
_LINE_BREAKS = re.compile(r"[\n\t]")


class Token(NamedTuple):
    """One token; a named tuple because a build makes millions of them (cheaper than a dataclass)."""
    text: str       # lowercase token text
    start: int      # character offsets in the original string
    end: int
    variant: bool = False  # a part or joined form of a compound, at the same position


def normalize(text: str) -> str:
    """Fold Unicode compatibility forms and drop control characters (NUL and friends)."""
    text = unicodedata.normalize("NFKC", text)
    # Nearly every text is printable apart from its newlines and tabs: checked in C, returned as is.
    if all(part.isprintable() for part in _LINE_BREAKS.split(text)):
        return text
    return "".join(ch if (ch.isprintable() or ch in "\n\t") else " " for ch in text)


def tokens(text: str) -> list[Token]:
    """Split text into lowercase tokens; compounds (``Hyper-V``) yield whole, parts, and joined."""
    out: list[Token] = []
    append = out.append
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup  # the outer named group: each closes after the groups inside it
        s, e = m.span()
        if kind == "word":
            w = m.group().lower()
            if w.strip("_"):
                append(Token(w.strip("_"), s, e))
        elif kind == "compound":
            whole = m.group().lower().strip("._-")
            parts = [p for p in re.split(r"[-._]", whole) if p]
            append(Token(whole, s, e))
            if len(parts) > 1:
                out.extend(Token(p, s, e, True) for p in parts)
                joined = "".join(parts)
                # A dotted number ("2.7.5") joined is noise; a joined word ("hyperv") is how people type it.
                if not joined.isdigit():
                    append(Token(joined, s, e, True))
        elif kind == "gen":
            append(Token("gen" + m.group("genno"), s, e))
        elif kind == "r2":
            append(Token(m.group("r2year") + "r2", s, e))
        elif kind == "kb":
            append(Token("kb" + m.group("kbno"), s, e))
        else:  # hex
            append(Token(m.group().lower(), s, e))
    return out


def words(text: str) -> list[str]:
    """Lowercase primary tokens only (no compound parts): what a person typed."""
    return [t.text for t in tokens(text) if not t.variant]


def is_identifier(token: str) -> bool:
    """Tokens that must never be fuzzed or stemmed: anything with a digit, hyphen or dot."""
    return bool(_HAS_DIGIT.search(token)) or "-" in token or "." in token


def slugify(text: str) -> str:
    """Make a heading anchor.

    >>> slugify("What changed in Windows Server 2012 R2?")
    'what-changed-in-windows-server-2012-r2'
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Where one sentence of written prose (an answer, not a paste) ends and the next begins.
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"])")
# A Markdown line that is a list item, table row, code fence or heading: not prose to split in sentences.
BLOCK_LINE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|\||```|#)")


def has_blocks(markdown: str) -> bool:
    r"""Whether Markdown has lists, tables, code fences or headings, whose sentences must not move.

    >>> has_blocks("Yes. Run it."), has_blocks("Yes.\n\n- Run it.")
    (False, True)
    """
    return any(BLOCK_LINE.match(line) for line in markdown.splitlines())


def sentences(text: str) -> list[str]:
    """The sentences of a paragraph of prose, whitespace folded.

    >>> sentences("Yes. Turn it on\\nwith the VM off. (Then restart it.)")
    ['Yes.', 'Turn it on with the VM off.', '(Then restart it.)']
    """
    folded = " ".join(text.split())
    return SENTENCE_BREAK.split(folded) if folded else []
