"""Search latency per mode on a built home, and the cost of an incremental index update.

    python eval/bench_search.py --home /tmp/reffy-eval/with-summary [--queries FILE] [--incremental N]

Latency: every dev query (and each story title as a known-item query) through a warm engine,
single-threaded, k=10. Incremental: edit N stories in a copy of the home, then time
ingest + score + build + index, which must touch only those N stories.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from reffy.config import load_settings
from reffy.retrieval.evaluate import load_queries
from reffy.retrieval.metrics import percentile
from reffy.service import ReffyService

HERE = Path(__file__).resolve().parent
QUERIES = HERE.parent.parent / "shared" / "eval" / "dev_queries.json"


def latency(svc: ReffyService, queries: list[tuple[str, object]], mode: str) -> dict[str, float]:
    times = []
    for text, filters in queries:
        t = time.perf_counter()
        svc.search(text, filters=filters, k=10, mode=mode)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "mean_ms": round(statistics.mean(times), 2),
    }


def incremental(home: Path, n: int) -> dict[str, object]:
    """In a copy of the home, edit n stories of its (writable) source file in place, time
    ingest + score + build + index, then restore the file. Record identity is the file path,
    so the edit must happen where the stories came from."""
    import duckdb

    con = duckdb.connect(str(home / "reffy.duckdb"), read_only=True)
    origin = Path(con.execute("SELECT origin FROM bronze_current LIMIT 1").fetchone()[0])
    con.close()
    if not os.access(origin, os.W_OK) or not os.access(origin.parent, os.W_OK):
        return {"skipped": f"{origin} is not writable (build the no-summary home to measure this)"}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy)
        backup = Path(tmp) / "source.jsonl"
        shutil.copy2(origin, backup)
        svc = ReffyService(load_settings(home=copy, gold_min_score=0, taxonomy_path=HERE / "corpus_industries.yaml"))
        try:
            rows = [json.loads(line) for line in origin.read_text(encoding="utf-8").splitlines() if line.strip()]
            for row in rows[:n]:
                row["body"] = (row.get("body") or "") + "\n\nUpdate: the team has since rolled the system out further."
            origin.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            steps: dict[str, object] = {}
            for name, step in (
                ("ingest", lambda: svc.ingest([str(origin)], extra_meta={"shareability": "public"})),
                ("score", svc.score),
                ("build", svc.build),
                ("index", svc.index),
            ):
                t = time.perf_counter()
                out = step()
                steps[f"{name}_s"] = round(time.perf_counter() - t, 2)
                if name == "index":
                    steps["stories_embedded"] = out.embedded_stories
            return steps
        finally:
            svc.close()
            shutil.copy2(backup, origin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--incremental", type=int, default=10)
    args = parser.parse_args()
    settings = load_settings(home=args.home, gold_min_score=0, taxonomy_path=HERE / "corpus_industries.yaml")
    svc = ReffyService(settings)
    t = time.perf_counter()
    svc.engine.warm()
    report: dict[str, object] = {
        "cores": os.cpu_count(),
        "stories": len(svc.engine.docs),
        "engine_load_s": round(time.perf_counter() - t, 2),
    }
    queries = [(q.query, q.filters) for q in load_queries(args.queries)] if args.queries.exists() else []
    queries += [(d.title, None) for d in svc.engine.docs[:200]]
    for mode in ("keyword", "hybrid"):
        latency(svc, queries[:20], mode)  # warm caches
        report[mode] = latency(svc, queries, mode)
    build_timings = args.home / "build_timings.json"
    if build_timings.exists():
        report["full_build_s"] = json.loads(build_timings.read_text())
    svc.close()
    if args.incremental:
        report["incremental"] = {"stories_edited": args.incremental, **incremental(args.home, args.incremental)}
    report["peak_rss_mb"] = round(
        max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        / 1024
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
