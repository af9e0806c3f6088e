"""Reffy beside its peers, in one run, on the same corpus and queries: txtai's documented hybrid
index and the naive design-card build. Every "ahead of the peers" claim comes from this table.

    pip install -e ".[peers]"          # txtai; not a runtime dependency of Reffy
    python eval/peers.py [--setting both] [--root /tmp/reffy-eval] [--json OUT] [--only reffy,naive,txtai]

- **Reffy**: the eval homes ``eval/retrieval_corpus.py build`` made (hybrid mode, defaults).
- **txtai**: ``Embeddings(path=<bundled MiniLM>, hybrid=True, content=True)``, one document per
  story (title, summary when the setting has it, body), filters in txtai's SQL.
- **naive**: what the design card sketches before any tuning: the story text cut into 1,000-
  character chunks (LangChain's recursive splitter, 150 overlap), BM25 (rank-bm25) and MiniLM
  cosine over chunks, reciprocal-rank fusion (k=60), a story ranked by its best chunk, filters
  applied to the fused list.
The same bundled all-MiniLM-L6-v2 everywhere; vectors of the naive chunks are cached by text
(``embedding-cache.sqlite`` under ``--root``) so a rerun costs seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from retrieval_corpus import CORPUS, QUERIES, SETTINGS, service  # noqa: E402

from reffy.domain.story import StoryCard  # noqa: E402
from reffy.retrieval.evaluate import EvalReport, load_queries, run_eval  # noqa: E402
from reffy.retrieval.types import SearchFilters  # noqa: E402

SYSTEMS = ("reffy", "naive", "txtai")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Hit:
    source_record_id: str


@dataclass
class Result:
    hits: list[Hit] = field(default_factory=list)
    no_answer: bool = False  # the peers never abstain


def load_corpus(setting: str) -> list[dict[str, Any]]:
    rows = []
    with open(CORPUS, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                if setting == "no-summary":
                    row["summary"] = None
                rows.append(row)
    return rows


def story_text(row: dict[str, Any]) -> str:
    return "\n\n".join(p for p in (row.get("title"), row.get("summary"), row.get("body")) if p)


def meta(row: dict[str, Any]) -> StoryCard:
    """The fields SearchFilters.matches reads, in the corpus's own vocabulary."""
    return StoryCard.from_row(
        {
            "story_id": row["slug"],
            "title": row.get("title") or "",
            "industry": row.get("industry"),
            "tags": row.get("tags") or [],
            "year": row.get("year"),
        }
    )


class Naive:
    """Chunks, BM25 + MiniLM over chunks, RRF, best chunk per story, post-filter."""

    def __init__(self, rows: list[dict[str, Any]], root: Path) -> None:
        import numpy as np
        from embedding_cache import CachedEmbedder
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        from rank_bm25 import BM25Okapi

        from reffy.config import load_settings
        from reffy.embedder import embedder_for

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=150)
        self.meta = {r["slug"]: meta(r) for r in rows}
        self.owner: list[str] = []
        chunks: list[str] = []
        for r in rows:
            for piece in splitter.split_text(story_text(r)):
                chunks.append(piece)
                self.owner.append(r["slug"])
        self.bm25 = BM25Okapi([_WORD.findall(c.lower()) for c in chunks])
        self.embedder = CachedEmbedder(embedder_for(load_settings(), bulk=True), root / "embedding-cache.sqlite")
        t = time.perf_counter()
        parts = [self.embedder.embed(chunks[s : s + 512]) for s in range(0, len(chunks), 512)]
        self.vectors = np.concatenate(parts)
        print(
            f"naive: {len(chunks)} chunks, {self.embedder.misses} embedded in {time.perf_counter() - t:.0f}s",
            flush=True,
        )
        self.query_embedder = embedder_for(load_settings())

    def search(self, query: str, filters: SearchFilters, k: int) -> Result:
        import numpy as np

        qv = self.query_embedder.embed([query])[0]
        dense = np.argsort(-(self.vectors @ qv))[:1000]
        sparse = np.argsort(-self.bm25.get_scores(_WORD.findall(query.lower())))[:1000]
        fused: dict[str, float] = {}
        for ranking in (dense, sparse):
            best: dict[str, int] = {}
            for rank, i in enumerate(ranking):
                best.setdefault(self.owner[i], rank)
            for slug, rank in best.items():
                fused[slug] = fused.get(slug, 0.0) + 1.0 / (60 + rank + 1)
        ranked = [s for s in sorted(fused, key=fused.__getitem__, reverse=True) if filters.matches(self.meta[s])]
        return Result([Hit(s) for s in ranked[:k]])


