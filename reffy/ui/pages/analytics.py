"""Analytics for analysts: how good the library is (scores by industry and content type), where
strong references are missing (industry x country coverage), and how it is used (active users,
queries, latency, modes, most-cited and overused stories, failed queries, content gaps).

Every number comes from the service, which refuses non-analysts; each table downloads as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import streamlit as st

from reffy.ui import charts
from reffy.ui.session import page_context, shown_errors
from reffy.wording import plural, plural_of

FIRST = ("title", "customer", "query", "facet", "value", "n", "requested", "strong_stories")
LAST = ("story_id", "message_id")


def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the readable columns first and ids last (a 64-hex story id is not a headline)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    order = (
        [c for c in FIRST if c in columns]
        + [c for c in columns if c not in FIRST and c not in LAST]
        + [c for c in LAST if c in columns]
    )
    return [{c: row.get(c) for c in order} for row in rows]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV of a list of dicts (columns in first-seen order)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def table(title: str, rows: list[dict[str, Any]], key: str, *, empty: str = "Nothing yet.") -> None:
    """A titled table with its CSV download button."""
    st.markdown(f"**{title}**")
    if not rows:
        st.caption(empty)
        return
    rows = ordered(rows)
    st.dataframe(rows, hide_index=True, key=f"table_{key}")
    st.download_button(
        "Download CSV",
        to_csv(rows),
        file_name=f"reffy-{key}.csv",
        mime="text/csv",
        key=f"csv_{key}",
        on_click="ignore",
        icon=":material/download:",
    )


def latency_metric(column: Any, label: str, stats: dict[str, Any] | None, what: str) -> None:
    """Median time with its unit as the metric; the 95th percentile and the count beneath it."""
    stats = stats or {}
    if not stats.get("n"):
        column.metric(f"{label} time (median)", "–", help=f"No {plural_of(what)} in this period.")
        return
    column.metric(
        f"{label} time (median)",
        charts.duration(stats["p50"]),
        help=f"Half of the {plural_of(what)} took at most this long.",
    )
    column.caption(f"95% within {charts.duration(stats['p95'])} · {plural(int(stats['n']), what)}")


svc, user, audience = page_context()
st.title("Analytics")
if not user.can("analytics"):
    st.error(f"Not allowed: {user.refusal('analytics')}", icon=":material/lock:")
    st.stop()

st.page_link(
    "reffy/ui/pages/insights.py",
    label="Review what people asked and got, and the themes of their questions",
    icon=":material/insights:",
)  # the review queue and themes live on their own page (reffy/ui/pages/insights.py)
quality, coverage, usage = st.tabs(["Library quality", "Coverage", "Usage"])
with quality:
    with shown_errors():
        scores = svc.score_table(user)
    if scores:
        threshold = svc.settings.gold_min_score
        st.markdown("**Scores by industry**")
        st.altair_chart(charts.score_distribution(scores, "industry", threshold=threshold), key="chart_industry")
        st.caption(charts.score_caption(threshold))
        st.markdown("**Scores by content type**")
        st.altair_chart(charts.score_distribution(scores, "source_type", threshold=threshold), key="chart_type")
        st.caption("Ticks, diamonds and the dashed line as above.")
    table(
        "Every story in the library",
        scores,
        "scores",
        empty="No gold stories yet: run the pipeline on the Ingest page.",
    )
with coverage:
    strong = st.slider("A strong story scores at least", 0, charts.MAX_SCORE, 20, key="coverage_min")
    with shown_errors():
        grid = svc.coverage(user, min_score=strong)
    if grid:
        st.altair_chart(charts.coverage_grid(grid), key="chart_coverage")
    table("Strong stories per industry and country", grid, "coverage", empty="No story reaches this score.")
with usage:
    days = st.segmented_control(
        "Period", [7, 30, 90], default=30, required=True, key="usage_days", format_func=lambda d: f"{d} days"
    )
    with shown_errors():
        stats = svc.usage(user, days=int(days))
    totals = stats.get("totals") or {}
    cols = st.columns(4)
    dau = stats.get("daily_active_users") or []
    cols[0].metric("Active users (latest day)", dau[-1]["users"] if dau else 0)
    cols[1].metric(
        "Queries", totals.get("queries", sum(r.get("queries", 0) for r in stats.get("queries_per_day") or []))
    )
    latency = stats.get("latency") or {}
    latency_metric(cols[2], "Search", latency.get("search"), "search")
    latency_metric(cols[3], "Answer", latency.get("ask"), "answer")
    left, right = st.columns(2)
    with left:
        st.markdown("**Daily active users**")
        if dau:
            st.altair_chart(charts.per_day(dau, "users", "users"), key="chart_dau")
        else:
            st.caption("No activity in this period.")
    with right:
        st.markdown("**Queries per day**")
        if stats.get("queries_per_day"):
            st.altair_chart(charts.per_day(stats["queries_per_day"], "queries", "queries"), key="chart_qpd")
        else:
            st.caption("No queries in this period.")
    if stats.get("mode_split"):
        st.markdown("**Mode split**")
        st.altair_chart(charts.split(stats["mode_split"], "mode", "mode", colour="kind"), key="chart_modes")
    left, right = st.columns(2)
    with left:
        table("Most-cited stories", stats.get("most_cited") or [], "most-cited")
        table("Zero-result queries", stats.get("zero_result") or [], "zero-result", empty="Every query found stories.")
    with right:
        table("Overused references", stats.get("overused") or [], "overused")
        table("Thumbs-down", stats.get("thumbs_down") or [], "thumbs-down", empty="No thumbs-down.")
    table(
        "Content gaps: asked for vs strong stories available",
        stats.get("content_gaps") or [],
        "content-gaps",
        empty="No gaps: every facet people asked for has strong stories.",
    )
