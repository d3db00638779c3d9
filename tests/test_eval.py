"""Pinned drafter scores on both question sets: a change that makes answers worse fails here.

``dev_questions.jsonl`` is the development set the content and the method were tuned on.
``holdout_questions.jsonl`` was written later by someone who saw neither the content nor the dev set;
no content is ever written from it (a test in test_content_quality guards against copied phrasings).
"""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "tests" / "data" / "dev_questions.jsonl"
HOLDOUT_SET = ROOT / "tests" / "data" / "holdout_questions.jsonl"

# Last recorded values (rounded down); raise them when the drafter improves.
PINNED = {
    # Content issue 11 (18 more topics, 456 snippets) gave many questions a second plausible answer:
    # dev hit@3 0.974 -> 0.948, MRR 0.958 -> 0.941, fact recall 0.955 -> 0.894.
    DEV_SET: {"hit@1": 0.93, "hit@3": 0.94, "mrr": 0.94, "abstain_precision": 0.95, "abstain_recall": 0.95,
              "fact_recall": 0.89},
    HOLDOUT_SET: {"hit@1": 0.92, "hit@3": 0.92, "mrr": 0.92, "abstain_precision": 0.95, "abstain_recall": 0.95,
                  "fact_recall": 0.60},
}


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
