#!/usr/bin/env python3
"""Evaluate the answer drafter on a question set.

Usage: python scripts/eval.py tests/data/dev_questions.jsonl [--json] [--index DIR] [--content DIR]
       python scripts/eval.py tests/data/real_questions.jsonl [--cv K] [--splits N] [--by-source] [--json]

Each line: {"id", "question", "labels": [topic ids or "offtopic"], "must_mention": [short facts]}.
Prints hit@1 / hit@3 (a source's topic is in labels), MRR, abstention precision / recall on
"offtopic", fact recall (share of must_mention found in the draft: as written, give or take a few
characters, or reworded within one sentence; see fact_found) and the stricter fact recall as
written, overall and per topic, and the worst misses. Uses kb's public API (and its stemmer).

Real questions (each with ``gold``) are scored by K-fold cross-validation: see evaluate_real. Few of
their drafts are answered, so with ``--splits N`` the same is done under N fold splits, and each
split's figures, their mean and range and the answered drafts pooled are printed too: a change worth
keeping should hold under more than the one split it was tried on. With ``--by-source`` each
source's questions (a GitHub repository, or a site) stay in one fold: every draft is made by a model
that never saw a question from where it was asked, as with questions from a new forum.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz  # noqa: E402

import kb  # noqa: E402

FACT_MATCH = 80  # partial_ratio at or above this counts a must_mention fact as present, as written
FACT_STOP = frozenset("a an the and or of to in on for with by is are be it its as at from into that this "
                      "than then not no".split())
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?:;])\s+|\n")


def _fact_stems(text: str) -> set[str]:
    from kb.index import stem_word
    from kb.text import words

    return {stem_word(w) for w in words(text) if w not in FACT_STOP}


def fact_found_as_written(fact: str, draft: str) -> bool:
    """Strict: the fact's own wording, give or take a few characters (rapidfuzz partial_ratio)."""
    return fuzz.partial_ratio(fact.lower(), draft.lower()) >= FACT_MATCH


def fact_found(fact: str, draft: str) -> bool:
    """As written, or reworded within one sentence: every content word of the fact (stemmed) is in
    one sentence of the draft, one word excepted when the fact has four or more.

    >>> fact_found("VM must be shut down", "Shut the VM down first. Then enable it.")
    True
    >>> fact_found("same CPU manufacturer required", "Hosts need the same manufacturer.")
    False
    """
    if fact_found_as_written(fact, draft):
        return True
    want = _fact_stems(fact)
    if not want:
        return False
    spare = 1 if len(want) >= 4 else 0
    return any(len(want - _fact_stems(sentence)) <= spare for sentence in _SENTENCE_SPLIT.split(draft))


def evaluate(kb_index, items: list[dict]) -> dict:
    rows = []
    for item in items:
        d = kb.answer_question(kb_index, item["question"], question_id=item.get("id"))
        labels = set(item["labels"])
        off = "offtopic" in labels
        topics = [s.topic for s in d.sources]
        rank = next((i + 1 for i, t in enumerate(topics) if t in labels), None)
        facts = item.get("must_mention") or []
        found = [f for f in facts if fact_found(f, d.draft)]
        strict = [f for f in facts if fact_found_as_written(f, d.draft)]
        rows.append({"id": item.get("id"), "labels": sorted(labels), "offtopic": off, "abstained": not d.answerable,
                     "confidence": d.confidence, "rank": rank, "top_topic": topics[0] if topics else None,
                     "fact_recall": (len(found) / len(facts)) if facts else None,
                     "fact_recall_as_written": (len(strict) / len(facts)) if facts else None,
                     "missing_facts": [f for f in facts if f not in found],
                     "question": item["question"][:160].replace("\n", " ")})
    return summarize(rows)


