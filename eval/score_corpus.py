"""Offline scorer on the shared corpus: metadata accuracy, score distribution, degradation.

    python eval/score_corpus.py [--sample N] [--degrade N]

Uses eval/corpus_industries.yaml as the industry taxonomy (the corpus's own 16 tags).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ingest.scoring.evaluate import evaluate_scoring, load_corpus
from ingest.scoring.factory import ScoringSetup, offline_scorer
from reffy.config import load_settings
from reffy.rubric import load_rubric, load_taxonomy, load_vendor

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus" / "stories.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sample", type=int, default=None, help="score a random sample instead of all stories")
    parser.add_argument("--degrade", type=int, default=300, help="stories in the degradation test")
    args = parser.parse_args()
    settings = load_settings()
    setup = ScoringSetup(load_rubric(), load_vendor(None), load_taxonomy(HERE / "corpus_industries.yaml"))
    report = evaluate_scoring(
        offline_scorer(settings, setup), load_corpus(args.corpus), sample=args.sample, degrade_sample=args.degrade
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
