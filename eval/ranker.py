"""Learned ranking (issue 14): cache candidate features once, then train and judge variants in seconds.

    python eval/ranker.py cache [--setting with-summary|no-summary|both] [--root /tmp/reffy-eval]
    python eval/ranker.py judge [--setting ...] [--variants all|NAME,...] [--no-weights]
    python eval/ranker.py prf   [--setting ...]    # dense pseudo-relevance feedback, a cheaper candidate

Needs ``pip install -e ".[ranker]"`` (LightGBM) and the eval homes of ``retrieval_corpus.py build``.

``cache`` runs, in each eval home, the library's own synthetic queries
(``synthetic_queries.py`` beside this script), the dev queries and our validation queries through hybrid
search once, recording what the retrievers returned for each (:class:`learned.Candidates`) and
the stock result. ``judge`` trains LambdaMART variants on the synthetic queries only (never on
a dev or validation label), replays the stock pipeline after fusion (diversity, top 50) with and
without each, and prints: the dev and validation tables per variant and setting, and five-fold
cross-validation by dev query of the variant choice (choose on four folds, measure the fifth).
"""

from __future__ import annotations

import argparse
import pickle
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from retrieval_corpus import QUERIES, SETTINGS, service  # noqa: E402

from reffy.domain.story import StoryCard  # noqa: E402
from reffy.retrieval import fusion, learned  # noqa: E402
from reffy.retrieval.metrics import mrr, ndcg_at_k  # noqa: E402

VALIDATION = HERE / "validation_queries.json"


def _capture(engine, query: str, filters, k: int = 50) -> tuple[learned.Candidates, Any]:
    seen: list[learned.Candidates] = []
    stock = learned.stage

    def record(ranker, c, docs, rrf_k):
        seen.append(c)
        return stock(None, c, docs, rrf_k)

    learned.stage = record
    try:
        res = engine.search(query, filters, k=k, mode="hybrid")
    finally:
        learned.stage = stock
    return seen[0], res


def cache(root: Path, setting: str) -> Path:
    from synthetic_queries import generate

    from reffy.retrieval.evaluate import load_queries
    from reffy.retrieval.types import SearchFilters

    svc = service(root, setting)
    engine = svc.engine
    engine.warm()
    t = time.perf_counter()
    synth = generate(engine)
    rows: dict[str, list[dict[str, Any]]] = {"synthetic": [], "dev": [], "validation": []}
    for q in synth:
        c, _ = _capture(engine, q.query, SearchFilters())
        rows["synthetic"].append({"id": q.id, "kind": q.kind, "relevant": q.relevant, "cands": c})
    print(f"[{setting}] {len(synth)} synthetic queries in {time.perf_counter() - t:.0f}s", flush=True)
    slug_to_id = {str(d.source_record_id): d.story_id for d in engine.docs}
    for name, path in (("dev", QUERIES), ("validation", VALIDATION)):
        for q in load_queries(path):
            c, res = _capture(engine, q.query, replace(q.filters, audience="internal"))
            rows[name].append(
                {
                    "id": q.id,
                    "kind": q.kind,
                    "relevant": {slug_to_id.get(s, s): g for s, g in q.relevant.items()},
                    "cands": c,
                    "stock_ranked": [h.story_id for h in res.hits],
                    "stock_flag": res.no_answer,
                    "signals": dict(res.signals),
                    "text": res.text,
                    "query": q.query,
                    "facet_words": None,
                }
            )
    rows["customer"] = {d.story_id: (d.customer or "").lower() or None for d in engine.docs}
    rows["docs"] = {d.story_id: StoryCard(d.story_id, d.title, score=d.score) for d in engine.docs}
    out = root / f"ranker-cache-{setting}.pkl"
    out.write_bytes(pickle.dumps(rows))
    svc.close()
    print(f"[{setting}] cached to {out} in {time.perf_counter() - t:.0f}s", flush=True)
    return out


