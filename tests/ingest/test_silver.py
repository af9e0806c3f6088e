"""Scoring orchestration: caching, resume, budget, failures, rubric changes, with an honest
in-test scorer (deterministic, implements the Scorer protocol) so no model is needed."""

from __future__ import annotations

import threading

import pytest
import yaml
from helpers import query, scalar, story

from ingest.scoring.base import Scorer, ScoringFailure
from ingest.silver import score_library
from reffy.models import CriterionScore, ScoreResult, StoryMetadata
from reffy.rubric import DEFAULT_RUBRIC, Rubric, load_rubric
from reffy.service import ReffyService


class CountingScorer(Scorer):
    """Awards each criterion points from the story length; fails on stories titled 'FAIL'."""

    scorer_key = "llm:test-model"
    prompt_version = "test-1"

    def __init__(self, concurrency: int = 1, cost: float = 0.01) -> None:
        self.concurrency, self.cost = concurrency, cost
        self.calls: list[tuple[str, list[str], bool]] = []
        self._lock = threading.Lock()

    def score(self, story, criteria, want_metadata):
        with self._lock:
            self.calls.append((story.title, [c.id for c in criteria], want_metadata))
        if story.title == "FAIL":
            raise ScoringFailure("invalid_output", "the model answered nonsense", 100, 20, self.cost)
        crit = [
            CriterionScore(c.id, len(story.text) % (c.points + 1), c.points, story.text[:20], "len") for c in criteria
        ]
        return ScoreResult(
            story.story_id,
            "llm",
            "test-model",
            self.prompt_version,
            crit,
            StoryMetadata(customer=story.title),
            tokens_in=100,
            tokens_out=20,
            cost_usd=self.cost,
        )

    def estimate(self, story, criteria):
        return 100, self.cost


def library(settings, tmp_path, n=6, extra: dict[str, str] | None = None):
    root = tmp_path / "lib"
    root.mkdir(exist_ok=True)
    for i in range(n):
        (root / f"s{i}.md").write_text(f"# Story {i}\n\n{story(i)}\n", encoding="utf-8")
    for name, text in (extra or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    ReffyService(settings).ingest([str(root)])
    return root


def test_scores_every_story_once_and_a_rerun_costs_nothing(settings, tmp_path):
    library(settings, tmp_path)
    rubric, scorer = load_rubric(), CountingScorer()
    first = score_library(settings, scorer, rubric)
    assert (first.scored, first.cached, first.failed) == (6, 0, 0)
    assert first.cost_usd == pytest.approx(0.06) and first.tokens_in == 600
    assert scalar(settings.home, "SELECT count(*) FROM silver_criteria") == 6 * len(rubric.criteria)
    again = score_library(settings, scorer, rubric)
    assert (again.scored, again.cached, again.cost_usd) == (0, 6, 0)
    assert len(scorer.calls) == 6


def test_failures_are_recorded_with_their_cost_and_retried_next_run(settings, tmp_path):
    library(settings, tmp_path, 2, {"bad.md": "# FAIL\n\nThis one makes the model fail."})
    summary = score_library(settings, CountingScorer(), load_rubric())
    assert (summary.scored, summary.failed) == (2, 1)
    row = query(settings.home, "SELECT status, reason, detail, cost_usd FROM scoring_calls WHERE status = 'failed'")[0]
    assert row == ("failed", "invalid_output", "the model answered nonsense", pytest.approx(0.01))
    assert summary.cost_usd == pytest.approx(0.03)  # failed calls are paid for too
    retry = score_library(settings, CountingScorer(), load_rubric())
    assert (retry.scored, retry.failed, retry.cached) == (0, 1, 2)


def test_budget_guard_stops_before_exceeding_max_cost(settings, tmp_path):
    library(settings, tmp_path, 10)
    summary = score_library(settings, CountingScorer(concurrency=3, cost=0.01), load_rubric(), max_cost=0.045)
    assert summary.status == "budget_reached"
    assert summary.scored == 4 and summary.cost_usd <= 0.045 and summary.pending == 6
    rest = score_library(settings, CountingScorer(), load_rubric())
    assert rest.scored == 6


def test_dry_run_estimates_and_writes_no_scores(settings, tmp_path):
    library(settings, tmp_path, 3)
    scorer = CountingScorer()
    summary = score_library(settings, scorer, load_rubric(), dry_run=True)
    assert summary.status == "dry_run" and summary.pending == 3
    assert summary.estimated_cost_usd == pytest.approx(0.03) and summary.estimated_tokens_in == 300
    assert scorer.calls == [] and scalar(settings.home, "SELECT count(*) FROM silver_criteria") == 0


def test_limit_scores_at_most_n(settings, tmp_path):
    library(settings, tmp_path, 5)
    assert score_library(settings, CountingScorer(), load_rubric(), limit=2).scored == 2
    assert score_library(settings, CountingScorer(), load_rubric()).scored == 3


def test_a_new_rubric_version_rescores_only_the_changed_criterion(settings, tmp_path):
    library(settings, tmp_path, 3)
    score_library(settings, CountingScorer(), load_rubric())
    raw = yaml.safe_load(DEFAULT_RUBRIC.read_text())
    raw["version"] = "test-2"
    changed = next(c for c in raw["criteria"] if c["id"] == "stakes")
    changed["earns"] += " Stated in the customer's own terms."
    v2 = Rubric.model_validate(raw)
    scorer = CountingScorer()
    summary = score_library(settings, scorer, v2)
    assert summary.scored == 3
    assert {tuple(ids) for _, ids, _ in scorer.calls} == {("stakes",)}
    assert all(want_meta is False for *_, want_meta in scorer.calls)


def test_an_edited_story_is_rescored_as_a_new_version(settings, tmp_path):
    root = library(settings, tmp_path, 3)
    score_library(settings, CountingScorer(), load_rubric())
    (root / "s1.md").write_text("# Story 1\n\nA rewritten story with new results.\n", encoding="utf-8")
    ReffyService(settings).ingest([str(root)])
    scorer = CountingScorer()
    assert score_library(settings, scorer, load_rubric()).scored == 1
    assert scorer.calls[0][0] == "Story 1"


def test_only_canonical_copies_of_duplicates_are_scored(settings, tmp_path):
    text = story(42, 200)
    library(settings, tmp_path, 1, {"copy-a.md": f"# A\n\n{text}", "copy-b.txt": f"B\n\n{text}"})
    summary = score_library(settings, CountingScorer(), load_rubric())
    assert summary.scored == 2  # s0 plus one of the two copies


def test_interrupted_run_is_marked_and_committed_stories_are_kept(settings, tmp_path):
    library(settings, tmp_path, 4)

    class Interrupting(CountingScorer):
        def score(self, story, criteria, want_metadata):
            if len(self.calls) == 2:
                raise KeyboardInterrupt
            return super().score(story, criteria, want_metadata)

    with pytest.raises(KeyboardInterrupt):
        score_library(settings, Interrupting(), load_rubric())
    assert scalar(settings.home, "SELECT status FROM scoring_runs") == "interrupted"
    assert scalar(settings.home, "SELECT count(DISTINCT story_id) FROM silver_metadata") == 2
    assert score_library(settings, CountingScorer(), load_rubric()).scored == 2
