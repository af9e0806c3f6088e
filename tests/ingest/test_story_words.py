"""The story page's wording helpers (reffy.ui.present): the rubric grouped by dimension with
each criterion's evidence whole, and the links from a story's facts to the explorer."""

from __future__ import annotations

from reffy.domain.story import Criterion, StoryCard
from reffy.ui import present


def test_the_story_page_groups_criteria_by_dimension_with_whole_evidence():
    long = "A sentence of evidence that runs well past two hundred and forty characters " * 5
    criteria = [
        Criterion(**c)
        for c in [
            {
                "id": "customer_named",
                "name": "Customer named",
                "dimension_name": "Customer and context",
                "points": 2,
                "max_points": 2,
                "evidence": long,
            },
            {
                "id": "context",
                "name": "Customer context",
                "dimension_name": "Customer and context",
                "points": 0,
                "max_points": 2,
                "evidence": "",
                "withdrawn": True,
            },
            {
                "id": "challenge",
                "name": "Challenge stated",
                "dimension_name": "Business challenge",
                "points": 3,
                "max_points": 3,
                "evidence": "x",
                "overridden": True,
            },
        ]
    ]
    sections = present.rubric_sections(criteria)
    assert [s.label for s in sections] == ["Customer and context · 2 of 4 points", "Business challenge · 3 of 3 points"]
    assert sections[0].criteria[0].evidence == long  # whole, not cut off
    assert present.criterion_line(criteria[0]) == "**Customer named** · 2 of 2 points"
    assert "withdrawn" in present.criterion_line(criteria[1]) and "analyst" in present.criterion_line(criteria[2])


def test_a_story_links_to_the_explorer_by_its_industry_and_country_ids_with_their_names():
    story = StoryCard(
        "s1",
        "A story",
        industry="finance",
        industry_name="Banking & financial services",
        country="DK",
        country_name="Denmark",
    )
    assert present.explorer_links(story) == [
        ("More Banking & financial services stories", {"industry": "finance"}),
        ("More stories from Denmark", {"country": "DK"}),
    ]
    assert present.explorer_links(StoryCard("s2", "No facts")) == []
