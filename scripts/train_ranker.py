#!/usr/bin/env python3
"""Train the drafter's relevance model on the real-question development set; print cross-validated
figures; write ``kb/ranker.json`` (or ``kb/ranker-semantic.json``).

Usage: python scripts/train_ranker.py [tests/data/real_questions.jsonl] [--folds 5] [--out FILE] [--dry-run]
       HVKB_SEMANTIC=off python scripts/train_ranker.py     # the lexical weights, with the extra installed

Needs the ``train`` extra (``pip install ".[train]"``: scikit-learn). Each question's candidates
(kb.retrieval + kb.features, the same code the drafter runs) are labelled 1 when the snippet is one
of the question's ``gold`` ids. A logistic regression is fitted per fold; its best candidate's
probability is re-calibrated with Platt scaling fitted on inner cross-validation; drafts below a
calibrated confidence of ``THRESHOLD`` abstain. With the ``semantic`` extra on (:mod:`kb.semantic`)
the model reads its two features too, and the weights go to ``kb/ranker-semantic.json``. The figures
printed are those of the held-out folds only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kb  # noqa: E402
from kb.facts import clean_question, detect_facts  # noqa: E402
from kb import semantic  # noqa: E402
from kb.features import CONFIDENCE_ONLY, FEATURES, describe  # noqa: E402
from kb.focus import find_focus  # noqa: E402
from kb.ranker import Ranker  # noqa: E402
from kb.retrieval import retrieve  # noqa: E402

GRID_C = (0.03, 0.1, 0.3, 1.0)   # inverse regularisation strengths tried, chosen by CV log loss
# Answer only when the calibrated confidence says the draft is clearly more likely right than wrong. A
# threshold fitted to "at most 10-20% wrong" on the inner folds swung between 0.42 and 0.91 with 43 covered
# questions; a fixed point on a calibrated scale means the same thing every time it is retrained. At 0.5,
# 13 of 295 real questions (the set then) were answered in cross-validation and 3 of them wrongly (23%), among them
# drafts shown at 0.50-0.56 that a reader takes for answers; at 0.6, 5 answered, 1 wrong. Precision first.
THRESHOLD = 0.6
SEED = "hvkb-ranker"
ALSO_WEIGHT = 1.0                # with --also: a synthetic question counts as much as a real one
# Synthetic questions are not added by default: with 94 covered real questions they lowered the
# cross-validated hit@1 (0.511 -> 0.457 lexical, 0.585 -> 0.511 semantic) for +0.02 AUC; with 43 they
# had helped the confidence (AUC 0.68 -> 0.74).
ALSO_DEFAULT: tuple[Path, ...] = ()
# They do train the confidence (a second model; the first keeps the order): real questions here are
# mostly docs feedback and tool bug reports, and trained on them alone the drafter abstained on clean
# forum questions it answers right ("live migrate from Intel to AMD?" at 0.58, the Xeon E5 / Xeon Gold
# cluster at 0.47). At weight 0.1 those reach 0.92 / 0.89, hit@1 is unchanged, the cross-validated AUC
# goes 0.730 -> 0.715 (0.701 at weight 0.2, 0.693 at 0.3) and 4 real drafts are answered, 3 right.
CONFIDENCE_ALSO: tuple[Path, ...] = (ROOT / "tests" / "data" / "dev_questions.jsonl",)
CONFIDENCE_ALSO_WEIGHT = 0.1


# With the semantic extra installed (and HVKB_SEMANTIC not "off"), the model is trained with its two
# features too and written to kb/ranker-semantic.json; the drafter uses that file when they are on.
SEMANTIC = semantic.enabled()
if SEMANTIC:
    FEATURES = FEATURES + semantic.FEATURES
    CONFIDENCE_ONLY = CONFIDENCE_ONLY + semantic.CONFIDENCE_ONLY


@dataclass
class Question:
    id: str
    gold: frozenset[str]                  # snippet ids (empty when not covered)
    x: list[list[float]]                  # one feature vector per candidate
    y: list[int]                          # 1 when that candidate is gold
    ids: list[str]                        # candidate snippet ids
    weight: float = 1.0                   # how much its candidates count in training
    source: str = ""                      # where it was asked (:func:`source_of`), for folds by source


def source_of(url: str) -> str:
    """The place a question was asked, as folds by source keep it together: a GitHub repository
    ("docker/for-win"), else the site.

    >>> source_of("https://github.com/Docker/for-win/issues/836"), source_of("https://serverfault.com/q/1")
    ('docker/for-win', 'serverfault.com')
    """
    m = re.match(r"https?://(?:www\.)?github\.com/([^/]+/[^/#?]+)", url, re.I)
    if m:
        return m.group(1).lower()
    m = re.match(r"https?://(?:www\.)?([^/#?]+)", url, re.I)
    return m.group(1).lower() if m else url


def extract(kb_index, items: list[dict]) -> list[Question]:
    """Candidates and features for each question, exactly as the drafter computes them."""
    out = []
    for item in items:
        cleaned = clean_question(item["question"])
        facts = detect_facts(cleaned)
        focus = find_focus(cleaned)
        cands = describe(kb_index, cleaned, focus, facts, retrieve(kb_index, cleaned, focus.text),
                         semantic=SEMANTIC)
        gold = frozenset(item["gold"]) if isinstance(item.get("gold"), list) else frozenset()
        out.append(Question(item["id"], gold, [c.vector(FEATURES) for c in cands],
                            [int(c.snippet.id in gold) for c in cands], [c.snippet.id for c in cands],
                            source=source_of(item.get("source", ""))))
    return out


def weak_gold(kb_index, items: list[dict]) -> list[dict]:
    """Synthetic questions labelled by their facts: a candidate of a labelled topic whose answer states
    at least half of the question's ``must_mention`` facts answers it; off-topic questions have none.
    Questions where no candidate qualifies are left out rather than taught as unanswerable."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from eval import fact_found  # noqa: E402

    corpus = kb_index.corpus
    out = []
    for item in items:
        labels = set(item.get("labels") or [])
        if "offtopic" in labels:
            out.append({**item, "gold": "not-covered"})
            continue
        cleaned = clean_question(item["question"])
        focus = find_focus(cleaned)
        c = retrieve(kb_index, cleaned, focus.text)
        facts = item.get("must_mention") or []
        gold = []
        for sid in c.snippet_scores:
            s = corpus.snippets.get(sid)
            if s is None or s.topic not in labels or not facts:
                continue
            if sum(fact_found(f, s.answer) for f in facts) * 2 >= len(facts):
                gold.append(sid)
        if gold:
            out.append({**item, "gold": gold})
    return out


