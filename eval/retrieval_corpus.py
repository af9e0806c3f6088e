"""Build the shared corpus into evaluation homes and run the dev queries against them.

    python eval/retrieval_corpus.py build [--setting with-summary|no-summary|both]
    python eval/retrieval_corpus.py gold [--setting ...]      # ingest, score, gold; no index
    python eval/retrieval_corpus.py prefill [--setting ...]   # embed into the cache, chunk level by level
    python eval/retrieval_corpus.py index [--setting ...] [--vector-chunks N]   # re-index (cached vectors)
    python eval/retrieval_corpus.py eval  [--setting ...] [--queries FILE] [--runs-out DIR]

Two settings: the corpus as published (with its editor-written ``summary``), and with
``summary`` withheld (the realistic case: raw sources have no abstract). Each gets its own
REFFY_HOME under ``--root`` (default /tmp/reffy-eval). The corpus is declared public and
every story goes to gold (threshold 0) so retrieval, not curation, is measured; the
industry taxonomy is the corpus's own 16 tags, so source labels map one to one.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from reffy.config import load_settings
from reffy.service import ReffyService

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus" / "stories.jsonl"
QUERIES = HERE.parent.parent / "shared" / "eval" / "dev_queries.json"
SETTINGS = ("with-summary", "no-summary")


def service(root: Path, setting: str, **overrides: object) -> ReffyService:
    return ReffyService(
        load_settings(home=root / setting, gold_min_score=0, taxonomy_path=HERE / "corpus_industries.yaml", **overrides)
    )


def index(svc: ReffyService, root: Path):
    """``reffy index`` with vectors cached under ``root`` by text: the settings share their body
    chunks, and a rebuild with other vector settings re-embeds only what is new."""
    from embedding_cache import CachedEmbedder

    from reffy.embedder import embedder_for
    from reffy.retrieval.indexer import sync_indexes

    svc.close()
    embedder = CachedEmbedder(embedder_for(svc.settings, bulk=True), root / "embedding-cache.sqlite")
    summary = sync_indexes(svc.settings, embedder, rebuild=True)
    print(f"embedding cache: {embedder.hits} reused, {embedder.misses} computed", flush=True)
    return summary


def prefill(root: Path, settings: tuple[str, ...]) -> None:
    """Fill the embedding cache level by level (summaries and introductions of every setting, then
    every story's chunk 0, then chunk 1, ...), so an index capped at N chunks a story can be
    evaluated as soon as level N is done, long before the full set is."""
    from embedding_cache import CachedEmbedder

    from reffy.embedder import embedder_for
    from reffy.retrieval.indexer import load_gold

    levels: dict[int, list[str]] = {}
    embedder = None
    for setting in settings:
        svc = service(root, setting)
        embedder = embedder or CachedEmbedder(embedder_for(svc.settings, bulk=True), root / "embedding-cache.sqlite")
        docs, _, chunks = load_gold(svc.settings)
        levels.setdefault(-1, []).extend(t for d in docs for t in (d["summary"], d["_intro"]))
        for story_chunks in chunks.values():
            for n, text in story_chunks:
                levels.setdefault(n, []).append(text)
    for level in sorted(levels):
        texts = list(dict.fromkeys(levels[level]))
        t = time.perf_counter()
        for start in range(0, len(texts), 256):
            embedder.embed(texts[start : start + 256])
        print(
            f"level {level}: {len(texts)} texts in {time.perf_counter() - t:.0f}s ({embedder.misses} computed so far)",
            flush=True,
        )


def build(root: Path, setting: str, *, with_index: bool = True) -> None:
    svc = service(root, setting)
    source = CORPUS
    if setting == "no-summary":
        tmp = Path(tempfile.mkdtemp()) / "stories-no-summary.jsonl"
        with open(CORPUS, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
            for line in src:
                if line.strip():
                    row = json.loads(line)
                    row["summary"] = None
                    dst.write(json.dumps(row) + "\n")
        source = tmp
    timings = {}
    for name, step in (
        ("ingest", lambda: svc.ingest([str(source)], extra_meta={"shareability": "public"})),
        ("score", svc.score),
        ("build", svc.build),
        ("index", lambda: index(svc, root)),
    ):
        if name == "index" and not with_index:
            break
        t = time.perf_counter()
        out = step()
        timings[name] = round(time.perf_counter() - t, 1)
        print(f"[{setting}] {name}: {timings[name]}s {out}", flush=True)
    (root / setting / "build_timings.json").write_text(json.dumps(timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("build", "gold", "prefill", "index", "eval"))
    parser.add_argument("--vector-chunks", type=int, default=None, help="index: body-chunk vectors per story")
    parser.add_argument("--setting", choices=(*SETTINGS, "both"), default="both")
    parser.add_argument("--root", type=Path, default=Path("/tmp/reffy-eval"))
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--runs-out", type=Path, default=None)
    parser.add_argument("--mode", default="hybrid")
    args = parser.parse_args()
    settings = SETTINGS if args.setting == "both" else (args.setting,)
    if args.command == "prefill":
        return prefill(args.root, settings)
    for setting in settings:
        if args.command in ("build", "gold"):
            build(args.root, setting, with_index=args.command == "build")
        elif args.command == "index":  # after a change to the vectors: gold kept, index rebuilt
            svc = service(args.root, setting, vector_chunks=args.vector_chunks)
            print(f"[{setting}] index: {index(svc, args.root)}", flush=True)
        else:
            runs = args.runs_out / f"{setting}.json" if args.runs_out else None
            report = service(args.root, setting).evaluate(args.queries, runs_out=runs, mode=args.mode)
            print(f"== {setting} ({args.mode})\n{report.to_table()}\n", flush=True)


if __name__ == "__main__":
    main()