# -- replay -------------------------------------------------------------------------------
def replay(fused: list[tuple[str, float]], customer: dict[str, str | None], k: int = 50) -> list[str]:
    """The engine after fusion, for an evaluation search (no usage, quality weight 0)."""
    from reffy.retrieval.engine import RankingConfig

    cfg = RankingConfig()
    ranked = sorted(fused, key=lambda kv: (-kv[1], kv[0]))
    ranked = fusion.diversify(ranked, customer.get, penalty=cfg.diversity_penalty, free=cfg.diversity_free)
    return [d for d, _ in ranked[:k]]


def score(rows: list[dict[str, Any]], ranked: dict[str, list[str]]) -> dict[str, float]:
    per: dict[str, list[float]] = {"known_item": [], "topical": [], "faceted": [], "overall": [], "mrr": []}
    for r in rows:
        if r["kind"] == "no_answer":
            continue
        n = ndcg_at_k(ranked[r["id"]], r["relevant"], 10)
        per[r["kind"]].append(n)
        per["overall"].append(n)
        if r["kind"] == "known_item":
            per["mrr"].append(mrr(ranked[r["id"]], r["relevant"]))
    return {k: (statistics.mean(v) if v else float("nan")) for k, v in per.items()}


def labels(r: dict[str, Any], ids: list[str]) -> list[int]:
    return [int(r["relevant"].get(d, 0)) for d in ids]


class _Without:
    """A booster that never sees the ``dropped`` features (set missing at training and at prediction)."""

    def __init__(self, booster: Any, dropped: list[int]) -> None:
        self.booster, self.dropped = booster, dropped

    def predict(self, x):
        x = x.copy()
        x[:, self.dropped] = float("nan")
        return self.booster.predict(x)


class _Residual:
    """Stock fusion plus a learned correction: the booster starts from ``alpha`` times the fused
    score (relative to the query's best) and may only nudge it."""

    def __init__(self, booster: Any, alpha: float) -> None:
        self.booster, self.alpha = booster, alpha

    def predict(self, x):
        return self.booster.predict(x) + base_score(x, self.alpha)


def base_score(x, alpha: float):
    fused = x[:, learned.FEATURES.index("fused")]
    return alpha * fused / (fused.max() or 1.0)


def train_residual(data: dict[str, Any], kinds: set[str], alpha: float = 5.0, trees: int = 60):
    """LambdaMART from the stock order (init_score), few shallow trees, monotone in the evidence."""
    import lightgbm as lgb
    import numpy as np

    xs, ys, inits, sizes = [], [], [], []
    for r in data["synthetic"]:
        if r["kind"] in kinds:
            ids, x = learned.features(r["cands"], data["docs"])
            y = labels(r, ids)
            if ids and max(y) > 0:
                xs.append(x)
                ys.append(y)
                inits.append(base_score(x, alpha))
                sizes.append(len(ids))
    mono = {"summary": 1, "intro": 1, "chunk": 1, "kw": 1, "profile": 1, "fused": 1}
    mono |= {f: -1 for f in learned.FEATURES if f.endswith(("_rank", "_gap"))}
    t = time.perf_counter()
    ds = lgb.Dataset(np.vstack(xs), np.concatenate(ys), group=sizes, init_score=np.concatenate(inits))
    params = {
        "objective": "lambdarank",
        "num_leaves": 7,
        "learning_rate": 0.05,
        "min_data_in_leaf": 50,
        "monotone_constraints": [mono.get(f, 0) for f in learned.FEATURES],
        "lambdarank_truncation_level": 20,
        "deterministic": True,
        "seed": 7,
        "verbosity": -1,
    }
    booster = lgb.train(params, ds, num_boost_round=trees)
    return learned.LearnedRanker(
        _Residual(booster, alpha), facts={"seconds": time.perf_counter() - t, "queries": len(sizes)}
    )


def train_variant(data: dict[str, Any], kinds: set[str], drop: tuple[str, ...] = (), **params: Any):
    if params.pop("residual", False):
        return train_residual(data, kinds, **params)
    dropped = [learned.FEATURES.index(f) for f in drop]
    groups = []
    for r in data["synthetic"]:
        if r["kind"] in kinds:
            ids, x = learned.features(r["cands"], data["docs"])
            x[:, dropped] = float("nan")
            groups.append((x, labels(r, ids)))
    t = time.perf_counter()
    booster = learned.train(groups, **params)
    booster = _Without(booster, dropped) if dropped else booster
    return learned.LearnedRanker(booster, facts={"seconds": time.perf_counter() - t, "queries": len(groups)})