def _metrics(rows: list[dict]) -> dict:
    on = [r for r in rows if not r["offtopic"]]
    off = [r for r in rows if r["offtopic"]]
    abstained = [r for r in rows if r["abstained"]]
    fr = [r["fact_recall"] for r in on if r["fact_recall"] is not None]
    fw = [r["fact_recall_as_written"] for r in on if r["fact_recall_as_written"] is not None]
    tp = sum(1 for r in abstained if r["offtopic"])
    return {
        "questions": len(rows), "on_topic": len(on), "off_topic": len(off),
        "hit@1": sum(1 for r in on if r["rank"] == 1) / len(on) if on else None,
        "hit@3": sum(1 for r in on if r["rank"] and r["rank"] <= 3) / len(on) if on else None,
        "mrr": sum(1 / r["rank"] for r in on if r["rank"]) / len(on) if on else None,
        "abstain_precision": tp / len(abstained) if abstained else (1.0 if not off else 0.0),
        "abstain_recall": tp / len(off) if off else None,
        "fact_recall": sum(fr) / len(fr) if fr else None,
        "fact_recall_as_written": sum(fw) / len(fw) if fw else None,
        "answered_on_topic": sum(1 for r in on if not r["abstained"]) / len(on) if on else None,
    }


def summarize(rows: list[dict]) -> dict:
    per_topic = defaultdict(list)
    for r in rows:
        for label in r["labels"]:
            per_topic[label].append(r)
    misses = [r for r in rows if (not r["offtopic"] and (not r["rank"] or r["rank"] > 1 or r["abstained"]))
              or (r["offtopic"] and not r["abstained"])]
    misses.sort(key=lambda r: (r["rank"] is not None and not r["offtopic"], -(r["confidence"] or 0)))
    return {"overall": _metrics(rows), "per_topic": {t: _metrics(rs) for t, rs in sorted(per_topic.items())},
            "worst_misses": misses[:15], "rows": rows}


# --------------------------------------------------------------------------- real questions

def gold_ids(item: dict, corpus) -> set[str] | None:
    """The snippet ids that answer a real question, and their articles; None when it is not covered."""
    gold = item.get("gold")
    if gold in (None, "not-covered") or not gold:
        return None
    out = set(gold)
    out |= {corpus.snippets[g].article for g in gold if g in corpus.snippets}
    return out


def ranked_ids(draft) -> list[str]:
    """What the draft ranks first, in order: its sources (the main snippet leads)."""
    return [s.id for s in draft.sources]


def drafted(kb_index, question: str, question_id: str | None, ranker=None):
    """What :func:`kb.answer_question` drafts for a question (with ``ranker``; the shipped one when None)
    and every candidate snippet in the ranker's order, from one analysis. A draft shows the first; abstaining,
    only those it is at least NEAREST_MIN sure of."""
    from kb.answer import analyse, decide
    from kb.facts import clean_question

    a = analyse(kb_index, clean_question(question), ranker)
    return decide(a, kb_index.corpus, ranker, question_id), [c.snippet.id for _p, c in a.ranked]


def evaluate_real(kb_index, items: list[dict], answer=None, ranker_of=None) -> dict:
    """Score drafts of real questions against their ``gold`` snippets (or ``"not-covered"``).

    :param answer: ``f(kb_index, question, id) -> Draft``. Without it, each question is drafted by
        :func:`drafted` with ``ranker_of(id)`` (the shipped model when that is None too), and each row
        also has ``pool_rank``, where the gold snippet is in the ranker's whole order (``ranked_hit@3``
        in the report), whether or not the draft shows it.
    """
    ranker_of = ranker_of or (lambda qid: None)
    rows = []
    for item in items:
        extra = {}
        gold = gold_ids(item, kb_index.corpus)
        if answer is not None:
            d = answer(kb_index, item["question"], item.get("id"))
        else:
            d, order = drafted(kb_index, item["question"], item.get("id"), ranker_of(item.get("id")))
            extra["pool_rank"] = next((i + 1 for i, sid in enumerate(order) if gold and sid in gold), None)
        ranked = ranked_ids(d)
        rank = next((i + 1 for i, sid in enumerate(ranked) if gold and sid in gold), None)
        # The confidence is the probability that the best candidate answers: "right" is judged on it,
        # whether or not the draft was shown as an answer.
        right = bool(gold) and bool(ranked) and ranked[0] in gold
        rows.append({"id": item.get("id"), "covered": gold is not None, "scope": item.get("scope"),
                     "abstained": not d.answerable, "confidence": d.confidence, "rank": rank,
                     "top": ranked[0] if ranked else None, "right": right,
                     "gold": item.get("gold"), "question": item["question"][:160].replace("\n", " "), **extra})
    return summarize_real(rows)


def _train_ranker():
    """scripts/train_ranker.py as a module (it lives next to this script)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import train_ranker

    return train_ranker


def split_seeds(n: int) -> list[str]:
    """The fold splits to score under: scripts/train_ranker.py's own first, then ``n - 1`` others."""
    tr = _train_ranker()
    return [tr.SEED] + [f"{tr.SEED}-{i}" for i in range(2, n + 1)]


