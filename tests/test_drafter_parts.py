"""The drafter's pipeline parts on their own: focus, the tried-step rule, the ranker file, composition."""
import json

import pytest

from kb.focus import find_focus, is_ask
from kb.features import already_tried, content_stems, tried_stems
from kb.ranker import Ranker, default_ranker, load_ranker


def test_focus_separates_the_ask_the_errors_and_what_was_tried():
    f = find_focus("Live migration fails between our 2019 hosts\n"
                   "We run Windows Server 2019 on both. We already turned on processor compatibility. "
                   "The error says 'The virtual machine is using processor-specific features not supported'. "
                   "What else should I check? Also, does this need a reboot?")
    assert f.title == "Live migration fails between our 2019 hosts"
    assert f.asks == ["What else should I check?", "Also, does this need a reboot?"]
    assert f.tried == ["We already turned on processor compatibility."]
    assert any("processor-specific features" in e for e in f.errors)
    assert "We run Windows Server 2019" not in " ".join(f.tried)   # context, not a step taken
    assert "What else should I check?" in f.text


def test_a_program_s_prompt_in_a_code_block_is_not_the_askers_question():
    # Output pasted in a fenced block is what a tool printed: its prompt is no question of the asker's,
    # and a yes-or-no prompt there does not make the paste a yes-or-no question.
    paste = ("Error when bridging Wi-Fi interface on Windows\n"
             "When I launch an instance bridged to the Wi-Fi adapter the network drops.\n"
             "```\nC:\\> multipass launch --network Wi-Fi\nDo you want to continue (yes/no)? yes\n"
             "launch failed: Could not create external switch\n```\nHow do I get a bridged instance?")
    f = find_focus(paste)
    assert f.asks == ["How do I get a bridged instance?"]
    assert not f.asks_yes_no
    assert any("Could not create external switch" in e for e in f.errors)   # its errors still count
    # Without a fence, the same prompt line reads as a question.
    assert find_focus("Do you want to continue (yes/no)? yes").asks


@pytest.mark.parametrize("sentence,asks", [
    ("can I live migrate between intel and amd", True), ("How do I add a witness", True),
    ("When running Ubuntu the VM stops.", False), ("The host has 64 GB.", False), ("Is that supported?", True),
])
def test_is_ask(sentence, asks):
    assert is_ask(sentence) is asks


def test_a_step_the_asker_has_done_is_not_offered_again():
    done = tried_stems(find_focus("I have already enabled processor compatibility on the VM. Still fails."))
    assert already_tried(content_stems("How to enable processor compatibility mode"), done)
    assert not already_tried(content_stems("Intel to AMD: only a cold move"), done)
    switched = tried_stems(find_focus("We have already turned on processor compatibility and rebooted. What now?"))
    assert already_tried(content_stems("Enable processor compatibility"), switched)
    # A failed attempt is not a step done: the right way to do it may still be the answer.
    failed = tried_stems(find_focus("I tried converting the VMDK to VHDX with VBoxManage but it fails. How?"))
    assert not already_tried(content_stems("Converting VMDK to VHDX"), failed)
    # "turned it on", and the slip "I have turn it on", are steps done too.
    for text in ('I have turn it on in the Server setting "Enhanced Session Mode Policy". Still grey.',
                 "We switched it on: the enhanced session mode policy. Why is it still grey?"):
        done = tried_stems(find_focus(text))
        assert already_tried(content_stems("Turn on the enhanced session mode policy"), done), text


def test_shipped_ranker_loads_and_is_calibrated_monotonically():
    r = default_ranker()
    assert r.features and len(r.coef) == len(r.features)
    assert 0 < r.threshold < 1 and r.info["questions"] >= 150
    confs = [r.confidence(p) for p in (0.05, 0.2, 0.5, 0.8, 0.95)]
    assert confs == sorted(confs) and all(0 < c < 1 for c in confs)