def rank_all(rows, data, ranker) -> dict[str, list[str]]:
    out = {}
    for r in rows:
        fused = r["cands"].fused if ranker is None else ranker.rerank(r["cands"], data["docs"], 10)
        out[r["id"]] = replay(fused, data["customer"])
    return out


VARIANTS: dict[str, dict[str, Any]] = {
    "mixed": {"kinds": {"known", "passage", "topic"}},
    "topic": {"kinds": {"topic"}},
    "known+topic": {"kinds": {"known", "topic"}},
    "passage+topic": {"kinds": {"passage", "topic"}},
    "mixed-dense": {"kinds": {"known", "passage", "topic"}, "drop": ("kw", "kw_rank", "profile", "profile_rank")},
    "topic-dense": {"kinds": {"topic"}, "drop": ("kw", "kw_rank", "profile", "profile_rank")},
    "mixed-nofused": {"kinds": {"known", "passage", "topic"}, "drop": ("fused", "fused_rank")},
    "residual": {"kinds": {"known", "passage", "topic"}, "residual": True},
    "residual-topic": {"kinds": {"topic"}, "residual": True},
    "residual-strong": {"kinds": {"known", "passage", "topic"}, "residual": True, "alpha": 20.0},
    "mixed-noquery": {"kinds": {"known", "passage", "topic"}, "drop": ("q_terms", "q_top_chunk")},
    "known+topic-noquery": {"kinds": {"known", "topic"}, "drop": ("q_terms", "q_top_chunk")},
    "mixed-dense-noquery": {
        "kinds": {"known", "passage", "topic"},
        "drop": ("q_terms", "q_top_chunk", "kw", "kw_rank", "profile", "profile_rank"),
    },
    "mixed-small": {"kinds": {"known", "passage", "topic"}, "trees": 60, "leaves": 7},
}


def refuse(c: learned.Candidates, weights: tuple[float, ...], k: int = 10) -> list[tuple[str, float]]:
    """The fused list again with other fusion weights (the cached retriever lists are enough)."""
    rankings = [
        [d for d, _ in c.keyword],
        [d for d, _ in c.profile],
        sorted(c.summary, key=c.summary.get, reverse=True),
        sorted(c.intro, key=c.intro.get, reverse=True),
        sorted(c.chunk, key=c.chunk.get, reverse=True),
    ]
    return fusion.rrf(rankings, k=k, weights=list(weights))


def fit_weights(data: dict[str, Any], kinds: set[str]) -> tuple[float, ...]:
    """Fusion weights chosen on the synthetic queries (a coarse grid; the stock weights are in it)."""
    import itertools

    rows = [r for r in data["synthetic"] if r["kind"] in kinds]
    best, best_w = -1.0, (0.5, 2.0, 2.0, 1.0, 1.0)
    for w in itertools.product((0.5, 1.0, 2.0), repeat=5):
        m = statistics.mean(ndcg_at_k(replay(refuse(r["cands"], w), data["customer"]), r["relevant"], 10) for r in rows)
        if m > best + 1e-9:
            best, best_w = m, w
    return best_w


def fmt(s: dict[str, float]) -> str:
    return " / ".join(f"{s[k]:.3f}" for k in ("known_item", "topical", "faceted", "overall", "mrr"))


