"""The Streamlit app renders the library state through the service (AppTest, no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from helpers import STORY
from streamlit.testing.v1 import AppTest

from reffy.service import ReffyService

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def fresh_service_cache():
    """The app caches one service per process; each test has its own REFFY_HOME."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_app_shows_layer_counts_runs_and_problems(settings, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.md").write_text(f"# Nordvik\n\n{STORY}", encoding="utf-8")
    (lib / "b.pdf").write_bytes(b"%PDF-1.4 broken")
    ReffyService(settings).ingest([str(lib)])
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["bronze records"] == "1"
    assert len(at.dataframe) == 2  # runs and problems
    assert "corrupt" in at.dataframe[1].value.to_csv()


def test_app_explains_an_empty_home(home):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "reffy ingest" in at.error[0].value
