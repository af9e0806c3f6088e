"""The offline scorer: explainable points from text signals, through the real MiniLM."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
import yaml
from helpers import STORY

from ingest.scoring.evaluate import degrade
from ingest.scoring.factory import ScoringSetup, offline_scorer
from ingest.scoring.offline import OFFLINE_VERSION, OfflineScorer
from reffy.config import load_settings
from reffy.models import StoryInput
from reffy.rubric import load_rubric, load_taxonomy, load_vendor

DATA = Path(__file__).resolve().parents[2] / "data"
VAGUE = (
    "Kastell Industrie is embracing the future of service. With Quillon, the team is excited about what "
    "comes next. Innovation is at the heart of everything they do, and the partnership has been great."
)


@pytest.fixture(scope="module")
def scorer(tmp_path_factory) -> OfflineScorer:
    settings = load_settings(home=tmp_path_factory.mktemp("home"))
    setup = ScoringSetup(load_rubric(), load_vendor(DATA / "vendor.yaml"), load_taxonomy())
    return offline_scorer(settings, setup)


def run(scorer: OfflineScorer, text: str, title: str = "Story", meta: dict | None = None):
    return scorer.score(StoryInput("id-" + str(hash(text)), title, text, meta or {}))


def by_id(result):
    return {c.criterion_id: c for c in result.criteria}


def test_rich_story_earns_evidence_backed_points(scorer):
    result = run(
        scorer,
        STORY + " Nordvik Bank chose Quillon over Zentrix because it answers in Danish and English.",
        "Nordvik Bank cuts handling time",
    )
    crit = by_id(result)
    assert result.scorer == "offline" and result.prompt_version == OFFLINE_VERSION
    assert crit["customer_named"].points == 2 and "Nordvik Bank" in crit["customer_named"].evidence
    assert crit["customer_quote"].points == 3 and "finally answer customers" in crit["customer_quote"].evidence
    assert crit["outcome_figures"].points == 4
    assert crit["outcome_baseline"].points == 2 and "six months" in crit["outcome_baseline"].evidence
    assert crit["products_named"].points == 2 and result.metadata.products == ["Quillon Assist"]
    assert crit["competitive_context"].points == 2 and result.metadata.competitors == ["Zentrix"]
    assert result.metadata.customer == "Nordvik Bank" and result.metadata.country == "DK"
    for c in result.criteria:  # every awarded point is explained by a sentence of the story
        if c.points:
            assert (
                c.evidence.rstrip(".")[:40]
                in STORY + " Nordvik Bank chose Quillon over Zentrix because it answers in Danish and English."
                and c.rationale
            )


def test_vague_story_scores_low(scorer):
    result = run(scorer, VAGUE, "Kastell Industrie embraces the future")
    assert result.total <= 8
    assert by_id(result)["outcome_figures"].points == 0 and by_id(result)["customer_quote"].points == 0


def test_scoring_is_deterministic(scorer):
    a, b = run(scorer, STORY), run(scorer, STORY)
    assert [(c.criterion_id, c.points, c.evidence) for c in a.criteria] == [
        (c.criterion_id, c.points, c.evidence) for c in b.criteria
    ]


def test_removing_figures_and_quotes_lowers_the_score(scorer):
    assert run(scorer, degrade(STORY)).total < run(scorer, STORY).total
    assert "38" not in degrade(STORY) and "finally answer" not in degrade(STORY)


def test_unknown_criteria_of_a_custom_rubric_score_zero_with_a_reason(scorer):
    from reffy.rubric import Criterion

    custom = Criterion(id="brand_voice", dimension="customer", points=2, earns="x", example="y")
    (score,) = scorer.score(StoryInput("s", "t", STORY), [custom]).criteria
    assert score.points == 0 and "LLM" in score.rationale


def test_demo_library_scores_follow_the_planted_quality_levels(scorer):
    catalog = yaml.safe_load((DATA / "tools" / "catalog.yaml").read_text(encoding="utf-8"))["stories"]
    from ingest.sources.base import FileInput
    from ingest.sources.formats import EXTRACTORS

    settings = load_settings(home=DATA)  # only read by extractors for limits
    levels: dict[str, list[int]] = {}
    for entry in catalog:
        if "#" in entry["source"]:
            continue  # rows of exports: covered through the pipeline tests
        path = DATA / entry["source"]
        (item,) = list(EXTRACTORS[path.suffix.lower()](FileInput(path, path.read_bytes(), settings)))
        levels.setdefault(entry["quality"], []).append(run(scorer, item.text, item.title, item.meta).total)
    rich, medium, weak = (statistics.mean(levels[k]) for k in ("rich", "medium", "weak"))
    assert rich > medium + 4 > weak + 8
    assert max(levels["weak"]) < min(levels["rich"])


def test_evidence_is_the_whole_sentence_never_cut_mid_sentence(scorer):
    long = (
        "Like most Nordic banks, Nordvik Bank has moved the bulk of its everyday banking to mobile, which means the "
        "calls that still reach a person are the difficult ones: disputed card payments, mortgage questions, fraud "
        "scares and account access problems that take an agent a long time to resolve."
    )
    assert len(long) > 240  # what offline-3 cut off with "..."
    result = run(scorer, long + " Nordvik Bank rolled out Quillon Assist to 400 agents in 2023.", "Nordvik Bank")
    evidence = [c.evidence for c in result.criteria if c.evidence]
    assert long in evidence
    assert not any(e.endswith("...") for e in evidence)
    assert OFFLINE_VERSION == "offline-4"  # whole-sentence evidence is a new rule: the silver cache is keyed by it


def test_only_a_run_on_sentence_past_the_cap_is_cut_and_at_a_word():
    from ingest.scoring.offline import EVIDENCE_CHARS, _ev

    words = "word " * (EVIDENCE_CHARS // 4)
    cut = _ev(words.strip())
    assert len(cut) <= EVIDENCE_CHARS and cut.endswith("word…")
