"""The analytics charts as specs (reffy.ui.charts is pure): what each mark means is explained, the
score axis is the rubric's 0-31, public and internal stories are told apart by colour, counts are
whole numbers, people's names stand on the axes, and latencies carry their unit."""

from __future__ import annotations

import pytest

from reffy.ui import charts

ROWS = [
    {
        "customer": "Nordvik Bank",
        "title": "A",
        "score": 27,
        "industry": "finance",
        "industry_name": "Banking & financial services",
        "shareability": "internal",
    },
    {
        "customer": "Greystone",
        "title": "B",
        "score": 30,
        "industry": "finance",
        "industry_name": "Banking & financial services",
        "shareability": "public",
    },
    {
        "customer": "Baltica",
        "title": "C",
        "score": 12,
        "industry": "insurance",
        "industry_name": "Insurance",
        "shareability": "public",
    },
]


def layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def data_of(chart, layer: dict) -> list[dict]:
    return chart.to_dict()["datasets"][layer["data"]["name"]]


def test_the_score_axis_is_the_rubric_scale_and_stops_at_31():
    chart = charts.score_distribution(ROWS, "industry", threshold=12)
    ticks, median, rule = layers(chart)
    scale = ticks["encoding"]["x"]["scale"]
    assert scale["domain"] == [0, 31] and scale["nice"] is False  # not rounded up to 34
    assert ticks["encoding"]["x"]["axis"]["values"][-1] == 31
    assert median["mark"]["shape"] == "diamond" and median["encoding"]["x"]["aggregate"] == "median"
    assert rule["mark"]["strokeDash"] == charts.THRESHOLD_DASH and data_of(chart, rule) == [{"threshold": 12}]


def test_public_and_internal_ticks_have_distinct_colours_and_a_legend():
    ticks = layers(charts.score_distribution(ROWS, "industry"))[0]
    colour = ticks["encoding"]["color"]
    assert colour["title"] == "who may see it"
    assert colour["scale"]["domain"] == ["public", "internal only"]
    public, internal = colour["scale"]["range"]
    assert public != internal and all(c.startswith("#") and len(c) == 7 for c in (public, internal))
    assert "legend" not in colour or colour["legend"] is not None  # the legend is shown


def test_rows_are_named_by_people_s_names():
    chart = charts.score_distribution(ROWS, "industry").to_dict()
    values = next(iter(chart["datasets"].values()))
    assert {v["industry"] for v in values} == {"Banking & financial services", "Insurance"}
    assert {v["shown to"] for v in values} == {"public", "internal only"}
    assert charts.label({"industry": "other"}, "industry") == "other"  # no name known: the value
    assert charts.label({}, "country", "?") == "?"


def test_the_caption_explains_the_diamond_and_the_dashed_line():
    text = charts.score_caption(12)
    assert "diamond" in text and "median" in text
    assert "dashed line" in text and "12 of 31 points" in text and "library" in text
    assert "dashed" not in charts.score_caption(None)


def test_coverage_counts_are_whole_numbers_in_the_legend_and_the_cells():
    chart = charts.coverage_grid(
        [
            {
                "industry": "finance",
                "industry_name": "Banking & financial services",
                "country": "DK",
                "country_name": "Denmark",
                "strong": 1,
            }
        ]
    ).to_dict()
    cells, labels = chart["layer"]
    assert cells["encoding"]["color"]["legend"]["format"] == "d"
    assert labels["encoding"]["text"]["format"] == "d"
    values = next(iter(chart["datasets"].values()))
    assert values == [{"industry": "Banking & financial services", "country": "Denmark", "strong": 1}]


@pytest.mark.parametrize(
    ("ms", "shown"), [(None, "–"), (84.6, "85 ms"), (999, "999 ms"), (1234, "1.2 s"), (14_200, "14 s")]
)
def test_latency_carries_its_unit_and_stays_short(ms, shown):
    assert charts.duration(ms) == shown
    assert len(shown) <= 6  # fits a quarter-width metric
