"""Altair chart specs for the analytics page, as pure functions of the service's rows.

Pure so the spec (fields, encodings) is testable without a browser, and so the page stays a
list of ``st.altair_chart(charts.x(rows))`` calls."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

MAX_SCORE = 31


def score_distribution(rows: list[dict[str, Any]], by: str, *, threshold: int | None = None) -> alt.Chart:
    """One tick per story on the 0-31 scale, a row per ``by`` value (industry, source_type)."""
    data = [{**r, by: r.get(by) or "unknown"} for r in rows]
    base = alt.Chart(pd.DataFrame(data))
    ticks = base.mark_tick(thickness=2, size=16).encode(
        x=alt.X("score:Q", title="score (of 31)", scale=alt.Scale(domain=[0, MAX_SCORE])),
        y=alt.Y(f"{by}:N", title=None, sort="-x"),
        color=alt.Color("shareability:N", title="shareability"),
        tooltip=["customer:N", "title:N", "score:Q", f"{by}:N"],
    )
    median = base.mark_point(shape="diamond", size=80, color="black", filled=True).encode(
        x="median(score):Q", y=alt.Y(f"{by}:N", sort="-x"), tooltip=[alt.Tooltip("median(score):Q", title="median")]
    )
    layers: list[alt.Chart] = [ticks, median]
    if threshold is not None:
        layers.append(alt.Chart(pd.DataFrame([{"t": threshold}])).mark_rule(strokeDash=[4, 4]).encode(x="t:Q"))
    return alt.layer(*layers).properties(height=alt.Step(22))


def coverage_grid(rows: list[dict[str, Any]]) -> alt.Chart:
    """Industry x country heat map of strong stories, with the count in each cell."""
    data = [{"industry": r.get("industry") or "unknown", "country": r.get("country") or "?", "strong": r.get("strong", 0)}
            for r in rows]  # fmt: skip
    base = alt.Chart(pd.DataFrame(data)).encode(
        x=alt.X("country:N", title="country"), y=alt.Y("industry:N", title="industry")
    )
    cells = base.mark_rect().encode(
        color=alt.Color("strong:Q", title="strong stories", scale=alt.Scale(scheme="greens")),
        tooltip=["industry:N", "country:N", "strong:Q"],
    )
    labels = base.mark_text(baseline="middle").encode(text="strong:Q")
    return (cells + labels).properties(height=alt.Step(24))


def per_day(rows: list[dict[str, Any]], value: str, title: str) -> alt.Chart:
    """A daily series (queries per day, daily active users) as bars, one per day."""
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True)),  # days with activity only
            y=alt.Y(f"{value}:Q", title=title, axis=alt.Axis(tickMinStep=1)),
            tooltip=["day:O", f"{value}:Q"],
        )
        .properties(height=180)
    )


def split(rows: list[dict[str, Any]], category: str, title: str, *, colour: str | None = None) -> alt.Chart:
    """Counts per category (e.g. search vs answer, keyword vs hybrid) as horizontal bars."""
    enc: dict[str, Any] = {"x": alt.X("n:Q", title="count", axis=alt.Axis(tickMinStep=1)), "y": alt.Y(f"{category}:N", title=title),
                           "tooltip": [f"{category}:N", "n:Q"]}  # fmt: skip
    if colour:
        enc["color"] = alt.Color(f"{colour}:N")
    return alt.Chart(pd.DataFrame(rows)).mark_bar().encode(**enc).properties(height=alt.Step(24))
