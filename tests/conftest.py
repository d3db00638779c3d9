"""Shared fixtures: the small fixture corpus and the real KB, each indexed once per test run."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.content import load_corpus
from kb.index import build_index, open_index

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CONTENT = Path(__file__).resolve().parent / "fixtures" / "content"
REAL_CONTENT = ROOT / "content"


@pytest.fixture(scope="session")
def fixture_content() -> Path:
    return FIXTURE_CONTENT


@pytest.fixture(scope="session")
def corpus():
    return load_corpus(FIXTURE_CONTENT)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, corpus) -> Path:
    path = tmp_path_factory.mktemp("fixture-index")
    build_index(corpus, path)
    return path


@pytest.fixture(scope="session")
def kb_index(index_dir):
    return open_index(index_dir)


@pytest.fixture(scope="session")
def real_corpus():
    return load_corpus(REAL_CONTENT)


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory, real_corpus) -> Path:
    path = tmp_path_factory.mktemp("real-index")
    build_index(real_corpus, path)
    return path


@pytest.fixture(scope="session")
def real_index(real_index_dir):
    return open_index(real_index_dir)


@pytest.fixture
def runner():
    return CliRunner()


def copy_content(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst
