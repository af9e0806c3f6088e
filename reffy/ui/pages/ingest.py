"""Ingest for admins: upload files or give URLs (pages, feeds, YouTube), then run the whole
pipeline (ingest, score, build gold, index) with a progress bar, and see what went wrong.

Uploads are saved under ``REFFY_HOME/uploads/`` by name, so uploading an edited file again
makes a new version of the same story rather than a second story."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from reffy.service import ReffyService
from reffy.ui.session import page_context, shown_errors
from reffy.wording import plural

FILE_TYPES = ["md", "txt", "html", "htm", "pdf", "docx", "pptx", "vtt", "srt", "json", "jsonl", "csv", "tsv", "xlsx",
              "rss", "atom", "xml"]  # fmt: skip
# Share of the progress bar each stage gets (ingest, score, build, index).
STAGES = {"ingest": (0.0, 0.3), "score": (0.3, 0.75), "build": (0.75, 0.8), "index": (0.8, 1.0)}


def save_uploads(svc: ReffyService, files: list[Any]) -> list[str]:
    """Write uploaded files to REFFY_HOME/uploads/ (by file name only: no paths from the browser)."""
    folder = svc.settings.ensure_home() / "uploads"
    folder.mkdir(exist_ok=True)
    paths = []
    for upload in files:
        target = folder / Path(upload.name).name
        target.write_bytes(upload.getvalue())
        paths.append(str(target))
    return paths


def run_pipeline(svc: ReffyService, specs: list[str], *, full: bool) -> list[str]:
    """Ingest ``specs`` and (when ``full``) score, build and index, reporting on one progress bar."""
    bar = st.progress(0.0, text="Starting…")

    def stage(name: str, done: int, total: int | None, text: str) -> None:
        lo, hi = STAGES[name]
        frac = min(done / total, 1.0) if total else 0.5
        bar.progress(lo + (hi - lo) * frac, text=text)

    seen = {"n": 0}

    def on_item(source: Any, item: Any) -> None:
        seen["n"] += 1
        stage("ingest", seen["n"], None, f"Reading sources: {plural(seen['n'], 'item')}")

    lines = []
    summary = svc.ingest(specs, progress=on_item)
    lines.append(f"Ingest run {summary.run_id} {summary.status}: {summary.seen} read, {summary.new} new, "
                 f"{summary.updated} updated, {summary.unchanged} unchanged, {plural(summary.errors, 'error')}, "
                 f"{plural(summary.warnings, 'warning')}.")  # fmt: skip
    if full:
        scored = svc.score(progress=lambda done, total: stage("score", done, total, f"Scoring: {done}/{total}"))
        lines.append(f"Scoring {scored.status}: {scored.scored} scored, {scored.cached} cached, {scored.failed} failed.")
        stage("build", 0, 1, "Building gold…")
        gold = svc.build()
        lines.append(f"Gold: {plural(gold.stories, 'story')} ({gold.public} public, {gold.internal} internal), "
                     f"{gold.below_threshold} below {gold.min_score}/31.")  # fmt: skip
        indexed = svc.index(progress=lambda done, total: stage("index", done, total, f"Indexing: {done}/{total}"))
        lines.append(f"Index: {plural(indexed.stories, 'story')}, {indexed.embedded_stories} embedded, "
                     f"{indexed.stories_removed} removed.")  # fmt: skip
    bar.progress(1.0, text="Done")
    return lines


svc, user, audience = page_context()
st.title("Ingest")
if not user.can("ingest"):
    st.error(f"Not allowed: {user.refusal('ingest')}", icon=":material/lock:")
    st.stop()

with st.form("ingest", border=True):
    files = st.file_uploader("Upload files", type=FILE_TYPES, accept_multiple_files=True, key="ingest_files")
    urls = st.text_area("Web pages, feeds, YouTube videos or playlists (one URL per line)", key="ingest_urls",
                        placeholder="https://blog.example.com/feed\nhttps://www.youtube.com/watch?v=…")  # fmt: skip
    full = st.checkbox("Then score, build gold and index (needed before new stories are searchable)", value=True,
                       key="ingest_full")  # fmt: skip
    submitted = st.form_submit_button("Ingest", type="primary", icon=":material/upload:")
if submitted:
    specs = save_uploads(svc, files or []) + [u.strip() for u in (urls or "").splitlines() if u.strip()]
    if not specs:
        st.warning("Upload a file or give a URL first.")
    else:
        with shown_errors():
            report = run_pipeline(svc, specs, full=full)
        st.success("  \n".join(report), icon=":material/check_circle:")

st.subheader("Recent problems")
with shown_errors():
    status = svc.status(runs=5, errors=50)
if status.recent_errors:
    st.dataframe(status.recent_errors, hide_index=True, key="ingest_errors")
else:
    st.success("No problems recorded.")
st.subheader("Recent runs")
st.dataframe(status.recent_runs, hide_index=True, key="ingest_runs")
