#!/usr/bin/env python3
"""Deterministic synthetic content and queries for the benchmark (``scripts/bench.py``).

A synthetic knowledge base is recombined from the real one: article sections shuffled across
articles of related topics, snippets re-attached to new parents, forum-thread-like articles added
(an original post, an answer, a follow-up), all reworded with the glossary's synonyms and sprinkled
with the typos, versions and error codes people type. It is written as real content files
(``topics.yaml``, ``glossary.yaml``, ``articles/*.md``, ``snippets/*.md``) so a benchmark exercises
the whole load -> validate -> index path. The same real content, seed and size always give the
same bytes.

Usage: python scripts/synth_corpus.py OUT_DIR --docs 1000 [--seed 6] [--content content/]
       python scripts/synth_corpus.py --queries [--seed 6]   (print the query set as JSON lines)
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import kb  # noqa: E402
from kb.markdown import plain_text, split_sections  # noqa: E402

SEED = 6  # GitHub issue 6; any fixed value works, as long as it stays fixed
# Share of each kind of file in a synthetic corpus (the shipped KB is ~14 % articles).
ARTICLE_SHARE = 0.10
THREAD_SHARE = 0.20
# Stay under kb.content.MAX_SNIPPET_WORDS (120) with room for rewording.
MAX_ANSWER_WORDS = 115
REWORD_RATE = 0.45   # share of glossary phrases swapped for a synonym
TYPO_RATE = 0.25     # share of synthetic question phrasings that get one typo

# What forum users type. Short forms on purpose: the benchmark should hit the speller and glossary.
ACRONYMS = {
    "IC": ["version", "update", "time sync", "not installed", "2012 R2 guest", "heartbeat", ""],
    "CSV": ["redirected access", "cache", "backup", "ReFS or NTFS", "ClusterStorage", "paused", ""],
    "LM": ["network", "kerberos", "failed", "compression", "SMB", "without cluster", ""],
    "DPM": ["backup hyper-v", "saved state", "agent", "CSV backup", "exchange vm", ""],
    "WSB": ["restore vm", "hyper-v backup", "bare metal", "vss error", "child partition", ""],
}
TYPOS = ["quorom", "intergration services", "migraton", "chekpoint merge", "dynamc memory",
         "replicaton", "witnes", "generaton 2", "snapshop delete", "clusterd", "intergration",
         "quorom lost", "live migraton", "vitrual switch", "processer compatibility", "avhdx delte"]
VERSIONS = ["2012 R2", "2k16", "server 2019", "2008 R2", "W2K12", "2k8r2", "Server 2022", "2016",
            "Hyper-V Server 2019", "Windows Server 2025", "2k19", "2012r2", "ws2016"]
ERROR_CODES = ["0x8009030E", "0x80070005", "event 1135", "event 1177", "0x80070057", "0xc03a001a",
               "event 1069", "0x8007274D", "event 21502", "0x800423f3", "event ID 1146", "0x80004005"]
SUBJECTS = ["cluster quorum", "live migration", "checkpoint", "secure boot linux", "vm won't start",
            "dynamic memory", "replica", "csv", "integration services", "backup", "virtual switch vlan",
            "generation 2", "domain controller", "licensing", "processor compatibility", "vhdx expand"]

GREETINGS = ["Hi all,", "Hello,", "Hi everyone,", "Hey guys,", "", "", "Good morning,", "Hi,"]
SETUPS = ["We run a {n}-node {ver} Hyper-V cluster on {storage}.",
          "Single {ver} host with about {k} VMs.",
          "Small shop here, two {ver} hosts, no SCVMM.",
          "Lab setup: {ver} on a Dell R740, {storage} for the VMs.",
          "Customer has {n} hosts running {ver}, managed with SCVMM.",
          "Our {ver} hosts are HP DL380s with {storage}.",
          ""]
STORAGE = ["iSCSI", "a CSV on FC", "local disks", "an SMB3 share", "S2D", "a Dell SAN"]
ERROR_LINES = ["The event log shows {code}.", "Error: operation failed with {code}", "Getting {code} every time.",
               "Cluster log has {code} around the time it happened.", "Failed with error {code} (Access is denied?)"]
DETAILS = ["This started after the last patch Tuesday.", "Nothing changed on our side as far as I know.",
           "I already rebooted both nodes.", "Google gives me mostly VMware results.",
           "The VMs themselves seem fine.", "We moved to this setup last month.", ""]
SIGNOFFS = ["Thanks in advance", "Any help appreciated.\nRegards, Tom", "TIA", "", "Cheers, Anna", "Thanks!"]
THREAD_REPLIES = ["Thanks, that was it.", "Marked as answer, thanks.", "Confirmed, this fixed it for us.",
                  "Follow-up: same on our second cluster."]


# --------------------------------------------------------------------------- rewording

class Reworder:
    """Swap glossary phrases for synonyms and inject typos, deterministically for a given rng."""

    def __init__(self, glossary, rng: random.Random):
        self.rng = rng
        self.alts: dict[str, list[str]] = {}
        for e in glossary.entries:
            phrases = [p for p in e.phrases if p.strip()]
            for p in phrases:
                self.alts.setdefault(p.lower(), [q for q in phrases if q.lower() != p.lower()])
        names = sorted(self.alts, key=len, reverse=True)
        # Whole phrases only: never inside a cmdlet (Set-VM), a code (KB5034441) or a path.
        self.pattern = re.compile(r"(?<![\w\-/\\.])(" + "|".join(re.escape(n) for n in names) + r")(?![\w\-/\\])",
                                  re.IGNORECASE)
        # A 600-way alternation is slow in `re`; the real texts are few, so each is scanned once.
        self._segments: dict[str, list[str | tuple[str]]] = {}

    def _split(self, text: str) -> list[str | tuple[str]]:
        """Text as literal pieces and 1-tuples of swappable phrases (never inside code)."""
        segs: list[str | tuple[str]] = []
        for part in re.split(r"(```.*?```|`[^`\n]*`)", text, flags=re.S):
            if part.startswith("`"):
                segs.append(part)
                continue
            pos = 0
            for m in self.pattern.finditer(part):
                segs += [part[pos:m.start()], (m.group(0),)]
                pos = m.end()
            segs.append(part[pos:])
        return segs

    def reword(self, text: str) -> str:
        """Reword Markdown outside code spans and code blocks."""
        segs = self._segments.get(text)
        if segs is None:
            segs = self._segments[text] = self._split(text)
        out = []
        for s in segs:
            if isinstance(s, tuple):
                alts = self.alts.get(s[0].lower())
                out.append(self.rng.choice(alts) if alts and self.rng.random() < REWORD_RATE else s[0])
            else:
                out.append(s)
        return "".join(out)

    def typo(self, text: str) -> str:
        """One typo in one longer plain word: a swap, a drop or a double letter."""
        spots = [m for m in re.finditer(r"\b[a-z]{6,}\b", text)]
        if not spots:
            return text
        m = self.rng.choice(spots)
        w = m.group(0)
        i = self.rng.randrange(1, len(w) - 2)
        op = self.rng.randrange(3)
        if op == 0:
            w2 = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        elif op == 1:
            w2 = w[:i] + w[i + 1:]
        else:
            w2 = w[:i] + w[i] + w[i:]
        return text[:m.start()] + w2 + text[m.end():]


def _trim_words(markdown: str, limit: int) -> str:
    """Drop trailing sentences until the plain text has at most ``limit`` words."""
    text = markdown
    if len(text.split()) <= limit - 10:  # markup only adds words; skip the Markdown parse
        return text
    while len(plain_text(text).split()) > limit:
        sentences = re.split(r"(?<=[.!?])\s+", text.strip())
        if len(sentences) > 1:
            text = " ".join(sentences[:-1])
        else:
            text = " ".join(text.split()[:limit]) + "."
    return text


# --------------------------------------------------------------------------- forum text

def forum_question(rng: random.Random, core: str) -> str:
    """Wrap a question in what a forum post carries: greeting, setup, error line, detail, sign-off."""
    setup = rng.choice(SETUPS).format(n=rng.choice([2, 3, 4, 6]), ver=rng.choice(VERSIONS),
                                      storage=rng.choice(STORAGE), k=rng.choice([8, 15, 40]))
    lines = [rng.choice(GREETINGS), setup, core[0].upper() + core[1:]]
    if rng.random() < 0.5:
        lines.append(rng.choice(ERROR_LINES).format(code=rng.choice(ERROR_CODES)))
    lines += [rng.choice(DETAILS), rng.choice(SIGNOFFS)]
    return "\n".join(line for line in lines if line)


def _question_core(rng: random.Random, reworder: Reworder, snippet) -> str:
    core = reworder.reword(rng.choice(snippet.questions))
    # A pasted post is typed in a hurry: twice the typo rate of a curated phrasing.
    return reworder.typo(core) if rng.random() < TYPO_RATE * 2 else core


# --------------------------------------------------------------------------- corpus

@dataclass
class _Doc:
    folder: str      # "articles" or "snippets"
    id: str
    front: dict
    body: str


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2012, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _front_matter(data: dict) -> str:
    """YAML front matter with JSON-quoted scalars (valid YAML, and 20x faster than yaml.safe_dump)."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list):
            lines.append(f"{key}: []" if not value else f"{key}:")
            lines += [f"  - {json.dumps(v, ensure_ascii=False)}" for v in value]
        else:
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _write(doc: _Doc, out: Path) -> None:
    text = f"---\n{_front_matter(doc.front)}---\n{doc.body.strip()}\n"
    (out / doc.folder / f"{doc.id}.md").write_text(text, encoding="utf-8")


