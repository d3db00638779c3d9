import json

import pytest

from kb.content import load_corpus
from kb.errors import IndexMissingError, IndexStaleError
from kb.index import (CURRENT_FILE, build_index, check_fresh, ensure_index, exact_analyzer, open_index, read_current,
                      stemming_analyzer)
from conftest import FIXTURE_CONTENT, copy_content


def terms(analyzer, text):
    return [t.text for t in analyzer(text)]


def test_analyzer_keeps_identifiers_whole_and_by_part():
    stem = stemming_analyzer()
    assert terms(stem, "Set-VMProcessor") == ["set-vmprocessor", "set", "vmprocessor", "setvmprocessor"]
    assert terms(stem, "0x8007274D") == ["0x8007274d"]
    assert terms(stem, "KB5034441 and KB 958662") == ["kb5034441", "kb958662"]
    assert terms(stem, "vmms.exe")[0] == "vmms.exe"
    assert "hyperv" in terms(stem, "Hyper-V") and "hyper-v" in terms(stem, "Hyper-V")
    # Versions and generations are single tokens: 2012 R2 is not 2012, Gen 1 is not Gen 2.
    assert terms(stem, "Windows Server 2012 R2") == ["window", "server", "2012r2"]
    assert terms(stem, "Gen 1 and generation 2") == ["gen1", "gen2"]
    assert terms(exact_analyzer(), "migrations") == ["migrations"]
    assert terms(stem, "migrations") == ["migrat"]


def test_build_writes_a_complete_build_and_points_current_at_it(index_dir):
    name = read_current(index_dir)
    assert name and name.startswith("build-")
    manifest = json.loads((index_dir / name / "manifest.json").read_text())
    assert manifest["documents"] == 3 + 4 + 3  # 3 articles + their 4 sections + 3 snippets
    assert not list(index_dir.glob(".tmp-*"))


def test_rebuild_swaps_atomically_and_keeps_one_previous_build(tmp_path, corpus):
    first = build_index(corpus, tmp_path).path.name
    second = build_index(corpus, tmp_path).path.name
    third = build_index(corpus, tmp_path).path.name
    assert read_current(tmp_path) == third
    builds = sorted(p.name for p in tmp_path.glob("build-*"))
    assert builds == sorted([second, third]) and first not in builds


def test_a_build_that_dies_leaves_the_old_index_usable(tmp_path, corpus):
    build_index(corpus, tmp_path)
    before = read_current(tmp_path)

    def explode(items, n):
        yield next(items)
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        build_index(corpus, tmp_path, progress=explode)
    assert read_current(tmp_path) == before
    from kb.searching import search

    assert search(open_index(tmp_path), "quorum").hits[0].topic == "quorum"
    build_index(corpus, tmp_path)  # the next build succeeds and cleans the dead temp dir
    assert not list(tmp_path.glob(".tmp-*"))


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexMissingError, match="no index"):
        open_index(tmp_path / "nothing")


def test_changed_content_makes_the_index_stale_and_ensure_rebuilds(tmp_path):
    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    ix = ensure_index(content, tmp_path / "index")
    check_fresh(ix, content)
    path = content / "articles" / "quorum.md"
    path.write_text(path.read_text().replace("Every node has a vote", "Every node has one vote"))
    with pytest.raises(IndexStaleError):
        check_fresh(ix, content)
    notes = []
    fresh = ensure_index(content, tmp_path / "index", on_build=notes.append)
    assert fresh.build_id != ix.build_id and notes and "changed" in notes[0]


def test_broken_content_keeps_the_last_good_index(tmp_path):
    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    good = ensure_index(content, tmp_path / "index")
    (content / "articles" / "quorum.md").write_text("broken\n")
    notes = []
    kept = ensure_index(content, tmp_path / "index", on_build=notes.append)
    assert kept.build_id == good.build_id
    assert any("keeping the last good index" in n for n in notes)


def test_corrupt_pointer_is_rebuilt(tmp_path):
    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / CURRENT_FILE).write_text("build-missing\n")
    ix = ensure_index(content, tmp_path / "index")
    assert ix.corpus.articles


def test_fixture_corpus_can_be_reloaded_from_the_index(kb_index, corpus):
    assert kb_index.corpus.articles == corpus.articles
    assert load_corpus(FIXTURE_CONTENT).content_hash == kb_index.content_hash


def test_package_search_stays_the_function_once_every_module_is_loaded():
    # kb exposes search() lazily; a submodule named kb.search would replace it on the package once
    # imported (kb.answer imports the search code), leaving kb.search a module that cannot be called.
    import subprocess
    import sys
    from pathlib import Path

    code = ("import kb, kb.answer, kb.searching, kb.index, kb.cli; "
            "assert callable(kb.search) and kb.search is kb.searching.search, kb.search; "
            "assert kb.answer_question is kb.answer.answer_question")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
