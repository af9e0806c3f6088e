"""Direct quotes and their attribution, on hand-written sentences."""

from __future__ import annotations

from ingest.extract.quotes import find_quotes
from reffy.models import Quote


def one(text: str) -> Quote:
    quotes = find_quotes(text)
    assert len(quotes) == 1, quotes
    return quotes[0]


def test_said_name_role_after_the_quote():
    q = one(
        '"We cut the backlog in half within three months of going live," said Maria Jensen, '
        "Head of Customer Care at Nordvik Bank."
    )
    assert q == Quote(
        "We cut the backlog in half within three months of going live",
        "Maria Jensen",
        "Head of Customer Care at Nordvik Bank",
    )


def test_name_said_after_the_quote():
    q = one("“Our people were still doing the hard part themselves every day,” Maria Jensen said.")
    assert (q.speaker, q.role) == ("Maria Jensen", None)


def test_role_before_name():
    q = one('"It is remarkable how much faster everything is now," says CEO Jane Okafor.')
    assert (q.speaker, q.role) == ("Jane Okafor", "CEO")


def test_name_role_said_colon_before_the_quote():
    q = one('Anders Holm, Chief Operating Officer, said: "We absorbed a fourteen percent increase without hiring."')
    assert (q.speaker, q.role) == ("Anders Holm", "Chief Operating Officer")


def test_according_to():
    q = one('According to Jonas Keller, COO of Helvana Versicherung, "the claims team now spends its time judging."')
    assert (q.speaker, q.role) == ("Jonas Keller", "COO of Helvana Versicherung")


def test_em_dash_attribution():
    q = one(
        "“We did not expect the night-time chats to matter this much.” — Priya Raman, VP Customer Operations "
        "at Kestrel Telecom"
    )
    assert (q.speaker, q.role) == ("Priya Raman", "VP Customer Operations at Kestrel Telecom")


def test_markdown_blockquote_with_attribution_line():
    q = one(
        "The rollout went well.\n\n> The assistant changed how our agents work every single day.\n"
        "> — Priya Raman, VP Customer Operations\n\nNext, the team will add e-mail."
    )
    assert q.text == "The assistant changed how our agents work every single day."
    assert (q.speaker, q.role) == ("Priya Raman", "VP Customer Operations")


def test_blockquote_without_attribution_keeps_speaker_none():
    q = one("> Customers notice when answers are the same on every channel, and they trust them more.")
    assert q.speaker is None


def test_unattributed_quote():
    q = one('The team summed up the lesson in a slogan: "Measure every answer before you trust any of them."')
    assert q.speaker is None and q.text.startswith("Measure every answer")


def test_pronoun_and_continuation_resolve_to_the_last_speaker():
    text = (
        '"The biggest change is confidence in every new hire," said Maria Jensen, Head of Customer Care. '
        '"A new colleague can take a fraud call in week two."\n\n'
        "“Nobody wants to wait on hold for twenty minutes anymore,” she added."
    )
    quotes = find_quotes(text)
    assert [q.speaker for q in quotes] == ["Maria Jensen"] * 3
    assert quotes[1].role == "Head of Customer Care"


def test_short_quoted_phrases_are_not_quotes():
    assert find_quotes('The team called it the "Inner Loop" and the "Outer Loop" of development.') == []
    assert find_quotes('"Done," she said.') == []


def test_transcript_turns_are_not_quotes_unless_quoted():
    assert (
        find_quotes(
            "Priya: we went live in March with the new assistant for every agent.\n"
            "Emma: and how did the agents react to it at first?"
        )
        == []
    )
    q = one('Priya Raman: "We went live in March with the new assistant for every agent."')
    assert q.speaker == "Priya Raman"
