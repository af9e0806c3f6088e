"""The no-answer signal calibrated on the library (`reffy tune`): the fitting maths, the exam the
library writes about itself, and the calibration reaching every engine through the manifest,
including one that was already running, and surviving index updates."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from reffy.cli import app
from reffy.config import load_settings
from reffy.errors import ReffyError
from reffy.retrieval.calibrate import NoAnswerModel, exam, fit, from_manifest, grown_since, quantile
from reffy.retrieval.layout import read_manifest
from reffy.service import ReffyService

ABSENT = "winery forecasting grape harvest quality and planning blends"
LOOKUP = "Nordvik Bank cuts average handling time with Quillon Assist"


def test_fit_sets_the_threshold_at_the_allowed_false_flag_rate():
    rng = random.Random(1)
    answerable = [rng.uniform(0.3, 1.0) for _ in range(500)]
    unanswerable = [rng.uniform(0.0, 0.4) for _ in range(100)]
    model = fit(answerable, unanswerable, max_false_flags=0.02)
    flagged = sum(c < model.threshold for c in answerable) / len(answerable)
    assert flagged <= 0.02
    assert model.threshold == pytest.approx(quantile(answerable, 0.02), abs=1e-4)
    assert model.facts["exam_false_flags"] == pytest.approx(flagged, abs=1e-4)
    assert 0.0 < model.facts["exam_recall"] < 1.0  # the two ranges overlap: some are caught
    stricter = fit(answerable, unanswerable, max_false_flags=0.10)
    assert stricter.threshold > model.threshold  # a looser false-flag budget flags more


def test_fit_refuses_an_exam_too_small_to_mean_anything():
    with pytest.raises(ValueError, match="too small"):
        fit([0.9] * 5, [0.1] * 5)


def test_a_manifest_calibration_of_another_version_is_ignored():
    assert from_manifest({}) is None
    assert from_manifest({"no_answer": {"threshold": 0.3, "version": 999}}) is None
    assert from_manifest({"no_answer": {"threshold": 0.3, "bogus": 1}}) is None
    model = from_manifest({"no_answer": NoAnswerModel(threshold=0.3, stories=100).to_dict()})
    assert model is not None and model.flags({"coverage": 0.2}) and not model.flags({"coverage": 0.5})
    assert grown_since(model, 130) == pytest.approx(0.3)


def test_excluded_stories_are_searched_as_if_absent(demo_settings):
    svc = ReffyService(demo_settings)
    top = svc.engine.search(LOOKUP, k=5, mode="hybrid").hits[0]
    assert "Nordvik" in top.title
    again = svc.engine.search(LOOKUP, k=50, mode="hybrid", exclude=frozenset({top.story_id}))
    assert top.story_id not in {h.story_id for h in again.hits}
    assert again.signals["coverage"] < 1.0  # the words only that story held are now uncovered


def test_the_exam_holds_aside_whole_topics(demo_settings):
    engine = ReffyService(demo_settings).engine
    positives, negatives = exam(engine)
    assert len(positives) >= 20 and negatives
    for item in negatives:
        # every story that uses the topic word is absent from that question's search
        assert item["exclude"] == engine.keyword.ids_with(item["topic"])
        assert item["signals"]["coverage"] < 1.0
    assert all(not p["exclude"] for p in positives)


def test_tune_reaches_a_running_engine_and_survives_index_updates(demo_home):
    settings = load_settings(home=demo_home)
    running = ReffyService(settings)
    before = running.search(ABSENT, k=5)
    assert running.engine.calibration is None

    result = CliRunner().invoke(app, ["tune"])
    assert result.exit_code == 0, result.output
    assert "Tuned on" in result.output and "no strong match" in result.output
    manifest = read_manifest(settings.index_dir)
    assert manifest["no_answer"]["stories"] == manifest["stories"]

    # the already-running service notices the new manifest and decides with the calibration
    engine = running.engine
    assert engine.calibration is not None
    assert engine.calibration.threshold == manifest["no_answer"]["threshold"]
    assert running.search(ABSENT, k=5).no_answer
    assert not running.search(LOOKUP, k=5).no_answer
    assert before.hits  # (search still ranks; the flag is what changed, not the list)

    status = CliRunner().invoke(app, ["status"])
    assert "No-answer signal tuned on" in status.output and "run `reffy tune` again" not in status.output

    ReffyService(settings).index()  # an update keeps the library's calibration
    assert read_manifest(settings.index_dir)["no_answer"] == manifest["no_answer"]


def test_status_suggests_tuning_again_after_the_library_grew(demo_home):
    settings = load_settings(home=demo_home)
    ReffyService(settings).tune()
    manifest = read_manifest(settings.index_dir)
    manifest["no_answer"]["stories"] = max(1, manifest["stories"] // 2)  # as if tuned on half the library
    (settings.index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    status = CliRunner().invoke(app, ["status"])
    assert "run `reffy tune` again" in status.output


def test_tune_on_an_empty_library_says_what_to_do(home):
    with pytest.raises(ReffyError, match=r"run `reffy index`"):
        ReffyService(load_settings(home=home)).tune()
