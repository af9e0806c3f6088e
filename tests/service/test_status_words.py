"""Library status in people's words (reffy.status_words): labels instead of layer names, runs and
problems as readable rows, plural forms right; hand-built statuses, no warehouse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reffy import status_words as words
from reffy.models import LibraryStatus

JARGON = ("bronze", "silver", "gold", "{", "[", "_")
STARTED = datetime(2026, 12, 2, 7, 4, tzinfo=UTC)
LAYERS = {
    "bronze records": 50,
    "bronze stories (after duplicates)": 47,
    "bronze versions": 50,
    "removed records": 0,
    "silver scored story versions": 49,
    "gold stories": 37,
    "gold public": 14,
    "gold chunks": 98,
}


def status(**changes) -> LibraryStatus:
    base = {
        "home": "/h",
        "layers": dict(LAYERS),
        "by_source_type": {"markdown": 15},
        "recent_runs": [
            {
                "id": 2,
                "started_at": STARTED,
                "status": "partial",
                "sources": '["/data", "https://x.example/feed"]',
                "seen": 1,
                "new": 1,
                "updated": 0,
                "unchanged": 0,
                "removed": 0,
                "errors": 1,
                "warnings": 2,
                "duplicates": 1,
                "duration_s": 75.2,
            }
        ],
        "recent_errors": [
            {
                "run_id": 2,
                "severity": "error",
                "reason": "not_a_url",
                "origin": "not a web address",
                "source_record_id": None,
                "detail": "Give a full address starting with https://",
            },
            {
                "run_id": 2,
                "severity": "warning",
                "reason": "some_new_code",
                "origin": "/data/a.md",
                "source_record_id": "REF-1",
                "detail": "Read with a caveat.",
            },
        ],
        "errors_by_reason": {"error: not_a_url": 1, "warning: some_new_code": 2},
        "scoring_runs": [
            {
                "id": 1,
                "started_at": STARTED,
                "status": "completed",
                "scorer_key": "offline",
                "scored": 1,
                "cached": 0,
                "failed": 0,
                "tokens_in": 0,
                "tokens_out": 0,
                "cost_usd": 0.0,
                "duration_s": 3.1,
            }
        ],
        "last_gold_build": {
            "built_at": STARTED,
            "scorer_key": "offline",
            "rubric_version": "2026.11-1",
            "min_score": 12,
            "candidates": 49,
            "unscored": 0,
            "below_threshold": 11,
            "not_stories": 1,
            "stories": 37,
            "chunks": 98,
        },
    }
    base.update(changes)
    return LibraryStatus(**base)


def test_every_layer_count_gets_a_label_in_words_and_keeps_its_number():
    counts = words.layer_counts(status())
    assert [c.label for c in counts] == [
        "Sources read",
        "Stories after merging duplicates",
        "Versions kept",
        "Removed at the source",
        "Scored",
        "In the library",
        "Public",
        "Passages searchable",
    ]
    assert [c.count for c in counts] == list(LAYERS.values())
    for c in counts:
        assert c.help and not any(j in (c.label + c.help).lower() for j in JARGON)


def test_an_unknown_layer_is_shown_as_it_is_rather_than_dropped():
    counts = words.layer_counts(status(layers={"new layer": 3}))
    assert [(c.label, c.count) for c in counts] == [("New layer", 3)]


def test_an_ingest_run_reads_as_a_sentence_with_its_sources_unpacked():
    [row] = words.ingest_run_rows(status())
    assert row == {
        "run": 2,
        "when": "2026-12-02 07:04 UTC",
        "result": "finished with problems",
        "what happened": "1 record read: 1 new, 0 updated, 0 unchanged; 1 duplicate grouped",
        "problems": "1 error and 2 warnings",
        "took": "1 min 15 s",
        "from": "/data, https://x.example/feed",
    }


def test_plural_forms_follow_the_counts():
    run = {**status().recent_runs[0], "seen": 2, "duplicates": 3, "errors": 0, "warnings": 1, "removed": 2}
    [row] = words.ingest_run_rows(status(recent_runs=[run]))
    assert row["what happened"].startswith("2 records read:") and "2 removed" in row["what happened"]
    assert "3 duplicates grouped" in row["what happened"] and row["problems"] == "1 warning"
    assert words.problems_count(0, 0) == "none"
    one = words.gold_build_line(status(), words.default_when)
    assert "1 page that is not a customer story" in one and "37 stories" in one and "98 passages" in one
    build = {**status().last_gold_build, "not_stories": 2, "stories": 1, "chunks": 1}
    two = words.gold_build_line(status(last_gold_build=build))
    assert "2 pages that are not customer stories" in two and "1 story at or above 12/31" in two and "1 passage;" in two
    assert words.gold_build_line(status(last_gold_build=None)) == ""


def test_problems_give_the_reason_in_words_and_where_it_happened():
    rows = words.problem_rows(status())
    assert rows[0] == {
        "run": 2,
        "kind": "error",
        "what went wrong": "It is not a web address.",
        "where": "not a web address",
        "details": "Give a full address starting with https://.",
    }
    assert rows[1]["what went wrong"] == "Some new code." and rows[1]["where"] == "/data/a.md (record REF-1)"
    assert words.last_run_problems(status()) == "1 error: it is not a web address; 2 warnings: some new code"
    for reason, text in words.REASON_WORDS.items():
        assert "_" not in text and text != reason.replace("_", " ")  # each code has words of its own


def test_scoring_runs_say_who_scored_and_what_it_cost():
    [row] = words.scoring_run_rows(status())
    assert row["scored by"] == "the offline scorer (no LLM)" and row["what happened"] == "1 story scored"
    assert row["cost"] == "nothing (no LLM calls)" and row["took"] == "3.1 s"
    paid = {
        **status().scoring_runs[0],
        "scorer_key": "openai/gpt-4o-mini",
        "scored": 3,
        "cached": 2,
        "failed": 1,
        "tokens_in": 900,
        "tokens_out": 100,
        "cost_usd": 0.01234,
    }
    [row] = words.scoring_run_rows(status(scoring_runs=[paid]))
    assert row["what happened"] == "3 stories scored, 2 already scored, 1 could not be scored"
    assert row["cost"] == "$0.0123 (1,000 tokens)" and row["scored by"] == "openai/gpt-4o-mini"


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ({}, "Search is not set up yet"),
        (
            {"complete": True, "stories": 37, "vector_count": 111, "built_at": "2026-12-02T07:04:25Z", "embedder": "e"},
            "Search finds 37 stories (111 vectors for search by meaning); built 2026-12-02 07:04 UTC with e.",
        ),
        (
            {"complete": False, "stopped": True, "stories": 1, "stories_pending": 1},
            "before 1 story could be searched by meaning",
        ),
        ({"complete": False, "stories": 5, "stories_pending": 2}, "still being prepared for 2 stories"),
    ],
)
def test_the_search_index_state_in_one_sentence(manifest, expected):
    assert expected in words.search_index_line(status(search_index=manifest))


@pytest.mark.parametrize(
    ("secs", "shown"), [(None, ""), (0.36, "0.4 s"), (12.4, "12 s"), (60, "1 min"), (185, "3 min 5 s")]
)
def test_durations_read_with_their_unit(secs, shown):
    assert words.seconds(secs) == shown
