import json
import os

import pytest

from kb.content import load_corpus
from kb.errors import IndexCorruptError, IndexMissingError, IndexStaleError
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


# --------------------------------------------------------------------------- damaged builds and failed writes

def _fresh_index(tmp_path):
    from kb.content import load_corpus as _load

    index = tmp_path / "index"
    build_index(_load(FIXTURE_CONTENT), index)
    return index, index / read_current(index)


def test_manifest_records_every_file_size_and_checksum(index_dir):
    import zlib

    build = index_dir / read_current(index_dir)
    files = json.loads((build / "manifest.json").read_text())["files"]
    on_disk = {p.name for p in build.iterdir() if p.is_file() and p.name not in ("manifest.json", "MAIN_WRITELOCK")}
    assert set(files) == on_disk and any(n.endswith(".seg") for n in files) and any(n.endswith(".toc") for n in files)
    for name, record in files.items():
        data = (build / name).read_bytes()
        assert record == {"size": len(data), "crc32": zlib.crc32(data)}, name


def _overwrite_middle(path):
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 512] = bytes(len(data[mid:mid + 512]))  # same size, zeros in the middle: zlib errors
    path.write_bytes(bytes(data))


SEGMENT_DAMAGE = {
    "segment-shrunk": lambda b: os.truncate(next(b.glob("*.seg")), 4096),
    "segment-overwritten": lambda b: _overwrite_middle(next(b.glob("*.seg"))),
    "toc-deleted": lambda b: next(b.glob("_MAIN_*.toc")).unlink(),
    "vocab-overwritten": lambda b: (b / "vocab.json").write_text("{}"),
}


@pytest.mark.parametrize("damage", SEGMENT_DAMAGE.values(), ids=SEGMENT_DAMAGE.keys())
def test_open_refuses_a_build_whose_files_changed_since_it_was_built(tmp_path, damage):
    index, build = _fresh_index(tmp_path)
    damage(build)
    with pytest.raises(IndexCorruptError, match=r"index at .* is (damaged|incomplete)"):
        open_index(index)


# Shrinking a segment under an opened index is tested in a subprocess (test_reliability.py): with
# memory-mapped segments it kills the process with SIGBUS, and would take pytest down with it.
IN_PROCESS = {k: v for k, v in SEGMENT_DAMAGE.items() if k != "segment-shrunk"}


@pytest.mark.parametrize("damage", IN_PROCESS.values(), ids=IN_PROCESS.keys())
def test_an_opened_index_notices_its_files_changed_before_the_next_search(tmp_path, damage):
    from kb.searching import search

    index, build = _fresh_index(tmp_path)
    kb_index = open_index(index)
    assert search(kb_index, "quorum witness").hits
    damage(build)
    with pytest.raises(IndexCorruptError, match="changed since it was opened|can no longer be read"):
        search(kb_index, "quorum witness")
    with pytest.raises(IndexCorruptError):
        kb_index.check_files()


def test_whoosh_files_are_read_without_mmap(kb_index):
    # A memory-mapped segment that shrinks kills the process with SIGBUS; plain reads raise instead.
    assert kb_index.ix.storage.supports_mmap is False


def test_ensure_index_falls_back_to_the_previous_good_build_when_the_live_one_is_damaged(tmp_path, monkeypatch):
    import kb.index as kb_index_module

    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    index = tmp_path / "index"
    first = ensure_index(content, index)
    build_index(load_corpus(content), index)   # the first build is now the previous one, kept one more round
    live = index / read_current(index)
    os.truncate(next(live.glob("*.seg")), 100)
    _no_space(monkeypatch, kb_index_module)    # and the repair cannot be written either
    notes = []
    got = ensure_index(content, index, on_build=notes.append)
    assert got.path == first.path and search_ok(got)
    assert any("previous build" in n for n in notes), notes
    assert read_current(index) == first.path.name   # CURRENT points back at the good build


def search_ok(kb_index) -> bool:
    from kb.searching import search

    return bool(search(kb_index, "quorum witness").hits)


def _no_space(monkeypatch, module, where="writer"):
    import errno as _errno

    def full(*args, **kwargs):
        raise OSError(_errno.ENOSPC, "No space left on device")

    if where == "writer":
        from whoosh.writing import SegmentWriter

        monkeypatch.setattr(SegmentWriter, "add_document", full)
    elif where == "json":
        monkeypatch.setattr(module, "_write_json", full)
    elif where == "mkdir":
        real_mkdir = module.Path.mkdir

        def mkdir(self, *args, **kwargs):
            if self.name.startswith(".tmp-"):
                raise OSError(_errno.EROFS, "Read-only file system")
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(module.Path, "mkdir", mkdir)
    elif where == "lock":
        monkeypatch.setattr("filelock.FileLock.acquire", lambda *a, **k: (_ for _ in ()).throw(
            PermissionError(_errno.EACCES, "Permission denied")))


@pytest.mark.parametrize("where, message", [
    ("writer", "No space left on device"),
    ("json", "No space left on device"),
    ("mkdir", "Read-only file system"),
    ("lock", "Permission denied"),
])
def test_a_build_that_cannot_write_is_a_clear_error_and_leaves_the_old_index(tmp_path, monkeypatch, where, message):
    import kb.index as kb_index_module
    from kb.errors import IndexWriteError, KbError

    index, build = _fresh_index(tmp_path)
    _no_space(monkeypatch, kb_index_module, where)
    with pytest.raises(IndexWriteError, match=message) as info:
        build_index(load_corpus(FIXTURE_CONTENT), index)
    assert isinstance(info.value, KbError) and "previous index" in info.value.hint
    monkeypatch.undo()
    assert read_current(index) == build.name
    assert not list(index.glob(".tmp-*")), "the failed temporary build must be removed"
    assert search_ok(open_index(index))


def test_ensure_index_keeps_the_stale_index_when_the_rebuild_cannot_be_written(tmp_path, monkeypatch):
    import kb.index as kb_index_module

    content = copy_content(FIXTURE_CONTENT, tmp_path / "content")
    good = ensure_index(content, tmp_path / "index")
    path = content / "articles" / "quorum.md"
    path.write_text(path.read_text().replace("Every node has a vote", "Every node has one vote"))
    _no_space(monkeypatch, kb_index_module)
    notes = []
    kept = ensure_index(content, tmp_path / "index", on_build=notes.append)
    assert kept.build_id == good.build_id and search_ok(kept)
    assert any("No space left on device" in n and "stale" in n for n in notes), notes
    assert not list((tmp_path / "index").glob(".tmp-*"))
