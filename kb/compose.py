"""Compose a forum-style draft from the decided answer: one snippet that answers the question (a
second only when the paste asks a second, different question), the conditions that matter, a
version note only where the asker's version changes the answer, clarifying questions only for facts
that would change it, and links a forum reader can open (the articles' public references).

Pure: no I/O. :func:`compose` writes an answer; :func:`compose_abstention` writes the honest
"no confident answer" with the closest articles.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.conditions import condition_fact, known_facts
from kb.content import Corpus, Snippet
from kb.facts import CLARIFYING_QUESTIONS, CLIENT_VERSION_QUESTION, Facts
from kb.features import content_stems
from kb.references import MAX_LINKS, article_links, content_words, hvkb_link, kb_words, public_ids, snippet_references
from kb.text import BLOCK_LINE, SENTENCE_BREAK, has_blocks
from kb.versions import CLIENT, WINDOWS_SERVER, covers, scope_of, server_equivalent, version_rank

MAX_CLARIFYING = 3
# An abstention this sure of its closest snippet gives that snippet's opening sentences (its direct
# answer) under it, as what applies if that is the asker's case: the title alone rarely helps. It was
# 0.25; blind reads of the drafts it changes, each against a control reader of the same drafts without
# the excerpt: at 0.15-0.25, 7 of 13 useful with it against 2 without; at 0.08-0.15, 2 of 18 against
# 0; none wrong either way. It was then 0.08, and is now NAME_FROM's 0.15: below that nothing is named.
GIST_FROM = 0.15
# Below this confidence the abstention names no closest answer at all; the draft's sources still list
# the candidates, with their scores, for the helper (the web page shows them beside the draft). The first
# candidate is right for 44 of 515 cross-validated real drafts under 0.15 (9%; 9 of 225 under 0.08). It
# was 0.08: blind paired reads of 48 drafts at 0.08-0.15 with and without the pointer preferred them
# without 35 times to 13 (with it: 7 useful, 39 weak, 2 wrong; without: 48 honest abstentions). At 0.25
# it would drop 176 pointers of which 38 are right: of 48 read in pairs at 0.15-0.25, the version without
# was preferred only 26 times to 20, and 17 of the 48 pointers were useful (9 of them right by the labels),
# so the threshold stays.
NAME_FROM = 0.15
# ...and from this confidence the abstention offers it as a lead to check: below it, blind readers took
# the lead for an answer and judged it wrong when it was off (2 of 13 drafts at 0.25-0.35, 0 of 7 above).
LEAD_FROM = 0.35
GIST_CHARS = 360
# A lead gives the closest answer whole, less its yes/no verdict (a snippet's answer has at most 120
# words, kb.content's MAX_SNIPPET_WORDS; the longest today is 896 characters). Blind paired reads of
# the 59 real drafts this changed, each reader seeing both versions unlabelled: useful or better 36
# with the whole answer against 26 with the 360-character opening (post-ready 14 against 7, wrong 1
# and 1), preferred 36 times against 15; the cut had dropped the sentence with the fix ("cut-off" in
# 38 of the short drafts).
LEAD_CHARS = 1200


@dataclass
class Source:
    id: str
    title: str
    topic: str
    kind: str
    score: float                     # the model's probability that it answers (0..1)
    section: str | None = None
    url: str | None = None           # a public page to link (the article's first reference)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "topic": self.topic, "kind": self.kind,
                "score": round(self.score, 4), "section": self.section, "url": self.url}


@dataclass
class Draft:
    id: str | None
    answerable: bool
    confidence: float
    draft: str                       # Markdown
    text: str                        # the same draft as plain text
    sources: list[Source]
    clarifying_questions: list[str]
    detected: dict
    topic: str | None = None
    caveats: list[str] = field(default_factory=list)
    focus: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "answerable": self.answerable, "confidence": round(self.confidence, 3),
                "draft": self.draft, "text": self.text, "sources": [s.to_dict() for s in self.sources],
                "clarifying_questions": self.clarifying_questions, "detected": self.detected,
                "topic": self.topic, "caveats": self.caveats, "focus": self.focus}


def describe_versions(applies_to: tuple[str, ...] | list[str]) -> str:
    """Say a version list briefly: "Windows Server 2012 and later", "Windows Server 2008 R2"."""
    ws = [v for v in applies_to if v in WINDOWS_SERVER]
    if ws:
        idx = sorted(WINDOWS_SERVER.index(v) for v in ws)
        contiguous = idx == list(range(idx[0], idx[-1] + 1))
        first = WINDOWS_SERVER[idx[0]]
        if contiguous and idx[-1] == len(WINDOWS_SERVER) - 1 and len(idx) > 1:
            return f"{first} and later"
        if contiguous and len(idx) > 1:
            return f"{first} to {WINDOWS_SERVER[idx[-1]].replace('Windows Server ', '')}"
        if len(idx) == 1:
            return first
    return ", ".join(applies_to)


def version_caveat(facts: Facts, snippet: Snippet, corpus: Corpus) -> str | None:
    """A note when none of the versions the asker names is one the snippet is written for."""
    hosts = [v for v in facts.os_versions if server_equivalent(v)]
    if not hosts or not snippet.applies_to:
        return None
    if any(covers(list(snippet.applies_to), h) for h in hosts):
        return None
    host = hosts[0]
    ranks = [version_rank(v) for v in snippet.applies_to if version_rank(v) is not None]
    direction = ""
    if ranks and version_rank(host) is not None:
        direction = (" Later releases changed this, so check what applies to yours."
                     if version_rank(host) > max(ranks) else
                     " It arrived in a later release than yours.")
    art = corpus.articles.get(snippet.article)
    where = f" See \"{art.title}\" for your version." if art else ""
    return (f"You mention {host}, but this answer is written for {describe_versions(snippet.applies_to)}."
            f"{direction}{where}")


_LINK_URL = re.compile(r"\]\((https?://[^)\s]+)\)")


def unwrap(md: str) -> str:
    r"""Join hard-wrapped paragraph lines (forums keep newlines); lists, tables and code stay as they are.

    >>> unwrap("one\ntwo\n\n- a\n- b")
    'one two\n\n- a\n- b'
    """
    blocks = []
    for block in re.split(r"\n\s*\n", md.strip()):
        lines = block.splitlines()
        if any(BLOCK_LINE.match(ln) for ln in lines):
            blocks.append(block)
        else:
            blocks.append(" ".join(ln.strip() for ln in lines))
    return "\n\n".join(blocks)


def markdown_to_text(md: str) -> str:
    """Plain-text rendering of a draft: links as "title (url)", emphasis and code marks dropped.

    Each line's inline Markdown is parsed by markdown-it (so a link title may hold brackets or code);
    line structure, list markers and blank lines are kept as written, headings lose their ``#``.

    >>> markdown_to_text("See [the [docs] page](https://x.example/a) and **`Get-VM`**.")
    'See the [docs] page (https://x.example/a) and Get-VM.'
    """
    return "\n".join(_inline_text(line) for line in re.sub(r"^#{1,6}\s+", "", md, flags=re.M).split("\n"))


def _inline_text(line: str) -> str:
    from kb.markdown import _parser

    if not line.strip():
        return line
    lead = re.match(r"\s*(?:[-*+]|\d+[.)])\s+", line)  # a list marker stays, not parsed as emphasis
    head, rest = (line[:lead.end()], line[lead.end():]) if lead else ("", line)
    out: list[str] = []
    hrefs: list[str] = []
    for tok in _parser().parseInline(rest)[0].children or []:
        if tok.type in ("text", "code_inline"):
            out.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif tok.type == "link_open":
            hrefs.append(str(tok.attrGet("href") or ""))
        elif tok.type == "link_close" and hrefs:
            href = hrefs.pop()
            if href:
                out.append(f" ({href})")
        elif tok.type == "image":
            out.append(tok.content)
    return head + "".join(out)


_QUOTED_PART = re.compile(r"[\"“]([^\"”]+)[\"”]")
STATED_SHARE = 0.75   # a condition whose content words the paste has at least this share of is stated there


def stated_in(condition: str, question: str) -> bool:
    """Whether the paste already says a snippet's condition holds, so repeating it is padding: its quoted
    message is in the paste ('the error text says "Unable to allocate ... MB of RAM"'), or most of its
    words are.

    >>> stated_in('the error text says "Unable to allocate ... MB of RAM"', "Unable to allocate 2200 MB of RAM")
    True
    >>> stated_in("the guest is a Linux desktop distribution", "my Ubuntu VM has no clipboard")
    False
    """
    have = content_words(question)
    quoted = _QUOTED_PART.findall(condition)
    if quoted:
        return all(kb_words(q.replace("...", " ")) <= have for q in quoted)
    want = kb_words(condition)
    return len(want) >= 2 and len(want & have) >= STATED_SHARE * len(want)


def unstated(conditions, text: str, facts: Facts) -> list[str]:
    """The conditions worth telling the asker: not said in ``text`` (:func:`stated_in`) and not a plain
    fact the question settles the same way ("the VM is generation 2" for a paste about a generation 2 VM)."""
    known = known_facts(facts)

    def settled(condition: str) -> bool:
        fact = condition_fact(condition)
        return fact is not None and known.get(fact[0]) == fact[1]

    return [c for c in conditions if not stated_in(c, text) and not settled(c)]


# Opening verdicts that answer a yes-or-no question and nothing else ("Yes:", "Not by default.", "Very
# likely.", "Usually no."); what follows them stands on its own.
_VERDICT = re.compile(r"^(?:(?:Yes|No|Partly|Mostly (?:yes|no)|Not necessarily|Not safely|Not by default|No to both|"
                      r"No to all three|Very likely(?:, yes)?|Yes, that is by design|Sometimes, but do not build on it|"
                      r"Usually (?:no|not)|Rarely|Largely, yes|Not quite|Not cleanly|Not directly|Not in a supported way|"
                      r"Possible, but not recommended|Not Standard)\.\s+|"
                      r"(?:Yes|No|Probably yes|Usually not|Not directly):\s+)(?=\S)")
# "Yes, ..." (and "Yes, but ...", "Yes, and ..."): the rest of the sentence is kept ("Yes, stop the host
# from being ..." -> "Stop the host from being ..."), unless it is a word or two ("Yes, online."), which
# then goes with it. Blind readers marked a "Yes, ..." opening a non sequitur in a draft for "How do we
# resolve this?" and in leads whose snippet answered another question; shown 92 pointers with and
# without it, they preferred them without 68 times and never with (24 the same), and graded 4 with it
# wrong. "No, ..." is kept in an answer ("No, the generation cannot be changed" still answers "how do I
# change it?") and goes from a pointer, whose snippet answers another question, even under a title that
# is the yes-or-no question it answers (23 such pointers read both ways: preferred without 14 times to
# 5, and 5 graded wrong with it: the asker read "No." as the answer to their own question).
_YES_COMMA = re.compile(r"^Yes, (?:(but|and) )?(?=\S)")
_NO_COMMA = re.compile(r"^No, (?=\S)")
_SHORT_REST = re.compile(r"^(?:\S+ ?){1,2}[.:;]\s+(?=\S)")
# In an answer, what is left of "Yes, ..." that opens as a condition, not a sentence ("Yes, as long as
# every node uses the same CPU manufacturer"), says what the condition is for: "It works as long as ...".
# Not in a pointer: read blind in pairs (51 pointers), "It works" was preferred 9 times to 5 (37 the same),
# but 4 of the 5 read it as a yes to the asker's own question where the answer is no.
_CONDITION = re.compile(r"^(?:as|with|without|from|for|if|once|on|in|per|through|within|whenever|when|provided|"
                        r"one|online|offline|only|after|until|by)\b")


def drop_verdict(answer: str, pointer: bool = False) -> str:
    """An answer without its opening verdict ("Yes." / "No:" / "Not by default." / "Yes, ..."), for a
    paste that asks no yes-or-no question ("Enhanced session does not work on Manjaro"), where the verdict
    reads as a non sequitur. ``pointer``: the answer is offered for another question, so a "No, ..."
    opening goes too, and a condition left over is not said to make it work.

    >>> drop_verdict("Yes, but the guest must be prepared."), drop_verdict("No, it cannot.")
    ('The guest must be prepared.', 'No, it cannot.')
    >>> drop_verdict("Yes: add them to the group."), drop_verdict("Not by default. Only the storage tests do.")
    ('Add them to the group.', 'Only the storage tests do.')
    >>> drop_verdict("Yes, stop the host from syncing it."), drop_verdict("Yes, online: expand the LUN first.")
    ('Stop the host from syncing it.', 'Expand the LUN first.')
    >>> drop_verdict("Yes, as long as the CPUs match."), drop_verdict("Yes, but offline and as a copy.")
    ('It works as long as the CPUs match.', 'It works, but offline and as a copy.')
    >>> drop_verdict("Yes, as long as the CPUs match.", pointer=True), drop_verdict("No, do not.", pointer=True)
    ('As long as the CPUs match.', 'Do not.')
    >>> drop_verdict("Usually no. LIS is built into the kernel."), drop_verdict("Not directly: extract the VMDK.")
    ('LIS is built into the kernel.', 'Extract the VMDK.')
    """
    m = _VERDICT.match(answer) or _YES_COMMA.match(answer) or (_NO_COMMA.match(answer) if pointer else None)
    if not m:
        return answer
    rest = answer[m.end():]
    if m.re is not _VERDICT and (short := _SHORT_REST.match(rest)):
        rest = rest[short.end():]
    elif m.re is _YES_COMMA and not pointer and _CONDITION.match(rest):
        return ("It works, but " if m.group(1) == "but" else "It works ") + rest
    return rest[:1].upper() + rest[1:]


# An answer that opens by announcing a list ("Check four things in this order.") needs more of it.
_ANNOUNCES_LIST = re.compile(r"\b(?:two|three|four|five|six|several|these|the following)\b[^.]*"
                             r"\b(?:things|checks|steps|causes|options|ways|reasons|fixes|settings)\b", re.I)


def _most_shared(sentences: dict[int, str], wanted: frozenset[str]) -> tuple[int | None, int]:
    """Of numbered sentences, the one sharing the most content words with ``wanted`` (the earliest on
    ties) and how many it shares; (None, 0) when there are none."""
    shared = {i: len(content_stems(x) & wanted) for i, x in sentences.items()}
    i = min(shared, key=lambda j: (-shared[j], j), default=None)
    return i, (shared[i] if i is not None else 0)


ASK_MATCH = 2      # words a later sentence must share with the question (beyond the opening's) to be added
ASK_CHARS = 240    # ...and at most this long


def gist(answer: str, max_chars: int = GIST_CHARS, question: str = "") -> str:
    """An answer's opening sentences up to ``max_chars`` (at least the first; twice as many when it opens
    by announcing a list), without its yes/no verdict, which would answer a question the asker may not
    have asked; "…" where the answer goes on. With ``question``, also the later sentence that shares the
    most words with it (ASK_MATCH or more beyond the first sentence's), when one fits in ASK_CHARS: the part of
    the answer about what the asker said ("the physical switch port must be a trunk").

    >>> gist("Yes. Turn it on with the VM off. It then works on every host. More detail here.", 40)
    'Turn it on with the VM off. …'
    >>> gist("Short answer.")
    'Short answer.'
    >>> gist("Install xrdp in the guest. Then reboot it. The console resolution is set with Set-VMVideo.",
    ...      30, "enhanced session works but the console resolution is small")
    'Install xrdp in the guest. … The console resolution is set with Set-VMVideo.'
    """
    sentences = SENTENCE_BREAK.split(drop_verdict(unwrap(answer).strip(), pointer=True))
    if _ANNOUNCES_LIST.search(sentences[0]):
        max_chars *= 2
    length, used = len(sentences[0]), 1
    for sentence in sentences[1:]:
        if length + 1 + len(sentence) > max_chars:
            break
        length += 1 + len(sentence)
        used += 1
    out, rest = sentences[:used], sentences[used:]
    if question and rest:
        asked = content_stems(question) - content_stems(sentences[0])
        i, n = _most_shared({i: x for i, x in enumerate(rest) if len(x) <= ASK_CHARS}, asked)
        if i is not None and n >= ASK_MATCH:
            out += (["…"] if i > 0 else []) + [rest[i]]
            rest = rest[i + 1:]
    return " ".join(out + (["…"] if rest else []))


def without_asides(answer: str, asides: tuple[str, ...], question: str) -> str:
    """The answer less its asides (:attr:`kb.content.Snippet.asides`: sentences that answer a side
    question), except an aside the question is about: one that shares ASK_MATCH or more content words
    with it that the rest of the answer does not have. Blind readers marked side paragraphs as padding
    in 10 of 13 real drafts shown as answers; shown 7 such drafts with and without their asides, they
    preferred the draft without them 6 times.

    >>> a = "Turn on nested virtualization with the VM off. Dynamic Memory then stops adjusting the VM."
    >>> without_asides(a, ("Dynamic Memory",), "can a VM run Hyper-V inside it?")
    'Turn on nested virtualization with the VM off.'
    >>> without_asides(a, ("Dynamic Memory",), "nested VM: its dynamic memory stays fixed") == a
    True
    """
    if not asides or has_blocks(answer):
        return answer
    core = [x for x in SENTENCE_BREAK.split(answer.strip()) if not x.startswith(asides)]
    asked = content_stems(question) - content_stems(" ".join(core))
    return _keep_sentences(answer, lambda i, x: not x.startswith(asides) or len(content_stems(x) & asked) >= ASK_MATCH)


def _keep_sentences(answer: str, keep) -> str:
    r"""The answer with only the sentences ``keep(i, sentence)`` accepts (``i`` counts sentences across
    paragraphs, from 0), its paragraph breaks kept and emptied paragraphs gone; the answer itself when
    every sentence is kept.

    >>> _keep_sentences("One. Two.\n\nThree. Four.", lambda i, x: i != 2)
    'One. Two.\n\nFour.'
    """
    out, i, dropped = [], 0, False
    for paragraph in answer.strip().split("\n\n"):
        kept = []
        for sentence in SENTENCE_BREAK.split(paragraph.strip()):
            if keep(i, sentence):
                kept.append(sentence)
            else:
                dropped = True
            i += 1
        if kept:
            out.append(" ".join(kept))
    return "\n\n".join(out) if dropped else answer


def for_versions(answer: str, versions: list[str]) -> str:
    """The answer without its sentences about releases the asker does not run: one that opens with
    "On Windows Server 2012 R2 hosts ..." (:func:`kb.versions.scope_of`) is left out when every
    version the paste names is another (blind readers marked such a sentence as padding for a
    Windows 10 host). The opening sentence always stays; with no version named, or an answer with
    lists or code blocks, nothing changes. A PC's Windows 10 or 11 is outside a scope that ends
    before Windows Server 2016; Windows 8 and Azure are judged in no scope.

    >>> a = "Use the UEFI CA template. On Windows Server 2012 R2 hosts it does not exist: turn Secure Boot off."
    >>> for_versions(a, ["Windows 10"]), for_versions(a, ["Windows Server 2012 R2", "Windows 10"]) == a
    ('Use the UEFI CA template.', True)
    >>> for_versions(a, []) == a
    True
    """
    if not versions or has_blocks(answer):
        return answer
    modern = WINDOWS_SERVER.index("Windows Server 2016")

    def runs(version: str, scope: list[str]) -> bool:
        server = server_equivalent(version)
        if server:
            return server in scope
        if version in ("Windows 10", "Windows 11"):
            return WINDOWS_SERVER.index(scope[-1]) >= modern
        return True

    def keep(i: int, sentence: str) -> bool:
        return i == 0 or not (scope := scope_of(sentence)) or any(runs(v, scope) for v in versions)

    return _keep_sentences(answer, keep)


ERROR_MATCH = 2   # words a sentence must share with a failed command's message to be about that error


def error_first(answer: str, failed: dict[str, str] | None) -> str:
    """The answer led by its sentence about the asker's error, when the paste shows the command the
    answer opens with failing (``failed``: cmdlet -> message, from :func:`kb.focus.failed_commands`): the
    asker has run that step, so the cause of its error is the answer. The sentences before it (the failed
    step and what follows that step: "A restart is always required", which blind readers found dangling
    without it) and any that give the failed command again are left out (readers marked them as a step
    already tried). Unchanged otherwise, and for an answer with lists or code blocks, whose sentences do
    not move.

    >>> a = "Run `Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V`. Restart after it. " \\
    ...     "An \\"unknown feature\\" error means a Home edition. Upgrade it first."
    >>> error_first(a, {"Enable-WindowsOptionalFeature": "Feature name Microsoft-Hyper-V is unknown."})
    'An "unknown feature" error means a Home edition. Upgrade it first.'
    >>> error_first(a, {"Set-VMProcessor": "Failed to modify device 'Processor'."}) == a
    True
    """
    if not failed or has_blocks(answer):
        return answer
    sentences = SENTENCE_BREAK.split(answer.strip())
    if len(sentences) < 2 or not any(c.lower() in sentences[0].lower() for c in failed):
        return answer
    i, n = _most_shared(dict(enumerate(sentences[1:], 1)), content_stems(" ".join(failed.values())))
    if n < ERROR_MATCH:
        return answer
    ran = [c.lower() for c in failed]
    rest = [x for x in sentences[i + 1:] if not any(c in x.lower() for c in ran)]
    return " ".join([sentences[i]] + rest)


QUOTE_MIN = 12    # characters of a quoted output line or message that the paste must contain verbatim
_QUOTED = re.compile(r'"([^"]{%d,})"' % QUOTE_MIN)
# What the asker saw reads as output ("Enabled In Firmware: No") or a message ("A hypervisor has been
# detected"); a quoted setting or template name ("Microsoft UEFI Certificate Authority") is what they chose,
# and the sentence naming it is the step they have already taken, not their case.
_SEEN = re.compile(r":|\b(?:is|are|was|were|has|have|been|cannot|could|failed|not|no)\b", re.I)


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


# Words by which a sentence points at the sentences before it: cut from them, it names nothing.
_BACK_REFERENCE = re.compile(r"\b(?:these|those|the above|of them|either of)\b", re.I)


def quote_first(answer: str, paste: str) -> str:
    """The answer from its first sentence that quotes what the paste shows (an output line or a message
    the answer tells the asker to look for: "Enabled In Firmware: No"), when the sentences before it
    quote nothing the paste has: those are the check the asker has already run, and the quoted case is
    theirs. Unchanged otherwise, for an answer with lists or code blocks, and when that sentence points
    back at the ones before it ('"Access denied" means one of these is missing.'): alone, it names
    nothing.

    >>> a = 'Run `systeminfo` and read its last block. "Enabled In Firmware: No" is fixed in the firmware setup.'
    >>> quote_first(a, "systeminfo says Virtualization Enabled In Firmware: No")
    '"Enabled In Firmware: No" is fixed in the firmware setup.'
    >>> quote_first(a, "Hyper-V will not install") == a
    True
    >>> c = 'Give the host Read on the share and use its UNC path. "Access is denied" means one of these is missing.'
    >>> quote_first(c, "Attaching the ISO fails: Access is denied") == c
    True
    >>> b = 'Generation 2 defaults to another template. Set it to "Microsoft UEFI Certificate Authority" then.'
    >>> quote_first(b, "Debian VM, template Microsoft UEFI Certificate Authority, will not boot") == b
    True
    """
    if not paste or '"' not in answer or has_blocks(answer):
        return answer
    shown = _squash(paste)
    sentences = SENTENCE_BREAK.split(answer.strip())

    def quotes_paste(sentence: str) -> bool:
        return any(_SEEN.search(q) and _squash(q).rstrip(".") in shown for q in _QUOTED.findall(sentence))

    i = next((i for i, x in enumerate(sentences) if quotes_paste(x)), 0)
    return " ".join(sentences[i:]) if i > 0 and not _BACK_REFERENCE.search(sentences[i]) else answer


def _clarifying(needs: list[str], facts: Facts, snippets=()) -> list[str]:
    """What to ask: the deciding facts the paste does not give; the version question in a PC's terms
    when every answer given holds only on Windows 10 or 11."""
    client = bool(snippets) and all(s.applies_to and set(s.applies_to) <= set(CLIENT) for s in snippets)
    out = [(CLIENT_VERSION_QUESTION if n == "os_version" and client else CLARIFYING_QUESTIONS[n])
           for n in dict.fromkeys(needs) if n in CLARIFYING_QUESTIONS and not facts.has(n)]
    return out[:MAX_CLARIFYING]


def compose(question_id: str | None, snippets: list[Snippet], confidence: float, facts: Facts, needs: list[str],
            sources: list[Source], corpus: Corpus, base_url: str = "", detected: dict | None = None,
            focus: dict | None = None, question: str = "", yes_no: bool = True, paste: str = "") -> Draft:
    """The draft for a decided answer: ``snippets[0]`` answers; ``snippets[1]``, when given, answers
    the paste's second question. ``yes_no``: the paste asks a yes-or-no question (else an answer's
    opening verdict is dropped). ``paste``: the whole cleaned question, where a condition may already be
    stated (``question`` is its focus)."""
    best = snippets[0]
    spelled: set[str] = set()   # acronyms already written out in full once

    def prose(text: str) -> str:
        return corpus.glossary.spell_out(public_ids(unwrap(text), corpus, base_url), spelled)

    failed = (focus or {}).get("failed")
    asked = paste or question

    def focused(sn: Snippet) -> str:
        return for_versions(without_asides(unwrap(sn.answer), sn.asides, asked), facts.os_versions)

    answer = focused(best)
    md: list[str] = ["Hi,", "", prose(quote_first(error_first(answer if yes_no else drop_verdict(answer), failed),
                                                  paste))]
    for extra in snippets[1:]:
        md += ["", f"**On your other question ({extra.title.rstrip('?')}):** " + prose(focused(extra))]
    conditions = unstated(best.conditions, paste or question, facts)
    if conditions:
        md += ["", "**This holds when:**"] + [f"- {c}" for c in conditions]
    caveats = [c for c in (version_caveat(facts, s, corpus) for s in snippets) if c]
    caveats = list(dict.fromkeys(caveats))
    if caveats:
        md += ["", "**Version note:** " + " ".join(caveats)]
    clarifying = _clarifying(needs, facts, snippets)
    if clarifying:
        md += ["", "To be sure this fits your setup, could you tell us:"] + [f"- {q}" for q in clarifying]
    articles = [corpus.articles[a] for a in dict.fromkeys(s.article for s in snippets) if a in corpus.articles]
    links = article_links(articles, base_url, question, snippets, corpus)
    if links:
        md += ["", "Further reading:"] + links
    md += ["", "Hope this helps."]
    markdown = "\n".join(md).strip() + "\n"
    return Draft(question_id, True, confidence, markdown, markdown_to_text(markdown), sources, clarifying,
                 detected or facts.to_dict(), best.topic, caveats, focus or {})


def compose_abstention(question_id: str | None, confidence: float, reason: str | None, facts: Facts,
                       needs: list[str], sources: list[Source], corpus: Corpus, base_url: str = "",
                       topic: str | None = None, detected: dict | None = None, focus: dict | None = None,
                       question: str = "", ask_error: bool = False, paste: str = "") -> Draft:
    """The honest draft: no confident answer, the closest articles, and what would decide it.
    ``ask_error``: ask for the exact error text (decided by :func:`kb.answer.decide`); ``paste``: the
    whole cleaned question (``question`` is its focus)."""
    why = f" ({reason})" if reason else ""
    other_product = bool(facts.other_hypervisors) and not facts.mentions_hyperv
    seen: list[str] = []
    closest: dict[str, object] = {}   # per article, its closest snippet: named, and picks the reference
    for s in sources:
        art_id = s.id if s.kind == "article" else (corpus.snippets[s.id].article if s.id in corpus.snippets else None)
        if art_id and art_id in corpus.articles and art_id not in seen:
            seen.append(art_id)
        if s.id in corpus.snippets and art_id not in closest:
            closest[art_id] = corpus.snippets[s.id]
    nearest = [corpus.articles[a] for a in seen[:MAX_LINKS]] if confidence >= NAME_FROM and not other_product else []
    # With the closest answer given whole, the draft offers it as a lead to check; with its opening only,
    # as something that may fit ("I would rather not guess" would contradict the excerpt: blind readers
    # marked that wrapper as at odds with it in 5 of 60 drafts); with nothing named, it says so.
    lead = confidence >= LEAD_FROM and any(s.id in corpus.snippets for s in sources)
    if lead:
        md = ["Hi,", "", f"I am not confident the Hyper-V knowledge base covers your exact case{why}, so treat "
                         "what follows as a lead to check against your setup, not as a confirmed answer."]
    elif nearest:
        md = ["Hi,", "", f"I could not find a confident answer to this in the Hyper-V knowledge base{why}, "
                         "so check what follows against your setup before you rely on it."]
    else:
        md = ["Hi,", "", f"I could not find a confident answer to this in the Hyper-V knowledge base{why}, "
                         "so I would rather not guess."]
    clarifying: list[str] = []
    if other_product:
        md += ["", f"This looks like a {', '.join(facts.other_hypervisors)} question; the product's own "
                   "forum or documentation is the better place for it."]
    else:
        if not nearest and seen:
            md += ["", "Nothing in it is close enough to point you to."]
        if nearest:
            # The closest snippet's title says what the nearest answer is about, so a reader can tell at
            # a glance whether it fits; its text is not given as an answer.
            md += ["", "The closest answer I have:" if lead else "The closest I have, in case it fits:"]
            spelled: set[str] = set()
            linked: set[str] = set()   # pages already linked: a second pointer to one is named, not linked again
            for i, art in enumerate(nearest):
                sn = closest.get(art.id)
                about = f"**{sn.title}**" if sn is not None else art.title
                if base_url:
                    link = hvkb_link(base_url, art.id, f"snippet-{sn.id}" if sn is not None else None)
                    item = f"- {about} ([read it]({link}))"
                else:
                    refs = snippet_references(art, sn, question, corpus=corpus) if sn is not None else []
                    refs = [r for r in refs[:1] if r.url not in linked]
                    item = f"- {about} (see [{refs[0].title}]({refs[0].url}))" if refs else f"- {about}"
                if i == 0 and sn is not None and confidence >= GIST_FROM:
                    # A lead keeps its asides: not sure what the asker's case is, the draft gives the whole
                    # answer (blind readers, shown 31 leads with and without them, preferred each 13 and 12
                    # times), while an excerpt's few sentences go to the answer itself (preferred 12 to 3).
                    answer = unwrap(sn.answer) if lead else without_asides(unwrap(sn.answer), sn.asides, question)
                    answer = for_versions(answer, facts.os_versions)
                    opening = gist(quote_first(error_first(answer, (focus or {}).get("failed")), paste),
                                   LEAD_CHARS if lead else GIST_CHARS, question=question)
                    item += ": " + corpus.glossary.spell_out(public_ids(opening, corpus, base_url), spelled)
                md.append(item)
                linked.update(_LINK_URL.findall(item))
                if i == 0 and sn is not None and lead:
                    # A lead is checked against the asker's setup: what it needs to hold is what to check.
                    md += [f"  - It holds when {c}." for c in unstated(sn.conditions, question, facts)]
        clarifying = ["What exactly happens, with the exact error text or event ID?"] if ask_error else []
        # The facts that decide between the closest answers, only when one is named: with none close
        # enough to point to, no fact changes what the draft says (blind readers marked the hosts'
        # version, asked that way, needless in both of 60 drafts that did).
        clarifying += _clarifying(needs, facts, list(closest.values())[:1]) if nearest else []
        clarifying = list(dict.fromkeys(clarifying))[:MAX_CLARIFYING]
        if clarifying:
            md += ["", "Could you add:"] + [f"- {q}" for q in clarifying]
    md += ["", "Thanks."]
    markdown = "\n".join(md).strip() + "\n"
    return Draft(question_id, False, confidence, markdown, markdown_to_text(markdown), sources, clarifying,
                 detected or facts.to_dict(), topic, [], focus or {})
