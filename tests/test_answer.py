import pytest

from kb.answer import answer_question, describe_versions, markdown_to_text
from kb.errors import InputTooLargeError, QueryError


def test_a_clear_question_gets_a_forum_style_draft(real_index):
    d = answer_question(real_index, "Hi, can I live migrate a VM from an Intel host to an AMD host? "
                                    "We run Windows Server 2016. Thanks")
    assert d.answerable and d.confidence >= 0.42
    assert "cpu-compatibility" in [s.topic for s in d.sources[:3]]
    assert d.draft.startswith("Hi,")
    # Links a forum reader can open: the article's public references, never a site-relative hvkb link.
    assert "Further reading:" in d.draft and "](https://learn.microsoft.com/" in d.draft
    assert "](/articles/" not in d.draft
    assert d.draft.rstrip().endswith("Hope this helps.")
    assert d.detected["os_version"] == "Windows Server 2016"


def test_clarifying_questions_only_for_facts_that_would_change_the_answer(real_index):
    # Intel to AMD is "no" on every release, and the vendors are given: nothing to ask.
    d = answer_question(real_index, "can I live migrate between intel and amd hosts?")
    assert d.answerable and d.sources[0].id == "cpu-compatibility-intel-amd"
    assert not any("CPUs" in q or "version" in q for q in d.clarifying_questions)
    # The question says two hosts: never ask how many.
    d = answer_question(real_index, "we have two Hyper-V 2019 hosts in a cluster, one with Xeon E5 v4 and one "
                                    "with Xeon Gold. Live migration fails saying the processor is not compatible")
    assert not any("How many hosts" in q for q in d.clarifying_questions)


def test_an_intel_only_question_never_gets_the_intel_to_amd_answer(real_index):
    d = answer_question(real_index, "we have two Hyper-V 2019 hosts in a cluster, one with Xeon E5 v4 and one "
                                    "with Xeon Gold. Live migration fails saying the processor is not compatible")
    assert "cpu-compatibility-intel-amd" not in [s.id for s in d.sources]
    assert d.sources[0].topic == "cpu-compatibility"


def test_a_site_relative_link_only_under_a_public_base_url(real_index):
    q = "can I live migrate between intel and amd hosts?"
    assert "](/articles/" not in answer_question(real_index, q).draft
    d = answer_question(real_index, q, base_url="https://kb.example.org/")
    assert "](https://kb.example.org/articles/cpu-compatibility)" in d.draft


def test_version_caveat_for_a_2008r2_snippet_asked_about_2019(real_index):
    d = answer_question(real_index, "On our Server 2019 host Windows Server Backup doesnt show hyper-v "
                                    "as an application. Do I need the registry key for the Hyper-V VSS writer?")
    assert d.sources[0].id == "vm-backup-wsb-hyperv-missing"
    assert any("You mention Windows Server 2019" in c for c in d.caveats)
    assert "**Version note:**" in d.draft


def test_no_caveat_when_the_version_matches(real_index):
    d = answer_question(real_index, "On our Server 2008 R2 host Windows Server Backup doesnt show hyper-v "
                                    "as an application. Do I need the registry key for the Hyper-V VSS writer?")
    assert not d.caveats


@pytest.mark.parametrize("q", [
    "How do I enable EVC on my vSphere cluster so vMotion works between old and new ESXi hosts?",
    "VirtualBox guest additions won't install on Ubuntu 22.04",
    "Proxmox cluster lost quorum after a node died, how to fix?",
    "What Excel formula sums a column only when another column says 'paid'?",
    "Exchange 2016 mailbox quota warning emails, how do I change the limit?",
])
def test_off_topic_questions_abstain(real_index, q):
    d = answer_question(real_index, q)
    assert not d.answerable
    assert "could not find a confident answer" in d.draft


def test_empty_huge_and_binary_input(real_index):
    with pytest.raises(QueryError):
        answer_question(real_index, "   \n ")
    with pytest.raises(QueryError):
        answer_question(real_index, "Hi all,\n\nThanks,\nBob")
    with pytest.raises(InputTooLargeError):
        answer_question(real_index, "x" * 20_001)
    with pytest.raises(QueryError, match="binary"):
        answer_question(real_index, "\x00\x01\x02\x03" * 100)


def test_result_dict_shape(real_index):
    d = answer_question(real_index, "do I need a witness for a two node cluster", question_id="q7").to_dict()
    assert set(d) >= {"id", "answerable", "confidence", "draft", "sources", "clarifying_questions", "detected"}
    assert d["id"] == "q7" and 0.0 <= d["confidence"] <= 1.0
    assert set(d["sources"][0]) >= {"id", "title", "topic", "kind", "score"}
    scores = [s["score"] for s in d["sources"] if s["kind"] == "snippet"]
    assert scores == sorted(scores, reverse=True)


