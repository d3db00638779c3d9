#!/usr/bin/env python3
"""Benchmark hvkb: build, search, answer and CLI start-up against an SQLite FTS5 baseline.

Usage: python scripts/bench.py [--quick] [--json] [--out docs/benchmarks.md] [--plot docs/bench-latency.png]
                               [--sizes 1000,10000] [--profile DIR]

Corpora: the shipped KB, then synthetic KBs (``scripts/synth_corpus.py``) written as real content
files, so every figure covers the whole path load -> validate -> index -> search -> draft. For each
corpus, in one process: build time and size, search and answer-draft latency (p50/p95/p99 after a
warm-up, every query first-seen), peak RSS, and the same searches on an FTS5 index of the same
documents and fields built in the same run. Then the CLI's cold start next to ``python -c pass``.
Prints tables (or ``--json``) and a PASS/MISS line per target of GitHub issue 6. Uses only kb's
public API (plus ``kb.index.documents`` to feed the baseline the very same documents).

A timed pass stops after ``--pass-cap`` seconds once ``MIN_TIMED`` queries ran, so the whole run
fits in 10 minutes on 2 cores even while one answer draft on 10k documents takes seconds; the
tables then say ``n/m (cap)``. ``--pass-cap 0`` times every query.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import kb  # noqa: E402
from kb import semantic  # noqa: E402
from kb.index import documents  # noqa: E402
from kb.ranker import WEIGHTS_FILE, load_ranker  # noqa: E402
from synth_corpus import SEED, make_corpus, make_queries  # noqa: E402

kb_search, answer_question = kb.search, kb.answer_question

SIZES = (1000, 10_000)
N_SEARCH, N_QUESTIONS = 200, 100
QUICK_SEARCH, QUICK_QUESTIONS = 50, 25
N_WARM_SEARCH, N_WARM_QUESTIONS = 10, 2   # a separate set: timed queries stay first-seen
# A timed pass stops after this many seconds (but not before MIN_TIMED queries): at 10k documents
# one answer draft takes seconds, and the whole run must fit in BUDGET_S. --pass-cap 0 runs all.
PASS_CAP_S = 90
MIN_TIMED = 20
CLI_RUNS = 10
SEARCH_LIMIT = 10
PCTS = ("p50", "p95", "p99")
# The baseline's column weights mirror kb.searching.FIELD_BOOSTS (title, questions, summary, tags, body).
FTS5_COLUMNS = ("title", "questions", "summary", "tags", "body")
FTS5_WEIGHTS = (4.0, 3.0, 2.0, 2.0, 1.0)
FTS5_MAX_TOKENS = 64      # like kb.searching.MAX_QUERY_WORDS
FTS5_QUESTION_CHARS = 1500  # like kb.answer.MAX_SEARCH_CHARS
FTS5_RETRIEVE = 30          # like kb.answer.RETRIEVE_LIMIT
PROFILE_SEARCHES, PROFILE_QUESTIONS = 40, 8  # --profile: enough samples, minutes not hours at 10k
# Keeping what follows this line lets docs/benchmarks.md carry hand-written analysis across runs.
KEEP_MARKER = "<!-- bench.py: everything below this line is kept when the file is rewritten -->"
BUDGET_S = 600              # the whole run must fit in 10 minutes on 2 cores


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- measuring helpers

def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default).

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "mean": statistics.fmean(ms), "max": max(ms)}


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


class PeakRss:
    """Peak resident memory of this process since :meth:`reset` (Linux ``VmHWM``, reset via clear_refs).

    Falls back to ``ru_maxrss`` (the peak since the process started) where the reset is not allowed.
    """

    def __init__(self):
        self.resettable = False

    def reset(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.resettable = True
        except OSError:
            self.resettable = False

    def peak_mb(self) -> float:
        if self.resettable:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def timed(fn, items: list[str], cap_s: float = 0) -> tuple[list[float], list]:
    """Call ``fn`` on each item once, in order; return milliseconds and results (a KbError counts as a result).

    :param cap_s: stop once this many seconds have passed and at least ``MIN_TIMED`` items ran (0: no cap).
    """
    ms, out = [], []
    gc.collect()
    started = time.perf_counter()
    for item in items:
        if cap_s and len(ms) >= MIN_TIMED and time.perf_counter() - started > cap_s:
            break
        t = time.perf_counter()
        try:
            r = fn(item)
        except kb.KbError as exc:
            r = exc
        ms.append((time.perf_counter() - t) * 1000)
        out.append(r)
    return ms, out


# --------------------------------------------------------------------------- the FTS5 baseline

def fts5_build(corpus, db_path: Path) -> float:
    """Index the same documents and fields as hvkb into FTS5; return seconds (from the loaded corpus)."""
    t = time.perf_counter()
    conn = sqlite3.connect(db_path)
    cols = ", ".join(FTS5_COLUMNS)
    conn.execute(f"CREATE VIRTUAL TABLE docs USING fts5({cols}, key UNINDEXED, id UNINDEXED, kind UNINDEXED, "
                 "tokenize='porter unicode61')")
    rows = [(*(d[c] or "" for c in FTS5_COLUMNS), d["key"], d["id"], d["kind"]) for d in documents(corpus)]
    with conn:
        conn.executemany(f"INSERT INTO docs VALUES ({', '.join('?' * (len(FTS5_COLUMNS) + 3))})", rows)
        conn.execute("INSERT INTO docs(docs) VALUES('optimize')")
    conn.close()
    return time.perf_counter() - t


def fts5_query(text: str) -> str:
    """User text as an OR of quoted tokens, so FTS5 syntax never fails.

    >>> fts5_query('quorom "2012 R2" AND (0x8009030E')
    '"quorom" OR "2012" OR "r2" OR "and" OR "0x8009030e"'
    """
    tokens = list(dict.fromkeys(re.findall(r"\w+", text.lower())))[:FTS5_MAX_TOKENS]
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)


class Fts5Searcher:
    SQL = (f"SELECT id, kind, title FROM docs WHERE docs MATCH ? "
           f"ORDER BY bm25(docs, {', '.join(map(str, FTS5_WEIGHTS))}) LIMIT ?")

    def __init__(self, db_path: Path):
        self.conn = sqlite3.connect(db_path)

    def search(self, text: str, limit: int = SEARCH_LIMIT) -> list[tuple]:
        """Best rows, one per document id (like kb.search, which fetches 4x and de-duplicates)."""
        q = fts5_query(text)
        if not q:
            return []
        seen, out = set(), []
        for row in self.conn.execute(self.SQL, (q, max(limit * 4, 40))):
            if row[0] not in seen:
                seen.add(row[0])
                out.append(row)
                if len(out) == limit:
                    break
        return out

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- one corpus

def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def bench_corpus(name: str, content_dir: Path, work: Path, queries: dict, cap_s: float,
                 profile_dir: Path | None) -> dict:
    """Measure one content folder end to end; see the module docstring for what is measured."""
    rss = PeakRss()
    gc.collect()
    rss.reset()
    log(f"{name}: load + validate {content_dir}")
    t = time.perf_counter()
    corpus = kb.load_corpus(content_dir)
    load_s = time.perf_counter() - t
    files = len(corpus.articles) + len(corpus.snippets)
    log(f"{name}: build index ({files} documents)")
    index_dir = work / f"index-{name}"
    t = time.perf_counter()
    built = kb.build_index(corpus, index_dir)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    ix = kb.open_index(index_dir)
    open_s = time.perf_counter() - t

    for q in queries["warm_search"]:
        kb_search(ix, q, limit=SEARCH_LIMIT)
    for q in queries["warm_questions"]:
        answer_question(ix, q)
    log(f"{name}: {len(queries['search'])} searches")
    s_ms, s_res = timed(lambda q: kb_search(ix, q, limit=SEARCH_LIMIT), queries["search"], cap_s)
    log(f"{name}: {len(queries['questions'])} answer drafts")
    a_ms, a_res = timed(lambda q: answer_question(ix, q), queries["questions"], cap_s)
    peak = rss.peak_mb()
    lexical_ms = None
    if semantic.enabled():  # what the semantic extra costs: the same drafts with the lexical model
        log(f"{name}: the same drafts without the semantic features")
        lexical = load_ranker(WEIGHTS_FILE)
        lexical_ms, _ = timed(lambda q: answer_question(ix, q, ranker=lexical), queries["questions"][:len(a_ms)])

    profiles = {}
    if profile_dir is not None:
        profiles = profile_corpus(name, content_dir, work, ix, queries, profile_dir)
    ix.close()

    log(f"{name}: FTS5 baseline")
    db = work / f"fts5-{name}.db"
    fts_build_s = fts5_build(corpus, db)
    fts = Fts5Searcher(db)
    for q in queries["warm_search"]:
        fts.search(q)
    # The very queries hvkb was timed on, so the ratios compare like with like under a cap.
    fs_ms, _ = timed(fts.search, queries["search"][:len(s_ms)])
    fa_ms, _ = timed(lambda q: fts.search(q[:FTS5_QUESTION_CHARS], FTS5_RETRIEVE), queries["questions"][:len(a_ms)])
    fts.close()

    search, fsearch = summary(s_ms), summary(fs_ms)
    answer, fanswer = summary(a_ms), summary(fa_ms)
    index_bytes, fts_bytes = dir_size(built.path), db.stat().st_size
    result = {
        "corpus": name, "documents": files, "articles": len(corpus.articles), "snippets": len(corpus.snippets),
        "index_documents": built.documents, "load_s": load_s, "build_s": build_s, "full_build_s": load_s + build_s,
        "open_s": open_s, "docs_per_s": files / (load_s + build_s), "index_bytes": index_bytes,
        "fts5_build_s": fts_build_s, "fts5_bytes": fts_bytes,
        "build_ratio": ratio(build_s, fts_build_s), "size_ratio": ratio(index_bytes, fts_bytes),
        "search_ms": search, "fts5_search_ms": fsearch, "searches_planned": len(queries["search"]),
        "questions_planned": len(queries["questions"]),
        "search_ratio": {p: ratio(search[p], fsearch[p]) for p in PCTS},
        "answer_ms": answer, "fts5_question_ms": fanswer,
        "answer_ratio": {p: ratio(answer[p], fanswer[p]) for p in PCTS},
        "semantic": semantic.enabled(),
        "answer_lexical_ms": summary(lexical_ms) if lexical_ms else None,
        "semantic_ratio": ratio(answer["p95"], summary(lexical_ms)["p95"]) if lexical_ms else None,
        "peak_rss_mb": peak, "rss_scope": "phase" if rss.resettable else "process",
        "search_errors": sum(isinstance(r, Exception) for r in s_res),
        "search_no_hits": sum(1 for r in s_res if not isinstance(r, Exception) and not r.hits),
        "answer_errors": sum(isinstance(r, Exception) for r in a_res),
        "answered": sum(1 for r in a_res if not isinstance(r, Exception) and r.answerable),
        "profiles": profiles,
    }
    del corpus, ix, s_res, a_res
    shutil.rmtree(index_dir, ignore_errors=True)
    db.unlink(missing_ok=True)
    gc.collect()
    return result


def profile_corpus(name: str, content_dir: Path, work: Path, ix, queries: dict, out: Path) -> dict:
    """pyinstrument profiles of a rebuild, the search pass and the answer pass (text reports)."""
    from pyinstrument import Profiler

    out.mkdir(parents=True, exist_ok=True)
    paths = {}

    def run(label: str, fn) -> None:
        log(f"{name}: profiling {label}")
        p = Profiler(interval=0.005)  # whoosh's matcher trees are deep: finer sampling costs 5x
        p.start()
        fn()
        p.stop()
        path = out / f"profile-{name}-{label}.txt"
        path.write_text(p.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
        flat = out / f"profile-{name}-{label}-flat.txt"  # self time per function: the hot spots
        flat.write_text(p.output_text(unicode=True, color=False, flat=True), encoding="utf-8")
        paths[label] = str(path)

    run("search", lambda: [kb_search(ix, q, limit=SEARCH_LIMIT) for q in queries["search"][:PROFILE_SEARCHES]])
    run("answer", lambda: [answer_question(ix, q) for q in queries["questions"][:PROFILE_QUESTIONS]])
    rebuild = work / f"index-{name}-profile"
    run("build", lambda: kb.build_index(kb.load_corpus(content_dir), rebuild))
    shutil.rmtree(rebuild, ignore_errors=True)
    return paths


# --------------------------------------------------------------------------- CLI cold start

def bench_cli(content_dir: Path, work: Path, runs: int) -> dict:
    """Median wall time of ``hvkb search quorum`` (index already built) beside bare interpreter starts."""
    home = work / "cli-home"
    kb.build_index(kb.load_corpus(content_dir), home / "index")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HVKB_")}
    env.update(HVKB_HOME=str(home), HVKB_CONTENT=str(content_dir))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import whoosh"': [sys.executable, "-c", "import whoosh"],
        "hvkb search quorum": [sys.executable, "-m", "kb.cli", "search", "quorum"],
    }
    for label, cmd in commands.items():  # warm the page cache; the index must not need a rebuild
        r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0 or "building the index" in r.stderr:
            raise SystemExit(f"bench: `{label}` failed or rebuilt the index:\n{r.stderr}")
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):  # interleaved, so a noisy moment hurts every command alike
        for label, cmd in commands.items():
            t = time.perf_counter()
            subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[label].append((time.perf_counter() - t) * 1000)
    base = statistics.median(times["python -c pass"])
    return {"runs": runs, "commands": [{"command": label, "median_ms": statistics.median(ms), "min_ms": min(ms),
                                        "ratio": statistics.median(ms) / base} for label, ms in times.items()]}


# --------------------------------------------------------------------------- targets and machine

def evaluate_targets(results: dict) -> list[dict]:
    """Each target of GitHub issue 6 with its measured value and PASS / MISS (n/a when not run)."""
    by = {c["corpus"]: c for c in results["corpora"]}
    real, big = by.get("real"), by.get("10k")
    cli = {c["command"]: c for c in results["cli"]["commands"]} if results.get("cli") else {}
    rows = []

    def add(name: str, value, target: float, unit: str, higher_is_better: bool = False) -> None:
        if value is None:
            rows.append({"target": name, "value": None, "limit": target, "unit": unit, "result": "n/a"})
            return
        ok = value >= target if higher_is_better else value <= target
        rows.append({"target": name, "value": value, "limit": target, "unit": unit,
                     "op": ">=" if higher_is_better else "<=", "result": "PASS" if ok else "MISS"})

    add("real KB: search p95", real and real["search_ms"]["p95"], 10, "ms")
    add("real KB: answer p95", real and real["answer_ms"]["p95"], 50, "ms")
    add("real KB: full rebuild (load + index)", real and real["full_build_s"], 5, "s")
    add("10k docs: search p95 / FTS5 p95", big and big["search_ratio"]["p95"], 2, "x")
    add("10k docs: answer p95", big and big["answer_ms"]["p95"], 150, "ms")
    add("10k docs: build (load + index)", big and big["docs_per_s"], 200, "docs/s", higher_is_better=True)
    add("CLI cold start / python -c pass", cli.get("hvkb search quorum", {}).get("ratio"), 10, "x")
    add("benchmark wall time (2 cores)", results.get("wall_s") if not results["settings"]["quick"] else None,
        BUDGET_S, "s")
    return rows


def _load_avg() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        import psutil

        ram = psutil.virtual_memory().total
    except ImportError:
        meminfo = Path("/proc/meminfo")
        if meminfo.exists():
            ram = int(meminfo.read_text().split("MemTotal:")[1].split()[0]) * 1024
    os_name = platform.platform()
    try:
        pretty = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        os_name = f"{pretty['PRETTY_NAME'].strip(chr(34))} (Linux {platform.release()})"
    except (OSError, KeyError):
        pass
    import whoosh

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable,
            "ram_gb": round(ram / 2**30, 1) if ram else None,
            "python": f"{platform.python_implementation()} {platform.python_version()}", "os": os_name,
            "sqlite": sqlite3.sqlite_version, "whoosh": ".".join(map(str, whoosh.__version__)),
            "hvkb": kb.__version__, "load_avg_start": _load_avg()}


# --------------------------------------------------------------------------- output

def _f(x, digits: int = 1) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _ms(x) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:,.1f}")


def _lat(stats: dict) -> list[str]:
    return [_ms(stats[p]) for p in PCTS]


def _count(n: int, planned: int) -> str:
    return str(n) if n == planned else f"{n}/{planned} (cap)"


def _x(x) -> str:
    return "-" if x is None else f"{x:,.1f}x"


def tables(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) for every table; rendered as text or Markdown."""
    cs = results["corpora"]
    out = []
    out.append(("Targets (GitHub issue 6)", ["target", "value", "target", "result"],
                [[t["target"], "-" if t["value"] is None else f"{_f(t['value'], 2)} {t['unit']}",
                  f"{t.get('op', '<=')} {t['limit']:g} {t['unit']}", t["result"]] for t in results["targets"]]))
    out.append(("Build (load + validate + index; FTS5 from the loaded corpus)",
                ["corpus", "docs", "index docs", "load s", "index s", "full s", "docs/s", "open s", "size MB",
                 "FTS5 s", "FTS5 MB", "index/FTS5 time", "size ratio", "peak RSS MB"],
                [[c["corpus"], f"{c['documents']:,}", f"{c['index_documents']:,}", _f(c["load_s"], 2),
                  _f(c["build_s"], 2), _f(c["full_build_s"], 2), _f(c["docs_per_s"], 0), _f(c["open_s"], 2),
                  _f(c["index_bytes"] / 2**20), _f(c["fts5_build_s"], 2), _f(c["fts5_bytes"] / 2**20),
                  _x(c["build_ratio"]), _x(c["size_ratio"]), _f(c["peak_rss_mb"], 0)] for c in cs]))
    out.append((f"Search (kb.search, limit {SEARCH_LIMIT}; ms; FTS5 = same queries, OR of quoted tokens, bm25)",
                ["corpus", "queries", "p50", "p95", "p99", "FTS5 p50", "FTS5 p95", "FTS5 p99",
                 "x p50", "x p95", "x p99", "no hits"],
                [[c["corpus"], _count(c["search_ms"]["n"], c["searches_planned"]), *_lat(c["search_ms"]),
                  *_lat(c["fts5_search_ms"]), *(_x(c["search_ratio"][p]) for p in PCTS), str(c["search_no_hits"])]
                 for c in cs]))
    out.append((f"Answer draft (kb.answer_question; ms; FTS5 = top-{FTS5_RETRIEVE} retrieval of the same question)",
                ["corpus", "questions", "p50", "p95", "p99", "FTS5 p50", "FTS5 p95", "FTS5 p99", "x p95",
                 "answered"],
                [[c["corpus"], _count(c["answer_ms"]["n"], c["questions_planned"]), *_lat(c["answer_ms"]),
                  *_lat(c["fts5_question_ms"]), _x(c["answer_ratio"]["p95"]),
                  f"{c['answered']}/{c['answer_ms']['n']}"] for c in cs]))
    if any(c.get("answer_lexical_ms") for c in cs):
        out.append(("Answer draft with the semantic extra vs without it (same questions, same process; ms)",
                    ["corpus", "questions", "p50", "p95", "p99", "lexical p50", "lexical p95", "lexical p99",
                     "x p95"],
                    [[c["corpus"], str(c["answer_ms"]["n"]), *_lat(c["answer_ms"]), *_lat(c["answer_lexical_ms"]),
                      _x(c["semantic_ratio"])] for c in cs if c.get("answer_lexical_ms")]))
    if results.get("cli"):
        out.append((f"CLI cold start (median of {results['cli']['runs']} runs, index already built)",
                    ["command", "median ms", "min ms", "x python -c pass"],
                    [[c["command"], _f(c["median_ms"]), _f(c["min_ms"]), _x(c["ratio"])]
                     for c in results["cli"]["commands"]]))
    return out


