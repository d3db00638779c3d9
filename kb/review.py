"""The review queue over the history, the content edits it proposes, and the feedback export.

- :func:`build_review`: the questions hvkb abstained on or answered with low confidence, grouped when
  near-duplicates; the drafts marked wrong, with their reasons; the searches that found nothing.
- :func:`propose_phrasings` / :func:`propose_snippet`: a group's questions as new phrasings of a
  snippet (a patch to ``content/snippets/<id>.md``) or as the skeleton of a new snippet, each checked
  by the content loader. Nothing here writes to the content: a person commits the edit, or not.
- :func:`feedback_examples`: labelled questions for ``scripts/train_ranker.py --feedback``.

Reads the store through :class:`kb.history.History` only; no web or CLI code.
"""
from __future__ import annotations

import difflib
import json
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from kb.errors import KbError
from kb.history import REASONS, DraftRecord, FeedbackRecord, History

# An answered draft below this confidence is queued too: it cleared the 0.5 answer threshold, but
# on held-out real questions fewer than two in three drafts there were right.
LOW_CONFIDENCE = 0.65
# Two questions belong together at this rapidfuzz score over their content words: 85 keeps
# "two node cluster witness" with "witness for a 2 node cluster?" but apart from "witness disk size".
GROUP_SIMILARITY = 85
# token_set_ratio scores 100 whenever one word set contains the other: below this many content
# words a question could join anything that mentions its one word, so order-free full matching is used.
MIN_SET_WORDS = 3
# Snippet phrasings read like what forum users type; a whole paste is not one.
MAX_PHRASING_CHARS = 200
# The newest drafts looked at; older ones wait until these are dealt with (or purged).
REVIEW_LIMIT = 2000
# Words of a question used for a new snippet's id.
ID_WORDS = 6
# Feedback that names the snippet that should have answered outweighs a guess from the ranking.
NAMED_WEIGHT = 3
# Reasons saying the snippet shown was the wrong one (as opposed to right but incomplete or outdated).
WRONG_SNIPPET_REASONS = ("wrong-subject", "wrong-fact", "other")
FEEDBACK_SOURCE = "hvkb-feedback"


class ReviewError(KbError):
    """A proposal that cannot be made (no such drafts or snippet, nothing new to add)."""


# --------------------------------------------------------------------------- the queue

@dataclass(frozen=True)
class Item:
    """One draft in the queue."""
    draft_id: int
    created: float
    question: str
    phrasing: str                        # the question as a snippet phrasing (cleaned, at most MAX_PHRASING_CHARS)
    confidence: float
    answerable: bool
    top_source: str | None
    feedback: tuple[FeedbackRecord, ...] = ()

    def to_dict(self) -> dict:
        return {"draft_id": self.draft_id, "question": self.question, "phrasing": self.phrasing,
                "confidence": round(self.confidence, 3), "answerable": self.answerable, "top_source": self.top_source,
                "feedback": [f.to_dict() for f in self.feedback]}


@dataclass
class Group:
    """Near-duplicate questions, with the snippets they most likely belong to."""
    id: str                              # "u<first draft id>" (could not answer) or "w<first draft id>" (marked wrong)
    kind: str                            # "unanswered" or "wrong"
    items: list[Item]
    candidates: list[str] = field(default_factory=list)   # snippet ids to add the phrasings to, best first

    @property
    def draft_ids(self) -> list[int]:
        return [i.draft_id for i in self.items]

    @property
    def suggested(self) -> str | None:
        """The snippet to propose the phrasings for, when there is reason to: feedback named it, or a
        draft of the group answered with it. The best candidate of abstentions alone is only a guess."""
        if not self.candidates:
            return None
        best = self.candidates[0]
        named = any(i.feedback and i.feedback[-1].snippet_id == best for i in self.items)
        answered = any(i.answerable and i.top_source == best for i in self.items)
        return best if named or answered else None

    @property
    def reasons(self) -> dict[str, int]:
        """How often each reason was given (latest feedback per draft)."""
        return dict(Counter(i.feedback[-1].reason for i in self.items if i.feedback and i.feedback[-1].reason))

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "count": len(self.items), "draft_ids": self.draft_ids,
                "suggested": self.suggested, "candidates": self.candidates, "reasons": self.reasons,
                "items": [i.to_dict() for i in self.items]}


