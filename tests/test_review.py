"""The review queue (kb.review): grouping near-duplicate questions, the wrong drafts, searches with no
result, and the proposals, checked by the content loader and applied with git."""
from __future__ import annotations

import doctest
import shutil
import subprocess

import pytest

import kb.review
from kb.cli import cli
from kb.content import load_corpus
from kb.errors import ContentValidationError
from kb.history import open_history
from kb.review import (ReviewError, build_review, feedback_examples, near_duplicates, phrasing_of, propose_phrasings,
                       propose_snippet, save_proposal)
from conftest import FIXTURE_CONTENT

WITNESS = "quorum-two-node-witness"


def _draft(confidence: float, answerable: bool, top: str | None = WITNESS) -> dict:
    sources = [{"id": top, "kind": "snippet", "title": top, "topic": "quorum", "score": confidence}] if top else []
    return {"answerable": answerable, "confidence": confidence, "draft": "...", "sources": sources,
            "focus": {}, "detected": {}}


@pytest.fixture
def history(tmp_path):
    store = open_history(tmp_path / "home")
    yield store
    store.close()


@pytest.fixture
def content(tmp_path):
    """A copy of the fixture content the proposals are made against (and applied to)."""
    return shutil.copytree(FIXTURE_CONTENT, tmp_path / "repo" / "content")


def test_doctests():
    result = doctest.testmod(kb.review)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------- grouping

def test_near_duplicates_are_grouped_and_different_questions_are_not():
    texts = [
        "Do I need a witness for a two node cluster?",        # 0
        "USN rollback after restoring a domain controller",   # 1
        "two node cluster witness needed?",                   # 2: same as 0
        "Is a witness needed for my two-node cluster",        # 3: same as 0
        "How big should the witness disk be?",                # 4: witness, but another question
        "usn rollback domain controller restore",            # 5: same as 1
        "witness",                                            # 6: one word: not everything that mentions it
    ]
    assert near_duplicates(texts) == [[0, 2, 3], [1, 5], [4], [6]]
    assert near_duplicates(texts) == near_duplicates(list(texts))  # deterministic
    assert near_duplicates([]) == []


def test_phrasing_of_a_long_paste_is_its_subject_and_first_question():
    long = "Cluster keeps failing\n" + "We have lots of details here. " * 20 + "\nCan I add a witness now?"
    focus = {"title": "Cluster keeps failing", "asks": ["Can I add a witness now?"]}
    assert phrasing_of(long, focus) == "Cluster keeps failing Can I add a witness now?"
    assert len(phrasing_of("word " * 300)) <= kb.review.MAX_PHRASING_CHARS


def test_the_queue_groups_doubtful_drafts_lists_wrong_ones_and_counts_empty_searches(history, corpus):
    a = history.record_draft("Do I need a witness for a two node cluster?", _draft(0.3, False))
    history.record_draft("All fine: cluster quorum votes explained", _draft(0.95, True))  # confident: not queued
    b = history.record_draft("two node cluster witness needed?", _draft(0.58, True))      # low confidence
    c = history.record_draft("Does time sync break my domain controller clock?", _draft(0.2, False, None))
    up = history.record_draft("Is a witness needed for my two-node cluster", _draft(0.3, False))
    history.record_feedback(up, "up")  # said right: not queued
    w1 = history.record_draft("Live migrate Intel to AMD hosts?", _draft(0.9, True))
    history.record_feedback(w1, "down", "wrong-subject", note="it is about <b>CPUs</b>",
                            snippet_id="cpu-compatibility-intel-amd")
    w2 = history.record_draft("Live migration Intel to AMD hosts", _draft(0.8, True))
    history.record_feedback(w2, "down", "wrong-subject")
    for q in ("zzz nothing", "ZZZ  nothing", "other thing", "zzz nothing"):
        history.record_search(q, 0)
    history.record_search("quorum", 4)

    review = build_review(history, corpus)
    assert [(g.id, g.draft_ids) for g in review.unanswered] == [(f"u{a}", [a, b]), (f"u{c}", [c])]
    assert review.unanswered[0].candidates == [WITNESS] and review.unanswered[1].candidates == []
    assert review.unanswered[0].suggested == WITNESS  # draft b answered with it (at low confidence)
    (wrong,) = review.wrong
    assert wrong.id == f"w{w1}" and wrong.draft_ids == [w1, w2] and wrong.reasons == {"wrong-subject": 2}
    # The snippet feedback named comes first; the one marked as the wrong subject is not offered.
    assert wrong.candidates == ["cpu-compatibility-intel-amd"] and wrong.suggested == "cpu-compatibility-intel-amd"
    assert [(s["query"], s["count"]) for s in review.no_results] == [("zzz nothing", 3), ("other thing", 1)]
    assert review.group(f"u{a}") is review.unanswered[0] and review.group("u999") is None
    data = review.to_dict()
    assert data["wrong"][0]["items"][0]["feedback"][0]["note"] == "it is about <b>CPUs</b>"


