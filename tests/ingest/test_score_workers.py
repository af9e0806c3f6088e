"""Offline scoring in worker processes: the same rows as in one process, committed in
batches, and nothing that finished is lost when a run stops."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA
from helpers import query, scalar, write_jsonl

import ingest.silver as silver
from ingest.scoring.base import ScoringFailure
from ingest.scoring.factory import load_setup, offline_scorer
from ingest.silver import score_library
from reffy.config import load_settings

# every output column of silver (not the run ids, timestamps and latencies)
CRITERIA = (
    "SELECT story_id, scorer_key, prompt_version, criterion_id, criterion_hash, points, max_points,"
    " claimed_points, evidence, evidence_found, rationale FROM silver_criteria ORDER BY ALL"
)
METADATA = "SELECT story_id, scorer_key, prompt_version, metadata FROM silver_metadata ORDER BY ALL"
CALLS = (
    "SELECT story_id, status, reason, detail, criteria_scored, withdrawn_points, tokens_in, tokens_out, cost_usd"
    " FROM scoring_calls ORDER BY ALL"
)


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
    monkeypatch.setattr(silver, "POOL_MIN_STORIES", 8)  # the demo library is small: use the pool anyway
    one, two = unscored_copy(demo_library, tmp_path / "one"), unscored_copy(demo_library, tmp_path / "two")
    seen: list[tuple[int, int]] = []
    first = rescore(one, 1)
    assert pools == []  # one worker: scored in this process
    second = rescore(two, 2, progress=lambda done, total: seen.append((done, total)))
    assert pools == [2]
    n = scalar(demo_library, "SELECT count(*) FROM silver_metadata")
    assert (first.scored, second.scored, first.failed, second.failed) == (
        n,
        n,
        0,
        0,
    ) and n > 2 * silver.POOL_MIN_STORIES
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
    monkeypatch.setattr(silver, "POOL_MIN_STORIES", 8)
    stop_after = 20

    def progress(done, total):
        if done >= stop_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rescore(home, workers, progress=progress)
    kept = scalar(home, "SELECT count(*) FROM silver_metadata")
    # progress hears of a story once its batch is committed; with worker processes every chunk in
    # flight (2 per worker, POOL_CHUNK stories each) can land before the same commit
    in_flight = 2 * workers * silver.POOL_CHUNK if workers > 1 else 0
    assert stop_after <= kept < stop_after + 8 + in_flight
    assert scalar(home, "SELECT count(DISTINCT story_id) FROM silver_criteria") == kept
    assert scalar(home, "SELECT status FROM scoring_runs ORDER BY id DESC LIMIT 1") == "interrupted"
    rest = rescore(home, workers)
    assert rest.cached == kept and rest.scored == scalar(demo_library, "SELECT count(*) FROM silver_metadata") - kept
    assert query(home, CRITERIA) == query(demo_library, CRITERIA)


def test_workers_that_cannot_start_leave_the_scoring_to_this_process(demo_library, tmp_path):
    """A script read from stdin is a __main__ no worker can import: the pool breaks before
    scoring anything, and the run scores in the calling process instead, with a warning."""
    home = unscored_copy(demo_library, tmp_path / "home")
    script = (
        "import ingest.silver as silver\n"
        "from ingest.scoring.factory import load_setup, offline_scorer\n"
        "from reffy.config import load_settings\n"
        "silver.POOL_MIN_STORIES = 8\n"
        f"settings = load_settings(home={str(home)!r}, vendor_path={str(DATA / 'vendor.yaml')!r}, score_workers=2)\n"
        "setup = load_setup(settings)\n"
        "print(silver.score_library(settings, offline_scorer(settings, setup), setup.rubric).scored)\n"
    )
    out = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) == scalar(demo_library, "SELECT count(*) FROM silver_metadata")
    assert "could not start" in out.stderr
    assert query(home, CRITERIA) == query(demo_library, CRITERIA)
    assert query(home, METADATA) == query(demo_library, METADATA)


def test_scoring_failures_survive_the_trip_from_a_worker_process():
    failure = pickle.loads(pickle.dumps(ScoringFailure("invalid_output", "nonsense", 10, 2, 0.5)))
    assert (failure.reason, failure.detail, failure.tokens_in, failure.tokens_out, failure.cost_usd) == (
        "invalid_output",
        "nonsense",
        10,
        2,
        0.5,
    )


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_killing_offline_score_leaves_no_worker_behind_and_the_rerun_finishes(tmp_path, home):
    n = 1200
    rows = [
        {
            "slug": f"s{i}",
            "title": f"Acme {i} cuts costs",
            "industry": "finance",  # no embedding needed
            "body": " ".join(
                f"Acme unit {i} part {j} reduced handling time by {j % 60 + 1}% for w{i}x{j}." for j in range(20)
            ),
        }
        for i in range(n)
    ]
    env = {**os.environ, "REFFY_HOME": str(home), "REFFY_SCORE_WORKERS": "2"}
    subprocess.run(
        [sys.executable, "-m", "reffy.cli", "ingest", str(write_jsonl(tmp_path / "s.jsonl", rows))],
        env=env,
        check=True,
        capture_output=True,
    )
    cmd = [sys.executable, "-m", "reffy.cli", "score", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wal, workers = home / "reffy.duckdb.wal", set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        workers |= _children(proc.pid)
        if wal.exists() and wal.stat().st_size > 300_000:  # a few batches committed
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the run finished before it could be killed: {proc.stderr.read()!r}"
    workers |= _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(workers) >= 2  # the worker processes (and multiprocessing's resource tracker)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    committed = scalar(home, "SELECT count(*) FROM silver_metadata")
    assert 0 < committed < n
    assert scalar(home, "SELECT count(DISTINCT story_id) FROM silver_criteria") == committed
    import json

    rerun = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
    assert (rerun["scored"], rerun["cached"]) == (n - committed, committed)
    assert scalar(home, "SELECT count(*) FROM silver_metadata") == n