def test_a_broken_ranker_file_says_what_is_wrong(tmp_path):
    bad = tmp_path / "ranker.json"
    bad.write_text(json.dumps({"features": ["nope"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0}))
    with pytest.raises(RuntimeError, match="unknown features: nope"):
        load_ranker(bad)
    bad.write_text(json.dumps({"features": ["bm25", "bm25"], "mean": [0, 0], "scale": [1, 1], "coef": [1, 1],
                               "intercept": 0}))
    with pytest.raises(RuntimeError, match="more than once: bm25"):
        load_ranker(bad)
    bad.write_text("{not json")
    with pytest.raises(RuntimeError, match="cannot load the ranking model"):
        load_ranker(bad)
    with pytest.raises(RuntimeError):
        load_ranker(tmp_path / "missing.json")


def test_ranker_round_trips_through_dict():
    r = default_ranker()
    assert Ranker.from_dict(r.to_dict()) == r


def test_abstention_names_the_closest_articles_with_public_links(real_index):
    from dataclasses import replace

    from kb.answer import answer_question

    never = replace(default_ranker(), threshold=1.0)      # below the threshold: always the honest draft
    q = "do I need a witness for a 2 node cluster"
    d = answer_question(real_index, q, ranker=never)
    from kb.compose import LEAD_FROM

    assert not d.answerable and d.confidence >= LEAD_FROM
    # Sure enough of the closest answer, the draft offers its opening as a lead to check.
    assert "not confident the Hyper-V knowledge base covers your exact case" in d.draft
    assert "The closest answer I have:" in d.draft and "quorum" in d.draft.lower()
    # The nearest snippet is named by its title, so a reader sees at once whether it fits.
    assert f"**{real_index.corpus.snippets['quorum-two-node-witness'].title}**" in d.draft
    assert "](/articles/" not in d.draft                   # no site-relative link without a public base URL
    assert "(see [" in d.draft and "](https://" in d.draft  # the article's public reference instead
    hosted = answer_question(real_index, q, ranker=never, base_url="https://kb.example.org")
    assert "](https://kb.example.org/articles/quorum#snippet-quorum-two-node-witness)" in hosted.draft
    assert answer_question(real_index, q).answerable       # the shipped threshold answers it


def test_every_public_name_of_the_package_resolves():
    import kb

    for name in kb.__all__:
        assert getattr(kb, name) is not None, name


def test_an_abstention_does_not_ask_for_the_error_the_paste_already_quotes(real_index):
    from dataclasses import replace

    from kb.answer import answer_question

    never = replace(default_ranker(), threshold=1.0)
    with_code = answer_question(real_index, "VM will not start, error 0x800705AA insufficient system resources",
                                ranker=never)
    assert not any("exact error text" in q for q in with_code.clarifying_questions)
    without = answer_question(real_index, "Live migration fails between our two hosts since the update", ranker=never)
    assert any("exact error text" in q for q in without.clarifying_questions)
    # A message quoted inside backticks is given too.
    ticked = answer_question(real_index, "New-ShieldedVM fails: `Get-KeyProtectorFromShieldingDataFile : The term "
                                         "is not recognized as the name of a cmdlet`", ranker=never)
    assert not any("exact error text" in q for q in ticked.clarifying_questions)
    # So is a message in emphasis, printed by a tool as "<step> failed: ...", or a diagnostic's status.
    for given in ("I can't launch any VM from multipass since I recreated the switch. Run `multipass launch`, "
                  "get error _launch failed: Could not find the default switch_",
                  "VM conversion to the cluster fails at 26%.\nSync failed: WriteDataToDisk failed. (26%)",
                  "Attestation fails on my guarded host. Get-HgsTrace -RunDiagnostics says\n"
                  "Check Attestation Status: Fail"):
        d = answer_question(real_index, given, ranker=never)
        assert not any("exact error text" in q for q in d.clarifying_questions), given
    # A question about design or support has no error to ask for.
    design = answer_question(real_index, "Is it possible to extend Hyper-V Replica to Azure for off-site DR, "
                                         "keeping a local replica on another host?", ranker=never)
    assert not any("error" in q for q in design.clarifying_questions)


def test_an_order_model_decides_the_order_and_the_first_keeps_its_probability():
    """``order`` (trained on real questions) sorts; ``coef`` (confidence) gives the first's probability,
    the others that times their odds against it, so the list stays highest first."""
    import math

    from kb.features import FEATURES, Candidate

    class S:
        def __init__(self, sid):
            self.id = sid

    n = len(FEATURES)
    i, j = FEATURES.index("bm25"), FEATURES.index("fuzzy")
    coef = [0.0] * n
    coef[i] = 2.0                     # the confidence model likes bm25...
    order = [0.0] * n
    order[j] = 3.0                    # ...the order model likes fuzzy
    r = Ranker(FEATURES, (0.0,) * n, (1.0,) * n, tuple(coef), -1.0, info={}, order=tuple(order))
    a = Candidate(S("a"), {f: 0.0 for f in FEATURES} | {"bm25": 1.0, "fuzzy": 0.2})
    b = Candidate(S("b"), {f: 0.0 for f in FEATURES} | {"bm25": 0.3, "fuzzy": 0.9})
    ranked = r.rank([a, b])
    assert [c.snippet.id for _p, c in ranked] == ["b", "a"]
    assert ranked[0][0] == pytest.approx(r.probability(b))
    assert ranked[1][0] == pytest.approx(r.probability(b) * math.exp(3.0 * (0.2 - 0.9)))
    assert Ranker.from_dict(r.to_dict()) == r
    without = Ranker(FEATURES, (0.0,) * n, (1.0,) * n, tuple(coef), -1.0)
    assert [c.snippet.id for _p, c in without.rank([a, b])] == ["a", "b"]


def test_distinct_coverage_tells_a_snippet_from_its_siblings(real_index):
    """The words of a snippet's title and phrasings that few snippets of its topic use: a question that
    has them covers more of that snippet than of its siblings."""
    from kb.features import snippet_texts

    t = snippet_texts(real_index)
    linux, policy = t.distinct["enhanced-session-linux"], t.distinct["enhanced-session-host-policy"]
    assert "ubuntu" in linux and "ubuntu" not in policy
    q = content_stems("Enhanced session stays greyed out for my Ubuntu 22.04 guest, which xrdp setup does it need?")
    from kb.features import _weighted_share

    assert _weighted_share(linux, q) > _weighted_share(policy, q)
    assert _weighted_share({}, q) == 0.0


def test_field_bm25_scores_each_field_on_its_own(real_index):
    """BM25 per field: words of a snippet's title score in its title field, words only its answer
    uses score there alone, and a question sharing no word with a field scores 0 in it."""
    from kb.features import snippet_texts

    t = snippet_texts(real_index)
    sid = "cpu-compatibility-enable-setting"
    s = real_index.corpus.snippets[sid]
    assert t.field_bm25("title", sid, content_stems(s.title)) > 0
    answer_only = content_stems(s.answer) - content_stems(s.title) - content_stems(" ".join(s.questions))
    assert answer_only
    assert t.field_bm25("answer", sid, answer_only) > 0
    assert t.field_bm25("title", sid, answer_only) == 0.0
    assert t.field_bm25("answer", sid, content_stems("zebra giraffe pineapple")) == 0.0


def test_lead_features_feed_the_confidence_only(real_index):
    """How far the best candidate leads the others says how sure the draft is, not which is best: the
    shipped order model gives those features no weight."""
    from kb import semantic
    from kb.facts import clean_question, detect_facts
    from kb.features import CONFIDENCE_ONLY, describe
    from kb.focus import find_focus
    from kb.ranker import SEMANTIC_WEIGHTS_FILE, WEIGHTS_FILE, load_ranker
    from kb.retrieval import retrieve

    q = clean_question("Two node Windows Server 2019 cluster, do I need a witness for quorum?")
    focus, facts = find_focus(q), detect_facts(q)
    cands = describe(real_index, q, focus, facts, retrieve(real_index, q, focus.text))
    best = max(c.features["fused"] for c in cands)
    for c in cands:
        lead = c.features["fused_lead"]
        assert (lead >= 0) if c.features["fused"] == best else (lead == c.features["fused"] - best)
    for path in (WEIGHTS_FILE, SEMANTIC_WEIGHTS_FILE):
        r = load_ranker(path)
        quiet = set(CONFIDENCE_ONLY) | set(semantic.CONFIDENCE_ONLY)
        assert r.order is not None
        assert all(w == 0.0 for name, w in zip(r.features, r.order) if name in quiet), path.name
        assert any(r.coef[r.features.index(name)] != 0.0 for name in quiet if name in r.features), path.name


def test_agreeing_with_a_condition_every_sibling_has_says_nothing(real_index):
    """A question that names a cluster agrees with every quorum snippet's `cluster: yes`; that must not
    lift them all (the issue's Xeon E5 / Xeon Gold cluster question fell under the threshold when it
    did). Only conditions that tell a snippet from some siblings count as agreement."""
    from kb.features import snippet_texts

    t = snippet_texts(real_index)
    assert t.telling_when["quorum-two-node-witness"] == {}
    assert t.telling_when["cpu-compatibility-intel-amd"] == {"cpu_vendor": "mixed"}
    from kb.answer import answer_question

    d = answer_question(real_index, "We have two Hyper-V 2019 hosts in a cluster, one with Xeon E5 v4 and one "
                                    "with Xeon Gold. Live migration fails saying the processor is not compatible")
    assert d.answerable and d.sources[0].id == "cpu-compatibility-mixed-cluster"
    assert "processor compatibility" in d.draft.lower()


def test_focus_and_compose_doctests():
    import doctest

    import kb.compose
    import kb.conditions
    import kb.focus
    import kb.glossary

    for module in (kb.focus, kb.compose, kb.glossary, kb.conditions):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


@pytest.mark.parametrize("paste,asks_for_error", [
    # A failure named inside a design question is not a report of one.
    ("Dynamic quorum for AlwaysOn\nDoes the survival probability of a 2-node cluster with no witness "
     "increase in case of 1 node failure?", False),
    # The message is pasted as PowerShell printed it.
    ("Cannot set HwThreadCountPerCore to 0\nIt does not accept 0 as documented.\n\n"
     "Set-VMProcessor : Failed to modify device 'Processor'. Cannot assign the specified number of threads.",
     False),
    ("Live migration fails between our two hosts since the update.", True),
])
def test_the_exact_error_is_asked_for_only_when_a_failure_is_reported_without_it(paste, asks_for_error):
    from kb.focus import find_focus

    assert find_focus(paste).wants_error_text(paste) is asks_for_error


def test_the_exact_error_is_asked_for_only_when_the_closest_answers_turn_on_it(real_index):
    """A symptom told plainly, whose nearest answers hold whatever the message says, is not asked for it."""
    from dataclasses import replace

    from kb.answer import analyse, answer_question
    from kb.facts import clean_question

    never = replace(default_ranker(), threshold=1.0)
    paste = ("Enhanced session does not work on my Ubuntu VM: the window opens at 1024x768 and I never get "
             "the resolution dialog")
    closest = [c.snippet for _p, c in analyse(real_index, clean_question(paste)).ranked[:3]]
    assert closest and not any("error_code" in s.needs for s in closest)
    assert not any("exact error text" in q for q in answer_question(real_index, paste, ranker=never).clarifying_questions)


def test_an_abstention_asks_the_version_only_for_a_reported_failure(real_index):
    from dataclasses import replace

    from kb.answer import answer_question

    never = replace(default_ranker(), threshold=1.0)
    version_q = "Which Windows Server (or Hyper-V Server) version and edition are the hosts running?"
    design = answer_question(real_index, "Should the quorum witness of a two-node Hyper-V cluster be a disk "
                                         "or a file share?", ranker=never)
    assert version_q not in design.clarifying_questions
    failing = answer_question(real_index, "Hyper-V replica stopped working after we moved the host", ranker=never)
    assert not failing.answerable
    assert "What exactly happens, with the exact error text or event ID?" in failing.clarifying_questions


def test_an_abstention_asks_the_version_only_when_the_closest_answer_depends_on_it(real_index):
    """As in an answer: a failure whose closest answer holds on every current release is not asked for the
    hosts' version; one whose closest answer holds on some releases only is."""
    from dataclasses import replace

    from kb.answer import _holds_on_current_releases, answer_question

    never = replace(default_ranker(), threshold=1.0)
    version_q = "Which Windows Server (or Hyper-V Server) version and edition are the hosts running?"
    for paste, limited in (("Dynamic quorum removed the vote of one of my two surviving nodes, it fails over badly", False),
                           ("Workgroup cluster live migration fails", True)):
        draft = answer_question(real_index, paste, ranker=never)
        closest = real_index.corpus.snippets[draft.sources[0].id]
        assert "os_version" in closest.needs and _holds_on_current_releases(closest) is not limited, closest.id
        assert (version_q in draft.clarifying_questions) is limited, (paste, draft.clarifying_questions)


def test_an_answer_to_a_question_that_is_not_yes_or_no_drops_the_opening_verdict(real_index):
    from kb.answer import answer_question

    q = ("Enhanced session does not work for my Ubuntu VM on Windows Server 2019 Hyper-V. "
         "xrdp is running but I never get the resolution window.")
    d = answer_question(real_index, q, ranker=_always())
    assert d.sources[0].id == "enhanced-session-linux"
    body = d.draft.split("\n\n")[1]
    assert not body.startswith(("Yes", "No")), body
    assert body.startswith("The guest must be prepared")
    asked = answer_question(real_index, "Can I get enhanced session with clipboard for an Ubuntu VM on Hyper-V?",
                            ranker=_always())
    assert asked.draft.split("\n\n")[1].startswith("Yes, but")


def test_a_yes_comma_opening_goes_where_no_yes_or_no_was_asked(real_index):
    """"Yes, as long as every node uses the same CPU manufacturer" answers "can the cluster take a newer
    node?", not "How do we plan this?" (blind readers marked the "Yes" a non sequitur there); the rest of
    the sentence is kept, said as what it is a condition for ("It works as long as ..."), and a question
    that is a yes-or-no one keeps the verdict."""
    from kb.compose import compose
    from kb.facts import detect_facts

    sn = real_index.corpus.snippets["cpu-compatibility-mixed-cluster"]
    assert sn.answer.startswith("Yes, as long as every node")
    for paste, yes_no, opening in [
            ("We are adding a Xeon Gold node to our Hyper-V 2019 cluster of Xeon E5 v4 hosts. How do we plan this?",
             False, "It works as long as every node"),
            ("Can we add a Xeon Gold node to our Hyper-V 2019 cluster of Xeon E5 v4 hosts?", True,
             "Yes, as long as every node")]:
        d = compose(None, [sn], 0.7, detect_facts(paste), [], [], real_index.corpus, question=paste, yes_no=yes_no)
        assert d.draft.split("\n\n")[1].startswith(opening), d.draft


def _always():
    from dataclasses import replace

    return replace(default_ranker(), threshold=0.0)


def test_pointers_and_further_reading_link_only_pages_about_the_answer(real_index):
    """A fitting title over an unrelated page misleads more than no link: the Msvm WMI class page never
    backs the Linux enhanced-session answer, and an abstention's pointer goes without a link rather than
    with an unrelated one."""
    from dataclasses import replace

    from kb.answer import answer_question
    from kb.references import reference_overlap

    q = "Enhanced session for my Ubuntu VM: how do I turn it on? The host is Windows Server 2022."
    d = answer_question(real_index, q, ranker=_always())
    # Both answer it on a Server host (the guest needs xrdp, the host its policy turned on); either
    # way the links must be about enhanced session, never the WMI class page.
    assert d.sources[0].id in ("enhanced-session-linux", "enhanced-session-host-policy")
    reading = d.draft.split("Further reading:")[1]
    assert "msvm-syntheticdisplaycontrollersettingdata" not in reading
    assert "enhanced-session-mode" in reading or "set-vmhost" in reading
    never = replace(default_ranker(), threshold=1.0)
    corpus = real_index.corpus
    for paste in ("How to expose hyper-threading to a VM with HwThreadCountPerCore 0",
                  "Where is event ID 1135 logged and what are the heartbeat thresholds?"):
        ab = answer_question(real_index, paste, ranker=never)
        for line in ab.draft.splitlines():
            if line.startswith("- **") and "(see [" in line:
                title = line.split("**")[1]
                sn = next(s for s in corpus.snippets.values() if s.title == title)
                ref_title = line.split("(see [")[1].split("](")[0]
                assert reference_overlap(ref_title, f"{sn.title} {sn.answer}") >= 2, line


@pytest.mark.parametrize("paste,hyperv", [
    ("Grant-VMConnectAccess is still working? I cannot use vmconnect.exe as a non-administrator.", True),
    ("Need clarification to reduce confusion in the maximums table for virtual network adapters", None),
    ("ShieldedVMProvisioning supporting module: where do I get it?", True),
])
def test_hyperv_cmdlets_count_as_hyperv_and_confusion_is_not_vmware_fusion(paste, hyperv):
    from kb.facts import detect_facts

    f = detect_facts(paste)
    assert f.other_hypervisors == []
    if hyperv:
        assert f.mentions_hyperv


def test_a_cluster_event_id_counts_as_a_clustering_question():
    from kb.facts import detect_facts

    assert detect_facts("What eventlog? Where is EventID 1135 logged?").mentions_virtualization
    assert not detect_facts("I ordered 1135 units last year").mentions_virtualization


def test_a_fairly_sure_abstention_gives_the_closest_answers_opening_and_an_unsure_one_only_its_title(real_index):
    from dataclasses import replace

    from kb.answer import answer_question
    from kb.compose import GIST_FROM, gist

    never = replace(default_ranker(), threshold=1.0)
    sure = answer_question(real_index, "We have two Hyper-V 2019 hosts in a cluster, one with Xeon E5 v4 and one "
                                       "with Xeon Gold. Live migration fails saying the processor is not "
                                       "compatible.", ranker=never)
    assert not sure.answerable and sure.confidence >= GIST_FROM
    first = next(line for line in sure.draft.splitlines() if line.startswith("- **"))
    snippet = real_index.corpus.snippets[sure.sources[0].id]
    assert gist(snippet.answer)[:40] in first.replace("**", "")
    vague = answer_question(real_index, "my server has issues", ranker=never)
    assert vague.confidence < GIST_FROM
    closest = real_index.corpus.snippets[vague.sources[0].id]
    assert gist(closest.answer)[:40] not in vague.draft.replace("**", "")


def test_no_draft_text_cites_a_snippet_or_article_by_its_id(real_index):
    """"see dc-virtualization" is a dead end on a forum: every id an answer cites becomes a link titled
    with what it is (the public reference nearest it, or hvkb's page under a public base URL)."""
    import re

    from kb.references import public_ids

    corpus = real_index.corpus
    snippet_ids = [i for i in corpus.snippets if "-" in i]
    article_ids = [i for i in corpus.articles if "-" in i]
    bare = re.compile(r"(?<![\w/#-])(?:" + "|".join(map(re.escape, snippet_ids)) + r")(?![\w/-])|"
                      r"\b(?:see|read|Details:) (?:" + "|".join(map(re.escape, article_ids)) + r")(?![\w/-])")
    cited = 0
    for s in corpus.snippets.values():
        out = public_ids(s.answer, corpus)
        prose = re.sub(r"\]\([^)]*\)", "]", out)          # link targets are URLs, not text
        assert not bare.search(prose), (s.id, bare.search(prose).group(0))
        assert not re.search(r"\bthe (?:" + "|".join(map(re.escape, corpus.articles)) + r") article\b", prose), s.id
        cited += out != s.answer
    assert cited >= 20           # the shipped answers do cite each other
    linked = public_ids("For domain controllers see dc-virtualization first.", corpus, "https://kb.example.org")
    assert "](https://kb.example.org/articles/dc-virtualization)" in linked
    # An article id that is also a plain compound stays text where nothing cites it.
    assert public_ids("Linux has no built-in enhanced-session support.", corpus) == (
        "Linux has no built-in enhanced-session support.")


@pytest.mark.parametrize("paste", ["hyper-v problem with my server, any ideas",
                                   "How can one retrieve SMART data from a drive that shows as a Storage Space Device?"])
def test_an_abstention_names_other_topics_only_when_they_are_not_noise(real_index, paste):
    from dataclasses import replace

    from kb.answer import NEAREST_MIN, answer_question

    ranker = default_ranker()
    never = replace(ranker, threshold=1.0)
    d = answer_question(real_index, paste, ranker=never)
    topics = [s.topic for s in d.sources if s.kind == "snippet"]
    for s in d.sources:
        if s.kind == "snippet" and s.topic != topics[0]:
            assert ranker.confidence(s.score) >= NEAREST_MIN - 1e-9, (s.id, ranker.confidence(s.score))


def test_a_long_paste_or_a_limit_is_not_asked_for_the_exact_error():
    from kb.focus import find_focus

    limit = ("Storage Space Device SMART data\nHow can one retrieve SMART data from a drive that comes up as a "
             "Storage Space Device? Existing SMART reporting tools are unable to retrieve the data.")
    assert not find_focus(limit).wants_error_text(limit)
    long_report = "Live migration fails between our hosts.\n" + "Get-VMHost output line\n" * 60
    assert find_focus(long_report).reports_failure and not find_focus(long_report).wants_error_text(long_report)


def test_further_reading_is_the_page_nearest_the_answer_plus_the_cmdlets_it_runs(real_index):
    from kb.answer import answer_question
    from kb.references import cmdlet_references

    corpus = real_index.corpus
    d = answer_question(real_index, "Hyper-V VM will not start: Unable to allocate 2200 MB of RAM: Insufficient "
                                    "system resources exist to complete the requested service. (0x800705AA)",
                        ranker=_always())
    assert d.sources[0].id == "vm-start-failures-insufficient-resources"
    reading = d.draft.split("Further reading:")[1]
    assert reading.count("](") == 1, reading          # one page; the answer runs no cmdlet
    linux = answer_question(real_index, "Enhanced session for my Ubuntu VM: how do I turn it on? The host is "
                                        "Windows Server 2022.", ranker=_always())
    snippet = corpus.snippets[linux.sources[0].id]
    runs = cmdlet_references(corpus.articles[snippet.article], snippet.answer)
    assert any(r.title.startswith("Set-VMHost") for r in runs)
    assert all(r.url in linux.draft for r in runs[:2])


def test_a_gist_of_an_answer_that_announces_a_list_carries_more_of_it(real_index):
    from kb.compose import GIST_CHARS, gist

    listing = real_index.corpus.snippets["vm-generations-iso-boot-no-os"].answer
    assert listing.startswith("Check four things")
    g = gist(listing)
    assert len(g) > GIST_CHARS and "Second" in g
    assert g.endswith("…") or len(g) >= len(" ".join(listing.split())) - 2


def test_a_condition_the_paste_already_states_is_not_repeated(real_index):
    from kb.answer import answer_question

    stated = answer_question(real_index, "Hyper-V VM will not start: Unable to allocate 2200 MB of RAM: Insufficient "
                                         "system resources exist to complete the requested service. (0x800705AA)",
                             ranker=_always())
    assert stated.sources[0].id == "vm-start-failures-insufficient-resources"
    assert "This holds when" not in stated.draft
    unstated = answer_question(real_index, "Hyper-V VM will not start: Insufficient system resources exist to "
                                           "complete the requested service (0x800705AA)", ranker=_always())
    assert unstated.sources[0].id == "vm-start-failures-insufficient-resources"
    assert "Unable to allocate ... MB of RAM" in unstated.draft


def test_a_condition_stated_anywhere_in_a_long_paste_is_not_repeated(real_index):
    from kb.answer import answer_question

    paste = ("Insufficient system resources exist to complete the requested service. (0x800705AA). 'minikube' "
             "failed to start.\nCreating hyperv VM (CPUs=2, Memory=2200MB, Disk=20000MB) ...\n"
             + "libmachine: [stdout =====>] : \n" * 8
             + "Hyper-V\\Start-VM : 'minikube' failed to start. Unable to allocate 2200 MB of RAM: Insufficient "
               "system resources exist to complete the requested service. (0x800705AA).")
    d = answer_question(real_index, paste, ranker=_always())
    assert d.sources[0].id == "vm-start-failures-insufficient-resources"
    assert "This holds when" not in d.draft


def test_pasted_text_is_never_kept_in_the_reference_word_cache():
    """A server drafts many pastes: only the KB's own texts are cached, never what users paste."""
    from kb.compose import stated_in
    from kb.references import kb_words as _ref_words

    cond = 'the error text says "Unable to allocate ... MB of RAM"'
    stated_in(cond, "warm-up paste")
    size = _ref_words.cache_info().currsize
    for i in range(50):
        stated_in(cond, f"unique paste number {i}: Unable to allocate {i} MB of RAM")
    assert _ref_words.cache_info().currsize == size


def _refs_article():
    from kb.content import Article, Reference, Snippet

    refs = (Reference("Dynamic Memory overview", "https://example.org/overview"),
            Reference("Dynamic Memory is enabled but not responding on some virtual machines (Best Practices "
                      "Analyzer rule)", "https://example.org/bpa-not-responding"),
            Reference("Set-VMMemory (Windows Server 2008 R2)", "https://example.org/set-vmmemory-2008r2"))
    art = Article("dynamic-memory", "Dynamic Memory", "dynamic-memory", "S.", "B.", references=refs)
    answers = {
        "dm-minimum": ("Dynamic Memory minimum and startup memory", "Dynamic Memory lets the guest start with "
                       "startup memory and shrink to the minimum memory while it runs; it is enabled per VM."),
        "dm-linux": ("Dynamic Memory for Linux guests", "Dynamic Memory works in Linux guests with the hv_balloon "
                     "driver; memory is added while it runs."),
        "dm-host": ("Host memory reserve", "The host keeps memory for itself; Dynamic Memory gives guests only "
                    "what is left."),
        "dm-set": ("Change Dynamic Memory with Set-VMMemory", "Run Set-VMMemory -VMName <vm> -DynamicMemoryEnabled "
                   "$true with the VM off; Dynamic Memory memory settings then apply at start."),
    }
    snippets = {sid: Snippet(sid, art.id, art.id, title, ("a", "b"), answer,
                             applies_to=("Windows Server 2016", "Windows Server 2019"))
                for sid, (title, answer) in answers.items()}

    class Corpus:
        def snippets_of(self, article_id):
            return list(snippets.values()) if article_id == art.id else []

    return art, snippets, Corpus()


def test_a_page_about_one_case_backs_no_answer_that_only_shares_the_articles_words():
    """Every Dynamic Memory answer says "Dynamic Memory", "memory", "enabled", "VM": a Best Practices
    Analyzer rule about unresponsive Dynamic Memory shares those and is about none of them, while the
    article's overview page backs any of its answers. A page about a release two or more away from the
    answer's (a 2008 R2 cmdlet page for a 2016 answer) backs it only when the author chose it."""
    from dataclasses import replace

    from kb.references import snippet_references

    art, snippets, corpus = _refs_article()
    got = snippet_references(art, snippets["dm-minimum"], corpus=corpus)
    assert [r.url for r in got] == ["https://example.org/overview"]
    for sn in snippets.values():
        urls = [r.url for r in snippet_references(art, sn, n=3, corpus=corpus)]
        assert "https://example.org/bpa-not-responding" not in urls, sn.id
        assert "https://example.org/set-vmmemory-2008r2" not in urls, sn.id
    older = replace(snippets["dm-set"], applies_to=("Windows Server 2008 R2", "Windows Server 2012"))
    assert "https://example.org/set-vmmemory-2008r2" in [r.url for r in snippet_references(art, older, n=3,
                                                                                             corpus=corpus)]


def test_the_authors_chosen_references_win_and_an_empty_choice_means_no_link():
    from dataclasses import replace

    from kb.references import article_links, snippet_references

    art, snippets, corpus = _refs_article()
    chosen = replace(snippets["dm-set"], see=("https://example.org/set-vmmemory-2008r2", "https://example.org/overview"))
    assert [r.url for r in snippet_references(art, chosen, n=2, corpus=corpus)] == list(chosen.see)
    none = replace(snippets["dm-minimum"], see=())
    assert snippet_references(art, none, corpus=corpus) == []
    assert article_links([art], snippets=[none], corpus=corpus) == []
    assert article_links([art], snippets=[chosen], corpus=corpus) == [
        "- [Set-VMMemory (Windows Server 2008 R2)](https://example.org/set-vmmemory-2008r2)"]


@pytest.mark.parametrize("sentence,reported", [
    ("if hyper-v server fails - restoring will be kinda tricky", False),   # weighs a design
    ("What if the witness fails?", False),
    ("In case a node crashes, do the VMs restart elsewhere?", False),
    ("If I start the VM it fails with 0x80070005", True),                 # the asker did it
    ("When I start the VM it fails", True),
    ("Live migration fails between our hosts", True),
])
def test_a_supposed_failure_is_not_a_reported_one(sentence, reported):
    from kb.focus import reports_failure

    assert reports_failure(sentence) is reported


def test_an_excerpt_adds_the_sentence_about_what_the_asker_said(real_corpus):
    """The opening of the VLAN answer is about the VM's adapter; a question about the physical switch
    port also gets the answer's sentence on the switch port, and a question that says nothing more
    gets the opening alone."""
    from kb.compose import gist

    answer = real_corpus.snippets["virtual-networking-vlan-trunk"].answer
    plain = gist(answer)
    asked = gist(answer, question="VMs only get traffic when the physical switch port is a trunk, why?")
    assert asked.startswith(plain.rstrip(" …")) and "physical switch port" in asked
    assert "physical switch port" not in plain
    assert gist(answer, question="how do I set a VLAN on a VM") == plain


@pytest.mark.parametrize("confidence,named,lead,excerpt", [(0.05, False, False, False), (0.2, True, False, True),
                                                          (0.5, True, True, True)])
def test_how_an_abstention_offers_its_closest_answer(real_corpus, confidence, named, lead, excerpt):
    """Below NAME_FROM no closest answer is named (it is nearly always unrelated there), though the
    draft's sources keep it; from GIST_FROM, its title and opening; from LEAD_FROM it is offered as a
    lead to check (below that, readers took a lead for an answer and judged it wrong)."""
    from kb.compose import GIST_FROM, LEAD_FROM, NAME_FROM, Source, compose_abstention
    from kb.facts import detect_facts

    assert NAME_FROM <= GIST_FROM < LEAD_FROM
    sn = real_corpus.snippets["quorum-two-node-witness"]
    d = compose_abstention(None, confidence, None, detect_facts("two node cluster witness"), [],
                           [Source(sn.id, sn.title, sn.topic, "snippet", confidence)], real_corpus,
                           question="two node cluster witness")
    assert ("lead to check" in d.draft) is lead
    assert ("could not find a confident answer" in d.draft) is not lead
    assert (f"**{sn.title}**" in d.draft) is named
    assert ("is close enough to point you to" in d.draft) is not named
    # "I would rather not guess" only where nothing follows: above an excerpt it contradicts it.
    assert ("rather not guess" in d.draft) is not named
    assert ("either node plus the witness" in d.draft) is excerpt
    assert [s.id for s in d.sources] == [sn.id]


@pytest.mark.parametrize("paste,reason", [
    ("VMware ESXi 7 vMotion fails between two hosts with EVC, how do I fix it?", None),
    ("Automatic antivirus exclusions on Windows Server 2012 R2 servers, are they added?", None),
    ("vm fails", "the question is too short to tell what is asked")])
def test_an_abstention_tells_the_asker_only_what_helps_them(real_index, paste, reason):
    """A question about another product, or one naming neither Hyper-V nor a virtualization feature, is
    capped, and its draft abstains without the drafter's own reason ("the question names neither
    Hyper-V nor ..."), which readers struck as noise; another product gets its own paragraph instead.
    A question too short to tell says so."""
    from kb.answer import _guard, analyse, answer_question
    from kb.facts import clean_question

    a = analyse(real_index, clean_question(paste))
    cap, why = _guard(a)
    assert cap is not None and cap < 0.6 and why == reason
    d = answer_question(real_index, paste)
    assert not d.answerable and "names neither" not in d.draft and "not Hyper-V)" not in d.draft
    assert ("This looks like a VMware question" in d.draft) is ("VMware" in paste)
    assert (reason in d.draft) if reason else "(" not in d.draft.split("\n\n")[1]


def test_a_lead_gives_the_closest_answer_whole_and_an_excerpt_stays_short(real_corpus):
    """Offered as a lead, the closest answer is given whole (less its yes/no verdict), because the
    sentence an opening cuts off is often the fix; below LEAD_FROM only its opening."""
    from kb.compose import GIST_CHARS, LEAD_CHARS, LEAD_FROM, Source, compose_abstention, drop_verdict, unwrap
    from kb.facts import detect_facts

    sn = max(real_corpus.snippets.values(), key=lambda s: len(unwrap(s.answer)))
    assert GIST_CHARS * 2 < len(unwrap(sn.answer)) <= LEAD_CHARS   # every answer fits a lead whole
    q = sn.questions[0]

    def first_item(confidence):
        d = compose_abstention(None, confidence, None, detect_facts(q), [], [Source(sn.id, sn.title, sn.topic,
                               "snippet", confidence)], real_corpus, question=q)
        return next(line for line in d.draft.splitlines() if line.startswith("- **"))

    whole, cut = first_item(LEAD_FROM + 0.05), first_item(LEAD_FROM - 0.05)
    last = drop_verdict(unwrap(sn.answer)).split()[-3:]
    assert " ".join(last) in whole and "…" not in whole
    assert " ".join(last) not in cut and cut.endswith("…")


@pytest.mark.parametrize("sid,verdict,opening", [
    ("vmbus-architecture-nested-virtualization", "Yes. ", "Running Hyper-V inside a VM is nested"),  # "Can I run ...?"
    ("cpu-compatibility-mixed-cluster", "Yes, ", "As long as every node uses the same CPU"),
    ("dc-virtualization-time-sync", "Yes, ", "Stop the host from being"),
    ("vm-generations-convert", "No, ", "The generation cannot be changed"),
])
def test_a_pointer_gives_its_snippet_without_the_verdict(real_corpus, sid, verdict, opening):
    """A pointer's snippet answers another question, even under a title that is the yes-or-no question it
    answers: "No." or "Yes, ..." there reads as the answer to the asker's own question (blind readers
    graded such pointers wrong 9 times), so its excerpt and its lead go without it."""
    from kb.compose import Source, compose_abstention
    from kb.facts import detect_facts

    sn = real_corpus.snippets[sid]
    assert sn.answer.startswith(verdict)
    q = "Our Docker build VMs on Windows Server 2022 hosts: what should we set up?"
    for confidence in (0.2, 0.5):   # an excerpt and a lead
        d = compose_abstention(None, confidence, None, detect_facts(q), [], [Source(sn.id, sn.title, sn.topic,
                               "snippet", confidence)], real_corpus, question=q)
        item = next(line for line in d.draft.splitlines() if line.startswith("- **"))
        assert item.split("): ", 1)[-1].split("**: ", 1)[-1].startswith(opening), item


def test_a_lead_says_what_must_hold_for_it(real_corpus):
    """Offered as a lead to check, the closest answer comes with its conditions: an AVMA lead for a
    Windows 10 VM says that AVMA holds only for Windows Server guests."""
    from kb.compose import Source, compose_abstention
    from kb.facts import detect_facts

    sn = real_corpus.snippets["licensing-avma-activation"]
    q = "Will AVMA keys activate a Windows 10 VM on our 2019 Datacenter host?"
    d = compose_abstention(None, 0.5, None, detect_facts(q), [], [Source(sn.id, sn.title, sn.topic, "snippet", 0.5)],
                           real_corpus, question=q)
    assert "  - It holds when the guests run Windows Server" in d.draft
    low = compose_abstention(None, 0.3, None, detect_facts(q), [], [Source(sn.id, sn.title, sn.topic, "snippet", 0.3)],
                             real_corpus, question=q)
    assert "It holds when" not in low.draft


def test_a_lead_does_not_tell_the_asker_what_they_said(real_corpus):
    """A condition that states a fact and then rules out the other value ("the guest runs a Windows
    desktop edition, not Windows Server") is not repeated to an asker whose paste settles it (rq-310:
    a Windows 10 VM); to one whose paste does not, it is."""
    from kb.compose import Source, compose_abstention
    from kb.facts import detect_facts

    sn = real_corpus.snippets["licensing-windows-client-vms"]
    assert "the guest runs a Windows desktop edition, not Windows Server" in sn.conditions
    for q, shown in [("When you run Windows Server 2016 and want to activate your Windows 10 VM, will AVMA keys work?",
                      False),
                     ("Do AVMA keys work for every VM on a Windows Server 2016 Datacenter host?", True)]:
        d = compose_abstention(None, 0.5, None, detect_facts(q), [], [Source(sn.id, sn.title, sn.topic, "snippet", 0.5)],
                               real_corpus, question=q)
        assert ("It holds when the guest runs a Windows desktop edition" in d.draft) is shown, (q, d.draft)


@pytest.mark.parametrize("paste", ["1903 AVMA keys\nWhere are the Windows Server, version 1903 AVMA keys?",
                                   "AVMA keys for Server 2025 (Preview)\nPlease provide AVMA keys for Server 2025 (Preview)"])
def test_an_avma_draft_does_not_ask_which_os_the_vm_runs(real_index, paste):
    """The AVMA answer and the answer on licensing Windows client VMs differ on the guest's edition, but
    an AVMA key is only ever a Windows Server guest's: asking which OS runs in the VM is padding (blind
    readers marked it so in all six AVMA drafts that asked it)."""
    from kb.answer import answer_question
    from kb.facts import CLARIFYING_QUESTIONS

    d = answer_question(real_index, paste, ranker=_always())
    assert d.sources[0].id == "licensing-avma-activation"
    assert CLARIFYING_QUESTIONS["guest_os"] not in d.clarifying_questions, d.draft


@pytest.mark.parametrize("confidence,asked", [(0.05, False), (0.2, True)])
def test_an_abstention_that_names_nothing_asks_for_no_deciding_fact(real_corpus, confidence, asked):
    """With no closest answer named (below NAME_FROM), the facts that would decide between the closest
    answers change nothing the draft says, so it does not ask them; named, it does."""
    from kb.compose import Source, compose_abstention
    from kb.facts import CLARIFYING_QUESTIONS, detect_facts

    sn = real_corpus.snippets["quorum-two-node-witness"]
    q = "our cluster keeps losing quorum after a node reboot"
    d = compose_abstention(None, confidence, None, detect_facts(q), ["os_version"],
                           [Source(sn.id, sn.title, sn.topic, "snippet", confidence)], real_corpus, question=q)
    assert (CLARIFYING_QUESTIONS["os_version"] in d.clarifying_questions) is asked
    assert (CLARIFYING_QUESTIONS["os_version"] in d.draft) is asked


def test_a_pc_answer_asks_for_the_pc_s_windows_version(real_index):
    """An answer that holds only on Windows 10 and 11 asks which Windows the PC runs, not which Windows
    Server the hosts run."""
    from kb.answer import answer_question
    from kb.facts import CLARIFYING_QUESTIONS, CLIENT_VERSION_QUESTION

    d = answer_question(real_index, "Enable-WindowsOptionalFeature says the feature name Microsoft-Hyper-V is unknown",
                        ranker=_always())
    sn = real_index.corpus.snippets[d.sources[0].id]
    assert set(sn.applies_to) <= {"Windows 10", "Windows 11"}, sn.id
    assert CLIENT_VERSION_QUESTION in d.clarifying_questions
    assert CLARIFYING_QUESTIONS["os_version"] not in d.clarifying_questions


def test_an_abstention_links_each_page_once(real_corpus):
    """Three nested-virtualization pointers from three articles are all backed by the same Microsoft Learn
    page: it is linked once, and the later pointers are named without linking it again."""
    import re
    from kb.compose import Source, compose_abstention
    from kb.facts import detect_facts

    ids = ["azure-itpro-nested-hyperv", "client-hyper-v-nested", "vmbus-architecture-nested-virtualization"]
    sns = [real_corpus.snippets[i] for i in ids]
    assert len({s.article for s in sns}) == 3
    q = "nested hyper-v inside virtualbox does not work"
    d = compose_abstention(None, 0.2, None, detect_facts(q), [],
                           [Source(s.id, s.title, s.topic, "snippet", 0.2) for s in sns], real_corpus, question=q)
    urls = re.findall(r"\]\((https?://[^)\s]+)\)", d.draft)
    assert urls and len(urls) == len(set(urls)), d.draft
    for s in sns:
        assert f"**{s.title}**" in d.draft


def test_a_condition_the_question_settles_is_not_repeated(real_index):
    """"This holds when: the VM is generation 2" adds nothing for a paste about a generation 2 VM; for a
    paste that does not say which generation it does. A condition with more in it than the fact
    ("the guest is a Linux desktop distribution") is kept even when the guest is known to be Linux."""
    from kb.compose import compose
    from kb.facts import detect_facts

    sn = real_index.corpus.snippets["linux-guests-secure-boot"]
    assert "the VM is generation 2" in sn.conditions
    for paste, repeated in [("Oracle Linux 7 in a generation 2 VM hangs at the UEFI screen", False),
                            ("Oracle Linux 7 VM hangs at the UEFI screen: boot image not signed", True)]:
        d = compose(None, [sn], 0.7, detect_facts(paste), [], [], real_index.corpus, question=paste)
        assert ("the VM is generation 2" in d.draft) is repeated, paste
    desktop = real_index.corpus.snippets["enhanced-session-linux"]
    assert "the guest is a Linux desktop distribution" in desktop.conditions
    d = compose(None, [desktop], 0.7, detect_facts("Ubuntu VM: enhanced session shows a black screen"), [], [],
                real_index.corpus, question="Ubuntu VM: enhanced session shows a black screen")
    assert "the guest is a Linux desktop distribution" in d.draft


def test_a_command_the_asker_ran_and_saw_fail_is_not_proposed_again(real_index):
    # The paste shows the command the enable answer opens with, already run and failing: the draft leads
    # with the cause of that error and its fix and gives what the answer says after it, but not the failed
    # command again, nor the step's own follow-ups ("A restart is always required", "check the result"),
    # which without the step have nothing to follow.
    from kb.answer import answer_question

    paste = ("PS C:\\> Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All\n"
             "Enable-WindowsOptionalFeature : Feature name Microsoft-Hyper-V is unknown.\n"
             "How do I turn on Hyper-V on this laptop?")
    d = answer_question(real_index, paste)
    assert d.focus["failed"] == {"Enable-WindowsOptionalFeature": "Feature name Microsoft-Hyper-V is unknown."}
    assert d.sources[0].id == "client-hyper-v-enable-command"
    body = d.text.split("\n\n")[1] if d.answerable else d.text.split("The closest answer I have:")[1]
    assert "until the edition is upgraded" in body and "Enable-WindowsOptionalFeature" not in body
    assert "A restart is always required" not in body and "check the result" not in body
    assert "\"unknown feature\" error usually means a Home edition" in body
    # Without a failed command, or with another one failing, the answer keeps its own order.
    from kb.compose import error_first

    answer = real_index.corpus.snippets["client-hyper-v-enable-command"].answer
    assert error_first(answer, {}) == answer
    assert error_first(answer, {"Set-VMProcessor": "Feature name Microsoft-Hyper-V is unknown."}) == answer


def test_a_check_whose_output_the_paste_shows_is_not_proposed_again(real_index):
    """The systeminfo answer opens with how to run the check; a paste that shows its output ("Enabled In
    Firmware: No") gets the sentence about that line first and not the check again, in an answer and in
    a lead alike. A paste without the output gets the answer as it is."""
    from kb.compose import Source, compose, compose_abstention, quote_first
    from kb.facts import detect_facts

    sn = real_index.corpus.snippets["client-hyper-v-systeminfo-check"]
    assert sn.answer.startswith("Run `systeminfo`")
    paste = ("Docker cannot enable Hyper-V. systeminfo shows:\nHyper-V Requirements: VM Monitor Mode Extensions: Yes\n"
             "  Virtualization Enabled In Firmware: No\nWhat should I do?")
    d = compose(None, [sn], 0.7, detect_facts(paste), [], [], real_index.corpus, question=paste, paste=paste)
    body = d.draft.split("\n\n")[1]
    assert body.startswith('"Enabled In Firmware: No" is fixed in the firmware setup') and "Run `systeminfo`" not in body
    src = [Source(sn.id, sn.title, sn.topic, "snippet", 0.5, None, None)]
    lead = compose_abstention(None, 0.5, None, detect_facts(paste), [], src, real_index.corpus,
                              question="What should I do?", paste=paste)
    assert '**: "Enabled In Firmware: No" is fixed' in lead.draft and "Run `systeminfo`" not in lead.draft
    assert quote_first(sn.answer, "Can this PC run Hyper-V? How do I check?") == sn.answer


@pytest.mark.parametrize("paste,kept", [
    ("Oracle Linux 7 gen 2 VM on Windows 10 Pro 1809 hangs at the UEFI screen, image not signed", False),
    ("Oracle Linux 7 gen 2 VM on a Windows Server 2012 R2 host hangs at the UEFI screen, image not signed", True),
    ("Oracle Linux 7 gen 2 VM hangs at the UEFI screen, image not signed", True)])
def test_a_sentence_about_a_release_the_asker_does_not_run_is_left_out(real_index, paste, kept):
    """The Secure Boot answer's sentence for Windows Server 2012 R2 hosts (no UEFI CA template there)
    is padding for a Windows 10 host, the fix for a 2012 R2 one, and kept when no version is named;
    the rest of the answer is given either way."""
    from kb.compose import compose
    from kb.facts import detect_facts

    sn = real_index.corpus.snippets["linux-guests-secure-boot"]
    assert "On Windows Server 2012 R2 hosts" in sn.answer
    d = compose(None, [sn], 0.7, detect_facts(paste), [], [], real_index.corpus, question=paste)
    assert ("On Windows Server 2012 R2 hosts" in d.draft) is kept
    assert "MicrosoftUEFICertificateAuthority" in d.draft and "not signed through Microsoft's UEFI CA" in d.draft
    # The answer's second paragraph stays a paragraph of its own.
    assert "`.\n\n" in d.draft.split("Further reading")[0]


def test_an_aside_is_left_out_unless_the_question_is_about_it(real_index):
    """The nested-virtualization answer marks its networking and Dynamic Memory sentences as asides: a
    plain "can a VM run Hyper-V" draft leaves them out, a question about the nested VMs' network keeps
    that one; the answer itself (search, the web page) keeps both, and its sources do not change."""
    from kb.compose import compose
    from kb.facts import detect_facts

    sn = real_index.corpus.snippets["vmbus-architecture-nested-virtualization"]
    network, memory = "Give nested VMs network access", "While Hyper-V runs in the VM"
    assert any(a.startswith(network) for a in sn.asides) and any(a.startswith(memory) for a in sn.asides)
    assert network in sn.answer and memory in sn.answer
    for paste, kept in [("Can a Windows Server 2019 VM run Hyper-V itself for a lab?", set()),
                        ("Nested Hyper-V works, but the VMs inside it get no network access. How do I give "
                         "the nested VMs network access?", {network})]:
        d = compose(None, [sn], 0.7, detect_facts(paste), [], [], real_index.corpus, question=paste, paste=paste)
        assert {a for a in (network, memory) if a in d.draft} == kept, paste
        assert "ExposeVirtualizationExtensions" in d.draft
