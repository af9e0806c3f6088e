"""Precision (and recall) of the offline extractor's displayed outcome lines on the labelled
check set ``eval/outcome_lines.jsonl`` (demo library + corpus samples; see eval/README.md).

Run from the repository root:

    python eval/outcome_precision.py                 # summary per split (demo, corpus-dev, corpus-heldout1..4)
    python eval/outcome_precision.py --list          # plus every wrong, missed and unlabelled line
    python eval/outcome_precision.py --json          # the whole report as JSON

The corpus rows are skipped when ../shared/corpus/stories.jsonl is absent. Displayed lines
that have no row are listed as unlabelled (slug and offsets): label them by hand, reading
the line in its story, before trusting the precision figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.extract.outcome_eval import (
    CHECK_SET,
    DEFAULT_CORPUS,
    DEMO_DIR,
    SAMPLE,
    displayed_outcomes,
    evaluate,
    load_rows,
    load_sample,
    load_stories,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=CHECK_SET, help="the labelled lines (JSON Lines)")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the stories the set covers")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--list", action="store_true", help="list wrong, missed and unlabelled lines")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)

    from reffy.rubric import load_vendor

    rows = load_rows(args.set)
    stories = load_stories(load_sample(args.sample), corpus=args.corpus, data_dir=DEMO_DIR)
    vendor = load_vendor(DEMO_DIR / "vendor.yaml")
    report = evaluate(rows, stories, lambda story: displayed_outcomes(story, vendor))
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(
        f"{len(rows)} labelled lines ({sum(r['outcome'] for r in rows)} outcomes) in "
        f"{len({(r['set'], r['story']) for r in rows})} stories; {len(stories)} stories of the sample read"
    )
    print(f"{'split':16} {'stories':>7} {'shown':>6} {'labelled':>8} {'outcomes':>8} {'precision':>9} {'recall':>12}")
    for name, c in [*sorted(report["splits"].items()), ("total", report["total"])]:
        precision = f"{c['precision']:.1%}" if c["precision"] is not None else "-"
        recall = f"{c['recalled']}/{c['positives']} {c['recall']:.0%}" if c["recall"] is not None else "-"
        print(
            f"{name:16} {c['stories']:>7} {c['displayed']:>6} {c['labelled']:>8} {c['correct']:>8} {precision:>9} "
            f"{recall:>12}"
        )
    for kind in ("unlabelled", "unlocated", "drift", "orphans"):
        if report[kind]:
            print(f"{len(report[kind])} {kind} line(s)" + ("" if args.list else " (--list shows them)"))
    if args.list:
        texts = {(r["story"], r["start"], r["end"]): r.get("text") for r in rows}
        for kind in ("wrong", "missed", "unlabelled", "unlocated", "drift"):
            for item in report[kind]:
                text = item.get("line") or texts.get((item["story"], item.get("start"), item.get("end")))
                where = f"{item['story']} [{item.get('start')}:{item.get('end')}]"
                print(
                    f"{kind:10} {where}"
                    + (f" {item['why']}" if item.get("why") else "")
                    + (f"  {text}" if text else "")
                )
    return 1 if report["drift"] or report["orphans"] else 0


if __name__ == "__main__":
    sys.exit(main())