def test_the_best_candidate_of_abstentions_alone_is_offered_but_not_suggested(history, corpus):
    history.record_draft("best banana bread recipe with walnuts?", _draft(0.04, False, "integration-services-time-sync"))
    (group,) = build_review(history, corpus).unanswered
    assert group.candidates == ["integration-services-time-sync"] and group.suggested is None


def test_the_queue_of_an_unusable_store_is_empty_and_says_why(tmp_path, corpus):
    (tmp_path / "history.sqlite3").write_bytes(b"garbage" * 100)
    review = build_review(open_history(tmp_path), corpus)
    assert review.unanswered == review.wrong == review.no_results == []
    assert "is damaged" in review.disabled_reason


# --------------------------------------------------------------------------- proposals

def test_phrasings_proposal_is_a_patch_that_applies_and_validates(history, corpus, content, tmp_path):
    ids = [history.record_draft("Hi,\nDo I need a witness for my 2 node 2019 cluster?\nThanks", _draft(0.3, False)),
           history.record_draft('2 node cluster "witness" needed?', _draft(0.4, False))]
    proposal = propose_phrasings(history, corpus, content, ids, WITNESS)
    assert proposal.kind == "phrasings" and proposal.target == f"content/snippets/{WITNESS}.md"
    assert proposal.phrasings == ["Do I need a witness for my 2 node 2019 cluster?", '2 node cluster "witness" needed?']
    assert proposal.problems == [] and proposal.draft_ids == ids
    assert f"--- a/content/snippets/{WITNESS}.md" in proposal.text
    assert (content / "snippets" / f"{WITNESS}.md").read_text() == (FIXTURE_CONTENT / "snippets" / f"{WITNESS}.md").read_text()

    patch = tmp_path / "p.patch"
    patch.write_text(proposal.text)
    done = subprocess.run(["git", "apply", str(patch)], cwd=content.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    snippet = load_corpus(content).snippets[WITNESS]
    assert snippet.questions[-2:] == tuple(proposal.phrasings)
    assert snippet.questions[:-2] == corpus.snippets[WITNESS].questions


def test_phrasings_already_there_or_an_unknown_snippet_are_refused(history, corpus, content):
    existing = corpus.snippets[WITNESS].questions[0]
    draft = history.record_draft(existing.upper(), _draft(0.3, False))
    with pytest.raises(ReviewError, match="already has every one"):
        propose_phrasings(history, corpus, content, [draft], WITNESS)
    with pytest.raises(ReviewError, match="no snippet with id 'nope'"):
        propose_phrasings(history, corpus, content, [draft], "nope")
    with pytest.raises(ReviewError, match="no drafts to propose from"):
        propose_phrasings(history, corpus, content, [12345], WITNESS)


def test_a_question_copied_from_an_evaluation_set_is_never_proposed(history, corpus, content):
    import json

    data = content.parent / "tests" / "data"
    data.mkdir(parents=True)
    asked = "Our two node 2016 cluster keeps losing quorum when one node patches, what witness do we need?"
    (data / "real_questions.jsonl").write_text(json.dumps({"id": "rq-900", "question": asked}) + "\n")
    ids = [history.record_draft(asked, _draft(0.3, False)),
           history.record_draft("Do I need a witness for my 2 node 2019 cluster?", _draft(0.3, False))]
    proposal = propose_phrasings(history, corpus, content, ids, WITNESS)
    assert proposal.phrasings == ["Do I need a witness for my 2 node 2019 cluster?"]
    assert any("copies the evaluation question real_questions.jsonl rq-900" in p for p in proposal.problems)
    assert asked not in proposal.text
    with pytest.raises(ReviewError, match="copy of an evaluation question"):
        propose_snippet(history, corpus, content, ids[:1])


def test_new_snippet_skeleton_fails_check_until_its_answer_is_written(history, corpus, content):
    ids = [history.record_draft("How do I move the cluster witness to Azure cloud witness?", _draft(0.2, False)),
           history.record_draft("Move cluster witness to Azure cloud witness", _draft(0.3, False))]
    proposal = propose_snippet(history, corpus, content, ids)
    assert proposal.kind == "new-snippet" and proposal.problems == []
    assert proposal.snippet_id == "move-cluster-witness-azure-cloud-witness"
    assert proposal.target == f"content/snippets/{proposal.snippet_id}.md"
    assert "article: quorum" in proposal.text  # the article of the drafts' best candidate
    path = content / "snippets" / f"{proposal.snippet_id}.md"
    path.write_text(proposal.text)
    with pytest.raises(ContentValidationError, match="snippet answer .the body. is empty"):
        load_corpus(content)
    path.write_text(proposal.text + "Yes. Run Set-ClusterQuorum -CloudWitness with the storage account name.\n")
    snippet = load_corpus(content).snippets[proposal.snippet_id]
    assert snippet.article == "quorum" and list(snippet.questions) == proposal.phrasings


def test_new_snippet_from_one_question_without_a_candidate_lists_what_to_fill_in(history, corpus, content):
    draft = history.record_draft("Where is the Hyper-V witness of the quorum for 2 nodes?", _draft(0.2, False, None))
    proposal = propose_snippet(history, corpus, content, [draft])
    assert "article: TODO" in proposal.text
    assert any("must be a slug" in p for p in proposal.problems)
    assert any("at least 2 question phrasings" in p for p in proposal.problems)
    taken = propose_snippet(history, corpus, content, [history.record_draft(
        "quorum two node witness", _draft(0.2, False))])
    assert taken.snippet_id == f"{WITNESS}-2"  # never the id of an existing snippet


def test_save_proposal_writes_into_the_proposals_folder(history, corpus, content, tmp_path):
    draft = history.record_draft("Do I need a witness for my 2 node 2019 cluster?", _draft(0.3, False))
    first = save_proposal(propose_phrasings(history, corpus, content, [draft], WITNESS), tmp_path / "home")
    second = save_proposal(propose_phrasings(history, corpus, content, [draft], WITNESS), tmp_path / "home")
    assert first.parent == second.parent == tmp_path / "home" / "proposals" and first != second
    assert first.suffix == ".patch" and "+  - \"Do I need a witness" in first.read_text()


def test_hvkb_review_lists_the_groups_and_proposes(runner, history, index_dir, tmp_path):
    a = history.record_draft("Do I need a witness for a two node cluster?", _draft(0.3, False))
    history.record_feedback(history.record_draft("Intel to AMD live migration?", _draft(0.9, True)), "down",
                            "wrong-subject", note="about CPUs")
    history.record_search("zzz nothing", 0)
    env = {"HVKB_HOME": str(tmp_path / "home"), "HVKB_CONTENT": str(FIXTURE_CONTENT), "HVKB_INDEX": str(index_dir)}
    result = runner.invoke(cli, ["review"], env=env)
    assert result.exit_code == 0, result.output
    assert f"u{a}" in result.stdout and "wrong: about CPUs" in result.stdout and "zzz nothing" in result.stdout
    result = runner.invoke(cli, ["review", "--json"], env=env)
    import json

    data = json.loads(result.stdout)
    assert data["unanswered"][0]["id"] == f"u{a}" and data["no_results"][0]["count"] == 1
    result = runner.invoke(cli, ["review", "propose", f"u{a}", "--phrasings-of", WITNESS], env=env)
    assert result.exit_code == 0, result.output
    assert '+  - "Do I need a witness for a two node cluster?"' in result.stdout
    saved = list((tmp_path / "home" / "proposals").glob("*.patch"))
    assert len(saved) == 1 and "written to" in result.stderr
    result = runner.invoke(cli, ["review", "propose", "u999", "--new-snippet"], env=env)
    assert result.exit_code == 2 and "no group 'u999'" in result.output


# --------------------------------------------------------------------------- export labels

def test_feedback_examples_label_each_case(history, corpus):
    answered = _draft(0.9, True)
    cases = {
        "up answered": ("up", None, None, answered, ([WITNESS], [])),
        "up abstained": ("up", None, None, _draft(0.2, False), ("not-covered", [])),
        "named": ("down", "wrong-subject", "cpu-compatibility-intel-amd", answered,
                  (["cpu-compatibility-intel-amd"], [WITNESS])),
        "wrong subject": ("down", "wrong-subject", None, answered, (None, [WITNESS])),
        "missing step": ("down", "missing-step", None, answered, ([WITNESS], [])),
        "renamed": ("down", "other", "gone-snippet", answered, (None, [WITNESS])),
    }
    ids = {}
    for name, (verdict, reason, snippet, draft, _) in cases.items():
        ids[name] = history.record_draft(name, draft)
        history.record_feedback(ids[name], verdict, reason, snippet_id=snippet)
    history.record_feedback(history.record_draft("abstained, wrong", _draft(0.2, False)), "down", "other")
    rows, skipped = feedback_examples(history, corpus)
    by_question = {r["question"]: r for r in rows}
    assert skipped == 1 and set(by_question) == set(cases)
    for name, (*_, (gold, wrong)) in cases.items():
        assert (by_question[name]["gold"], by_question[name]["wrong"]) == (gold, wrong), name
        assert by_question[name]["id"] == f"fb-{ids[name]}" and by_question[name]["source"] == "hvkb-feedback"
