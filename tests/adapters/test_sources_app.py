"""Sources in the app (AppTest, the real pages): an admin adds a source and syncs it from the
Ingest page as a background job; Library status lists it with its last sync and counts."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from test_app import app, click, frame, open_page, texts
from test_sync_cli import story_file

from reffy.config import load_settings
from reffy.service import ReffyService


def wait_for_job(home: Path, timeout: float = 300.0):
    svc = ReffyService(load_settings(home=home))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            jobs = svc.job_runner.store.recent(1)
            if jobs and not jobs[0].running:
                return jobs[0]
            time.sleep(0.3)
    finally:
        svc.close()
    raise AssertionError("the sync did not finish")


def test_admin_adds_and_syncs_a_source_and_library_status_lists_it(demo_home: Path, tmp_path: Path) -> None:
    st.cache_resource.clear()
    folder = tmp_path / "decks"
    folder.mkdir()
    story_file(folder, "sable", "Sable Bank", 31)
    at = open_page(app(), "ingest")
    assert not at.exception
    assert any("No source registered" in c for c in texts(at.caption))
    at.text_input(key="source_spec").input(str(folder))
    at.text_input(key="source_name").input("decks")
    at.text_input(key="source_every").input("sometimes")
    at = click(at, "Add source")
    assert any("30m, 6h, 1d" in e for e in texts(at.error))  # a mistyped schedule: told how to write one
    at.text_input(key="source_every").input("6h")
    at = click(at, "Add source")
    assert not at.exception
    assert frame(at, "every")["name"].tolist() == ["decks"]
    at = click(at, "Sync this one")
    job = wait_for_job(demo_home)
    assert (job.kind, job.status) == ("sync", "completed"), job.error
    at = open_page(at, "library")
    assert not at.exception
    row = frame(at, "every").iloc[0]
    assert (row["name"], row["status"], row["stories"], row["new"], row["every"]) == ("decks", "completed", 1, 1, "6h")
    assert row["last sync"] != "never"
    st.cache_resource.clear()