def _load_note(m: dict) -> str:
    start, end = m.get("load_avg_start"), m.get("load_avg_end")
    if not start:
        return "load average unknown"
    note = f"1-min load average {start[0]:g} at start, {end[0]:g} at end" if end else f"load {start[0]:g}"
    if start[0] > 0.5 * (m["usable_cores"] or 1):
        note += " (the machine was busy before the run: latencies are inflated)"
    return note


def render_text(results: dict) -> str:
    m = results["machine"]
    lines = [f"hvkb benchmark {results['date']}  ({m['cpu']}, {m['usable_cores']} cores, {m['ram_gb']} GB RAM, "
             f"{m['python']}, {m['os']})",
             f"queries: {results['settings']['searches']} searches, {results['settings']['questions']} forum "
             f"questions, seed {results['settings']['seed']}; wall time {results['wall_s']:.0f} s; {_load_note(m)}", ""]
    for title, headers, rows in tables(results):
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        lines.append(title)
        lines.append("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths))))
        for r in rows:
            lines.append("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))))
        lines.append("")
    return "\n".join(lines)


METHOD = """\
## How it is measured

- **Corpora.** `real` is the shipped `content/`. `1k` and `10k` are written by
  `scripts/synth_corpus.py` (seed {seed}) as real content folders: the real articles' sections
  recombined across related topics, the real snippets re-attached to new parents, forum-thread
  articles (original post, answer, follow-up) added, all reworded with `content/glossary.yaml`
  synonyms and sprinkled with typos, versions and error codes. Shares: 10 % articles, 20 % threads,
  70 % snippets. "docs" counts article + snippet files; "index docs" adds one entry per `##` section.
  They derive from the shipped content, so they change when `content/` does (same content, same bytes).
- **Build.** `load` is `kb.load_corpus` (read + validate every file), `index` is `kb.build_index`,
  `full` is both, as `hvkb build` does; docs/s = docs / full. Size is the build folder on disk
  (whoosh segments plus `corpus.json` and `vocab.json`). FTS5 builds from the already loaded corpus
  (`kb.index.documents`, so the same plain text, plus insert and `optimize`); its ratio compares index
  to FTS5 time.
- **Queries.** {searches} short searches and {questions} pasted forum questions, generated once (fixed
  seed) and mixed: acronyms (IC, CSV, LM, DPM, WSB), typos (quorom, intergration, migraton), versions
  (2012 R2, 2k16, server 2019), error codes (0x8009030E, 0x80070005, event 1135), the first words of
  real snippet questions; the forum questions wrap a (reworded, sometimes misspelt) snippet question
  in greeting, setup, error line and sign-off, and every 20th is off-topic. A separate warm-up set
  ({warm_s} searches, {warm_q} questions) runs first, so every timed query is first-seen by the
  speller cache, as a real user's would be. Each query runs once, in a fixed order; percentiles are
  linear-interpolated. A timed pass stops after {cap} s once {min_timed} queries ran ("n/m (cap)" in
  the tables: the first n of the fixed list); FTS5 then runs the same n queries. `--pass-cap 0` times all.
- **Baseline.** SQLite {sqlite} FTS5, `tokenize='porter unicode61'`, the same index documents and
  fields, `bm25(docs, 4, 3, 2, 2, 1)` over title, questions, summary, tags, body; the query becomes an
  OR of quoted tokens; 40 rows fetched and de-duplicated to 10 documents, like `kb.search`. It is a
  floor, not a feature match: no typo correction, glossary expansion, phrase boosts or highlighted
  excerpts. The answer comparison runs the pasted question (first 1,500 characters) through the same
  FTS5 search for 30 documents, the retrieval part of drafting only.
- **Memory.** Peak RSS of the whole process during the corpus's hvkb phase (load, build, open,
  queries), from `VmHWM` after resetting it through `/proc/self/clear_refs`.
- **CLI.** `python -m kb.cli search quorum` with `HVKB_HOME` on a temporary folder whose index is
  already built, interleaved with `python -c pass` and `python -c "import whoosh"`, one untimed run
  each, then the median of {runs}.
"""


def render_markdown(results: dict, plot: str | None) -> str:
    m, st = results["machine"], results["settings"]
    cmd = "python scripts/bench.py" + (" --quick" if st["quick"] else "") + \
        (f" --sizes {','.join(map(str, st['sizes']))}" if tuple(st["sizes"]) != SIZES and not st["quick"] else "")
    lines = ["# Benchmarks", "",
             f"Latest run: {results['date']}, `{cmd} --out docs/benchmarks.md --plot docs/bench-latency.png` "
             f"(wall time {results['wall_s']:.0f} s). Regenerate with the same command; machine-readable "
             "figures: `--json`. Fast check: `--quick`.", "",
             f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram_gb']} GB RAM, "
             f"{m['python']}, {m['os']}; whoosh {m['whoosh']}, SQLite {m['sqlite']}, hvkb {m['hvkb']}; "
             f"{_load_note(m)}.", ""]
    for title, headers, rows in tables(results):
        lines += [f"## {title}", "", "| " + " | ".join(headers) + " |",
                  "| " + " | ".join(["---"] + ["---:"] * (len(headers) - 1)) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    if plot:
        lines += [f"![search and answer p95 against corpus size, hvkb and FTS5]({plot})", ""]
    lines.append(METHOD.format(seed=st["seed"], searches=st["searches"], questions=st["questions"],
                               warm_s=N_WARM_SEARCH, warm_q=N_WARM_QUESTIONS, sqlite=m["sqlite"],
                               runs=results["cli"]["runs"] if results.get("cli") else CLI_RUNS,
                               cap=f"{st['pass_cap_s']:g}", min_timed=MIN_TIMED))
    return "\n".join(lines)


def write_markdown(results: dict, path: Path, plot: Path | None) -> None:
    kept = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if KEEP_MARKER in old:
            kept = old[old.index(KEEP_MARKER) + len(KEEP_MARKER):]
    rel = os.path.relpath(plot, path.parent) if plot else None
    if rel is None and (path.parent / "bench-latency.png").exists():
        rel = "bench-latency.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(results, rel) + "\n" + KEEP_MARKER + (kept or "\n"), encoding="utf-8")


def write_plot(results: dict, path: Path) -> None:
    """Search and answer p95 against corpus size, hvkb and FTS5, log-log, with the target lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    cs = sorted(results["corpora"], key=lambda c: c["documents"])
    x = [c["documents"] for c in cs]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    panels = [("search", "search_ms", "fts5_search_ms", "kb.search p95 (limit 10)", "FTS5 search p95",
               [(10, "real-KB target 10 ms")]),
              ("answer", "answer_ms", "fts5_question_ms", "kb.answer_question p95", "FTS5 retrieval p95 (top 30)",
               [(50, "real-KB target 50 ms"), (150, "10k target 150 ms")])]
    for ax, (what, key, fkey, label, flabel, lines) in zip(axes, panels):
        ax.plot(x, [c[key]["p95"] for c in cs], "o-", color="tab:blue", label=label)
        ax.plot(x, [c[fkey]["p95"] for c in cs], "s--", color="tab:gray", label=flabel)
        for c in cs:
            ax.annotate(_ms(c[key]["p95"]), (c["documents"], c[key]["p95"]), textcoords="offset points",
                        xytext=(-6, 6), ha="right", fontsize=8, color="tab:blue",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
        for (y, text), style in zip(lines, (":", "-.")):
            ax.axhline(y, color="tab:red", lw=0.9, ls=style, label=text)
        if what == "search" and len(cs) > 1:
            ax.plot(x, [2 * c[fkey]["p95"] for c in cs], ":", color="tab:green",
                    label="2x FTS5 p95 (10k target: hvkb at or below)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.margins(x=0.12)
        ax.set_xticks(x, [f"{n:,}\n{c['corpus']}" for n, c in zip(x, cs)])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("corpus size (article + snippet files)")
        ax.set_ylabel("p95 latency, ms (log)")
        ax.set_title(f"{what.capitalize()} p95 against corpus size")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    m = results["machine"]
    fig.suptitle(f"hvkb {results['date'][:10]} on {m['cpu']}, {m['usable_cores']} cores, {m['python']}", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main

def run(args) -> dict:
    started = time.perf_counter()
    content = Path(args.content).resolve() if args.content else kb.Settings().content_dir
    sizes = [1000] if args.quick else args.sizes
    n_search, n_questions = (QUICK_SEARCH, QUICK_QUESTIONS) if args.quick else (N_SEARCH, N_QUESTIONS)
    real = kb.load_corpus(content)
    searches, questions = make_queries(real, n_search, n_questions, args.seed)
    warm_s, warm_q = make_queries(real, N_WARM_SEARCH, N_WARM_QUESTIONS, args.seed, salt="-warmup")
    queries = {"search": searches, "questions": questions, "warm_search": warm_s, "warm_questions": warm_q}
    results = {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine(),
               "settings": {"quick": args.quick, "sizes": sizes, "seed": args.seed, "searches": n_search,
                            "questions": n_questions, "search_limit": SEARCH_LIMIT, "pass_cap_s": args.pass_cap},
               "corpora": []}
    with tempfile.TemporaryDirectory(prefix="hvkb-bench-") as tmp:
        work = Path(tmp)
        corpora = [("real", content)]
        for n in sizes:
            name = f"{n // 1000}k" if n % 1000 == 0 else str(n)
            folder = work / f"content-{name}"
            log(f"writing synthetic corpus {name} ({n} documents)")
            make_corpus(real, folder, n, args.seed, content)
            corpora.append((name, folder))
        largest = corpora[-1][0]
        for name, folder in corpora:
            prof = args.profile if (args.profile and name == largest) else None
            results["corpora"].append(bench_corpus(name, folder, work, queries, args.pass_cap, prof))
            if folder != content:
                shutil.rmtree(folder, ignore_errors=True)
        log("CLI cold start")
        results["cli"] = bench_cli(content, work, CLI_RUNS // 2 if args.quick else CLI_RUNS)
    results["wall_s"] = time.perf_counter() - started
    results["machine"]["load_avg_end"] = _load_avg()
    results["targets"] = evaluate_targets(results)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="Real KB + 1,000 docs, fewer queries: a fast check.")
    ap.add_argument("--json", action="store_true", help="Print the results as JSON instead of tables.")
    ap.add_argument("--out", type=Path, help="Write the tables, machine and date as Markdown (docs/benchmarks.md).")
    ap.add_argument("--plot", type=Path, help="Write a PNG of search and answer p95 against corpus size.")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=list(SIZES),
                    help="Synthetic corpus sizes (default 1000,10000); the 10k targets need 10000.")
    ap.add_argument("--seed", type=int, default=SEED, help=f"Seed for corpora and queries (default {SEED}).")
    ap.add_argument("--content", help="Real content folder (default: the KB shipped with hvkb).")
    ap.add_argument("--pass-cap", type=float, default=PASS_CAP_S, metavar="SECONDS",
                    help=f"Stop a timed pass after this long, once {MIN_TIMED} queries ran (default {PASS_CAP_S}; "
                         "0: time every query).")
    ap.add_argument("--profile", type=Path, metavar="DIR",
                    help="Also write pyinstrument profiles (build, search, answer) of the largest corpus to DIR.")
    args = ap.parse_args(argv)
    results = run(args)
    if args.out:
        write_markdown(results, args.out, args.plot)
    if args.plot:
        write_plot(results, args.plot)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(render_text(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
