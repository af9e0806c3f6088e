"""What the gold score threshold costs search: stories below it are invisible, so a relevant story
the scorer under-rates is lost. For each threshold, on a copy of each eval home: rebuild gold at
that threshold, re-index (vectors cached by text), run the dev set, and count the labelled relevant
stories gold no longer holds.

    python eval/threshold_cost.py [--thresholds 0,8,10,12,14,16] [--setting both] [--root /tmp/reffy-eval]

The eval homes (``eval/retrieval_corpus.py build``) are built at threshold 0, so retrieval is
measured apart from curation; this tool measures curation's price.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from retrieval_corpus import QUERIES, SETTINGS, index  # noqa: E402

from reffy.config import load_settings  # noqa: E402
from reffy.retrieval.evaluate import load_queries  # noqa: E402
from reffy.service import ReffyService  # noqa: E402


def service(root: Path, setting: str, *, gold_min_score: int) -> ReffyService:
    """An eval home (see retrieval_corpus.service) at another gold threshold."""
    return ReffyService(
        load_settings(home=root / setting, gold_min_score=gold_min_score, taxonomy_path=HERE / "corpus_industries.yaml")
    )


def relevant_lost(svc, queries) -> tuple[int, int, int]:
    """(labelled relevant pairs, pairs whose story is not in gold, of those graded 2)."""
    from reffy.store.warehouse import open_warehouse

    with open_warehouse(svc.settings.db_path, must_exist=True) as con:
        held = {r[0] for r in con.execute("SELECT source_record_id FROM gold_stories").fetchall()}
    pairs = [(slug, grade) for q in queries if q.kind != "no_answer" for slug, grade in q.relevant.items()]
    lost = [(s, g) for s, g in pairs if s not in held]
    return len(pairs), len(lost), sum(1 for _, g in lost if g >= 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--thresholds", default="0,8,10,12,14,16")
    parser.add_argument("--setting", choices=(*SETTINGS, "both"), default="both")
    parser.add_argument("--root", type=Path, default=Path("/tmp/reffy-eval"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    settings = SETTINGS if args.setting == "both" else (args.setting,)
    queries = load_queries(QUERIES)
    work = args.root.parent / f"{args.root.name}-threshold"
    rows = []
    for setting in settings:
        if (work / setting).exists():
            shutil.rmtree(work / setting)
        shutil.copytree(args.root / setting, work / setting)
        if (args.root / "embedding-cache.sqlite").exists() and not (work / "embedding-cache.sqlite").exists():
            shutil.copy2(args.root / "embedding-cache.sqlite", work / "embedding-cache.sqlite")
        for t in (int(x) for x in args.thresholds.split(",")):
            svc = service(work, setting, gold_min_score=t)
            svc.score()  # cached: only what this Reffy's scorer version has not scored yet
            gold = svc.build()
            index(svc, work)
            report = service(work, setting, gold_min_score=t).evaluate(QUERIES).to_dict()
            pairs, lost, lost_exact = relevant_lost(service(work, setting, gold_min_score=t), queries)
            row = {
                "setting": setting,
                "threshold": t,
                "stories": gold.stories,
                **{k: round(v["ndcg@10"], 3) for k, v in report["rows"].items() if v["ndcg@10"] is not None},
                "relevant_lost": lost,
                "relevant_pairs": pairs,
                "exact_lost": lost_exact,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(
        f"\n{'setting':<14}{'min':>4}{'stories':>9}{'known':>8}{'topical':>9}{'faceted':>9}{'overall':>9}"
        f"{'rel. lost':>11}{'exact lost':>12}"
    )
    for r in rows:
        print(
            f"{r['setting']:<14}{r['threshold']:>4}{r['stories']:>9}{r.get('known_item', 0):>8.3f}"
            f"{r.get('topical', 0):>9.3f}{r.get('faceted', 0):>9.3f}{r['overall']:>9.3f}"
            f"{r['relevant_lost']:>6}/{r['relevant_pairs']:<4}{r['exact_lost']:>8}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
