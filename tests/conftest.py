"""Shared fixtures. Every test gets its own REFFY_HOME; nothing touches the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from reffy.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"
DEV_QUERIES = REPO.parent / "shared" / "eval" / "dev_queries.json"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty REFFY_HOME for this test, also exported for subprocesses."""
    h = tmp_path / "home"
    monkeypatch.setenv("REFFY_HOME", str(h))
    return h


@pytest.fixture
def settings(home: Path) -> Settings:
    return load_settings(home=home)


@pytest.fixture
def corpus_path() -> Path:
    if not CORPUS.is_file():
        pytest.skip("../shared/corpus/stories.jsonl is not present")
    return CORPUS