def load_feedback(path: Path) -> list[dict]:
    """Rows of ``hvkb feedback export --jsonl``: ``id``, ``question``, ``gold`` (snippet ids,
    ``"not-covered"``, or ``null`` when only ``wrong`` is known) and ``wrong`` (snippet ids marked wrong).

    :raises SystemExit: a line that is not such a row, with its file and line number.
    """
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise SystemExit(f"{path}:{n}: not JSON: {exc}") from None
        gold, wrong = (row.get("gold"), row.get("wrong", [])) if isinstance(row, dict) else (None, None)
        if not (isinstance(row, dict) and isinstance(row.get("id"), str) and isinstance(row.get("question"), str)
                and (gold is None or gold == "not-covered" or isinstance(gold, list) and all(isinstance(g, str) for g in gold))
                and isinstance(wrong, list) and all(isinstance(w, str) for w in wrong)):
            raise SystemExit(f'{path}:{n}: not a feedback row (needs "id", "question", "gold": [ids] | "not-covered" '
                             f'| null, "wrong": [ids]); write one with `hvkb feedback export --jsonl`')
        rows.append(row)
    return rows


def feedback_questions(kb_index, rows: list[dict]) -> list[Question]:
    """Training questions from feedback rows. Gold ids the content no longer has are dropped; a row
    whose right snippet is not known (``gold`` null) teaches only that its ``wrong`` candidates are wrong."""
    snippets = kb_index.corpus.snippets
    items, known = [], []
    for row in rows:
        gold = row.get("gold")
        if isinstance(gold, list):
            gold = [g for g in gold if g in snippets] or None
        wrong = {w for w in row.get("wrong", []) if w in snippets}
        if gold is None and not wrong:
            continue
        items.append({**row, "gold": gold if gold is not None else "not-covered"})
        known.append(gold is not None)
    out = extract(kb_index, items)
    for q, row, labelled in zip(out, items, known):
        if not labelled:
            keep = [i for i, sid in enumerate(q.ids) if sid in set(row.get("wrong", []))]
            q.x, q.y, q.ids = [q.x[i] for i in keep], [q.y[i] for i in keep], [q.ids[i] for i in keep]
    return [q for q in out if q.y]


