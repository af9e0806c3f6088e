"""Library status (analysts and admins): the running or last pipeline run, counts per layer,
recent ingest runs and the problems they recorded. The service refuses other roles."""

from __future__ import annotations

import streamlit as st

from reffy.ui.session import page_context, shown_errors
from reffy.ui.widgets import job_panel

svc, user, audience = page_context()
st.title("Library status")
with shown_errors():
    status = svc.status(runs=10, errors=50, user=user)
st.subheader("Pipeline run")
job_panel(svc, user, key="library")
cols = st.columns(len(status.layers))
for col, (name, count) in zip(cols, status.layers.items(), strict=True):
    col.metric(name, count)
if status.by_source_type:
    st.bar_chart(status.by_source_type, horizontal=True)
if status.held_back:
    st.subheader("Kept out of the library")
    st.caption("These pages scored high enough but are not customer stories (an announcement or event post with no "
               "result, or no customer and no result). To put one back: `reffy override ID gold include`.")
    st.dataframe([{"id": h["story_id"][:12], **{k: h[k] for k in ("title", "customer", "score", "reason")}}
                  for h in status.held_back],
                 hide_index=True, key="library_held")
st.subheader("Recent ingest runs")
st.dataframe(status.recent_runs, hide_index=True, key="library_runs")
st.subheader("Recent problems")
if status.recent_errors:
    st.dataframe(status.recent_errors, hide_index=True, key="library_errors")
else:
    st.success("No problems recorded.")
