"""Plural forms and sentence endings: the helpers every count and joined message goes through."""

from __future__ import annotations

import pytest

from reffy.wording import plural, sentence


@pytest.mark.parametrize(
    ("count", "word", "expected"),
    [
        (0, "story", "0 stories"),
        (1, "story", "1 story"),
        (2, "story", "2 stories"),
        (1, "entry", "1 entry"),
        (3, "entry", "3 entries"),
        (1, "record", "1 record"),
        (1204, "record", "1,204 records"),
        (2, "key", "2 keys"),
        (2, "match", "2 matches"),
        (1, "criterion", "1 criterion"),
        (4, "criterion", "4 criteria"),
        (2, "attempt", "2 attempts"),
    ],
)
def test_plural_forms(count: int, word: str, expected: str) -> None:
    assert plural(count, word) == expected


def test_plural_takes_an_irregular_form_and_a_formatted_number() -> None:
    assert plural(2, "index", "indexes") == "2 indexes"
    assert plural(1, "index", "indexes") == "1 index"
    assert plural(2500, "token", number="2.5k") == "2.5k tokens"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Connection error.", "Connection error."),
        ("Connection error", "Connection error."),
        ("Is it up?", "Is it up?"),
        ('the server said "no."', 'the server said "no."'),
        ("(see the log)", "(see the log)."),
        ("trailing space.  ", "trailing space."),
        ("", ""),
    ],
)
def test_sentence_never_doubles_the_period(text: str, expected: str) -> None:
    assert sentence(text) == expected
