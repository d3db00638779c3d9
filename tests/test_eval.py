"""Pinned drafter scores on both question sets: a change that makes answers worse fails here.

``dev_questions.jsonl`` is the development set the content and the method were tuned on.
``holdout_questions.jsonl`` was written later by someone who saw neither the content nor the dev set;
no content is ever written from it (a test in test_content_quality guards against copied phrasings).
"""
import importlib.util
import json
from pathlib import Path

import pytest

from kb import semantic

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "tests" / "data" / "dev_questions.jsonl"
HOLDOUT_SET = ROOT / "tests" / "data" / "holdout_questions.jsonl"

REAL_SET = ROOT / "tests" / "data" / "real_questions.jsonl"

# Last recorded values (rounded down); raise them when the drafter improves.
# The drafter answers only above a confidence calibrated on real questions (issue 12), so on these
# written-for-the-project sets it now abstains on many answerable questions: abstain precision and
# fact recall (an abstained draft states no fact) fell (dev 1.00 -> 0.26, 0.89 -> 0.54) while the
# ranking held (dev hit@1 0.930 -> 0.939, hit@3 0.948 -> 0.965; holdout 0.930 -> 0.907, 0.942 -> 0.942).
# Off-topic questions still always abstain.
# The content was tuned on the dev set, so the holdout is the check to trust (neither trains the ranker).
PINNED = {
    # Calibrated on 495 real questions instead of 360 (issue 12, third round), the confidence is lower
    # (fewer real questions are covered), so more synthetic answerable questions fall under 0.6:
    # abstain precision dev 0.215 -> 0.206 (0.200 lexical), holdout 0.206 -> 0.200 (0.194); hit@1 held.
    # Retrained on 606 real questions (seventh round), dev hit@3 without the semantic extra was 0.939.
    # Per-field BM25 in the confidence model (issue 12, tenth round) answers more real questions right and
    # fewer clean synthetic ones: dev abstain precision 0.204 -> 0.183 without the semantic extra (0.196 ->
    # 0.192 with it), hit@1 unchanged.
    DEV_SET: {"hit@1": 0.91, "hit@3": 0.93, "mrr": 0.92, "abstain_precision": 0.18, "abstain_recall": 0.95,
              "fact_recall": 0.44},
    # Holdout abstain precision 0.298 -> 0.280 and fact recall 0.391 -> 0.370 when 108 snippets got
    # titles (issue 14): a few answerable questions fell just under the threshold. With the ranker
    # ordered by a model trained on the real questions only, synthetic ones training its confidence at
    # weight 0.1, the threshold raised 0.5 -> 0.6, distinct_coverage and the lead features, 360 real
    # questions (issue 12): dev hit@1 0.930 (0.913 without the semantic extra), abstain precision
    # 0.215 (0.222); holdout hit@1 0.907 -> 0.884 (0.895), mrr 0.906 (0.911), abstain precision 0.222
    # (0.209), fact recall 0.382 (0.366).
    # Retrained on 816 real questions (seventh round): without the semantic extra holdout mrr 0.8798,
    # hit@3 0.919 (0.884 and 0.930 on 727). With the eighth round's `when` conditions, without the extra,
    # hit@3 0.907: one question (h085, where to turn CSV on in 2008 R2) now ranks the WSB-on-CSV answer,
    # which agrees with its cluster while its CSV siblings all do.
    HOLDOUT_SET: {"hit@1": 0.86, "hit@3": 0.90, "mrr": 0.87, "abstain_precision": 0.18, "abstain_recall": 0.95,
                  "fact_recall": 0.31},
}
# Real questions, 5-fold cross-validated drafts (scripts/eval.py): floors for the figures that are
# higher-is-better, ceilings for calibration error and confidently wrong drafts; with the semantic
# extra on (True) and off (False); measured by scripts/eval.py on 816 questions (256 covered). The
# seventh round added 321 new real questions in three batches (79 covered), harder than the 495
# before them: the model shipped before each batch, trained without it, put the gold first for 12 of
# 29, 10 of 21 and 8 of 29. On, hit@1 0.547, hit@3 0.742, AUC 0.714, 9 answered (3 wrong); off,
# 0.453, 0.672, 0.743, 10 answered (5 wrong). On the 495 the floors were 0.60 / 0.77 / 0.70 (on)
# and 0.50 / 0.72 / 0.74 (off). hit@3 scores the draft's sources: an abstention names other topics
# only from confidence 0.08. Answered drafts are few, so one more wrong moves confidently_wrong by 0.1
# to 0.3: its ceilings leave that room. The eighth round's conditions (checkable conditions as `when`,
# host: physical | vm, agreement on clustering a feature of its own): on, hit@1 0.555, hit@3 0.754,
# AUC 0.719, 9 answered (2 wrong); off, 0.473, 0.695, AUC 0.741 (0.743 before: one floor point
# lower), 11 answered (4 wrong). The ninth round (six gold ids added by a blind two-judge label check,
# the hosts' own Windows no guest, 15 nearest snippets by meaning instead of 5): on, hit@1 0.578, hit@3
# 0.758, AUC 0.726, 11 answered (2 wrong); off, 0.492, 0.711, AUC 0.741, 11 answered (4 wrong). The tenth
# (per-field BM25 for the confidence): on, 0.578, 0.758, AUC 0.725, 13 answered (2 wrong); off, 0.492,
# 0.715, AUC 0.754, 16 answered (5 wrong).
# The fourteenth round added 49 questions from 38 repositories the set had never drawn on (7 covered; the
# shipped model, which had not seen them, put gold first for 1 of the 7) and so reshuffled every fold:
# on, hit@1 0.582 -> 0.548 (four splits 0.567 -> 0.549), hit@3 0.753, AUC 0.736, 10 answered (2 wrong);
# off, 0.496 -> 0.475, 0.700, AUC 0.768, 12 answered (5 wrong).
# The seventeenth round (Markdown blockquotes kept in the paste, more ways to tell a Windows that is a VM):
# on, hit@1 0.551 -> 0.563, hit@3 0.749 -> 0.757, AUC 0.729, 9 answered (2 wrong); off, 0.471 -> 0.490,
# 0.696 -> 0.703, AUC 0.757, 11 answered (5 wrong). The hit@1 floors rise with them.
REAL_FLOORS = {True: {"hit@1": 0.55, "hit@3": 0.74, "abstain_recall": 0.95, "auc": 0.71},
               False: {"hit@1": 0.48, "hit@3": 0.69, "abstain_recall": 0.95, "auc": 0.73}}
