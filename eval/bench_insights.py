"""Insights on the synthetic query log (tests/querylog.py): how well themes are recovered, whether
gaps are flagged, and how long `reffy insights` takes over 10,000 logged questions.

1. Adjusted Rand index of each clustering method against the generating themes, per seed. Seeds
   17, 3, 99 and 5 were looked at while MERGE_SIMILARITY was chosen; 1, 2, 42 and 7 were not.
   "all" counts noise as one class of its own; "themed" leaves the noise questions out.
2. Gap precision and recall on the demo library: a theme of the digest is traced to the generating
   theme most of its typical questions came from; a generated gap theme is found when a theme
   traced to it is flagged; a flag on a theme traced to a covered theme (or to noise) is a false one.
3. `reffy insights --days 60 --json` over 10,000 logged questions, timed from process start in a
   fresh interpreter: first with no cached question vectors, then again (vectors cached), with the
   machine load from `uptime`. And the review queue: a page at offset 0 and at 9,950.

    python eval/bench_insights.py [--home BUILT_DEMO_HOME] [--seeds 1 2 42 7]

The demo home defaults to where `reffy demo --no-app` builds it (copied, never written to).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the synthetic query log generator

from querylog import NOISE, NOW, THEMES, generate, write_log  # noqa: E402

from reffy.auth import LOCAL_USER  # noqa: E402
from reffy.config import load_settings  # noqa: E402

TUNED_ON = (17, 3, 99, 5)
HELD_OUT = (1, 2, 42, 7)
GAPS = {t.name for t in THEMES if t.gap}


def load() -> str:
    return os.getloadavg().__repr__() if hasattr(os, "getloadavg") else "?"


def ari_table(seeds: tuple[int, ...]) -> list[dict]:
    from sklearn.metrics import adjusted_rand_score

    from reffy.embedder import embedder_for
    from reffy.insights import themes as th

    embedder = embedder_for(load_settings())
    out = []
    for seed in seeds:
        rows = generate(600, seed=seed)
        distinct: dict[str, int] = {}
        for r in rows:
            distinct.setdefault(th.fold(r["question"]), len(distinct))
        texts = list(distinct)
        index_of = [distinct[th.fold(r["question"])] for r in rows]
        counts = Counter(index_of)
        vectors = embedder.embed(texts)
        truth = [r["theme"] for r in rows]
        themed = [i for i, r in enumerate(rows) if r["theme"] != NOISE]
        for method in th.METHODS:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = th.cluster(vectors, [counts[i] for i in range(len(texts))], method=method)
            seconds = time.perf_counter() - started
            predicted = [int(result.labels[i]) for i in index_of]
            out.append(
                {
                    "seed": seed,
                    "method": method,
                    "themes": int(result.labels.max()) + 1,
                    "ari_all": round(adjusted_rand_score(truth, predicted), 3),
                    "ari_themed": round(
                        adjusted_rand_score([truth[i] for i in themed], [predicted[i] for i in themed]), 3
                    ),
                    "seconds": round(seconds, 2),
                }
            )
    return out


def gap_scores(demo: Path, seeds: tuple[int, ...]) -> list[dict]:
    from reffy.insights.themes import fold
    from reffy.service import ReffyService

    out = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            shutil.copytree(demo, home, ignore=shutil.ignore_patterns("history.sqlite*"))
            svc = ReffyService(load_settings(home=home, vendor_path=REPO / "data" / "vendor.yaml"))
            try:
                rows = generate(600, seed=seed)
                write_log(svc.history, rows, hit_ids=[d.story_id for d in svc.engine.docs])
                report = svc.insights(LOCAL_USER, days=60, now=NOW, summaries=False)
            finally:
                svc.close()
        truth = {fold(r["question"]): r["theme"] for r in rows}
        found, false = set(), []
        for theme in report["themes"]:
            origin = Counter(truth[fold(e)] for e in theme["examples"]).most_common(1)[0][0]
            if theme["gap"]:
                if origin in GAPS:
                    found.add(origin)
                else:
                    false.append(origin)
        flagged = sum(t["gap"] for t in report["themes"])
        out.append(
            {
                "seed": seed,
                "themes": len(report["themes"]),
                "flagged": flagged,
                "gap_recall": round(len(found) / len(GAPS), 3),
                "gap_precision": round((flagged - len(false)) / flagged, 3) if flagged else None,
                "false_flags": false,
            }
        )
    return out


def timing(demo: Path) -> dict:
    from reffy.history import HistoryStore
    from reffy.insights import review

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(demo, home, ignore=shutil.ignore_patterns("history.sqlite*"))
        history = HistoryStore(home / "history.sqlite")
        rows = generate(10_000, seed=5, now=NOW)
        write_log(history, rows, hit_ids=[json.loads((home / "index" / "docs.json").read_text())[0]["story_id"]])
        pages = {}
        for offset in (0, 9_950):
            started = time.perf_counter()
            page = review.page(history, review.QueueFilter(), limit=50, offset=offset)
            pages[f"page_at_{offset}_ms"] = round((time.perf_counter() - started) * 1000, 1)
            assert len(page) == 50
        history.close()
        env = {**os.environ, "REFFY_HOME": str(home), "REFFY_VENDOR_PATH": str(REPO / "data" / "vendor.yaml")}
        # the digest of the 60 days up to the generator's NOW: every one of the 10,000 questions
        days = max(1, (time.time() - (NOW.timestamp() - 60 * 86400)) // 86400 + 1)
        runs = []
        for label in ("no cached vectors", "vectors cached"):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "reffy.cli", "insights", "--days", str(int(days)), "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - started
            report = json.loads(done.stdout)
            runs.append(
                {
                    "run": label,
                    "seconds_from_process_start": round(seconds, 2),
                    "digest_seconds": report["seconds"],
                    "questions": report["questions"],
                    "distinct": report["distinct_questions"],
                    "themes": len(report["themes"]),
                    "load": load(),
                }
            )
        return {"questions_logged": len(rows), "review": pages, "insights": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path.home() / ".local" / "share" / "reffy-demo")
    parser.add_argument("--seeds", type=int, nargs="*", default=[*TUNED_ON, *HELD_OUT])
    args = parser.parse_args()
    if not (args.home / "index" / "docs.json").is_file():
        sys.exit(f"No built demo library at {args.home}: run `reffy demo --no-app` first.")
    seeds = tuple(args.seeds)
    print(f"load before: {load()}")
    table = ari_table(seeds)
    print("\nAdjusted Rand index (600 questions, 10 themes + 10% noise)")
    print(f"{'method':<12} {'seeds':<10} {'ARI all':>8} {'ARI themed':>11} {'themes':>7} {'s':>6}")
    for method in sorted({r["method"] for r in table}):
        for name, group in (("tuned-on", TUNED_ON), ("held-out", HELD_OUT)):
            rows = [r for r in table if r["method"] == method and r["seed"] in group and r["seed"] in seeds]
            if rows:
                mean = lambda key, rows=rows: sum(r[key] for r in rows) / len(rows)  # noqa: E731
                print(
                    f"{method:<12} {name:<10} {mean('ari_all'):>8.3f} {mean('ari_themed'):>11.3f} "
                    f"{mean('themes'):>7.1f} {mean('seconds'):>6.2f}"
                )
    print("\nGaps on the demo library (3 gap themes of 10), per seed")
    for row in gap_scores(args.home, seeds):
        print(json.dumps(row))
    print("\nTimings (10,000 logged questions)")
    print(json.dumps(timing(args.home), indent=2))
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