def make_corpus(real, out_dir: Path, n_docs: int, seed: int = SEED, content_dir: Path | None = None) -> dict:
    """Write a synthetic content folder of ``n_docs`` article + snippet files into ``out_dir``.

    :param real: the loaded real :class:`kb.Corpus` to recombine.
    :param content_dir: where ``topics.yaml`` and ``glossary.yaml`` are copied from.
    :returns: counts: ``{"articles", "threads", "snippets", "documents"}``.
    """
    rng = random.Random(f"hvkb-bench-corpus-{seed}-{n_docs}")
    reworder = Reworder(real.glossary, rng)
    out_dir = Path(out_dir)
    (out_dir / "articles").mkdir(parents=True, exist_ok=True)
    (out_dir / "snippets").mkdir(parents=True, exist_ok=True)
    src = Path(content_dir) if content_dir else kb.Settings().content_dir
    for name in ("topics.yaml", "glossary.yaml"):
        shutil.copyfile(src / name, out_dir / name)

    n_articles = max(len(real.articles), round(n_docs * ARTICLE_SHARE))
    n_threads = round(n_docs * THREAD_SHARE)
    n_snippets = n_docs - n_articles - n_threads
    base_articles = list(real.articles.values())
    base_snippets = list(real.snippets.values())
    by_topic_real = {}
    for a in base_articles:
        by_topic_real.setdefault(a.topic, []).append(a)
    parts = {a.id: split_sections(a.body) for a in base_articles}

    docs: list[_Doc] = []
    synth_of: dict[str, list[str]] = {}     # real article id -> synthetic article ids
    parents_by_topic: dict[str, list[str]] = {}
    for i in range(n_articles):
        base = base_articles[i % len(base_articles)]
        intro, sections = parts[base.id]
        picked = rng.sample(sections, k=min(len(sections), rng.randint(4, 7)))
        donors = [r for r in base.related if r in parts] or [base.id]
        donor_sections = parts[rng.choice(donors)][1]
        if donor_sections:
            picked.insert(rng.randrange(len(picked) + 1), rng.choice(donor_sections))
        body = [reworder.reword(intro)] if intro else []
        for s in picked:
            body.append(f"## {reworder.reword(s.heading)}\n\n{reworder.reword(s.markdown)}")
        doc_id = f"a{i:05d}-{base.id}"
        title = reworder.reword(base.title)
        if rng.random() < 0.3:
            title += f" ({rng.choice(['Windows Server 2019', '2012 R2', 'Hyper-V Server 2016', 'Azure'])} notes)"
        front = {"id": doc_id, "title": title, "topic": base.topic,
                 "tags": rng.sample(list(base.tags), k=min(len(base.tags), rng.randint(2, 6))),
                 "applies_to": list(base.applies_to), "summary": reworder.reword(base.summary),
                 "related": [], "updated": _date(rng)}
        docs.append(_Doc("articles", doc_id, front, "\n\n".join(body)))
        synth_of.setdefault(base.id, []).append(doc_id)
        parents_by_topic.setdefault(base.topic, []).append(doc_id)
    for d in docs:  # related: synthetic articles made from the base article's related ones
        base_id = d.id.split("-", 1)[1]
        pool = [x for r in real.articles[base_id].related for x in synth_of.get(r, [])]
        d.front["related"] = rng.sample(pool, k=min(len(pool), 2))

    for i in range(n_threads):
        s = rng.choice(base_snippets)
        core = _question_core(rng, reworder, s)
        others = [x for x in base_snippets if x.topic == s.topic and x.id != s.id]
        answer = reworder.reword(s.answer)
        follow = f"{rng.choice(THREAD_REPLIES)} {reworder.reword(rng.choice(others).answer) if others else ''}"
        body = (f"{forum_question(rng, core)}\n\n## Answer\n\n{answer}\n\n## Follow-up\n\n{follow}")
        if rng.random() < 0.4:
            body += f"\n\n## Related error\n\n{rng.choice(ERROR_LINES).format(code=rng.choice(ERROR_CODES))}"
        doc_id = f"t{i:05d}-{s.article}"
        first = re.split(r"(?<=[.!?])\s+", plain_text(answer).replace("\n", " "))[0]
        tags = list(real.articles[s.article].tags)
        front = {"id": doc_id, "title": core.strip().rstrip("?") + "?", "topic": s.topic,
                 "tags": ["forum", *rng.sample(tags, k=min(2, len(tags)))],
                 "applies_to": list(s.applies_to), "summary": first,
                 "related": rng.sample(parents_by_topic[s.topic], k=1), "updated": _date(rng)}
        docs.append(_Doc("articles", doc_id, front, body))
        parents_by_topic[s.topic].append(doc_id)

    for i in range(n_snippets):
        s = base_snippets[i % len(base_snippets)]
        questions = [reworder.reword(q) for q in s.questions]
        questions = [reworder.typo(q) if rng.random() < TYPO_RATE else q for q in questions]
        if rng.random() < 0.5:
            questions.append(f"{rng.choice(SUBJECTS)} on {rng.choice(VERSIONS)}, {rng.choice(ERROR_CODES)}")
        questions = list(dict.fromkeys(questions))
        if len(questions) < 2:
            questions.append(f"{rng.choice(SUBJECTS)} {rng.choice(VERSIONS)}")
        rng.shuffle(questions)
        front = {"id": f"s{i:05d}-{s.id}", "article": rng.choice(parents_by_topic[s.topic]),
                 "questions": questions}
        if rng.random() < 0.5:
            front["title"] = reworder.reword(s.title)
        if s.conditions:
            front["conditions"] = [reworder.reword(c) for c in s.conditions]
        if s.applies_to:
            front["applies_to"] = list(s.applies_to)
        if s.needs:
            front["needs"] = list(s.needs)
        docs.append(_Doc("snippets", front["id"], front, _trim_words(reworder.reword(s.answer), MAX_ANSWER_WORDS)))

    for d in docs:
        _write(d, out_dir)
    return {"articles": n_articles, "threads": n_threads, "snippets": n_snippets, "documents": len(docs)}


