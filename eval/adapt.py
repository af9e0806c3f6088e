"""Does a library-adapted embedder beat the stock MiniLM? Self-supervised contrastive fine-tuning
on pairs the library itself provides, measured on the dev set in both settings.

    python eval/adapt.py train  [--root /tmp/reffy-eval] [--setting no-summary] [--pairs title,intro,next]
                                [--epochs 1] [--max-pairs 12000] [--out DIR]
    python eval/adapt.py eval   --model DIR [--root /tmp/reffy-eval]   # re-index a copy, run the dev set

Training never sees an evaluation label: the pairs come from gold (titles, introductions, chunks
of the same story). The loss is MultipleNegativesRankingLoss (in-batch negatives), as
sentence-transformers documents for unlabelled domain adaptation; the loop is a plain torch loop
over sentence-transformers' own loss module, so no ``datasets``/``accelerate`` dependency comes in.
``eval`` copies each eval home (``retrieval_corpus.py build`` made them), re-indexes the copy with
the adapted model (vectors cached by text and model) and prints the dev table beside the stock one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from retrieval_corpus import QUERIES, SETTINGS, index, service  # noqa: E402

PAIR_KINDS = ("title", "intro", "next", "cloze")


def library_pairs(root: Path, setting: str, kinds: tuple[str, ...], *, seed: int = 13) -> list[tuple[str, str]]:
    """(anchor, positive) pairs from gold, one story's texts on both sides of every pair."""
    from reffy.retrieval.indexer import load_gold

    docs, _, chunks = load_gold(service(root, setting).settings)
    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    for doc in docs:
        passages = [t for _, t in chunks.get(doc["story_id"], [])]
        if not passages:
            continue
        if "title" in kinds and doc.get("title"):
            pairs += [(doc["title"], p) for p in passages[:3]]
        if "intro" in kinds and doc.get("_intro") and len(passages) > 1:
            pairs += [(doc["_intro"], p) for p in passages[1:3]]
        if "next" in kinds:
            pairs += [(a, b) for a, b in itertools.pairwise(passages)]
        if "cloze" in kinds:  # inverse cloze: one sentence of a passage -> the passage without it
            for p in passages[:2]:
                sents = [s for s in p.replace("\n", " ").split(". ") if len(s) > 40]
                if len(sents) >= 3:
                    i = rng.randrange(len(sents))
                    pairs.append((sents[i], ". ".join(s for j, s in enumerate(sents) if j != i)))
    rng.shuffle(pairs)
    return pairs


def train(
    pairs: list[tuple[str, str]], out: Path, *, epochs: int = 1, batch: int = 32, lr: float = 2e-5, max_len: int = 128
) -> dict[str, float]:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses

    from reffy.embedder import DEFAULT_MODEL, hf_offline, resolve_model_path

    hf_offline()
    torch.manual_seed(13)
    model = SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device="cpu")
    model.max_seq_length = max_len
    loss_fn = losses.MultipleNegativesRankingLoss(model)
    optim = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = epochs * (len(pairs) // batch)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: min(1.0, (s + 1) / max(1, steps // 10)))
    model.train()
    started, step, last = time.perf_counter(), 0, 0.0
    for _ in range(epochs):
        for start in range(0, len(pairs) - batch + 1, batch):
            chunk = pairs[start : start + batch]
            features = [model.preprocess([a for a, _ in chunk]), model.preprocess([b for _, b in chunk])]
            loss = loss_fn(features, None)
            loss.backward()
            optim.step()
            sched.step()
            optim.zero_grad()
            step += 1
            last = float(loss.detach())
            if step % 20 == 0:
                rate = step * batch / (time.perf_counter() - started)
                print(f"step {step}/{steps} loss {last:.3f} ({rate:.0f} pairs/s)", flush=True)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    return {
        "pairs": len(pairs),
        "steps": step,
        "seconds": round(time.perf_counter() - started, 1),
        "last_loss": last,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def evaluate(root: Path, model: Path | None, tag: str) -> dict[str, dict]:
    """Dev-set reports for both settings with ``model`` (None = the stock embedder), on copies."""
    results = {}
    for setting in SETTINGS:
        work = root.parent / f"{root.name}-{tag}"
        if model is not None:
            (work / setting).parent.mkdir(parents=True, exist_ok=True)
            if (work / setting).exists():
                shutil.rmtree(work / setting)
            shutil.copytree(root / setting, work / setting)
            shutil.copy2(root / "embedding-cache.sqlite", work / "embedding-cache.sqlite") if (
                root / "embedding-cache.sqlite"
            ).exists() and not (work / "embedding-cache.sqlite").exists() else None
            svc = service(work, setting, embedding_model=str(model))
            print(f"[{setting}] index with {model}: {index(svc, work)}", flush=True)
            svc = service(work, setting, embedding_model=str(model))
        else:
            svc = service(root, setting)
        report = svc.evaluate(QUERIES)
        print(f"== {setting} ({tag})\n{report.to_table()}\n", flush=True)
        results[setting] = report.to_dict()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("train", "eval"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/reffy-eval"))
    parser.add_argument("--setting", choices=SETTINGS, default="no-summary", help="train: whose gold gives the pairs")
    parser.add_argument("--pairs", default="title,intro,next")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-pairs", type=int, default=12000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--tag", default="adapted")
    args = parser.parse_args()
    if args.command == "train":
        kinds = tuple(k for k in args.pairs.split(",") if k)
        unknown = set(kinds) - set(PAIR_KINDS)
        if unknown:
            raise SystemExit(f"unknown pair kinds {sorted(unknown)}; choose from {', '.join(PAIR_KINDS)}")
        pairs = library_pairs(args.root, args.setting, kinds)[: args.max_pairs]
        out = args.out or args.root.parent / f"reffy-adapted-{'-'.join(kinds)}-e{args.epochs}"
        print(f"{len(pairs)} pairs ({', '.join(kinds)}) -> {out}", flush=True)
        print(json.dumps(train(pairs, out, epochs=args.epochs, lr=args.lr)), flush=True)
    else:
        evaluate(args.root, args.model, args.tag)


if __name__ == "__main__":
    main()
