"""How many vectors a story needs: retrieval quality on the dev queries as a function of the
number of body-chunk vectors kept per story (its first N chunks), on a built evaluation home.

    python eval/vector_budget.py [--root /tmp/reffy-eval] [--caps 0,4,6,8,10,12]

A capped index is simulated exactly on the full one: the chunk collection is asked for more
candidates and chunks numbered N or above are dropped before aggregation, which is what a search
over an index holding only the first N chunks of every story returns (0 = no cap). Reported per
setting and cap: nDCG@10 per kind, MRR, recall@10, the no-answer flags, and how many vectors an
index with that cap holds (what indexing costs). Build the homes first with
``python eval/retrieval_corpus.py build``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from retrieval_corpus import QUERIES, SETTINGS, service

from reffy.retrieval.layout import CHUNK


def capped(index, cap: int):
    """A stand-in for the chunk collection holding only chunks 0..cap-1 of each story."""
    query = index.query

    def only_first(vector, k, where=None):
        hits = [h for h in query(vector, k * 4, where) if int(h[0].rsplit("::", 1)[1]) < cap]
        return hits[:k]

    return only_first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/tmp/reffy-eval"))
    parser.add_argument("--caps", default="0,4,6,8,10,12")
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    caps = [int(c) for c in args.caps.split(",")]
    out: dict[str, dict[int, object]] = {}
    for setting in SETTINGS:
        svc = service(args.root, setting)
        engine = svc.engine
        engine.warm()
        chunks_per_story: dict[str, int] = {}
        for vid in engine.vectors[CHUNK].get_ids():
            sid = vid.split("::", 1)[0]
            chunks_per_story[sid] = chunks_per_story.get(sid, 0) + 1
        original = engine.vectors[CHUNK].query
        out[setting] = {}
        for cap in caps:
            engine.vectors[CHUNK].query = capped(engine.vectors[CHUNK], cap) if cap else original
            report = svc.evaluate(args.queries).to_dict()
            engine.vectors[CHUNK].query = original
            vectors = sum(2 + (min(n, cap) if cap else n) for n in chunks_per_story.values())
            rows = report["rows"]
            out[setting][cap] = {"vectors": vectors, "rows": rows, "no_answer": report["no_answer"]}
            kinds = " ".join(
                f"{kind} {row['ndcg@10']:.3f}" for kind, row in rows.items() if row.get("ndcg@10") is not None
            )
            na = report["no_answer"]
            print(
                f"{setting:<13} cap {cap or 'all':>3}: {vectors:>6} vectors | nDCG@10 {kinds} | MRR "
                f"{rows['overall']['mrr']:.3f} | no-answer {na['n_flagged']} flagged, {na['false_flags']} false",
                flush=True,
            )
        svc.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
