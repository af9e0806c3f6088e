"""Shared fixtures. Every test gets its own REFFY_HOME; nothing touches the network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reffy.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"
DEV_QUERIES = REPO.parent / "shared" / "eval" / "dev_queries.json"

pytest_plugins = ["llmstub"]  # the fake LLM provider's ``llm_stub`` fixture, for every test that asks for it


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private ONNX model cache (REFFY_MODEL_CACHE_DIR) for the whole session, also seen by
    subprocesses: the embedding model is exported at most once per session, and tests never
    write to the user's real cache."""
    cache = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REFFY_MODEL_CACHE_DIR", str(cache))
        yield cache


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


DATA = REPO / "data"


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo library ingested, offline-scored, built and indexed once per test session.

    Tests must not write to it: use ``demo_home`` for a private copy."""
    from helpers import build_library

    home = tmp_path_factory.mktemp("demo-library")
    build_library(load_settings(home=home, vendor_path=DATA / "vendor.yaml"), [DATA])
    return home


@pytest.fixture
def demo_home(demo_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built demo library (warehouse, indexes; empty history)."""
    import shutil

    home = tmp_path / "demo-home"
    shutil.copytree(demo_library, home)
    monkeypatch.setenv("REFFY_HOME", str(home))
    monkeypatch.setenv("REFFY_VENDOR_PATH", str(DATA / "vendor.yaml"))
    return home


@pytest.fixture
def demo_settings(demo_home: Path) -> Settings:
    return load_settings(home=demo_home, vendor_path=DATA / "vendor.yaml")