REAL_CEILINGS = {True: {"ece": 0.06, "confidently_wrong": 0.60},
                 False: {"ece": 0.08, "confidently_wrong": 0.67}}


def _eval_module():
    spec = importlib.util.spec_from_file_location("hvkb_eval", ROOT / "scripts" / "eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", [DEV_SET, HOLDOUT_SET], ids=["dev", "holdout"])
def test_question_sets_are_large_and_balanced(path):
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert len({item["id"] for item in items}) == len(items)
    assert len(items) >= 80
    labels = [label for item in items for label in item["labels"]]
    assert labels.count("offtopic") >= 10
    for topic in ["vmbus-architecture", "integration-services", "cpu-compatibility", "vm-backup",
                  "cluster-requirements", "quorum", "dc-virtualization", "azure-itpro"]:
        assert labels.count(topic) >= 6, topic


@pytest.mark.slow
@pytest.mark.parametrize("path", [DEV_SET, HOLDOUT_SET], ids=["dev", "holdout"])
def test_drafter_scores_stay_at_or_above_the_pinned_values(real_index, path):
    ev = _eval_module()
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    overall = ev.evaluate(real_index, items)["overall"]
    for metric, floor in PINNED[path].items():
        assert overall[metric] >= floor, f"{metric} fell to {overall[metric]:.3f} (pinned {floor})"


def test_real_question_set_is_real_large_and_mostly_unanswerable():
    """Issue 12: 150+ questions people posted publicly, each with its source, gold snippets (or
    "not-covered") and the core of a right answer; at least 30% not covered or another product."""
    items = [json.loads(line) for line in REAL_SET.read_text().splitlines() if line.strip()]
    assert len(items) >= 150 and len({i["id"] for i in items}) == len(items)
    for item in items:
        assert item["source"].startswith("https://"), item["id"]
        assert item["scope"] in ("hyper-v", "other-product", "off-topic") and item["core"], item["id"]
        assert item["gold"] == "not-covered" or (isinstance(item["gold"], list) and item["gold"]), item["id"]
    uncovered = [i for i in items if i["gold"] == "not-covered" or i["scope"] != "hyper-v"]
    assert len(uncovered) >= 0.3 * len(items)


def test_real_gold_labels_name_existing_snippets(real_corpus):
    items = [json.loads(line) for line in REAL_SET.read_text().splitlines() if line.strip()]
    missing = [(i["id"], g) for i in items if isinstance(i["gold"], list) for g in i["gold"]
               if g not in real_corpus.snippets]
    assert not missing, f"relabel after content changes: {missing}"