def synthetic_questions(kb_index, paths, weight: float) -> list[Question]:
    """Training questions from synthetic sets (labels from their facts, :func:`weak_gold`), each weighted."""
    items = []
    for path in paths:
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        items += weak_gold(kb_index, rows)
    out = extract(kb_index, items)
    for q in out:
        q.weight = weight
    return out


def folds_of(questions: list[Question], k: int, seed: str = SEED, by_source: bool = False) -> list[list[int]]:
    """k folds, stratified by covered / not covered, assigned by a hash of ``seed`` and the id (stable).

    ``by_source``: each source's questions stay in one fold (largest sources first, each to the fold
    with the fewest questions so far), so a model never drafts a question from a place it was trained
    on; the folds are then not stratified.
    """
    def key(text: str) -> str:
        return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()
    folds: list[list[int]] = [[] for _ in range(k)]
    if by_source:
        members: dict[str, list[int]] = {}
        for i, q in enumerate(questions):
            members.setdefault(q.source or q.id, []).append(i)
        for src in sorted(members, key=lambda g: (-len(members[g]), key(g))):
            j = min(range(k), key=lambda j: (len(folds[j]), key(f"{src}:{j}")))
            folds[j].extend(members[src])
        return [sorted(f) for f in folds]
    for group in (True, False):
        idx = sorted((i for i, q in enumerate(questions) if bool(q.gold) == group), key=lambda i: key(questions[i].id))
        for n, i in enumerate(idx):
            folds[n % k].append(i)
    return folds


def fit(questions: list[Question], c: float, confidence_extra=()) -> Ranker:
    """Two logistic regressions over every candidate: the order on ``questions`` alone and without the
    confidence-only features (how far a candidate leads its question), the probability on ``questions``
    and ``confidence_extra`` with every feature."""
    keep = [i for i, name in enumerate(FEATURES) if name not in CONFIDENCE_ONLY]
    order_model = _fit_one(questions, c, keep)
    conf = _fit_one(list(questions) + list(confidence_extra), c)
    # The order model's weights, re-expressed on the confidence model's standardisation (the means only
    # shift every candidate of a question alike, so they do not change the order); 0 for the others.
    order = [0.0] * len(FEATURES)
    for w, so, i in zip(order_model.coef, order_model.scale, keep):
        order[i] = w / so * conf.scale[i]
    return Ranker(conf.features, conf.mean, conf.scale, conf.coef, conf.intercept, order=tuple(order))


def _fit_one(questions: list[Question], c: float, columns: list[int] | None = None) -> Ranker:
    """A logistic regression over every candidate of ``questions`` (standardised features; only
    ``columns`` of them when given)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    columns = list(range(len(FEATURES))) if columns is None else columns
    names = tuple(FEATURES[i] for i in columns)
    x = np.array([[v[i] for i in columns] for q in questions for v in q.x], dtype=float).reshape(-1, len(columns))
    y = np.array([t for q in questions for t in q.y], dtype=int)
    w = np.array([q.weight for q in questions for _t in q.y], dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    if y.min() == y.max():  # a fold without any positive: nothing to learn, predict the base rate
        return Ranker(names, tuple(mean), tuple(scale), tuple(0.0 for _ in names), -6.0)
    model.fit((x - mean) / scale, y, sample_weight=w)
    return Ranker(names, tuple(mean), tuple(scale), tuple(float(w) for w in model.coef_[0]),
                  float(model.intercept_[0]))


def top(r: Ranker, q: Question) -> tuple[float, str | None]:
    """The best candidate's raw probability and id, as the drafter ranks them."""
    ranked = r.rank([_Cand(dict(zip(FEATURES, vec)), sid) for vec, sid in zip(q.x, q.ids)])
    if not ranked:
        return 0.0, None
    p, cand = ranked[0]
    return p, cand.snippet.id