@dataclass
class Review:
    unanswered: list[Group]
    wrong: list[Group]
    no_results: list[dict]               # {"query", "count", "last"}, most frequent first
    disabled_reason: str | None = None

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.unanswered + self.wrong if g.id == group_id), None)

    def to_dict(self) -> dict:
        return {"unanswered": [g.to_dict() for g in self.unanswered], "wrong": [g.to_dict() for g in self.wrong],
                "no_results": self.no_results, "disabled_reason": self.disabled_reason}


def phrasing_of(question: str, focus: dict | None = None) -> str:
    """A pasted question as a snippet phrasing: greetings and signatures dropped, one line, short.

    A paste longer than ``MAX_PHRASING_CHARS`` gives its subject line and first question sentence.

    >>> phrasing_of("Hi all,\\nDo I need a witness for a two node cluster?\\nThanks, Bob")
    'Do I need a witness for a two node cluster?'
    """
    from kb.facts import clean_question

    cleaned = " ".join(clean_question(question).split())
    if len(cleaned) <= MAX_PHRASING_CHARS:
        return cleaned or " ".join(question.split())[:MAX_PHRASING_CHARS]
    f = focus or {}
    parts = [f.get("title") or "", *(f.get("asks") or [])[:1]]
    text = " ".join(" ".join(p.split()) for p in parts if p) or cleaned
    if len(text) <= MAX_PHRASING_CHARS:
        return text
    cut = text[:MAX_PHRASING_CHARS + 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") or text[:MAX_PHRASING_CHARS]


# Words that say a question is asked, not what about: left out when questions are compared and ids made.
QUESTION_WORDS = frozenset("""
    i me my we our us you your he she it its they them their this that these those there here
    do does did doing done am is are was were be been being have has had can could should would will shall may might
    must what which who whom whose when where why how any anyone anybody someone something please help thanks
    hi hello regards so just also still really very about get got
""".split())


def _content_words(text: str, stem: bool = True) -> list[str]:
    """The words that say what a question is about, compounds split ("two-node" is "two node"), stemmed.

    >>> _content_words("Is a witness needed for my two-node cluster?")
    ['wit', 'need', 'two', 'node', 'cluster']
    """
    from kb.index import STOPWORDS, stem_word

    found = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS and w not in QUESTION_WORDS]
    return [stem_word(w) for w in found] if stem else found


def near_duplicates(texts: list[str]) -> list[list[int]]:
    """Group texts (indexes into ``texts``) whose content words match at ``GROUP_SIMILARITY`` or more.

    Deterministic: texts are taken in order, each joins the best-matching earlier group (compared
    with the group's first text; ties go to the older group) or starts its own.

    >>> near_duplicates(["two node cluster witness", "Do I need a witness for a 2 node cluster?", "usn rollback dc"])
    [[0, 1], [2]]
    """
    leaders: list[str] = []
    leader_words: list[int] = []
    groups: list[list[int]] = []
    for i, text in enumerate(texts):
        words = _content_words(text)
        key = " ".join(words)
        best = None
        if leaders and key:
            found = process.extractOne(key, leaders, scorer=fuzz.token_set_ratio, score_cutoff=GROUP_SIMILARITY)
            if found is not None and min(len(words), leader_words[found[2]]) < MIN_SET_WORDS:
                found = None  # a word or two inside a longer question is not a duplicate of it
            if found is None:
                found = process.extractOne(key, leaders, scorer=fuzz.token_sort_ratio, score_cutoff=GROUP_SIMILARITY)
            best = found[2] if found is not None else None
        if best is None:
            leaders.append(key)
            leader_words.append(len(words))
            groups.append([i])
        else:
            groups[best].append(i)
    return groups


