"""The no-answer signal calibrated on the library (``reffy.retrieval.calibrate``), validated on the
dev set, which it never sees while fitting. Prints, per eval home: the exam's sizes, the fitted
model's rates on its own exam, and on the dev set the no-answer queries flagged and answerable
queries wrongly flagged, beside the built-in rule.

    python eval/no_answer.py [--setting both] [--root /tmp/reffy-eval] [--max-false-flags 0.01]
    python eval/no_answer.py --home DIR       # any library (e.g. a half-corpus home)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from retrieval_corpus import QUERIES, SETTINGS, service  # noqa: E402

from reffy.retrieval.calibrate import DEFAULT_MAX_FALSE_FLAGS, calibrate  # noqa: E402
from reffy.retrieval.evaluate import load_queries  # noqa: E402


def validate(svc, max_false_flags: float, queries_path: Path) -> dict:
    engine = svc.engine
    engine.warm()
    model = calibrate(engine, max_false_flags=max_false_flags)
    queries = load_queries(queries_path)
    known = {d.source_record_id for d in engine.docs}
    rows = []
    for q in queries:
        res = engine.search(q.query, replace(q.filters, audience="internal"), k=10, mode="hybrid")
        signals = dict(res.signals)
        present = q.kind == "no_answer" or any(s in known for s in q.relevant)
        rule = engine.built_in_no_answer(signals, "hybrid")  # the rule alone, tuned home or not
        rows.append(
            {
                "id": q.id,
                "kind": q.kind,
                "present": present,
                "rule": rule,
                "calibrated": model.flags(signals) or rule,  # as a tuned engine decides
                "coverage_only": model.flags(signals),
                "coverage": signals.get("coverage"),
            }
        )
    out = {"stories": len(engine.docs), "exam": model.facts, "model": model.to_dict()}
    for name in ("rule", "coverage_only", "calibrated"):
        out[name] = {
            "no_answer_flagged": sum(r[name] for r in rows if r["kind"] == "no_answer"),
            "no_answer": sum(r["kind"] == "no_answer" for r in rows),
            "answerable_flagged": sum(r[name] for r in rows if r["kind"] != "no_answer" and r["present"]),
            "answerable": sum(r["kind"] != "no_answer" and r["present"] for r in rows),
        }
    out["queries"] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=(*SETTINGS, "both"), default="both")
    parser.add_argument("--root", type=Path, default=Path("/tmp/reffy-eval"))
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--max-false-flags", type=float, default=DEFAULT_MAX_FALSE_FLAGS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    homes = (
        {str(args.home): (args.home.parent, args.home.name)}
        if args.home
        else {s: (args.root, s) for s in (SETTINGS if args.setting == "both" else (args.setting,))}
    )
    results = {}
    for name, (root, setting) in homes.items():
        res = validate(service(root, setting), args.max_false_flags, args.queries)
        results[name] = res
        ex = res["exam"]
        print(
            f"== {name}: {res['stories']} stories; exam {ex['answerable']} answerable / {ex['unanswerable']} "
            "held-aside "
            f"topics in {ex['seconds']}s; threshold {res['model']['threshold']:.3f} coverage; on the exam: "
            f"calibrated flags {ex['exam_false_flags']:.1%} answerable, "
            f"{ex['exam_recall']:.1%} unanswerable (built-in rule {ex['built_in_rule_false_flags']:.1%}, "
            f"{ex['built_in_rule_recall']:.1%})"
        )
        for rule in ("rule", "coverage_only", "calibrated"):
            r = res[rule]
            print(
                f"   dev, {rule:<10}: no-answer flagged {r['no_answer_flagged']}/{r['no_answer']}, "
                f"answerable wrongly flagged {r['answerable_flagged']}/{r['answerable']}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=list) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
