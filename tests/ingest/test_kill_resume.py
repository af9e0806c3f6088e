"""Killing `reffy ingest` or `reffy index --rebuild` mid-run loses nothing committed, and the
rerun picks up the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from helpers import query, scalar, write_jsonl

N = 6000


def test_sigkill_mid_run_then_rerun_completes_without_loss(tmp_path, home):
    rows = [
        {"slug": f"s{i}", "title": f"Story {i}", "body": f"Story {i}. " + "lorem ipsum dolor " * 40} for i in range(N)
    ]
    src = write_jsonl(tmp_path / "big.jsonl", rows)
    env = {**os.environ, "REFFY_HOME": str(home), "REFFY_BATCH_SIZE": "100"}
    cmd = [sys.executable, "-m", "reffy.cli", "ingest", str(src)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wal = home / "reffy.duckdb.wal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > 400_000:  # several batches committed
            break
        time.sleep(0.005)
    assert proc.poll() is None, f"the run finished before it could be killed: {proc.stderr.read()!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    committed = scalar(home, "SELECT count(*) FROM bronze_records")
    assert 0 < committed < N
    assert scalar(home, "SELECT status FROM ingest_runs WHERE id = 1") == "running"

    done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    assert summary["new"] == N - committed and summary["unchanged"] == committed
    assert scalar(home, "SELECT count(*) FROM bronze_records") == N
    assert scalar(home, "SELECT count(DISTINCT record_key) FROM bronze_current") == N
    assert query(home, "SELECT id, status FROM ingest_runs ORDER BY id") == [(1, "interrupted"), (2, "completed")]
    # and a third run finds everything in place and reads nothing
    third = json.loads(subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, check=True).stdout)
    assert (third["seen"], third["new"], third["unchanged"]) == (0, 0, N)


def test_a_killed_index_rebuild_is_said_by_search_and_the_rerun_restores_every_vector(demo_home):
    """`reffy index --rebuild` killed while it computes vectors: search serves keyword results and
    says the build stopped (not that it is still running), and the next `reffy index` stores
    exactly the vectors gold needs."""
    manifest_path = demo_home / "index" / "manifest.json"
    before = json.loads(manifest_path.read_text())
    env = {**os.environ, "REFFY_HOME": str(demo_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reffy.cli", "index", "--rebuild"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in proc.stdout:
        if "Keyword search is ready" in line:  # the vectors are being computed from here on
            break
    time.sleep(0.3)
    assert proc.poll() is None, "the rebuild finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(manifest_path.read_text())["vectors"] == "building"

    search = [sys.executable, "-m", "reffy.cli", "search", "bank that cut call handling time", "--json"]
    between = json.loads(subprocess.run(search, env=env, capture_output=True, text=True, check=True).stdout)
    assert between["hits"] and "keyword" in between["timings_ms"] and "embed" not in between["timings_ms"]
    assert any("stopped before it finished" in note for note in between["notes"]), between["notes"]
    status = subprocess.run(
        [sys.executable, "-m", "reffy.cli", "status"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "vectors incomplete" in status and "run `reffy index`" in status

    subprocess.run([sys.executable, "-m", "reffy.cli", "index"], env=env, capture_output=True, text=True, check=True)
    after = json.loads(manifest_path.read_text())
    assert after["vectors"] == "complete" and after["vector_count"] == before["vector_count"]
    healed = json.loads(subprocess.run(search, env=env, capture_output=True, text=True, check=True).stdout)
    assert healed["notes"] == [] and healed["hits"][0]["parts"]["summary"] > 0