class Txtai:
    """txtai's hybrid index with content storage: one document per story, SQL filters."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        from txtai import Embeddings

        from reffy.embedder import DEFAULT_MODEL, hf_offline, resolve_model_path

        hf_offline()
        self.emb = Embeddings(path=resolve_model_path(DEFAULT_MODEL), hybrid=True, content=True)
        t = time.perf_counter()
        self.emb.index(
            (
                r["slug"],
                {
                    "text": story_text(r),
                    "industry": r.get("industry") or "",
                    "year": r.get("year") or 0,
                    "tags": " " + " ".join(r.get("tags") or []) + " ",
                },
                None,
            )
            for r in rows
        )
        print(f"txtai: indexed {len(rows)} stories in {time.perf_counter() - t:.0f}s", flush=True)

    def search(self, query: str, filters: SearchFilters, k: int) -> Result:
        where, params = ["similar(:q)"], {"q": query}
        for i, value in enumerate(filters.industry):
            params[f"ind{i}"] = value
        if filters.industry:
            where.append("(" + " or ".join(f"industry = :ind{i}" for i in range(len(filters.industry))) + ")")
        if filters.tags_any:
            where.append("(" + " or ".join(f"tags like :ta{i}" for i in range(len(filters.tags_any))) + ")")
            params.update({f"ta{i}": f"% {t} %" for i, t in enumerate(filters.tags_any)})
        for i, tag in enumerate(filters.tags_all):
            where.append(f"tags like :tl{i}")
            params[f"tl{i}"] = f"% {tag} %"
        if filters.year_min is not None:
            where.append("year >= :ymin")
            params["ymin"] = filters.year_min
        if filters.year_max is not None:
            where.append("year > 0 and year <= :ymax")
            params["ymax"] = filters.year_max
        sql = f"select id, score from txtai where {' and '.join(where)} limit {k}"
        return Result([Hit(r["id"]) for r in self.emb.search(sql, parameters=params)])


def reffy_report(root: Path, setting: str, queries_path: Path) -> EvalReport:
    return service(root, setting).evaluate(queries_path)


def run(systems: tuple[str, ...], settings: tuple[str, ...], root: Path, queries_path: Path) -> dict[str, Any]:
    queries = load_queries(queries_path)
    out: dict[str, Any] = {}
    for setting in settings:
        rows = load_corpus(setting)
        doc_meta = {r["slug"]: meta(r) for r in rows}
        for system in systems:
            t = time.perf_counter()
            if system == "reffy":
                report = reffy_report(root, setting, queries_path)
            else:
                engine = Naive(rows, root) if system == "naive" else Txtai(rows)
                report = run_eval(queries, engine.search, k=50, doc_meta=doc_meta)
            out[f"{system}/{setting}"] = report.to_dict()
            print(f"== {system} / {setting} ({time.perf_counter() - t:.0f}s)\n{report.to_table()}\n", flush=True)
    return out


def summary_table(results: dict[str, Any]) -> str:
    kinds = ("known_item", "topical", "faceted", "overall")
    lines = [f"{'system / setting':<26}" + "".join(f"{k:>12}" for k in kinds) + f"{'MRR(known)':>12}"]
    for name, rep in results.items():
        rows = rep["rows"]
        lines.append(
            f"{name:<26}"
            + "".join(f"{rows[k]['ndcg@10']:>12.3f}" if k in rows else f"{'-':>12}" for k in kinds)
            + f"{rows.get('known_item', {}).get('mrr', float('nan')):>12.3f}"
        )
    return "nDCG@10 by query kind\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=(*SETTINGS, "both"), default="both")
    parser.add_argument("--root", type=Path, default=Path("/tmp/reffy-eval"))
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--only", default=",".join(SYSTEMS), help=f"comma-separated subset of {', '.join(SYSTEMS)}")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    systems = tuple(s for s in args.only.split(",") if s)
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise SystemExit(f"unknown system(s) {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    settings = SETTINGS if args.setting == "both" else (args.setting,)
    results = run(systems, settings, args.root, args.queries)
    print(summary_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