class _Cand:
    """The minimal candidate shape :meth:`Ranker.probability` reads."""

    def __init__(self, features: dict, sid: str):
        self.features = features
        self.snippet = type("S", (), {"id": sid})


def log_loss(r: Ranker, questions: list[Question]) -> float:
    total, n = 0.0, 0
    for q in questions:
        for vec, y in zip(q.x, q.y):
            p = min(max(r.probability(_Cand(dict(zip(FEATURES, vec)), "")), 1e-9), 1 - 1e-9)
            total -= math.log(p) if y else math.log(1 - p)
            n += 1
    return total / max(n, 1)


def platt(raw: list[float], right: list[bool]) -> tuple[float, float]:
    """Fit confidence = sigmoid(a * logit(p) + b) to whether the best candidate was right."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if len(set(right)) < 2:
        return 1.0, 0.0
    z = np.array([[math.log(min(max(p, 1e-6), 1 - 1e-6) / (1 - min(max(p, 1e-6), 1 - 1e-6)))] for p in raw])
    m = LogisticRegression(C=100.0, max_iter=1000).fit(z, np.array(right, dtype=int))
    return float(m.coef_[0][0]), float(m.intercept_[0])


def inner_predictions(train: list[Question], k: int, c: float, extra=(),
                      confidence_extra=()) -> tuple[list[float], list[bool]]:
    """Out-of-fold best-candidate probabilities and rightness within ``train`` (``extra`` and
    ``confidence_extra`` always train)."""
    raw, right = [], []
    for held in folds_of(train, k):
        held_set = set(held)
        model = fit([q for i, q in enumerate(train) if i not in held_set] + list(extra), c, confidence_extra)
        for i in held:
            p, sid = top(model, train[i])
            raw.append(p)
            right.append(sid in train[i].gold)
    return raw, right


def train(questions: list[Question], k: int, c: float, extra=(), confidence_extra=()) -> Ranker:
    """Model on all of ``questions`` (and ``extra``; ``confidence_extra`` for the probability only),
    calibrated and thresholded on the real questions' inner cross-validation."""
    raw, right = inner_predictions(questions, k, c, extra, confidence_extra)
    a, b = platt(raw, right)
    model = fit(list(questions) + list(extra), c, confidence_extra)
    return Ranker(model.features, model.mean, model.scale, model.coef, model.intercept, a, b, THRESHOLD,
                  order=model.order)


def choose_c(questions: list[Question], k: int, extra=()) -> float:
    """The regularisation with the lowest cross-validated log loss on the real questions."""
    scores = {}
    for c in GRID_C:
        loss = 0.0
        for held in folds_of(questions, k):
            held_set = set(held)
            model = fit([q for i, q in enumerate(questions) if i not in held_set] + list(extra), c)
            loss += log_loss(model, [questions[i] for i in held])
        scores[c] = loss / k
    return min(scores, key=scores.get)


