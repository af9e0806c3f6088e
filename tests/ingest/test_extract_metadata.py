"""Products, competitors, challenge/solution and the whole extract_metadata, on a
hand-written story about the demo vendor's invented products."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extract import extract_many, extract_metadata, find_challenge_solution, find_competitors, find_products
from reffy.models import StoryInput, StoryMetadata
from reffy.rubric import load_vendor

VENDOR = load_vendor(Path(__file__).resolve().parents[2] / "data" / "vendor.yaml")

STORY = """## The challenge

Lindqvist Mutual is a Swedish insurer headquartered in Gothenburg with 800,000 policyholders. By 2023 the
claims team struggled with a backlog of 6,000 unanswered e-mails, and customers waited up to nine days for a
reply. The insurer had used Zentrix CX for routing but found the rules hard to maintain.

## The solution

Lindqvist Mutual rolled out Quillon Flow to read claim forms and Quillon Assist to suggest replies to agents.
Assist drafts an answer from the approved knowledge base, and Flow moves each claim to the right queue.

"We stopped typing the same answer forty times a day and started judging the hard cases," said Sara Berg,
Head of Claims at Lindqvist Mutual.

## The results

- Average reply time fell from nine days to 14 hours
- The backlog shrank by 92% within four months
"""


def test_products_by_name_and_single_word_alias_only_with_the_vendor_name():
    assert find_products(STORY, VENDOR) == ["Quillon Flow", "Quillon Assist"]
    plain = "Our agents assist customers and route every call; the Flow of work improved."
    assert find_products(plain, VENDOR) == []  # no "Quillon": single words are ordinary words
    assert find_products("Quillon rolled out Assist to 40 agents.", VENDOR) == ["Quillon Assist"]


def test_products_from_metadata_are_canonical():
    meta = {"products": "Quillon KB; Converse"}
    assert find_products("", VENDOR, meta) == ["Quillon Knowledge", "Quillon Converse"]


def test_competitors_by_name_and_alias():
    assert find_competitors(STORY, VENDOR) == ["Zentrix"]
    text = "They replaced a legacy IVR and compared Verdigo with Callowave AI."
    assert find_competitors(text, VENDOR) == ["In-house build", "Verdigo CX", "Callowave"]
    assert find_competitors(text, None) == []


def test_challenge_and_solution_sentences():
    challenge, solution = find_challenge_solution(STORY, ["Quillon Flow", "Quillon Assist"], "Quillon")
    assert challenge is not None and "backlog" in challenge
    assert solution is not None and "rolled out Quillon Flow" in solution
    assert find_challenge_solution("Short.") == (None, None)


def test_extract_metadata_fills_every_field():
    story = StoryInput(story_id="x", title="Lindqvist Mutual clears its claims backlog", text=STORY, meta={})
    meta = extract_metadata(story, vendor=VENDOR)
    assert isinstance(meta, StoryMetadata)
    assert meta.customer == "Lindqvist Mutual"
    assert meta.country == "SE"
    assert meta.industry is None  # no classifier given
    assert meta.products == ["Quillon Flow", "Quillon Assist"]
    assert meta.competitors == ["Zentrix"]
    assert [(q.speaker, q.role) for q in meta.quotes] == [("Sara Berg", "Head of Claims at Lindqvist Mutual")]
    assert any("from nine days to 14 hours" in o for o in meta.outcomes)
    assert any("92%" in o for o in meta.outcomes)
    assert meta.shareability is None
    assert meta.challenge and meta.solution


def test_metadata_wins_over_the_text():
    story = StoryInput(
        story_id="x", title="t", text=STORY, meta={"customer": "Lindqvist Ömsesidig", "country": "Finland"}
    )
    meta = extract_metadata(story, vendor=VENDOR)
    assert (meta.customer, meta.country) == ("Lindqvist Ömsesidig", "FI")


def test_extract_metadata_without_vendor_and_on_empty_text():
    meta = extract_metadata(StoryInput(story_id="x", title="", text=""))
    assert meta == StoryMetadata()


def test_extract_many_matches_one_by_one():
    stories = [StoryInput(story_id=str(i), title="Lindqvist Mutual", text=STORY) for i in range(2)]
    assert extract_many(stories, vendor=VENDOR) == [extract_metadata(s, vendor=VENDOR) for s in stories]


@pytest.mark.parametrize("text", ["", "   ", "no capital letters or figures here at all"])
def test_degenerate_inputs_do_not_fail(text):
    extract_metadata(StoryInput(story_id="x", title=text, text=text), vendor=VENDOR)