def cross_validated_answers(kb_index, items: list[dict], k: int, splits: int = 1, by_source: bool = False) -> list:
    """For each of ``splits`` fold splits (:func:`split_seeds`), an ``answer(kb_index, question, id)``
    that drafts each question with the model of the fold that held it out (:func:`cross_validated_rankers`)."""
    return [lambda idx, q, qid, ranker_of=ranker_of: kb.answer_question(idx, q, question_id=qid, ranker=ranker_of(qid))
            for ranker_of in cross_validated_rankers(kb_index, items, k, splits, by_source)]


def cross_validated_rankers(kb_index, items: list[dict], k: int, splits: int = 1, by_source: bool = False) -> list:
    """For each of ``splits`` fold splits (:func:`split_seeds`), a ``ranker_of(id)``: the model of the fold
    that held that question out (trained, calibrated and thresholded as scripts/train_ranker.py does). The
    features are extracted once for all splits. ``by_source``: the folds keep each source's questions
    together (``train_ranker.folds_of``)."""
    tr = _train_ranker()

    questions = tr.extract(kb_index, items)
    # The same training data as scripts/train_ranker.py's defaults.
    extra = tr.synthetic_questions(kb_index, tr.ALSO_DEFAULT, tr.ALSO_WEIGHT)
    conf_extra = tr.synthetic_questions(kb_index, tr.CONFIDENCE_ALSO, tr.CONFIDENCE_ALSO_WEIGHT)
    c = tr.choose_c(questions, k, extra)
    out = []
    for seed in split_seeds(splits):
        model_of = {}
        for held, model in tr.fold_models(questions, k, c, extra, conf_extra, seed=seed, by_source=by_source):
            for i in held:
                model_of[questions[i].id] = model
        out.append(model_of.__getitem__)
    return out


