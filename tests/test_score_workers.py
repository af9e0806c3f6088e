"""Offline scoring in worker processes: the same rows as in one process, committed in
batches, and nothing that finished is lost when a run stops."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
from conftest import DATA
from helpers import query, scalar

import ingest.silver as silver
from ingest.scorers import load_setup, offline_scorer
from ingest.silver import ScoringFailure, score_library
from reffy.config import load_settings

# every output column of silver (not the run ids, timestamps and latencies)
CRITERIA = ("SELECT story_id, scorer_key, prompt_version, criterion_id, criterion_hash, points, max_points,"
            " claimed_points, evidence, evidence_found, rationale FROM silver_criteria ORDER BY ALL")  # fmt: skip
METADATA = "SELECT story_id, scorer_key, prompt_version, metadata FROM silver_metadata ORDER BY ALL"
CALLS = ("SELECT story_id, status, reason, detail, criteria_scored, withdrawn_points, tokens_in, tokens_out, cost_usd"
         " FROM scoring_calls ORDER BY ALL")  # fmt: skip


def unscored_copy(demo_library: Path, home: Path) -> Path:
    """The demo library's warehouse without its silver rows."""
    import duckdb

    home.mkdir(parents=True)
    shutil.copy(demo_library / "reffy.duckdb", home / "reffy.duckdb")
    con = duckdb.connect(str(home / "reffy.duckdb"))
    for table in ("silver_criteria", "silver_metadata", "scoring_calls"):
        con.execute(f"DELETE FROM {table}")
    con.close()
    return home


def rescore(home: Path, workers: int, **kwargs):
    settings = load_settings(home=home, vendor_path=DATA / "vendor.yaml", score_workers=workers)
    setup = load_setup(settings)
    return score_library(settings, offline_scorer(settings, setup), setup.rubric, **kwargs)


def test_two_worker_processes_give_exactly_the_rows_of_one_process(demo_library, tmp_path, monkeypatch):
    pools = []

    class CountingPool(silver.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(silver, "ProcessPoolExecutor", CountingPool)
    one, two = unscored_copy(demo_library, tmp_path / "one"), unscored_copy(demo_library, tmp_path / "two")
    seen: list[tuple[int, int]] = []
    first = rescore(one, 1)
    assert pools == []  # one worker: scored in this process
    second = rescore(two, 2, progress=lambda done, total: seen.append((done, total)))
    assert pools == [2]
    n = scalar(demo_library, "SELECT count(*) FROM silver_metadata")
    assert (first.scored, second.scored, first.failed, second.failed) == (n, n, 0, 0) and n > 2 * silver.POOL_MIN_STORIES
    for sql in (CRITERIA, METADATA, CALLS):
        assert query(one, sql) == query(two, sql)
    # and both equal what the demo library was built with
    assert query(one, CRITERIA) == query(demo_library, CRITERIA)
    assert query(one, METADATA) == query(demo_library, METADATA)
    assert seen[-1] == (n, n) and [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_run_keeps_every_story_that_finished(demo_library, tmp_path, monkeypatch, workers):
    home = unscored_copy(demo_library, tmp_path / "home")
    monkeypatch.setattr(silver, "FLUSH_STORIES", 8)
    stop_after = 20

    def progress(done, total):
        if done >= stop_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rescore(home, workers, progress=progress)
    kept = scalar(home, "SELECT count(*) FROM silver_metadata")
    assert stop_after <= kept < stop_after + 8  # progress hears of a story once its batch is committed
    assert scalar(home, "SELECT count(DISTINCT story_id) FROM silver_criteria") == kept
    assert scalar(home, "SELECT status FROM scoring_runs ORDER BY id DESC LIMIT 1") == "interrupted"
    rest = rescore(home, workers)
    assert rest.cached == kept and rest.scored == scalar(demo_library, "SELECT count(*) FROM silver_metadata") - kept
    assert query(home, CRITERIA) == query(demo_library, CRITERIA)


def test_scoring_failures_survive_the_trip_from_a_worker_process():
    failure = pickle.loads(pickle.dumps(ScoringFailure("invalid_output", "nonsense", 10, 2, 0.5)))
    assert (failure.reason, failure.detail, failure.tokens_in, failure.tokens_out, failure.cost_usd) == \
           ("invalid_output", "nonsense", 10, 2, 0.5)  # fmt: skip
