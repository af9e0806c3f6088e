"""Altair charts of the Insights page, pure functions of the service's digest (testable without a
browser, like :mod:`reffy.ui.charts`): theme sizes against the period before, and demand against
coverage, gaps in red."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

GAP_DOMAIN = ["gap", "covered"]
GAP_COLOURS = ["#d1343e", "#1c6bd0"]


def theme_sizes(themes: list[dict[str, Any]]) -> alt.Chart:
    """Questions per theme in this period and the one before, side by side."""
    data = []
    for t in themes:
        name = f"{t['theme']}. {t['label']}"
        data.append({"theme": name, "period": "this period", "questions": t["questions"]})
        data.append({"theme": name, "period": "period before", "questions": t["previous"]})
    return (
        alt.Chart(pd.DataFrame(data))
        .mark_bar()
        .encode(
            y=alt.Y("theme:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X("questions:Q", title="questions", axis=alt.Axis(tickMinStep=1, format="d")),
            yOffset=alt.YOffset("period:N", sort=["this period", "period before"]),
            color=alt.Color("period:N", sort=["this period", "period before"], title=None),
            tooltip=["theme:N", "period:N", "questions:Q"],
        )
        .properties(height=alt.Step(12))
    )


def demand_coverage(themes: list[dict[str, Any]]) -> alt.Chart:
    """One point per theme: how often it was asked against how many strong stories match it."""
    data = [
        {
            "theme": f"{t['theme']}. {t['label']}",
            "questions": t["questions"],
            "strong stories": t["strong_stories"],
            "people": t["people"],
            "status": "gap" if t["gap"] else "covered",
        }
        for t in themes
    ]
    return (
        alt.Chart(pd.DataFrame(data))
        .mark_circle(opacity=0.8)
        .encode(
            x=alt.X("questions:Q", title="questions (demand)"),
            y=alt.Y("strong stories:Q", title="strong stories matching (coverage)", axis=alt.Axis(tickMinStep=1)),
            size=alt.Size("people:Q", title="people"),
            color=alt.Color("status:N", scale=alt.Scale(domain=GAP_DOMAIN, range=GAP_COLOURS), title=None),
            tooltip=["theme:N", "questions:Q", "strong stories:Q", "people:Q", "status:N"],
        )
        .properties(height=280)
    )