def cross_validated_answer(kb_index, items: list[dict], k: int):
    """The drafts of :func:`cross_validated_answers` under scripts/train_ranker.py's own fold split."""
    return cross_validated_answers(kb_index, items, k)[0]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_calibration_error(conf: list[float], right: list[bool], bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    total, n = 0.0, len(conf)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(conf) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if idx:
            acc = sum(right[i] for i in idx) / len(idx)
            avg = sum(conf[i] for i in idx) / len(idx)
            total += len(idx) / n * abs(acc - avg)
    return total


def auc(scores: list[float], labels: list[bool]) -> float | None:
    """Probability that a random right draft has a higher confidence than a random wrong one."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def summarize_real(rows: list[dict]) -> dict:
    cov = [r for r in rows if r["covered"]]
    unc = [r for r in rows if not r["covered"]]
    answered = [r for r in rows if not r["abstained"]]
    abstained = [r for r in rows if r["abstained"]]
    tp = sum(1 for r in abstained if not r["covered"])
    conf = [r["confidence"] for r in rows]
    right = [r["right"] for r in rows]
    overall = {
        "questions": len(rows), "covered": len(cov), "not_covered": len(unc),
        "hit@1": sum(1 for r in cov if r["rank"] == 1) / len(cov) if cov else None,
        "hit@3": sum(1 for r in cov if r["rank"] and r["rank"] <= 3) / len(cov) if cov else None,
        # The gold snippet among the ranker's first three candidates, shown or not (an abstention's sources
        # stop at NEAREST_MIN): what the order alone gets right, apart from what the draft displays.
        "ranked_hit@3": (sum(1 for r in cov if r["pool_rank"] and r["pool_rank"] <= 3) / len(cov)
                         if cov and all("pool_rank" in r for r in cov) else None),
        "answered_right": sum(r["right"] and not r["abstained"] for r in cov) / len(cov) if cov else None,
        "abstain_precision": tp / len(abstained) if abstained else None,
        "abstain_recall": tp / len(unc) if unc else None,
        "confidently_wrong": sum(1 for r in answered if not r["right"]) / len(answered) if answered else None,
        "ece": expected_calibration_error(conf, right) if rows else None,
        "auc": auc(conf, right),
    }
    misses = [r for r in rows if (r["covered"] and (not r["right"] or r["abstained"]))
              or (not r["covered"] and not r["abstained"])]
    misses.sort(key=lambda r: -r["confidence"])
    return {"overall": overall, "by_confidence": by_confidence(rows), "worst_misses": misses[:20], "rows": rows}


def confidence_levels() -> tuple[float, ...]:
    """Where :func:`by_confidence` counts drafts: from where an abstention quotes the closest answer's
    opening and where it offers it whole (kb.compose), and the shipped answer threshold with its
    neighbours (few real drafts reach it, so a shift of 0.02 can move a third of them across)."""
    from kb.compose import GIST_FROM, LEAD_FROM
    from kb.ranker import default_ranker

    t = default_ranker().threshold
    return (GIST_FROM, LEAD_FROM) + tuple(round(t + d, 2) for d in (-0.1, -0.05, 0.0, 0.05, 0.1))


def by_confidence(rows: list[dict], levels: tuple[float, ...] | None = None) -> list[dict]:
    """For each level (default :func:`confidence_levels`): how many drafts have at least that
    confidence, and how many of them are right.

    >>> by_confidence([{"confidence": 0.9, "right": True}, {"confidence": 0.6, "right": False},
    ...                {"confidence": 0.1, "right": True}], levels=(0.5, 0.95))
    [{'at_least': 0.5, 'drafts': 2, 'right': 1}, {'at_least': 0.95, 'drafts': 0, 'right': 0}]
    """
    return [{"at_least": level, "drafts": sum(r["confidence"] >= level for r in rows),
             "right": sum(r["right"] for r in rows if r["confidence"] >= level)}
            for level in (levels or confidence_levels())]


def _levels_line(levels: list[dict]) -> str:
    """:func:`by_confidence` on one line: "0.60: 11/13" (right / drafts at or above each level)."""
    return "  " + "  ".join(f"{b['at_least']:.2f}: {b['right']}/{b['drafts']}" for b in levels)


SPLIT_COLS = ("hit@1", "hit@3", "ranked_hit@3", "ece", "auc")   # averaged over fold splits; answered drafts are pooled


def summarize_splits(reports: list[dict]) -> dict:
    """The real-set figures over several fold splits: each split's own, their mean, lowest and highest,
    and the answered drafts and confidence levels pooled (so few drafts are answered that one split's
    count moves by a third from one split to the next).

    >>> r = lambda h, rows: {"overall": {"hit@1": h, "hit@3": h, "ece": 0.1, "auc": 0.7}, "rows": rows}
    >>> s = summarize_splits([r(0.5, [{"abstained": False, "right": True, "confidence": 0.7}]),
    ...                       r(0.6, [{"abstained": False, "right": False, "confidence": 0.6}])])
    >>> s["hit@1"], s["answered"], s["answered_wrong"], s["confidently_wrong"]
    ({'mean': 0.55, 'low': 0.5, 'high': 0.6}, 2, 1, 0.5)
    """
    out: dict = {"splits": len(reports)}
    for c in SPLIT_COLS:
        vals = [r["overall"][c] for r in reports if r["overall"].get(c) is not None]
        out[c] = ({"mean": round(sum(vals) / len(vals), 4), "low": min(vals), "high": max(vals)} if vals else None)
    answered = [row for r in reports for row in r["rows"] if not row["abstained"]]
    out["answered"] = len(answered)
    out["answered_wrong"] = sum(1 for row in answered if not row["right"])
    out["confidently_wrong"] = out["answered_wrong"] / len(answered) if answered else None
    out["by_confidence"] = by_confidence([row for r in reports for row in r["rows"]])
    out["per_split"] = [{**{c: r["overall"].get(c) for c in SPLIT_COLS},
                         "answered": sum(1 for row in r["rows"] if not row["abstained"]),
                         "answered_right": sum(1 for row in r["rows"] if not row["abstained"] and row["right"])}
                        for r in reports]
    return out


def print_splits_table(s: dict) -> None:
    print(f"\nAcross {s['splits']} fold splits (each split: hit@1, hit@3, answered (right), ECE, AUC):")
    for i, r in enumerate(s["per_split"], 1):
        print(f"  split {i}: {_fmt(r['hit@1'])}  {_fmt(r['hit@3'])}  {r['answered']} ({r['answered_right']})  "
              f"{_fmt(r['ece'])}  {_fmt(r['auc'])}")
    for c in SPLIT_COLS:
        v = s[c]
        if v:
            print(f"{c:>20}  {v['mean']:.3f} (from {v['low']:.3f} to {v['high']:.3f})")
    print(f"{'answered, pooled':>20}  {s['answered']} ({s['answered_wrong']} wrong: "
          f"{_fmt(s['confidently_wrong'])})")
    print(_levels_line(s["by_confidence"]))


REAL_COLS = ["questions", "covered", "hit@1", "hit@3", "ranked_hit@3", "answered_right", "abstain_precision",
             "abstain_recall", "confidently_wrong", "ece", "auc"]


def print_real_table(report: dict) -> None:
    o = report["overall"]
    for c in REAL_COLS:
        print(f"{c:>20}  {_fmt(o[c])}")
    print("\nDrafts at or above each confidence (right / all):")
    print(_levels_line(report["by_confidence"]))
    print("\nWorst misses (most confident first):")
    for r in report["worst_misses"]:
        what = (f"covered, rank {r['rank']}, top {r['top']}" + (", abstained" if r["abstained"] else "")
                if r["covered"] else f"not covered ({r['scope']}), answered with {r['top']}")
        print(f"  {r['id']} {what} (conf {r['confidence']:.2f}): {r['question'][:90]}")


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def print_table(report: dict) -> None:
    cols = ["questions", "hit@1", "hit@3", "mrr", "abstain_precision", "abstain_recall", "fact_recall",
            "fact_recall_as_written"]
    width = {c: max(len(c), 6) + 2 for c in cols}
    print(f"{'':24}" + "".join(f"{c:>{width[c]}}" for c in cols))
    print(f"{'OVERALL':24}" + "".join(f"{_fmt(report['overall'][c]):>{width[c]}}" for c in cols))
    for topic, m in report["per_topic"].items():
        print(f"{topic:24}" + "".join(f"{_fmt(m[c]):>{width[c]}}" for c in cols))
    print("\nWorst misses:")
    for r in report["worst_misses"]:
        what = ("answered an off-topic question" if r["offtopic"] else
                f"rank {r['rank']}, top topic {r['top_topic']}" + (", abstained" if r["abstained"] else ""))
        print(f"  {r['id']} [{','.join(r['labels'])}] {what} (conf {r['confidence']:.2f}): {r['question'][:90]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("questions", type=Path)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--index", type=Path, help="index folder (default: a temporary one)")
    ap.add_argument("--content", type=Path, help="content folder (default: the shipped KB)")
    ap.add_argument("--cv", type=int, default=5, metavar="K",
                    help="real questions (with 'gold'): score each fold's drafts with a model trained without it "
                         "(scripts/train_ranker.py, needs the train extra); 0 scores the shipped model as is, which "
                         "was trained on this set and is optimistic (default 5)")
    ap.add_argument("--splits", type=int, default=1, metavar="N",
                    help="real questions: also score under N different fold splits and print each, their mean "
                         "and range, and the answered drafts pooled (default 1: the training script's split)")
    ap.add_argument("--by-source", action="store_true",
                    help="real questions: keep each source's questions (a GitHub repository, or a site) in one "
                         "fold, so no draft is made by a model trained on questions from where it was asked")
    args = ap.parse_args(argv)
    if args.splits < 1:
        ap.error("--splits must be 1 or more")
    settings = kb.Settings.from_options(args.content, args.index)
    items = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or Path(tmp) / "index"
        kb_index = kb.ensure_index(settings.content_dir, index_dir)
        real = all("gold" in item for item in items)
        splits = None
        if real and args.cv:
            rankers = cross_validated_rankers(kb_index, items, args.cv, args.splits, args.by_source)
            reports = [evaluate_real(kb_index, items, ranker_of=r) for r in rankers]
            report = reports[0]
            if len(reports) > 1:
                splits = summarize_splits(reports)
        elif real:
            report = evaluate_real(kb_index, items)
        else:
            report = evaluate(kb_index, items)
        kb_index.close()
    if args.json:
        print(json.dumps({**{k: v for k, v in report.items() if k != "rows"}, "folds_by_source": args.by_source,
                          **({"over_splits": splits} if splits else {})}, indent=2))
    elif real:
        if args.by_source and args.cv:
            print("Folds by source: no draft is made by a model trained on questions from where it was asked.\n")
        print_real_table(report)
        if splits:
            print_splits_table(splits)
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
