"""Library status (analysts and admins): the running or last pipeline run, what the library holds
at each step (worded by :mod:`reffy.status_words`), recent runs and the problems they recorded.
The service refuses other roles."""

from __future__ import annotations

from typing import Any

import streamlit as st

from reffy import status_words as words
from reffy.ui import present
from reffy.ui.session import page_context, shown_errors
from reffy.ui.sources import sources_table
from reffy.ui.widgets import job_panel

PER_ROW = 4

svc, user, audience = page_context()
st.title("Library status")
with shown_errors():
    status = svc.status(runs=10, errors=50, user=user)
tz = st.context.timezone if isinstance(st.context.timezone, str) else None


def when(moment: Any) -> str:
    iso = moment.isoformat() if hasattr(moment, "isoformat") else moment
    return present.when(iso, tz=tz)


st.subheader("Pipeline run")
job_panel(svc, user, key="library")

st.subheader("Sources")
sources_table(svc, user, key="library")

st.subheader("What the library holds")
counts = words.layer_counts(status)
for start in range(0, len(counts), PER_ROW):
    for col, count in zip(st.columns(PER_ROW), counts[start : start + PER_ROW], strict=False):
        col.metric(count.label, f"{count.count:,}", help=count.help)
if line := words.gold_build_line(status, when):
    st.markdown(present.md(line))
st.markdown(words.search_index_line(status, when))
if status.reranker:
    st.caption(f"Re-ranking: {status.reranker}")
if status.by_source_type:
    st.markdown("**Sources by type**")
    st.bar_chart(
        status.by_source_type,
        horizontal=True,
        x_label="type",
        y_label="sources",
        height=40 + 26 * len(status.by_source_type),
    )

if status.held_back:
    st.subheader("Kept out of the library")
    st.caption(
        "These pages scored high enough but are not customer stories (an announcement or event post with no "
        "result, or no customer and no result). To put one back: `reffy override ID gold include`."
    )
    st.dataframe(
        [
            {
                "id": h["story_id"][:12],
                "title": h.get("title"),
                "customer": h.get("customer"),
                "score": f"{h.get('score')}/31",
                "why it was kept out": h.get("reason"),
            }
            for h in status.held_back
        ],
        hide_index=True,
        key="library_held",
    )

st.subheader("Recent ingest runs")
if runs := words.ingest_run_rows(status, when):
    st.dataframe(runs, hide_index=True, key="library_runs")
else:
    st.caption("No ingest run yet.")
if scoring := words.scoring_run_rows(status, when):
    st.subheader("Recent scoring runs")
    st.dataframe(scoring, hide_index=True, key="library_scoring")

st.subheader("Recent problems")
if status.recent_errors:
    if summary := words.last_run_problems(status):
        st.caption(f"Last run: {summary}.")
    st.dataframe(
        words.problem_rows(status),
        hide_index=True,
        key="library_errors",
        column_config={"details": st.column_config.TextColumn("details", width="large")},
    )
else:
    st.success("No problems recorded.")
