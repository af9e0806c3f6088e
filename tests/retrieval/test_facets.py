"""Facet words in queries: which words name an industry or country, and what search drops
once a filter covers them."""

from __future__ import annotations

from pathlib import Path

import pytest

from reffy.retrieval.facets import countries_of, industries_named, industry_of, strip_filtered
from reffy.retrieval.types import SearchFilters
from reffy.rubric import load_taxonomy

TAXONOMY = load_taxonomy(Path(__file__).resolve().parents[2] / "eval" / "corpus_industries.yaml")


def strip(text: str, **filters) -> tuple[str, list[str]]:
    return strip_filtered(text, SearchFilters.from_dict(filters), TAXONOMY)


@pytest.mark.parametrize(
    ("word", "industry"),
    [
        ("banks", "finance"),
        ("fintechs", "finance"),
        ("bank", "finance"),
        ("insurers", "insurance"),
        ("hospitals", "healthcare"),
        ("universities", "education"),
        ("software", None),
        ("payments", None),
        ("health", None),
        ("agents", None),
        ("tooling", None),
    ],
)
def test_only_unambiguous_words_name_an_industry(word, industry):
    assert industry_of(word, TAXONOMY) == industry


def test_industries_named_in_a_question():
    assert industries_named("chatbots for banks and insurers", TAXONOMY) == ["finance", "insurance"]
    assert industries_named("software that speeds up payments", TAXONOMY) == []


def test_country_phrases_must_be_the_name_not_contain_it():
    assert countries_of("Denmark") == ("DK",) and countries_of("Danish") == ("DK",)
    assert countries_of("New Zealand") == ("NZ",)
    assert countries_of("for Danish") == () and countries_of("Danish banks") == ()
    assert set(countries_of("Nordics")) >= {"DK", "SE", "NO", "FI"}


def test_words_a_filter_covers_leave_the_query_with_their_glue():
    assert strip("AI coding agents and developer tooling inside banks and fintechs", industry="finance") == (
        "AI coding agents and developer tooling",
        ["banks", "fintechs"],
    )
    assert strip("chatbots for Danish banks", industry="finance", country="DK")[0] == "chatbots"
    assert strip("claims automation in New Zealand", country="NZ")[0] == "claims automation"
    assert strip("chatbots for banks in the Nordics", country=["DK", "SE", "NO", "FI", "IS"])[0] == "chatbots for banks"


def test_words_no_filter_covers_stay():
    text = "chatbots for banks in Denmark"
    assert strip(text) == (text, [])
    assert strip(text, industry="insurance") == (text, [])  # banks are not insurers
    assert strip(text, country=["SE"]) == (text, [])  # Denmark is not Sweden
    assert strip(text, country=["DK", "SE"])[0] == "chatbots for banks"  # Denmark is one of them
    assert strip("chatbots for Danish banks", country=["SE"])[0] == "chatbots for Danish banks"
    assert strip("payments software for banks", year_min=2024) == ("payments software for banks", [])


def test_a_query_of_facet_words_only_is_kept_whole():
    assert strip("banks", industry="finance") == ("banks", [])
    assert strip("Danish banks", industry="finance", country="DK") == ("Danish banks", [])
