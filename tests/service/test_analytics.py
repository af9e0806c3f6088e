"""Pure analytics: overuse, content gaps and coverage, on hand-computed inputs."""

from __future__ import annotations

from reffy.analytics import content_gaps, coverage, overused, strong_by_facet
from reffy.domain.story import StoryCard

DOCS = [
    StoryCard.from_row({"story_id": str(i), "title": str(i), **row})
    for i, row in enumerate(
        [
            {"score": 25, "industry": "finance", "country": "DK", "products": ["Assist"], "competitors": ["Zentrix"]},
            {"score": 22, "industry": "finance", "country": "GB", "products": ["Assist", "Flow"], "competitors": []},
            {"score": 12, "industry": "retail", "country": "DE", "products": ["Flow"], "competitors": ["Zentrix"]},
            {"score": 21, "industry": None, "country": None, "products": [], "competitors": []},
        ]
    )
]


def test_overused_means_several_times_a_fair_share():
    cited = [{"story_id": "a", "n": 30}, {"story_id": "b", "n": 6}, {"story_id": "c", "n": 4}]
    # 40 recommendations over 20 stories: fair share 2, so 6 or more is overused
    assert [r["story_id"] for r in overused(cited, 20)] == ["a", "b"]
    assert overused([{"story_id": "a", "n": 2}], 1) == []  # too few to call anything overused


def test_strong_stories_are_counted_per_facet_value():
    strong = strong_by_facet(DOCS)
    assert strong[("industry", "finance")] == 2 and strong[("product", "Assist")] == 2
    assert strong[("competitor", "Zentrix")] == 1  # the retail story is not strong
    assert ("industry", "retail") not in strong


def test_content_gaps_put_the_largest_unmet_demand_first():
    requested = [
        {"facet": "industry", "value": "finance", "n": 3},
        {"facet": "country", "value": "JP", "n": 5},
        {"facet": "competitor", "value": "Zentrix", "n": 2},
    ]
    gaps = content_gaps(requested, strong_by_facet(DOCS))
    assert [(g["value"], g["requested"], g["strong_stories"]) for g in gaps] == [
        ("JP", 5, 0),
        ("Zentrix", 2, 1),
        ("finance", 3, 2),
    ]


def test_coverage_counts_strong_stories_per_industry_and_country():
    assert coverage(DOCS) == [
        {"industry": "finance", "country": "DK", "strong": 1},
        {"industry": "finance", "country": "GB", "strong": 1},
        {"industry": "unknown", "country": "unknown", "strong": 1},
    ]
    assert sum(c["strong"] for c in coverage(DOCS, min_score=0)) == 4