# --------------------------------------------------------------------------- queries

def _short_search(rng: random.Random, kind: str, real_snippets: list) -> str:
    if kind == "acronym":
        acr = rng.choice(sorted(ACRONYMS))
        return f"{acr} {rng.choice(ACRONYMS[acr])}".strip()
    if kind == "typo":
        q = rng.choice(TYPOS)
        return q if rng.random() < 0.5 else f"{q} {rng.choice(['2 node', 'failed', 'hyper-v', 'cluster', 'vm'])}"
    if kind == "version":
        return f"{rng.choice(SUBJECTS)} {rng.choice(VERSIONS)}"
    if kind == "error":
        code = rng.choice(ERROR_CODES)
        return code if rng.random() < 0.4 else f"{rng.choice(SUBJECTS)} {code}"
    if kind == "mixed":
        return f"{rng.choice(TYPOS).split()[0]} {rng.choice(VERSIONS)} {rng.choice(ERROR_CODES)}"
    # plain: the first few words of a real snippet phrasing, as a search box gets them
    q = re.sub(r"[^\w\s'-]", " ", rng.choice(rng.choice(real_snippets).questions)).split()
    return " ".join(q[:rng.randint(2, 5)])


def make_queries(real, n_search: int = 200, n_questions: int = 100, seed: int = SEED,
                 salt: str = "") -> tuple[list[str], list[str]]:
    """A fixed mix of short searches and pasted forum-style questions.

    :param salt: a different salt gives a different set of the same mix (used for warm-up).
    """
    rng = random.Random(f"hvkb-bench-queries-{seed}{salt}")
    reworder = Reworder(real.glossary, rng)
    snippets = list(real.snippets.values())
    kinds = ["acronym", "typo", "version", "error", "plain", "mixed"]
    searches: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(searches) < n_search:
        q = _short_search(rng, kinds[i % len(kinds)], snippets)
        i += 1
        if q.lower() not in seen:
            seen.add(q.lower())
            searches.append(q)
    questions = []
    for j in range(n_questions):
        if j % 20 == 19:  # a few off-topic posts: the drafter should abstain, and that costs time too
            core = rng.choice(["vMotion fails between two ESXi 7 hosts, EVC mode is on",
                               "Proxmox VE cluster lost quorum after a corosync update"])
        else:
            core = _question_core(rng, reworder, rng.choice(snippets))
            core += rng.choice(["", f" ({rng.choice(ERROR_CODES)})", f" on {rng.choice(VERSIONS)}",
                                f" - {rng.choice(sorted(ACRONYMS))} related?"])
        questions.append(forum_question(rng, core))
    return searches, questions


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", type=Path, help="Folder to write the synthetic content into.")
    ap.add_argument("--docs", type=int, default=1000, help="Article + snippet files to write (default 1000).")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--content", type=Path, default=None, help="Real content folder (default: the shipped KB).")
    ap.add_argument("--queries", action="store_true", help="Print the benchmark queries as JSON lines instead.")
    args = ap.parse_args(argv)
    content = args.content or kb.Settings().content_dir
    real = kb.load_corpus(content)
    if args.queries:
        searches, questions = make_queries(real, seed=args.seed)
        for q in searches:
            print(json.dumps({"kind": "search", "query": q}))
        for q in questions:
            print(json.dumps({"kind": "question", "query": q}))
        return 0
    if args.out is None:
        ap.error("give OUT_DIR (or --queries)")
    stats = make_corpus(real, args.out, args.docs, args.seed, content)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
