"""Pure parts of answer mode: citation/quote verification, streaming release, request understanding."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reffy.answer.understand import Request, understand, understand_filters
from reffy.answer.verify import REMOVED_QUOTE, StreamVerifier, evidence_found, split_sentences, verify_text
from reffy.domain.story import StoryCard
from reffy.rubric import load_taxonomy, load_vendor

DATA = Path(__file__).resolve().parents[2] / "data"
TEXTS = {
    1: "Handling time fell by 31 percent. “Our agents finally have time to listen,” said Ana Ruiz, COO.",
    2: "The bank moved 40,000 customers to the app in six months.",
}


@pytest.fixture(scope="module")
def setup():
    return load_vendor(DATA / "vendor.yaml"), load_taxonomy()


def test_invalid_citations_are_removed_and_valid_ones_kept():
    out = verify_text("Handling time fell [1]. Atlantis grew [3]. Both [1, 4] and [2;1].", TEXTS)
    assert out.text == "Handling time fell [1]. Atlantis grew. Both [1] and [2, 1]."
    assert out.cited == [1, 2] and len(out.removed) == 2


def test_quotes_must_exist_in_a_cited_story():
    ok = verify_text('She said "Our agents finally have time to listen" [1].', TEXTS)
    assert not ok.removed and "finally have time" in ok.text
    wrong_story = verify_text('She said "Our agents finally have time to listen" [2].', TEXTS)
    assert REMOVED_QUOTE in wrong_story.text and wrong_story.removed
    made_up = verify_text("“We doubled revenue in a single week” [1].", TEXTS)
    assert REMOVED_QUOTE in made_up.text
    short = verify_text('a "quick win" [1].', TEXTS)  # a term in quotes is not a quotation
    assert short.text == 'a "quick win" [1].'


def test_quote_matching_tolerates_typography_and_ellipses_but_not_changes():
    assert evidence_found("our agents finally have time to listen", TEXTS[1])
    assert evidence_found("Handling time fell … 31 percent", TEXTS[1])
    assert not evidence_found("Handling time fell by 41 percent", TEXTS[1])  # figures must match
    assert not evidence_found("listen … Handling time", TEXTS[1])  # fragments must be in order
    out = verify_text('He said "Handling time fell by 41 percent" [1].', TEXTS)
    assert REMOVED_QUOTE in out.text


def test_stream_releases_only_whole_verified_sentences():
    v = StreamVerifier(TEXTS)
    assert v.feed("Handling time fell [") == ""
    assert v.feed("1]. She said “Our agents fin") == "Handling time fell [1]. "
    assert v.feed("ally have time to listen.” [1] Next [7") == "She said “Our agents finally have time to listen.” [1] "
    assert v.feed("]. ") == "Next. "  # [7] named no retrieved story
    assert v.flush() == "" and "[7]" not in v.result.text
    assert v.result.cited == [1]


def test_split_sentences_keeps_everything():
    text = "One [1]. Two!\n\nThree? Four"
    assert "".join(split_sentences(text)) == text and len(split_sentences(text)) == 4


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("a European bank that cut handling time", {"industry": ["finance"]}),
        (
            "retailers in the Nordics since 2023 that replaced Zentrix",
            {
                "country": ["DK", "FI", "IS", "NO", "SE"],
                "industry": ["retail-ecommerce"],
                "competitor": ["Zentrix"],
                "year_min": 2023,
            },
        ),
        (
            "insurers using Quillon Assist in 2024",
            {"industry": ["insurance"], "product": ["Quillon Assist"], "year_min": 2024, "year_max": 2024},
        ),
        ("hospitals in Germany or Austria", {"industry": ["healthcare"], "country": ["DE", "AT"]}),
        ("a smooth flow of information for our agents", {}),  # common words are not filters
    ],
)
def test_filters_understood_from_questions(setup, question, expected):
    got = understand_filters(question, *setup, today=date(2026, 11, 25))
    for key, value in expected.items():
        assert got[key] == value, key
    if not expected:
        assert got == {}
    if "European" in question:
        assert "NO" in got["country"] and "DK" in got["country"] and "US" not in got["country"]


def test_follow_ups_narrow_and_new_questions_start_over(setup):
    first = understand("a European bank that cut contact-centre handling time", *setup)
    assert first.query == "a bank that cut contact-centre handling time"  # the region is a filter, not a term
    narrowed = understand("only the ones in Denmark", *setup, previous=first)
    assert narrowed.follow_up and narrowed.query == first.query
    assert narrowed.filters == {"country": ["DK"], "industry": ["finance"]}
    switched = understand("what about insurers?", *setup, previous=first)
    assert switched.follow_up and switched.filters["industry"] == ["insurance"]
    fresh = understand("chatbots for universities", *setup, previous=first)
    assert not fresh.follow_up and "country" not in fresh.filters


def test_explicit_filters_from_the_ui_win(setup):
    previous = Request(query="banks", filters={"industry": ["finance"]})
    got = understand(
        "only those in Denmark", *setup, previous=previous, explicit={"industry": ["insurance"], "k": None}
    )
    assert got.filters == {"industry": ["insurance"], "country": ["DK"]}


def test_brief_shows_sentences_not_fact_tables_or_glued_headings():
    from reffy.answer.brief import readable

    assert (
        readable("The challenge By 2022 the average call took 9 minutes.") == "By 2022 the average call took 9 minutes."
    )
    assert readable("Customer: Bergwald AG | Industry: private banking | Country: Switzerland") is None
    assert readable("Too short.") is None
    assert (
        readable("Handling time fell by 31 percent in six months.") == "Handling time fell by 31 percent in six months."
    )


def test_the_passage_sharing_most_query_words_is_in_the_context() -> None:
    """A story's chunks beyond those with vectors still reach the answer: the one holding most
    of the question's words is added next to the opening (and the vector's best, if any)."""
    from reffy.answer.context import build_context, keyword_passage
    from reffy.retrieval.types import Hit

    chunks = [
        (0, "Nordvik Bank is a retail bank in Denmark. " * 5),
        (1, "The rollout took six weeks in 2023."),
        (2, "Average handling time fell by 38 percent after the chatbot went live."),
    ]
    assert keyword_passage("how much did handling time fall", dict(chunks)) == 2
    assert keyword_passage("zebra", dict(chunks)) is None

    class Store:
        def get(self, _story_id: str) -> dict:
            return {"text": chunks[0][1], "chunks": chunks, "breakdown": []}

    hit = Hit(StoryCard("s1", "Nordvik Bank"), score=1.0, passage="s1::chunk::1")
    (story,) = build_context([hit], Store(), "handling time fell")
    assert story.passages[0].startswith("Nordvik Bank")  # the opening
    assert chunks[1][1] in story.passages and chunks[2][1] in story.passages
    (story,) = build_context([hit], Store())  # no query: as before
    assert chunks[2][1] not in story.passages


def test_brief_never_repeats_a_sentence_across_bullets():
    from reffy.answer.brief import story_brief
    from reffy.answer.context import ContextStory
    from reffy.retrieval.types import Hit

    challenge = (
        "By 2022 the average call took 9 minutes 40 seconds, up from just over seven minutes three years earlier."
    )
    card = {
        "story_id": "s1",
        "title": "How Nordvik Bank took almost four minutes off every call",
        "customer": "Nordvik Bank",
        "score": 27,
        "shareability": "public",
        "summary": f"Nordvik Bank\nChallenge: {challenge}\nSolution: Nordvik rolled out Quillon Assist to 420 agents.",
        "outcomes": [
            f"The challenge {challenge}",  # the extractor's old mistake: the challenge again, heading glued
            "Nordvik rolled out Quillon Assist to 420 agents",  # the solution again
            "38% lower average handling time, from 9:40 to 6:00 per call",
            "38% lower average handling time, from 9:40 to 6:00 per call.",  # twice, punctuation aside
            "First-contact resolution up from 71% to 83%",
        ],
        "quotes": [
            {"text": "38% lower average handling time, from 9:40 to 6:00 per call", "speaker": "A"},
            {"text": "The biggest change is confidence.", "speaker": "Maria Jensen", "role": "Head of Care"},
        ],
    }
    hit = Hit(StoryCard.from_row(card), score=1.0)
    text = story_brief(ContextStory(n=1, hit=hit, text=""))
    assert text.count("9 minutes 40 seconds") == 1 and text.count("rolled out Quillon Assist") == 1
    assert text.count("from 9:40 to 6:00") == 1
    assert (
        "- Outcomes: 38% lower average handling time, from 9:40 to 6:00 per call. First-contact resolution up from "
        "71% to 83%. [1]" in text
    )
    assert "- Quote: “The biggest change is confidence.” — Maria Jensen, Head of Care [1]" in text  # not the repeat


def test_said_compares_normalised_sentences():
    from reffy.wording import Said

    said = Said()
    said.say("Average handling time fell by 38% within six months. Agents were happier.")
    assert not said.new("average handling time FELL by 38 % within six months")
    assert not said.new(
        "The results: Average handling time fell by 38% within six months, Nordvik says."
    )  # contains it
    assert said.new(
        "Agents were happier than ever before in the bank"
    )  # a short sentence inside a longer one is no repeat
    assert said.new("First-contact resolution rose from 71% to 83%.")
