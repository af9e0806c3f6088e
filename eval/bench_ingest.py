"""Ingest throughput: first run and no-op rerun, on the shared corpus and the demo library.

Each measurement uses a fresh temporary REFFY_HOME and a fresh process, so imports and
database creation are counted the way a user experiences them.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"


def run(home: Path, source: Path) -> tuple[dict, float]:
    env = {**os.environ, "REFFY_HOME": str(home)}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "reffy.cli", "ingest", str(source), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout), time.perf_counter() - start


def bench(name: str, source: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first, first_wall = run(Path(tmp), source)
        second, second_wall = run(Path(tmp), source)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{name}: {first['new']} records, {first['errors']} errors, {first['warnings']} warnings, "
        f"{first['duplicates']} duplicates"
    )
    print(
        f"  first run : {first['duration_s']:.2f} s in the run ({first['new'] / first['duration_s']:.0f} records/s), "
        f"{first_wall:.2f} s wall with process start"
    )
    print(
        f"  no-op rerun: {second['duration_s']:.3f} s in the run ({second['new']} new), {second_wall:.2f} s wall; "
        f"{100 * second['duration_s'] / first['duration_s']:.1f}% of the first run"
    )
    print(f"  peak RSS of any ingest process so far: {peak:.0f} MB")


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}")
    if CORPUS.is_file():
        bench("shared corpus", CORPUS)
    else:
        print("shared corpus not found: skipped")
    bench("demo library (data/)", REPO / "data")


if __name__ == "__main__":
    main()