def _item(d: DraftRecord) -> Item:
    return Item(d.id, d.created, d.question, phrasing_of(d.question, d.focus), d.confidence, d.answerable,
                d.top_source, d.feedback)


def _candidates(items: list[Item], known: set[str] | None) -> list[str]:
    """Snippets the group's phrasings most likely belong to: the ones feedback named, then the best
    candidates of drafts not marked as answering the wrong subject."""
    votes: Counter[str] = Counter()
    for it in items:
        latest = it.feedback[-1] if it.feedback else None
        if latest and latest.snippet_id:
            votes[latest.snippet_id] += NAMED_WEIGHT
        if it.top_source and not (latest and latest.verdict == "down" and latest.reason in WRONG_SNIPPET_REASONS):
            votes[it.top_source] += 1
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    return [sid for sid, _ in ranked if known is None or sid in known]


def _groups(items: list[Item], kind: str, known: set[str] | None) -> list[Group]:
    items = sorted(items, key=lambda i: i.draft_id)
    out = []
    for members in near_duplicates([i.phrasing for i in items]):
        grouped = [items[m] for m in members]
        out.append(Group(f"{kind[0]}{grouped[0].draft_id}", kind, grouped, _candidates(grouped, known)))
    out.sort(key=lambda g: (-len(g.items), -g.items[-1].draft_id))
    return out


def build_review(history: History, corpus=None, low_confidence: float = LOW_CONFIDENCE,
                 limit: int = REVIEW_LIMIT) -> Review:
    """The review queue: what could not be answered well, what was marked wrong, what found nothing.

    A draft whose latest feedback is "up" is left out; one marked "down" is listed as wrong only.
    :param corpus: when given, only snippets it has are suggested.
    """
    known = set(corpus.snippets) if corpus is not None else None
    unanswered, wrong = [], []
    for d in history.review_drafts(low_confidence, limit):
        if d.verdict == "down":
            wrong.append(_item(d))
        elif d.verdict is None and (not d.answerable or d.confidence < low_confidence):
            unanswered.append(_item(d))
    return Review(_groups(unanswered, "unanswered", known), _groups(wrong, "wrong", known),
                  history.no_result_searches(), history.disabled_reason)


# --------------------------------------------------------------------------- proposals

@dataclass
class Proposal:
    """A content edit for a person to review and commit: a patch, or a new snippet file."""
    kind: str                            # "phrasings" (a patch) or "new-snippet" (a file)
    snippet_id: str
    target: str                          # where it goes, e.g. "content/snippets/quorum-two-node-witness.md"
    text: str                            # the patch or the file
    phrasings: list[str]
    draft_ids: list[int]
    problems: list[str] = field(default_factory=list)   # what `hvkb check` says of the edit (new snippet: before its answer is written)
    saved_to: Path | None = None

    @property
    def filename(self) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{self.kind}-{self.snippet_id}.{'patch' if self.kind == 'phrasings' else 'md'}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "snippet_id": self.snippet_id, "target": self.target, "text": self.text,
                "phrasings": self.phrasings, "draft_ids": self.draft_ids, "problems": self.problems,
                "saved_to": str(self.saved_to) if self.saved_to else None}


# A phrasing this similar (rapidfuzz, 0-100) to an evaluation question is a copy of it: the content
# would then only measure the copy (tests/test_content_quality.py fails on it, at the same limit).
COPY_LIMIT = 85


