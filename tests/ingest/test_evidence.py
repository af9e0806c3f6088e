"""The evidence check on hand-written texts: what counts as the story saying it."""

from __future__ import annotations

import random
import time

import pytest

from reffy.domain.evidence import evidence_found, normalise, quote_parts

STORY = """# Halcyon Telecom cuts wait times

**Halcyon Telecom** is a broadband provider headquartered in Cape Town with 2.6 million customers.
Before the project, 18% of calls were abandoned before an agent answered \u2014 and complaints were
rising every quarter.

\u201cWe finally answer customers when they need us,\u201d said Thandi Mokoena, Head of Care at Halcyon.

After a six-week pilot in one region, the team went live nationally in March 2024. Within six
months abandonment fell from 18% to 6%, and average handling time dropped by 38%.
See the [full report](https://example.invalid/report_2024) for details. The config_value stays.
"""


@pytest.mark.parametrize(
    "quote",
    [
        "Halcyon Telecom is a broadband provider headquartered in Cape Town",  # across Markdown bold
        "Within six months abandonment fell from 18% to 6%",
        '"We finally answer customers when they need us," said Thandi Mokoena',  # straight vs curly quotes
        "abandoned before an agent answered - and complaints were rising",  # em dash vs hyphen, line break
        "HALCYON TELECOM CUTS WAIT TIMES",  # heading, case
        "the team went live nationally in March 2024.",  # trailing punctuation
        "  within six months abandonment   fell from 18% to 6%  ",  # whitespace
        "See the full report for details",  # Markdown link text
        "the team went live nationaly in March 2024",  # a typo
        "After a six week pilot in one region, the team went live nationally",  # small wording difference
        "Within six months ... average handling time dropped by 38%",  # ellipsis, parts in order
        "Halcyon Telecom \u2026 2.6 million customers",  # Unicode ellipsis
        "We finally answer customers [...] said Thandi Mokoena",  # bracketed ellipsis
        "2.6 million customers",
        "Cape Town",  # short but exact, whole words
        "38%",
        "config_value",  # underscores inside words are not emphasis
        "We \ufb01nally answer customers",  # ligature (NFKC)
    ],
)
def test_found(quote: str) -> None:
    assert evidence_found(quote, STORY)


@pytest.mark.parametrize(
    "quote",
    [
        "",
        "   ",
        "...",
        "Halcyon Telecom is the largest mobile operator in Kenya with 9 million customers",  # invented
        "Within six months abandonment fell from 18% to 4%",  # one figure changed
        "average handling time dropped by 48%",  # one figure changed, otherwise identical
        "Halcyon Telecom is a broadband provider headquartered in Cape Town with 3.6 million customers",
        "average handling time dropped by 38% ... Within six months",  # parts out of order
        "Within six months ... abandonment rose to 40%",  # second part missing
        "Cape Towns",  # short quotes must match exactly
        "Cap Town",
        "8%",  # not a whole word of "18%"
        "alcyon",  # inside a word
        "agents answered calls",  # short-ish, not in the text
    ],
)
def test_not_found(quote: str) -> None:
    assert not evidence_found(quote, STORY)


def test_a_quote_longer_than_the_story_is_not_found() -> None:
    """partial_ratio would otherwise find the short story inside the long quote."""
    quote = "Nordvik Bank cut costs by half and doubled its revenue in a year"
    assert not evidence_found(quote, "Nordvik Bank cut costs")


def test_threshold_controls_fuzziness() -> None:
    quote = "the team went live nationwide in March 2024"
    assert evidence_found(quote, STORY, threshold=85)
    assert not evidence_found(quote, STORY, threshold=99)


def test_normalise() -> None:
    assert normalise("**Bold** and _italic_ \u201cquoted\u201d \u2013 dash\u00a0space\u2026") == (
        'bold and italic "quoted" - dash space...'
    )
    assert normalise("snake_case stays; [text](http://x.y/a_b) loses its URL") == "snake_case stays; text loses its url"
    assert normalise("\uff21\uff22\uff23 full-width") == "abc full-width"  # NFKC
    assert normalise("soft\u00adhyphen zero\u200bwidth") == "softhyphen zerowidth"


def test_quote_parts() -> None:
    assert quote_parts('"One part... two parts \u2026 three."') == ["one part", "two parts", "three"]
    assert quote_parts("... leading and trailing ...") == ["leading and trailing"]


def test_fast_enough_for_thirty_quotes_per_10kb_story() -> None:
    rng = random.Random(7)
    vocab = [
        "the",
        "bank",
        "customers",
        "agents",
        "chat",
        "handled",
        "rose",
        "fell",
        "quarter",
        "million",
        "service",
        "team",
        "pilot",
        "region",
    ]
    words = [rng.choice(vocab) for _ in range(1700)]
    story = " ".join(words)
    assert len(story) > 10_000
    quotes = [" ".join(words[i : i + 20]).replace("the", "teh", 1) for i in range(0, 1500, 100)]
    quotes += ["an entirely invented sentence about the bank and agents rising fast"] * 15
    start = time.perf_counter()
    results = [evidence_found(q, story) for q in quotes]
    elapsed = time.perf_counter() - start
    assert sum(results[:15]) >= 14 and not any(results[15:])
    assert elapsed < 0.25, f"30 checks took {elapsed:.3f}s"