@pytest.mark.slow
def test_cross_validated_real_question_figures(real_index):
    pytest.importorskip("sklearn", reason="cross-validation trains the ranker: pip install '.[train]'")
    ev = _eval_module()
    items = [json.loads(line) for line in REAL_SET.read_text().splitlines() if line.strip()]
    overall = ev.evaluate_real(real_index, items, answer=ev.cross_validated_answer(real_index, items, 5))["overall"]
    mode = semantic.enabled()
    for metric, floor in REAL_FLOORS[mode].items():
        assert overall[metric] >= floor, f"{metric} fell to {overall[metric]:.3f} (floor {floor})"
    for metric, ceiling in REAL_CEILINGS[mode].items():
        assert overall[metric] is None or overall[metric] <= ceiling, f"{metric} rose to {overall[metric]:.3f}"


@pytest.mark.parametrize("fact, draft, found", [
    ("Resilient Change Tracking", "Backups use Resilient Change Tracking (RCT).", True),       # as written
    ("VM must be shut down", "Shut the VM down first, then enable the setting.", True),       # reworded
    ("same CPU manufacturer required", "Keep one vendor. The CPU must match.", False),        # words spread out
    ("same CPU manufacturer required", "Every host needs the same CPU manufacturer.", True),  # one of four missing
    ("disk witness", "Use a file share witness.", False),                                    # short: every word
    ("30 seconds", "Replication runs every 5 minutes.", False),
])
def test_fact_matching(fact, draft, found):
    assert _eval_module().fact_found(fact, draft) is found


def test_compare_embeddings_adds_each_similarity_and_its_distance_from_the_pools_best():
    """scripts/compare_embeddings.py measures e5 as features: each candidate keeps its own features and
    gains the two similarities, then each minus the best of its question's pool (0 for the best)."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import compare_embeddings as ce
        import train_ranker as tr
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    q = tr.Question("rq-x", frozenset({"b"}), [[1.0], [2.0]], [0, 1], ["a", "b"])
    empty = tr.Question("rq-y", frozenset(), [], [], [])
    out = ce.with_e5([q, empty], {"rq-x": [(0.5, 0.1), (0.7, 0.3)], "rq-y": []})
    assert np.allclose(out[0].x, [[1.0, 0.5, 0.1, -0.2, -0.2], [2.0, 0.7, 0.3, 0.0, 0.0]])
    assert (out[0].ids, out[0].y, out[0].gold) == (q.ids, q.y, q.gold)
    assert out[1].x == [] and q.x == [[1.0], [2.0]]   # the input questions are not changed


def test_the_real_report_counts_drafts_and_right_ones_at_each_confidence(capsys):
    """Few real drafts reach the answer threshold, so the report shows how many are right at and near
    it: a draft exactly at a level counts, one just under does not."""
    import doctest

    ev = _eval_module()
    assert doctest.testmod(ev, verbose=False).failed == 0
    rows = [{"id": f"rq-{i}", "covered": covered, "scope": "hyper-v", "abstained": conf < 0.6, "confidence": conf,
             "rank": 1 if right else None, "top": "s", "right": right, "gold": None, "question": "q"}
            for i, (conf, covered, right) in enumerate([(0.6, True, True), (0.5999, True, True), (0.66, True, False),
                                                        (0.2, False, False), (0.9, True, True)])]
    report = ev.summarize_real(rows)
    at = {b["at_least"]: (b["right"], b["drafts"]) for b in report["by_confidence"]}
    assert at[0.6] == (2, 3) and at[0.65] == (1, 2) and at[0.15] == (3, 5) and at[0.7] == (1, 1)
    ev.print_real_table(report)
    assert "0.60: 2/3" in capsys.readouterr().out


def test_several_fold_splits_are_summed_up_with_their_range_and_pooled_answers(capsys):
    """With --splits, the report gives each split's figures, their mean and range, and the answered
    drafts of all splits together (one split answers a dozen real questions at most)."""
    ev = _eval_module()

    def report(hit1, answered):   # answered: (confidence, right) of the drafts shown as answers
        rows = [{"abstained": False, "right": right, "confidence": conf} for conf, right in answered]
        rows += [{"abstained": True, "right": False, "confidence": 0.1}]
        return {"overall": {"hit@1": hit1, "hit@3": hit1 + 0.1, "ece": 0.03, "auc": 0.7}, "rows": rows}

    s = ev.summarize_splits([report(0.58, [(0.7, True), (0.62, True), (0.61, False)]),
                             report(0.56, [(0.65, True)]), report(0.57, [])])
    assert s["splits"] == 3 and s["hit@1"] == {"mean": 0.57, "low": 0.56, "high": 0.58}
    assert (s["answered"], s["answered_wrong"]) == (4, 1) and s["confidently_wrong"] == 0.25
    assert [(r["answered"], r["answered_right"]) for r in s["per_split"]] == [(3, 2), (1, 1), (0, 0)]
    at = {b["at_least"]: (b["right"], b["drafts"]) for b in s["by_confidence"]}
    assert at[0.6] == (3, 4) and at[0.65] == (2, 2) and at[0.15] == (3, 4)
    ev.print_splits_table(s)
    out = capsys.readouterr().out
    assert "split 2: 0.560" in out and "0.570 (from 0.560 to 0.580)" in out and "4 (1 wrong" in out
    with pytest.raises(SystemExit):
        ev.main([str(REAL_SET), "--splits", "0"])
    assert "--splits must be 1 or more" in capsys.readouterr().err


def test_folds_by_source_keep_each_source_in_one_fold():
    """--by-source: a model never drafts a question from a repository (or site) it was trained on."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_ranker as tr
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert tr.source_of("https://github.com/MicrosoftDocs/windowsserverdocs/issues/12#x") == "microsoftdocs/windowsserverdocs"
    assert tr.source_of("https://www.reddit.com/r/HyperV/comments/1") == "reddit.com"
    sizes = {"big/one": 9, "mid/two": 5, "mid/three": 5, "small/four": 3, "small/five": 2, "tiny/six": 1}
    qs = [tr.Question(f"rq-{src}-{n}", frozenset({"s"}) if n % 3 == 0 else frozenset(), [], [], [], source=src)
          for src, count in sizes.items() for n in range(count)]
    for seed in ("a", "b"):
        folds = tr.folds_of(qs, 3, seed, by_source=True)
        assert sorted(i for f in folds for i in f) == list(range(len(qs)))
        fold_of = {}
        for j, f in enumerate(folds):
            for i in f:
                assert fold_of.setdefault(qs[i].source, j) == j   # a source is never split
        assert sorted(len(f) for f in folds) == [8, 8, 9]         # largest first, to the emptiest fold
    # Without it the folds are the usual stratified ones, sources mixed.
    assert tr.folds_of(qs, 3, "a") != tr.folds_of(qs, 3, "a", by_source=True)
    assert tr.folds_of(qs, 3, "a") == tr.folds_of(qs, 3, "a", by_source=False)


