"""Offline scoring and the gold build on the shared corpus: wall and CPU time.

    python eval/bench_score.py [--workers 1 2] [--repeat 1]

The corpus is ingested once into a temporary home; each `reffy score` then runs in a fresh
process on a fresh copy of that home (nothing cached), once per REFFY_SCORE_WORKERS value,
followed by `reffy build`. CPU is the processes' user + system time (worker processes
included). The load average is printed with each run: on a shared machine compare runs made
under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"


def timed(args: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "reffy.cli", *args, "--json"], env=env, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.stdout), wall, cpu


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; corpus: {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        env = {**os.environ, "REFFY_HOME": str(base)}
        env.pop("REFFY_LLM_MODEL", None)
        ingested, wall, _ = timed(["ingest", str(args.corpus), "--meta", "shareability=public"], env)
        print(f"ingest: {ingested['new']} stories in {wall:.1f} s")
        for _ in range(args.repeat):
            for workers in args.workers:
                home = Path(tmp) / f"w{workers}"
                shutil.rmtree(home, ignore_errors=True)
                shutil.copytree(base, home)
                env = {**env, "REFFY_HOME": str(home), "REFFY_SCORE_WORKERS": str(workers)}
                start_load = load()
                scored, score_wall, score_cpu = timed(["score"], env)
                built, build_wall, build_cpu = timed(["build"], env)
                print(
                    f"workers={workers}: score {scored['scored']} stories in {score_wall:.1f} s wall, "
                    f"{score_cpu:.1f} s CPU; build {built['stories']} stories, {built['chunks']} chunks in "
                    f"{build_wall:.1f} s wall, {build_cpu:.1f} s CPU; load average {start_load} -> {load()}"
                )


if __name__ == "__main__":
    main()