def judge(root: Path, settings: tuple[str, ...], names: list[str], weights: bool = True) -> None:
    results: dict[str, dict[str, dict[str, list[str]]]] = {}
    datas = {}
    for setting in settings:
        data = pickle.loads((root / f"ranker-cache-{setting}.pkl").read_bytes())
        datas[setting] = data
        stock_dev = rank_all(data["dev"], data, None)
        check = sum(stock_dev[r["id"]][:10] == r["stock_ranked"][:10] for r in data["dev"])
        print(f"== {setting}: replay matches the engine's top 10 on {check}/{len(data['dev'])} dev queries")
        results[setting] = {"stock": {**stock_dev, **rank_all(data["validation"], data, None)}}
        print(f"{'variant':<16} dev: known / topical / faceted / overall / MRR    validation: same")
        print(
            f"{'stock':<16} {fmt(score(data['dev'], stock_dev))}    "
            f"{fmt(score(data['validation'], results[setting]['stock']))}"
        )
        for name in names:
            spec = dict(VARIANTS[name])
            ranker = train_variant(data, spec.pop("kinds"), **spec)
            ranked = {**rank_all(data["dev"], data, ranker), **rank_all(data["validation"], data, ranker)}
            results[setting][name] = ranked
            print(
                f"{name:<16} {fmt(score(data['dev'], ranked))}    {fmt(score(data['validation'], ranked))}"
                f"   ({ranker.facts['queries']} queries, {ranker.facts['seconds']:.1f}s)",
                flush=True,
            )
        for kinds_name, kinds in (
            ("weights-all", {"known", "passage", "topic"}),
            ("weights-topic", {"topic"}),
        ) * weights:
            t = time.perf_counter()
            w = fit_weights(data, kinds)
            ranked = {
                r["id"]: replay(refuse(r["cands"], w), data["customer"]) for r in [*data["dev"], *data["validation"]]
            }
            results[setting][kinds_name] = ranked
            print(
                f"{kinds_name:<16} {fmt(score(data['dev'], ranked))}    {fmt(score(data['validation'], ranked))}"
                f"   (weights {w}, {time.perf_counter() - t:.0f}s)",
                flush=True,
            )
    names = [*names, *(("weights-all", "weights-topic") if weights else ())]
    # five folds by dev query: choose the variant (or stock) by mean overall+topical on four, measure the fifth
    dev_ids = [r["id"] for r in datas[settings[0]]["dev"] if r["kind"] != "no_answer"]
    rng = random.Random(5)
    rng.shuffle(dev_ids)
    folds = [dev_ids[i::5] for i in range(5)]
    print("\n== five-fold cross-validation over the dev queries (choose on four, measure the fifth)")
    for setting in settings:
        data = datas[setting]
        by_id = {r["id"]: r for r in data["dev"]}
        for f, held in enumerate(folds):
            train_rows = [by_id[i] for i in dev_ids if i not in held]
            test_rows = [by_id[i] for i in held]

            best = max(["stock", *names], key=lambda n: score(train_rows, results[setting][n])["overall"])
            s_best, s_stock = score(test_rows, results[setting][best]), score(test_rows, results[setting]["stock"])
            print(
                f"[{setting}] fold {f}: chose {best:<14} held-out overall {s_best['overall']:.3f} vs stock "
                f"{s_stock['overall']:.3f} (topical {s_best['topical']:.3f} vs {s_stock['topical']:.3f})"
            )
        for name in names:
            deltas = [
                score([by_id[i] for i in held], results[setting][name])["overall"]
                - score([by_id[i] for i in held], results[setting]["stock"])["overall"]
                for held in folds
            ]
            print(
                f"[{setting}] {name:<14} per-fold overall delta vs stock: "
                f"{' '.join(f'{d:+.3f}' for d in deltas)} (mean {statistics.mean(deltas):+.3f}, "
                f"sd {statistics.stdev(deltas):.3f})"
            )