def test_fold_splits_differ_by_seed_and_each_keeps_covered_questions_spread():
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_ranker as tr
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    qs = [tr.Question(f"rq-{i}", frozenset({"s"}) if i % 4 == 0 else frozenset(), [], [], []) for i in range(40)]
    assert tr.folds_of(qs, 5) == tr.folds_of(qs, 5, tr.SEED)
    ev = _eval_module()
    seeds = ev.split_seeds(3)
    assert seeds[0] == tr.SEED and len(set(seeds)) == 3
    splits = [tr.folds_of(qs, 5, seed) for seed in seeds]
    assert splits[0] != splits[1] != splits[2]
    for folds in splits:
        assert sorted(i for f in folds for i in f) == list(range(40))
        assert all(sum(1 for i in f if qs[i].gold) == 2 for f in folds)   # 10 covered over 5 folds


def test_the_ranked_hit_at_3_reads_the_rankers_whole_order_not_the_drafts_sources(real_index):
    """An abstention's sources stop at NEAREST_MIN, so hit@3 can miss a gold snippet the ranker put
    second; ``ranked_hit@3`` reads the ranker's own order. Its first candidate is the draft's first
    source, so a right draft has the gold first there too."""
    ev = _eval_module()
    items = [json.loads(line) for line in REAL_SET.read_text().splitlines() if line.strip()][:60]
    report = ev.evaluate_real(real_index, items, ranker_of=lambda qid: None)
    rows = [r for r in report["rows"] if r["covered"]]
    assert rows and all("pool_rank" in r for r in rows)
    for r in rows:
        if r["right"]:
            assert r["pool_rank"] == 1, r["id"]
    ranked3 = sum(1 for r in rows if r["pool_rank"] and r["pool_rank"] <= 3) / len(rows)
    assert report["overall"]["ranked_hit@3"] == ranked3
    assert ev.summarize_real([{**r, "pool_rank": None} for r in report["rows"]])["overall"]["ranked_hit@3"] == 0.0
    assert ev.summarize_real([{k: v for k, v in r.items() if k != "pool_rank"} for r in report["rows"]]
                             )["overall"]["ranked_hit@3"] is None
