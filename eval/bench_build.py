"""How long until a new user can search their own library: the shared corpus built from nothing
with `reffy run` (ingest, score, gold, index) as one process, as the README says to, then the
no-op rerun. Reported: per-stage time (from the run's own summary lines), when keyword search
became usable (measured by a second process that keeps trying a keyword search from the start),
the run's peak RSS, and the rerun's time.

    python eval/bench_build.py [--corpus ../shared/corpus/stories.jsonl] [--home DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"
REFFY = [sys.executable, "-m", "reffy.cli"]
STAGES = {
    "ingest": r"Run \d+ \w+ in ([\d.]+)s",
    "score": r"Scoring run \d+ \w+ .*? in ([\d.]+)s",
    "gold": r"Gold built in ([\d.]+)s",
    "index": r"Indexed [\d,]+ stories in ([\d.]+)s",
    "keyword ready (index step)": r"Keyword search is ready \(([\d.]+)s\)",
}


def run_measured(argv: list[str], env: dict[str, str], probe_home: Path | None = None) -> dict[str, object]:
    """Run ``reffy ARGV`` to completion: wall time, output, peak RSS, and (with ``probe_home``)
    when keyword search was usable: the moment the run says so, proven by a real keyword search
    of that home from a second process, timed from the run's start."""
    started = time.perf_counter()
    proc = subprocess.Popen([*REFFY, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    usable: list[float] = []
    lines = []

    def probe() -> None:
        out = subprocess.run(
            [*REFFY, "search", "customer service", "--mode", "keyword", "--k", "3", "--json"],
            env={**env, "REFFY_HOME": str(probe_home)},
            capture_output=True,
            text=True,
        )
        if out.returncode == 0 and json.loads(out.stdout)["hits"]:
            usable.append(time.perf_counter() - started)

    prober = None
    for line in proc.stdout:
        lines.append(line)
        if probe_home and prober is None and "Keyword search is ready" in line:
            prober = threading.Thread(target=probe, daemon=True)
            prober.start()
    _, status, usage = os.wait4(proc.pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if prober:
        prober.join(timeout=60)
    output = "".join(lines)
    if returncode != 0:
        raise SystemExit(f"reffy {' '.join(argv)} failed:\n{output}")
    stages = {}
    for name, pattern in STAGES.items():
        m = re.search(pattern, output)
        if m:
            stages[name] = float(m.group(1))
    return {
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "stages_s": stages,
        "keyword_usable_s": round(usable[0], 1) if usable else None,
        "output": output,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--home", type=Path, help="An empty directory (default: a new temporary one).")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.corpus.is_file():
        raise SystemExit(f"{args.corpus} is missing")
    home = args.home or Path(tempfile.mkdtemp(prefix="reffy-build-")) / "home"
    env = {**os.environ, "REFFY_HOME": str(home)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's Python: compiled modules are cached
    report: dict[str, object] = {"home": str(home), "load_before": os.getloadavg(), "cpus": os.cpu_count()}
    first = run_measured(["run", str(args.corpus), "--meta", "shareability=public"], env, probe_home=home)
    print(first.pop("output"))
    report["first_run"] = first
    again = run_measured(["run", str(args.corpus), "--meta", "shareability=public"], env)
    print(again.pop("output"))
    report["noop_rerun"] = again
    report["load_after"] = os.getloadavg()
    print(json.dumps(dict(report.items()), indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
