"""Reffy's web app (Streamlit). Run with ``streamlit run app.py``.

For now it shows the state of the library: counts per layer, recent ingest runs and the
problems they recorded. Every value comes from :class:`reffy.service.ReffyService`;
this file only renders.
"""

from __future__ import annotations

import streamlit as st

from reffy.errors import ReffyError
from reffy.service import ReffyService


@st.cache_resource
def service() -> ReffyService:
    return ReffyService()


def main() -> None:
    st.set_page_config(page_title="Reffy", page_icon=":mag:", layout="wide")
    st.title("Reffy")
    st.caption("Find the right customer story in seconds.")
    svc = service()
    try:
        status = svc.status(runs=10, errors=50)
    except ReffyError as exc:
        st.error(str(exc))
        return
    st.subheader("Library")
    cols = st.columns(len(status.layers))
    for col, (name, count) in zip(cols, status.layers.items(), strict=True):
        col.metric(name, count)
    if status.by_source_type:
        st.bar_chart(status.by_source_type, horizontal=True)
    st.subheader("Recent ingest runs")
    st.dataframe(status.recent_runs, hide_index=True, width="stretch")
    st.subheader("Recent problems")
    if status.recent_errors:
        st.dataframe(status.recent_errors, hide_index=True, width="stretch")
    else:
        st.success("No problems recorded.")


main()
