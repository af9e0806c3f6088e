"""Filter values as people type them: resolved to the index's own values, or refused with the
valid ones listed, never a silent empty result. On the built demo library, through the service
(what the CLI, API, MCP and app all call)."""

from __future__ import annotations

import pytest

from reffy.auth import Role, User
from reffy.errors import ConfigError
from reffy.service import ReffyService


@pytest.fixture
def svc(demo_settings):
    service = ReffyService(demo_settings)
    yield service
    service.close()


def ids(svc: ReffyService, **filters) -> set[str]:
    return {h.story_id for h in svc.search("customer service", mode="keyword", k=50, filters=filters, log=False).hits}


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ({"industry": ["Finance"]}, {"industry": ["finance"]}),
        ({"industry": ["banking"]}, {"industry": ["finance"]}),  # a word that unambiguously names one
        ({"industry": ["Banking & financial services"]}, {"industry": ["finance"]}),  # the display name
        ({"country": ["Denmark"]}, {"country": ["DK"]}),
        ({"country": ["denmark"]}, {"country": ["DK"]}),
        ({"country": ["dk"]}, {"country": ["DK"]}),
        ({"product": ["quillon assist"]}, {"product": ["Quillon Assist"]}),
        ({"competitor": ["ZENTRIX"]}, {"competitor": ["Zentrix"]}),
        ({"shareability": "Public"}, {"shareability": "public"}),
    ],
)
def test_values_in_any_spelling_find_what_the_stored_value_finds(svc, typed, stored) -> None:
    expected = ids(svc, **stored)
    assert expected, f"the demo library has stories for {stored}"
    assert ids(svc, **typed) == expected


def test_a_region_names_its_countries(svc) -> None:
    nordics = ids(svc, country=["Nordics"])
    assert nordics and nordics == ids(svc, country=["DK", "SE", "NO", "FI", "IS"])


def test_a_source_label_finds_the_stories_mapped_from_it(svc) -> None:
    """Stories whose source says `industry: public sector` were mapped to the taxonomy's
    government industry; the source's own label works as a filter value."""
    labelled = [d for d in svc.engine.docs if (d.industry_label or "").lower() == "public sector"]
    assert labelled, "a demo story carries the source label"
    found = ids(svc, industry=["public sector"])
    assert {d.story_id for d in labelled} <= found
    assert all(svc.engine.by_id[s].industry == labelled[0].industry for s in found)


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"industry": ["bankin"]}, ["Unknown industry 'bankin'", "finance (Banking & financial services)"]),
        ({"country": ["Atlantis"]}, ["Unknown country 'Atlantis'", "DK (Denmark)"]),
        ({"product": ["Quillon Asist"]}, ["product 'Quillon Asist'", "Did you mean 'quillon assist'?"]),
        ({"shareability": "secret"}, ["public or internal"]),
        ({"min_score": "abc"}, ["min_score must be a whole number from 0 to 31, not 'abc'"]),
        ({"year_min": 20240}, ["year_min must be a whole number"]),
        ({"colour": ["red"]}, ["unknown filter(s): colour", "industry"]),
    ],
)
def test_unknown_values_are_refused_with_the_valid_ones(svc, filters, says) -> None:
    with pytest.raises(ConfigError) as err:
        svc.search("customer service", mode="keyword", filters=filters, log=False)
    for text in says:
        assert text in str(err.value)


def test_a_mistyped_filter_is_never_counted_as_demand(svc) -> None:
    with pytest.raises(ConfigError):
        svc.search("claims automation", mode="keyword", filters={"industry": ["insurnce"]})
    stats = svc.history.usage_stats(30)
    assert stats["queries_per_day"] == [] and stats["requested_facets"] == []


def test_an_empty_external_result_says_the_audience_hides_stories(svc) -> None:
    """A viewer asking for Swiss stories: the only Swiss stories are internal, so nothing is
    shown, and the note says why without naming them."""
    internal_dk = [d for d in svc.engine.docs if d.country == "CH"]
    assert internal_dk and all(d.shareability == "internal" for d in internal_dk)
    viewer = User("vic", Role.viewer)
    result = svc.search("bank", mode="keyword", filters={"country": ["Switzerland"]}, user=viewer, log=False)
    assert result.hits == []
    assert any("outside your audience are not shown" in n for n in result.notes)
    assert not any(d.title in " ".join(result.notes) for d in internal_dk)