def fold_models(questions: list[Question], k: int, c: float, extra=(),
                confidence_extra=(), seed: str = SEED, by_source: bool = False) -> list[tuple[list[int], Ranker]]:
    """For each outer fold (split by ``seed``; by source with ``by_source``, see :func:`folds_of`): its
    held-out question indexes and the model trained without them (calibrated on random inner folds, as
    the shipped model is)."""
    out = []
    for held in folds_of(questions, k, seed, by_source):
        held_set = set(held)
        out.append((held, train([q for i, q in enumerate(questions) if i not in held_set], k, c, extra,
                                confidence_extra)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path, nargs="?", default=ROOT / "tests" / "data" / "real_questions.jsonl")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None,
                    help="weights file (default: kb/ranker-semantic.json with the semantic features on, "
                         "else kb/ranker.json)")
    ap.add_argument("--also", type=Path, action="append",
                    help="synthetic questions (labels + must_mention, e.g. tests/data/dev_questions.jsonl) added "
                         "to every training fold with labels from their facts; never scored (default: none)")
    ap.add_argument("--also-weight", type=float, default=ALSO_WEIGHT,
                    help=f"weight of each synthetic question's candidates (default {ALSO_WEIGHT})")
    ap.add_argument("--confidence-also", type=Path, action="append",
                    help="synthetic questions that train the confidence model only (default: "
                         "tests/data/dev_questions.jsonl; give /dev/null for none)")
    ap.add_argument("--confidence-also-weight", type=float, default=CONFIDENCE_ALSO_WEIGHT,
                    help=f"their weight (default {CONFIDENCE_ALSO_WEIGHT})")
    ap.add_argument("--feedback", type=Path, action="append", default=[],
                    help="rows of `hvkb feedback export --jsonl` (repeatable), added to every training fold; "
                         "never scored")
    ap.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = ROOT / "kb" / ("ranker-semantic.json" if SEMANTIC else "ranker.json")
    items = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    also_paths = args.also if args.also is not None else list(ALSO_DEFAULT)
    with tempfile.TemporaryDirectory() as tmp:
        kb_index = kb.ensure_index(kb.Settings.from_options(None, None).content_dir, Path(tmp) / "index")
        questions = extract(kb_index, items)
        extra = synthetic_questions(kb_index, also_paths, args.also_weight)
        conf_paths = args.confidence_also if args.confidence_also is not None else list(CONFIDENCE_ALSO)
        conf_extra = synthetic_questions(kb_index, conf_paths, args.confidence_also_weight)
        for path in args.feedback:  # real use: trains every fold, like the synthetic questions, and is never scored
            extra += feedback_questions(kb_index, load_feedback(path))
        kb_index.close()
    c = choose_c(questions, args.folds, extra)
    # Held-out figures: every question is scored by a model (and calibration and threshold) that never saw it.
    conf, right, covered, answered_right, abstained = [], [], [], [], []
    for held, model in fold_models(questions, args.folds, c, extra, conf_extra):
        for i in held:
            q = questions[i]
            p, sid = top(model, q)
            cf = model.confidence(p)
            ok = sid in q.gold
            conf.append(cf)
            right.append(ok)
            covered.append(bool(q.gold))
            abstained.append(cf < model.threshold)
            answered_right.append(ok and cf >= model.threshold)
    sys.path.insert(0, str(ROOT / "scripts"))
    from eval import auc, expected_calibration_error  # noqa: E402

    n_cov = sum(covered)
    unc_abstained = sum(1 for a, cv in zip(abstained, covered) if a and not cv)
    answered = [r for r, a in zip(right, abstained) if not a]
    figures = {
        "questions": len(questions), "covered": n_cov, "C": c,
        "hit@1": sum(r for r, cv in zip(right, covered) if cv) / n_cov if n_cov else None,
        "answered_right": sum(answered_right) / n_cov if n_cov else None,
        "abstain_recall": unc_abstained / (len(questions) - n_cov) if len(questions) > n_cov else None,
        "abstain_precision": unc_abstained / sum(abstained) if sum(abstained) else None,
        "confidently_wrong": sum(not r for r in answered) / len(answered) if answered else None,
        "ece": expected_calibration_error(conf, right), "auc": auc(conf, right),
    }
    print(f"{args.folds}-fold cross-validation on {args.questions.name} (held-out folds only; "
          f"{len(extra)} synthetic questions with fact-based labels in every training fold):")
    for k, v in figures.items():
        print(f"  {k:>18}  {v:.3f}" if isinstance(v, float) else f"  {k:>18}  {v}")
    final = train(questions, args.folds, c, extra, conf_extra)
    weights = dict(zip(FEATURES, final.coef))
    print("\nweights (standardised features):")
    for name, w in sorted(weights.items(), key=lambda kv: -abs(kv[1])):
        print(f"  {name:>18}  {w:+.3f}")
    print(f"  calibration a={final.calib_a:.3f} b={final.calib_b:.3f}, threshold {final.threshold:.3f}")
    if not args.dry_run:
        d = final.to_dict()
        d["info"] = {"trained_on": args.questions.name, "semantic": SEMANTIC, "questions": len(questions), "covered": n_cov,
                     "also": [p.name for p in also_paths], "also_questions": len(extra),
                     "confidence_also": [p.name for p in conf_paths], "confidence_also_questions": len(conf_extra),
                     "confidence_also_weight": args.confidence_also_weight,
                     "folds": args.folds, "C": c, "cv": {k: (round(v, 4) if isinstance(v, float) else v)
                                                          for k, v in figures.items()}}
        args.out.write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
