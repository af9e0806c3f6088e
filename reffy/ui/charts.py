"""Altair chart specs for the analytics page, as pure functions of the service's rows.

Pure so the spec (fields, encodings, colours, legends) is testable without a browser, and so
the page stays a list of ``st.altair_chart(charts.x(rows))`` calls. Rows show people's names
(``industry_name``, ``country_name``) where the service gives them, the ids otherwise."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

MAX_SCORE = 31
SCORE_TICKS = [0, 5, 10, 15, 20, 25, MAX_SCORE]
# Who may see a story, in the badges' colours (public blue, internal red): distinct at a glance.
SHARE_DOMAIN = ["public", "internal only"]
SHARE_COLOURS = ["#1c6bd0", "#d1343e"]
MEDIAN_SHAPE = "diamond"
THRESHOLD_DASH = [4, 4]
LABEL_LIMIT = 260  # pixels: room for "Banking & financial services" on the row axis


def label(row: dict[str, Any], key: str, missing: str = "unknown") -> str:
    """The name to show for ``row[key]``: its ``<key>_name`` when known, else the value itself."""
    return str(row.get(f"{key}_name") or row.get(key) or missing)


def score_caption(threshold: int | None) -> str:
    """What the marks of :func:`score_distribution` mean, for the line under it."""
    text = (
        "Each tick is one story, coloured by who may see it (blue: public, may go to customers; red: internal "
        "only). The black diamond ◆ is the median score of the row."
    )
    if threshold is not None:
        text += (
            f" The dashed line is the library threshold: a story needs {threshold} of {MAX_SCORE} points to "
            "enter the library."
        )
    return text


def score_distribution(
    rows: list[dict[str, Any]], by: str, *, threshold: int | None = None
) -> alt.LayerChart | alt.FacetChart:
    """One tick per story on the 0-31 scale, a row per ``by`` value (industry, source_type);
    the median of each row as a diamond, the library threshold as a dashed line."""
    data = [
        {
            "customer": r.get("customer"),
            "title": r.get("title"),
            "score": r.get("score"),
            by: label(r, by),
            "shown to": "public" if r.get("shareability") == "public" else "internal only",
        }
        for r in rows
    ]
    base = alt.Chart(pd.DataFrame(data))
    x = alt.X(
        "score:Q",
        title=f"score (of {MAX_SCORE})",
        scale=alt.Scale(domain=[0, MAX_SCORE], nice=False, clamp=True),
        axis=alt.Axis(values=SCORE_TICKS),
    )
    ticks = base.mark_tick(thickness=3, size=16, opacity=0.9).encode(
        x=x,
        y=alt.Y(f"{by}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=LABEL_LIMIT)),
        color=alt.Color(
            "shown to:N", title="who may see it", scale=alt.Scale(domain=SHARE_DOMAIN, range=SHARE_COLOURS)
        ),
        tooltip=["customer:N", "title:N", "score:Q", f"{by}:N", "shown to:N"],
    )
    median = base.mark_point(shape=MEDIAN_SHAPE, size=80, color="black", filled=True).encode(
        x="median(score):Q", y=alt.Y(f"{by}:N", sort="-x"), tooltip=[alt.Tooltip("median(score):Q", title="median")]
    )
    layers: list[alt.Chart] = [ticks, median]
    if threshold is not None:
        rule = alt.Chart(pd.DataFrame([{"threshold": threshold}])).mark_rule(strokeDash=THRESHOLD_DASH, color="#555")
        layers.append(rule.encode(x="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title="library threshold")]))
    return alt.layer(*layers).properties(height=alt.Step(22))


def coverage_grid(rows: list[dict[str, Any]]) -> alt.Chart:
    """Industry x country heat map of strong stories, with the count in each cell (whole numbers)."""
    data = [
        {"industry": label(r, "industry"), "country": label(r, "country", "?"), "strong": int(r.get("strong", 0))}
        for r in rows
    ]
    base = alt.Chart(pd.DataFrame(data)).encode(
        x=alt.X("country:N", title="country", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("industry:N", title="industry", axis=alt.Axis(labelLimit=LABEL_LIMIT)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "strong:Q",
            title="strong stories",
            scale=alt.Scale(scheme="greens"),
            legend=alt.Legend(format="d", tickMinStep=1),
        ),
        tooltip=["industry:N", "country:N", alt.Tooltip("strong:Q", title="strong stories", format="d")],
    )
    labels = base.mark_text(baseline="middle").encode(text=alt.Text("strong:Q", format="d"))
    return (cells + labels).properties(height=alt.Step(24))


def per_day(rows: list[dict[str, Any]], value: str, title: str) -> alt.Chart:
    """A daily series (queries per day, daily active users) as bars, one per day."""
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True)),  # days with activity only
            y=alt.Y(f"{value}:Q", title=title, axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=["day:O", f"{value}:Q"],
        )
        .properties(height=180)
    )


def split(rows: list[dict[str, Any]], category: str, title: str, *, colour: str | None = None) -> alt.Chart:
    """Counts per category (e.g. search vs answer, keyword vs hybrid) as horizontal bars."""
    enc: dict[str, Any] = {
        "x": alt.X("n:Q", title="count", axis=alt.Axis(tickMinStep=1, format="d")),
        "y": alt.Y(f"{category}:N", title=title),
        "tooltip": [f"{category}:N", "n:Q"],
    }
    if colour:
        enc["color"] = alt.Color(f"{colour}:N")
    return alt.Chart(pd.DataFrame(rows)).mark_bar().encode(**enc).properties(height=alt.Step(24))


def duration(ms: float | None) -> str:
    """A latency with its unit, short enough for a metric: ``85 ms``, ``1.2 s``, ``14 s``."""
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s" if ms < 10_000 else f"{ms / 1000:.0f} s"
