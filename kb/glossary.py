"""The glossary: acronyms and synonyms, found in queries and used to widen them.

>>> g = Glossary([GlossaryEntry("IC", ("Integration Services", "Integration Components"))])
>>> [(m.entry.term, m.start, m.end) for m in g.find(["ic", "time", "sync"])]
[('IC', 0, 1)]
>>> g.alternatives(g.find(["integration", "services"])[0])
['ic', 'integration components']
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cached_property

from kb.text import words

MAX_PHRASE_WORDS = 6  # longest glossary phrase looked for in a query
# Acronyms every reader of a Hyper-V forum knows: never spelled out in a draft.
COMMON_ACRONYMS = frozenset("""VM VMS OS CPU IP GB TB MB NIC RAM USB DNS DHCP PC API HTTP HTTPS TCP LAN WAN KB
GUI ISO DVD SQL AD DC IIS SP1 MAC RDP VPN NT IDE SCSI SAN NAS SAS FC HBA LUN IOPS SMB UEFI MBR GPT TPM
AES QOS NAT CLI NTP FQDN WMI HA DR CA MVP RHEL SLES LTS""".split())
_ACRONYM_RE = re.compile(r"^[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*$")   # one token, two or more capitals
# Code spans, links and quoted text (a message or a button as the product writes it) stay as written.
_CODE_OR_LINK_RE = re.compile(r"(`[^`]*`|\[[^\]]*\]\([^)]*\)|\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”)")


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

    @cached_property
    def long_forms(self) -> dict[str, str]:
        """Acronym -> its long form, where an entry has both ("RCT" -> "Resilient Change Tracking").

        A long form is a phrase of the same entry whose words' initials spell the acronym.
        """
        forms: dict[str, str] = {}
        for e in self.entries:
            acronyms = [p for p in e.phrases if _ACRONYM_RE.match(p) and p.upper() not in COMMON_ACRONYMS]
            longs = [p for p in e.phrases if " " in p]
            for a in acronyms:
                for p in longs:
                    if "".join(w[0] for w in re.split(r"[\s-]+", p) if w).lower() == a.lower():
                        forms.setdefault(a, p)
                        break
        return forms

    @cached_property
    def _acronym_re(self) -> re.Pattern:
        """Any acronym of :attr:`long_forms` as a whole word, longest first."""
        names = sorted(self.long_forms, key=len, reverse=True)
        alternation = "|".join(re.escape(a) for a in names) or "(?!)"
        return re.compile(rf"(?<![\w\-/.])({alternation})(?![\w\-])")

    def spell_out(self, text: str, done: set[str] | None = None) -> str:
        """Write each acronym's long form before its first use: "RCT" -> "Resilient Change Tracking (RCT)".

        Code spans, links and quoted text stay as they are; acronyms in ``done`` (updated in place, so
        a draft can pass it from part to part) and those whose long form the text already has are left
        alone, and so is an acronym that stands alone in parentheses: the words before it already say
        it in the text's own way ("locally-redundant (LRS)").

        >>> g = Glossary([GlossaryEntry("RCT", ("Resilient Change Tracking",))])
        >>> g.spell_out("Backups use RCT. RCT is on by default; `Get-VM RCT` is code.")
        'Backups use Resilient Change Tracking (RCT). RCT is on by default; `Get-VM RCT` is code.'
        >>> g.spell_out('The button says "Enable RCT". RCT then runs.')
        'The button says "Enable RCT". Resilient Change Tracking (RCT) then runs.'
        >>> g.spell_out("Use change tracking (RCT); RCT needs 2016.")
        'Use change tracking (RCT); RCT needs 2016.'
        """
        done = set() if done is None else done
        forms = self.long_forms
        lower = text.lower()
        pending = set()
        for acronym, long in forms.items():
            if acronym in done:
                continue
            if long.lower() in lower:
                done.add(acronym)
            elif acronym in text:
                pending.add(acronym)
        if not pending:
            return text

        def expand(m: re.Match) -> str:
            acronym = m.group(1)
            if acronym not in pending:
                return acronym
            pending.discard(acronym)
            done.add(acronym)
            if m.string[m.start() - 1:m.start()] == "(" and m.string[m.end():m.end() + 1] == ")":
                return acronym
            return f"{forms[acronym]} ({acronym})"

        parts = _CODE_OR_LINK_RE.split(text)
        for i in range(0, len(parts), 2):           # even parts: prose; odd parts: code and links
            parts[i] = self._acronym_re.sub(expand, parts[i])
        return "".join(parts)

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
