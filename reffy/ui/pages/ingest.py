"""Ingest for admins: upload files or paste web addresses (pages, feeds, YouTube), and start the
pipeline (read, score, build the library, index for search) as a background run of the server.

The run belongs to the server, not to this page: leave it, close the browser, come back or open
Library status, and its progress and problems are there (:func:`reffy.ui.widgets.job_panel`).
Uploads are kept under ``REFFY_HOME/uploads/`` by name, so uploading an edited file again makes a
new version of the same story rather than a second story."""

from __future__ import annotations

import streamlit as st

from reffy.ui.session import page_context, shown_errors
from reffy.ui.sources import sources_admin
from reffy.ui.widgets import job_panel

FILE_TYPES = [
    "md",
    "txt",
    "html",
    "htm",
    "pdf",
    "docx",
    "pptx",
    "vtt",
    "srt",
    "json",
    "jsonl",
    "csv",
    "tsv",
    "xlsx",
    "rss",
    "atom",
    "xml",
]
LIBRARY_PAGE = "reffy/ui/pages/library.py"

svc, user, audience = page_context()
st.title("Ingest")
if not user.can("ingest"):
    st.error(f"Not allowed: {user.refusal('ingest')}", icon=":material/lock:")
    st.stop()

with st.form("ingest", border=True):
    files = st.file_uploader("Upload files", type=FILE_TYPES, accept_multiple_files=True, key="ingest_files")
    urls = st.text_area(
        "Web pages, feeds, YouTube videos or playlists (one web address per line)",
        key="ingest_urls",
        placeholder="https://blog.example.com/feed\nhttps://www.youtube.com/watch?v=…",
    )
    full = st.checkbox(
        "Then score, build the library and index it (needed before new stories are searchable)",
        value=True,
        key="ingest_full",
    )
    submitted = st.form_submit_button("Ingest", type="primary", icon=":material/upload:")
if submitted:
    job = None
    with shown_errors(stop=False):  # refused (another run is going): its progress still shows below
        job = svc.start_pipeline(
            user, urls=urls or "", uploads=[(f.name, f.getvalue()) for f in files or []], full=full
        )
    if job is not None:
        st.toast(f"Pipeline run {job.id} started. It keeps running if you leave this page.", icon=":material/sync:")

st.subheader("Sources kept in sync")
sources_admin(svc, user)

st.subheader("Pipeline run")
job_panel(svc, user, key="ingest")
st.page_link(LIBRARY_PAGE, label="Library status: every run and problem", icon=":material/database:")