def test_plain_text_rendering():
    assert markdown_to_text("**Yes.** See [Quorum](/articles/quorum) and `Get-VM`.") == \
        "Yes. See Quorum (/articles/quorum) and Get-VM."
    # A link title holding brackets or code is one link (a regex stopped at the first "]").
    assert markdown_to_text("[Use [Set-VMProcessor] `-CompatibilityForMigrationEnabled`](https://learn.example/a)") == \
        "Use [Set-VMProcessor] -CompatibilityForMigrationEnabled (https://learn.example/a)"
    # Lines, list markers and headings keep their place; an escaped star is a star.
    assert markdown_to_text("## Steps\n\n- **Check** it\n1. Run \\*") == "Steps\n\n- Check it\n1. Run *"
    assert describe_versions(("Windows Server 2012", "Windows Server 2012 R2", "Windows Server 2016",
                              "Windows Server 2019", "Windows Server 2022", "Windows Server 2025")) == \
        "Windows Server 2012 and later"
    assert describe_versions(("Windows Server 2008 R2",)) == "Windows Server 2008 R2"


def test_draft_spells_out_an_acronym_once_before_its_first_use():
    from kb.glossary import Glossary, GlossaryEntry

    g = Glossary([GlossaryEntry("RCT", ("Resilient Change Tracking", "CBT")),
                  GlossaryEntry("CSV", ("Cluster Shared Volume",)),
                  GlossaryEntry("VM", ("virtual machine",))])
    done: set[str] = set()
    first = g.spell_out("Incremental backups use RCT; RCT needs 2016. VMs on a CSV too.", done)
    assert first == ("Incremental backups use Resilient Change Tracking (RCT); RCT needs 2016. "
                     "VMs on a Cluster Shared Volume (CSV) too.")
    # Later parts of the same draft keep the short form; code spans and links are never touched.
    assert g.spell_out("RCT again, `Get-VMHost RCT`, [CSV](/articles/csv)", done) == \
        "RCT again, `Get-VMHost RCT`, [CSV](/articles/csv)"
    # A text that already has the long form is left alone; common acronyms are never spelled out.
    assert g.spell_out("Cluster Shared Volumes (CSV) hold VMs") == "Cluster Shared Volumes (CSV) hold VMs"
    # An acronym alone in parentheses follows the content's own wording of it: never a second long form
    # ("locally-redundant (locally-redundant storage (LRS))"), and later uses stay short.
    assert g.spell_out("A shared volume (CSV) holds them; the CSV is owned by one node.") == \
        "A shared volume (CSV) holds them; the CSV is owned by one node."


def test_the_cloud_witness_draft_spells_out_no_acronym_the_content_already_words(real_index):
    d = answer_question(real_index, "What kind of Azure storage account does a cloud witness need?")
    assert "(LRS)" in d.draft
    assert "(locally-redundant storage (LRS))" not in d.draft


def test_phrasing_extract_matches_rapidfuzz_over_every_phrasing(real_index):
    # Each distinct phrasing text is scored once; the entries must be rapidfuzz's over the full list.
    from rapidfuzz import process

    from kb.retrieval import FUZZY_SCORER, fuzz_text as _fuzz_text, phrasings

    ph = phrasings(real_index)
    assert len(ph.unique) < len(ph.choices)
    for question in ["two node cluster witness quorum", "can I delete avhdx files", "live migration fails intel amd",
                     "backup of a domain controller vm with checkpoints", "zzz"]:
        qf = _fuzz_text(question)
        expected = [(score, i) for _text, score, i in
                    process.extract(qf, ph.choices, scorer=FUZZY_SCORER, limit=90, score_cutoff=40)]
        assert ph.extract(qf, 90, 40) == expected


def test_sources_add_another_topic_only_when_it_is_nearly_as_strong(real_index):
    d = answer_question(real_index, "We have a two-node Windows Server 2012 R2 Hyper-V cluster. When one node "
                                    "reboots the whole cluster goes down. Do I need a witness for quorum?")
    assert d.answerable and d.topic == "quorum"
    main = d.sources[0].score
    for s in d.sources:
        if s.kind == "snippet" and s.topic != "quorum":
            assert s.score >= 0.6 * main


def test_further_reading_follows_the_answer_given(real_index):
    """The links under a draft are the references nearest what the draft says, not only the question:
    an answer that runs Grant-VMConnectAccess links that cmdlet's reference first."""
    from kb.references import best_references

    corpus = real_index.corpus
    s = corpus.snippets["remote-management-vmconnect-access"]
    art = corpus.articles[s.article]
    question = "Hyperv User Permissions. I have server 2019. How can I give the user access to a single vm console?"
    refs = best_references(art, question, 2, answer=f"{s.title} {s.answer}")
    assert "VMConnectAccess" in refs[0].title
    assert best_references(art, "", 2) == list(art.references[:2])


def test_a_snippet_sources_public_page_is_the_one_about_it_not_its_articles_first(real_index):
    # The web page shows each source's public page beside it: a snippet's is a page its author chose,
    # and none when the author chose none (`see: []`), never the article's first reference.
    corpus = real_index.corpus
    d = answer_question(real_index, "Which disk format does Azure need when I upload a VHD from Hyper-V?")
    s = next(s for s in d.sources if s.id == "azure-itpro-vhd-upload-format")
    assert corpus.snippets[s.id].see == () and s.url is None
    d = answer_question(real_index, "copy and paste between host and my Windows 11 VM does not work")
    s = next(s for s in d.sources if s.id == "enhanced-session-copy-paste")
    assert s.url in corpus.snippets[s.id].see