# -- pseudo-relevance feedback in meaning: the query moved toward its first stories' centroid --
def prf(root: Path, setting: str, grid: list[tuple[int, float]]) -> None:
    """Rocchio in embedding space: q' = q + beta * centroid(top-m fused stories' summary and
    introduction vectors), the three dense lists searched again with q' (exactly, over every
    story passing the filters), fused with the cached BM25 lists at the stock weights."""
    import numpy as np

    from reffy.retrieval.evaluate import load_queries
    from reffy.retrieval.layout import CHUNK, INTRO, SUMMARY, story_of

    data = pickle.loads((root / f"ranker-cache-{setting}.pkl").read_bytes())
    svc = service(root, setting)
    engine = svc.engine
    mats: dict[str, tuple[list[str], np.ndarray]] = {}
    for kind in (SUMMARY, INTRO, CHUNK):
        index = engine.vectors[kind]
        ids, v = index.get_vectors(index.get_ids())
        mats[kind] = ([story_of(i) for i in ids], v / np.linalg.norm(v, axis=1, keepdims=True))
    story_vec = {}
    for kind in (SUMMARY, INTRO):
        for sid, vec in zip(*mats[kind], strict=True):
            story_vec[sid] = story_vec.get(sid, 0) + vec
    filters = {q.id: q.filters for path in (QUERIES, VALIDATION) for q in load_queries(path)}
    rows = [*data["dev"], *data["validation"]]
    qvecs = engine.embedder.embed([r["text"] for r in rows])
    results: dict[tuple[int, float], dict[str, list[str]]] = {}
    for m, beta in [(0, 0.0), *grid]:
        ranked = {}
        for r, qv in zip(rows, qvecs, strict=True):
            c = r["cands"]
            f = engine._effective(replace(filters[r["id"]], audience="internal"))
            allowed = None if f.empty else {d.story_id for d in engine.docs if f.matches(d)}
            q = np.asarray(qv, dtype=np.float32)
            q = q / np.linalg.norm(q)
            if m:
                seed = [d for d, _ in c.fused[:m] if d in story_vec]
                centroid = np.mean([story_vec[d] / np.linalg.norm(story_vec[d]) for d in seed], axis=0)
                q = q + beta * centroid / np.linalg.norm(centroid)
                q = q / np.linalg.norm(q)
            lists = []
            for kind, n in ((SUMMARY, 100), (INTRO, 100), (CHUNK, 200)):
                sids, mat = mats[kind]
                sims = mat @ q
                order = [i for i in np.argsort(-sims) if allowed is None or sids[i] in allowed][:n]
                best: dict[str, float] = {}
                for i in order:
                    best.setdefault(sids[i], float(sims[i]))
                lists.append(list(best))
            rankings = [[d for d, _ in c.keyword], [d for d, _ in c.profile], *lists]
            fused = fusion.rrf(rankings, k=10, weights=[0.5, 2.0, 2.0, 1.0, 1.0])
            ranked[r["id"]] = replay(fused, data["customer"])
        results[(m, beta)] = ranked
        print(
            f"[{setting}] prf m={m:<2} beta={beta:<4} dev {fmt(score(data['dev'], ranked))}    "
            f"validation {fmt(score(data['validation'], ranked))}",
            flush=True,
        )
    base = results[(0, 0.0)]
    same = sum(base[r["id"]][:10] == r["stock_ranked"][:10] for r in data["dev"])
    print(f"[{setting}] exact dense search reproduces the engine's top 10 on {same}/{len(data['dev'])} dev queries")
    dev_ids = [r["id"] for r in data["dev"] if r["kind"] != "no_answer"]
    rng = random.Random(5)
    rng.shuffle(dev_ids)
    folds = [dev_ids[i::5] for i in range(5)]
    by_id = {r["id"]: r for r in data["dev"]}
    for f, held in enumerate(folds):
        train_rows = [by_id[i] for i in dev_ids if i not in held]
        test_rows = [by_id[i] for i in held]
        best = max(results, key=lambda key: score(train_rows, results[key])["overall"])
        sb, ss = score(test_rows, results[best]), score(test_rows, base)
        print(
            f"[{setting}] prf fold {f}: chose m={best[0]} beta={best[1]}: held-out overall {sb['overall']:.3f} vs "
            f"{ss['overall']:.3f} without (topical {sb['topical']:.3f} vs {ss['topical']:.3f})"
        )
    svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("cache", "judge", "prf"))
    parser.add_argument("--setting", choices=(*SETTINGS, "both"), default="both")
    parser.add_argument("--root", type=Path, default=Path("/tmp/reffy-eval"))
    parser.add_argument("--variants", default="all")
    parser.add_argument("--no-weights", action="store_true", help="skip the (slow) fusion-weight grid")
    args = parser.parse_args()
    settings = SETTINGS if args.setting == "both" else (args.setting,)
    if args.command == "cache":
        for setting in settings:
            cache(args.root, setting)
    elif args.command == "prf":
        grid = [(m, b) for m in (3, 5, 10) for b in (0.25, 0.5, 1.0)]
        for setting in settings:
            prf(args.root, setting, grid)
    else:
        names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
        judge(args.root, settings, names, weights=not args.no_weights)


if __name__ == "__main__":
    main()