def evaluation_questions(content_dir: Path) -> list[tuple[str, str]]:
    """``(where, cleaned lowercase question)`` of the evaluation sets beside a repository's content
    (``tests/data/*.jsonl``); none for an installed knowledge base."""
    from kb.facts import clean_question

    out = []
    for path in sorted((Path(content_dir).resolve().parent / "tests" / "data").glob("*.jsonl")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                item = json.loads(line) if line.strip() else None
            except ValueError:
                continue
            if isinstance(item, dict) and isinstance(item.get("question"), str):
                out.append((f"{path.name} {item.get('id', '')}".strip(), clean_question(item["question"]).lower()))
    return out


def _copies(phrasing: str, questions: list[tuple[str, str]]) -> str | None:
    p = phrasing.lower()
    for where, q in questions:
        if max(fuzz.ratio(p, q), fuzz.token_sort_ratio(p, q)) >= COPY_LIMIT:
            return where
    return None


def _phrasings(history: History, draft_ids, content_dir: Path) -> tuple[list[DraftRecord], list[str], list[str]]:
    """The drafts, their phrasings (without copies of evaluation questions), and what was left out and why."""
    drafts = history.get_drafts(draft_ids)
    if not drafts:
        why = history.disabled_reason or "they are not in the history (purged?)"
        raise ReviewError(f"no drafts to propose from: {why}")
    phrasings = list(dict.fromkeys(phrasing_of(d.question, d.focus) for d in drafts))
    guard = evaluation_questions(content_dir)
    kept, notes = [], []
    for p in phrasings:
        where = _copies(p, guard) if guard else None
        if where:
            notes.append(f"left out {p[:60]!r}: it copies the evaluation question {where}")
        else:
            kept.append(p)
    if not kept:
        raise ReviewError("every question is a copy of an evaluation question; adding it would only measure the copy")
    return drafts, kept, notes


def _yaml_text(value: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one).

    >>> _yaml_text('say "hi": now')
    '"say \\\\"hi\\\\": now"'
    """
    return json.dumps(value, ensure_ascii=False)


def _target(path: Path, content_dir: Path) -> str:
    """The file's path as the repository sees it (``content/snippets/x.md``)."""
    try:
        return Path(path).resolve().relative_to(Path(content_dir).resolve().parent).as_posix()
    except ValueError:
        return f"snippets/{Path(path).name}"


def _with_questions(text: str, new: list[str]) -> str:
    """``text`` (a snippet file) with ``new`` appended to its block list of ``questions``.

    :raises ReviewError: the front matter has no block list ``questions:``.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ReviewError("the snippet file has no front matter")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    start = next((i for i in range(1, end or 0) if lines[i].rstrip() == "questions:"), None)
    if end is None or start is None:
        raise ReviewError("the snippet's front matter has no block list 'questions:' to add to")
    last, indent = start, "  "
    for i in range(start + 1, end):
        stripped = lines[i].lstrip()
        if stripped.startswith("- "):
            last, indent = i, lines[i][:len(lines[i]) - len(stripped)]
        elif lines[i].startswith((" ", "\t")) and stripped:
            last = i  # a wrapped item continues
        else:
            break
    newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
    added = [f"{indent}- {_yaml_text(q)}{newline}" for q in new]
    return "".join(lines[:last + 1] + added + lines[last + 1:])


def _check_snippet(content_dir: Path, name: str, text: str) -> list[str]:
    """What the content loader says of one snippet file placed in ``content_dir`` (other files' problems aside)."""
    from kb.content import check_content
    from kb.errors import ContentValidationError

    src = Path(content_dir)
    with tempfile.TemporaryDirectory(prefix="hvkb-proposal-") as tmp:
        root = Path(tmp) / "content"
        # The snippet needs its topics, glossary and articles (its parent, and theirs `related`), not the other snippets.
        (root / "snippets").mkdir(parents=True)
        for f in ("topics.yaml", "glossary.yaml"):
            if (src / f).is_file():
                shutil.copyfile(src / f, root / f)
        shutil.copytree(src / "articles", root / "articles")
        path = root / "snippets" / name
        path.write_text(text, encoding="utf-8")
        try:
            _corpus, problems = check_content(root)
        except ContentValidationError as exc:
            problems = exc.errors
        mine = [p for p in problems if Path(p.path).name == name and Path(p.path).parent.name == "snippets"]
        return [f"{p.line}: {'warning: ' if p.warning else ''}{p.problem}" for p in mine]


def propose_phrasings(history: History, corpus, content_dir: Path, draft_ids, snippet_id: str) -> Proposal:
    """The questions of ``draft_ids`` as new phrasings of snippet ``snippet_id``: a patch to its file.

    :raises ReviewError: no such drafts or snippet, or every phrasing is already there.
    """
    snippet_id = (snippet_id or "").strip().lower()
    snippet = corpus.snippets.get(snippet_id)
    if snippet is None:
        raise ReviewError(f"no snippet with id {snippet_id!r}" if snippet_id else "name the snippet to add the phrasings to",
                          hint="`hvkb list --kind snippet` shows every id")
    drafts, phrasings, notes = _phrasings(history, draft_ids, content_dir)
    have = {" ".join(q.casefold().split()) for q in snippet.questions}
    new = [p for p in phrasings if " ".join(p.casefold().split()) not in have]
    if not new:
        raise ReviewError(f"snippet {snippet_id} already has every one of these phrasings")
    path = Path(content_dir) / "snippets" / f"{snippet_id}.md"
    if not path.is_file():  # an index built elsewhere: the file it was read from
        path = Path(snippet.path)
    old = path.read_text(encoding="utf-8")
    edited = _with_questions(old, new)
    target = _target(path, content_dir)
    header = (f"# hvkb review: {len(new)} new phrasing{'s' if len(new) != 1 else ''} for {snippet_id}, from the "
              f"question{'s' if len(drafts) != 1 else ''} of draft{'s' if len(drafts) != 1 else ''} "
              f"{', '.join(str(d.id) for d in drafts)}.\n# Apply from the repository root with `git apply FILE`, "
              "run `hvkb check`, then commit.\n")
    diff = "".join(difflib.unified_diff(old.splitlines(keepends=True), edited.splitlines(keepends=True),
                                        fromfile=f"a/{target}", tofile=f"b/{target}"))
    problems = notes + _check_snippet(content_dir, path.name, edited)
    return Proposal("phrasings", snippet_id, target, header + diff, new, [d.id for d in drafts], problems)


def _new_id(phrasing: str, taken) -> str:
    from kb.text import slugify

    base = slugify(" ".join(_content_words(phrasing, stem=False)[:ID_WORDS]))[:60].strip("-") or "new-snippet"
    sid, n = base, 1
    while sid in taken:
        n += 1
        sid = f"{base}-{n}"
    return sid


def propose_snippet(history: History, corpus, content_dir: Path, draft_ids) -> Proposal:
    """A new snippet file for the questions of ``draft_ids``, to be completed with its answer.

    Its ``article`` is the one most of the drafts' best candidates belong to (``TODO`` when there is
    none). ``problems`` lists what ``hvkb check`` says once an answer is written under it: empty when
    only the answer is missing.
    :raises ReviewError: no such drafts.
    """
    drafts, phrasings, notes = _phrasings(history, draft_ids, content_dir)
    articles = Counter(corpus.snippets[d.top_source].article for d in drafts if d.top_source in corpus.snippets)
    article = sorted(articles.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if articles else "TODO"
    sid = _new_id(phrasings[0], {*corpus.articles, *corpus.snippets})
    target = _target(Path(content_dir) / "snippets" / f"{sid}.md", content_dir)
    ids = ", ".join(str(d.id) for d in drafts)
    lines = [
        "---",
        f"# Proposed by hvkb review from {len(drafts)} question{'s' if len(drafts) != 1 else ''} (draft{'s' if len(drafts) != 1 else ''} {ids}).",
        f"# Save as {target}, write the answer under the closing --- (verdict first, at most 120 words),",
        "# check the fields, then run `hvkb check`. content/README.md explains each field.",
        f"id: {sid}",
        f"article: {article}" + ("   # the parent article's id" if article == "TODO" else "   # the parent article: check it"),
        "questions:",
        *(f"  - {_yaml_text(p)}" for p in phrasings),
        "# title: a short title, as a search result shows it",
        "# conditions: [what must be true for the answer to hold]",
        "# applies_to: [Windows Server 2016+]",
        "# needs: [os_version]",
        "---",
        "",
    ]
    text = "\n".join(lines)
    problems = notes + _check_snippet(content_dir, f"{sid}.md", text + "The answer goes here.\n")
    return Proposal("new-snippet", sid, target, text, phrasings, [d.id for d in drafts], problems)


def save_proposal(proposal: Proposal, home_dir: Path) -> Path:
    """Write the proposal to ``<home_dir>/proposals/``; return the file's path.

    :raises OSError: the folder cannot be written (the caller shows the proposal to copy instead).
    """
    folder = Path(home_dir) / "proposals"
    folder.mkdir(parents=True, exist_ok=True)
    stem, _, ext = proposal.filename.rpartition(".")
    path, n = folder / f"{stem}.{ext}", 1
    while path.exists():  # two proposals in one second
        n += 1
        path = folder / f"{stem}-{n}.{ext}"
    path.write_text(proposal.text, encoding="utf-8")
    proposal.saved_to = path
    return path


# --------------------------------------------------------------------------- the training export

def _label(d: DraftRecord, f: FeedbackRecord) -> tuple[list[str] | str | None, list[str]]:
    """``(gold, wrong)`` for a draft and its latest feedback; ``(None, [])`` when it teaches nothing."""
    shown = list(d.answer_ids)
    if f.snippet_id:
        return [f.snippet_id], [s for s in shown if s != f.snippet_id] if f.verdict == "down" else []
    if f.verdict == "up":
        return (shown, []) if d.answerable and shown else ("not-covered", [])
    if not d.answerable or not shown:
        return None, []  # it abstained and the user did not say which snippet answers: no label
    if f.reason in WRONG_SNIPPET_REASONS:
        return None, shown  # the snippet shown is wrong; which one is right is not known
    return shown, []  # right subject, but outdated or missing a step: a content fix, still the right snippet


def feedback_examples(history: History, corpus=None) -> tuple[list[dict], int]:
    """Labelled questions from the feedback, one per draft (its latest feedback), and how many taught nothing.

    Each row has the fields of ``tests/data/real_questions.jsonl`` that training reads: ``id``,
    ``question``, ``gold`` (snippet ids, or ``"not-covered"`` for a right abstention, or ``null`` when
    only ``wrong`` is known), plus ``wrong`` (snippet ids shown and marked wrong), ``source``
    (``"hvkb-feedback"``) and the feedback itself. With ``corpus``, ids it no longer has are dropped.
    """
    known = set(corpus.snippets) if corpus is not None else None
    rows, skipped = [], 0
    for d in history.drafts_with_feedback():
        f = d.feedback[-1]
        gold, wrong = _label(d, f)
        if known is not None:
            wrong = [s for s in wrong if s in known]
            if isinstance(gold, list):
                gold = [s for s in gold if s in known] or None
        if gold is None and not wrong:
            skipped += 1
            continue
        rows.append({"id": f"fb-{d.id}", "question": d.question, "gold": gold, "wrong": wrong,
                     "source": FEEDBACK_SOURCE, "verdict": f.verdict, "reason": f.reason, "note": f.note,
                     "snippet": f.snippet_id, "shown": list(d.answer_ids), "answerable": d.answerable,
                     "confidence": round(d.confidence, 4), "build": d.build, "created": f.to_dict()["created"]})
    return rows, skipped


__all__ = ["GROUP_SIMILARITY", "LOW_CONFIDENCE", "Group", "Item", "Proposal", "REASONS", "Review", "ReviewError",
           "build_review", "feedback_examples", "near_duplicates", "phrasing_of", "propose_phrasings",
           "propose_snippet", "save_proposal"]
