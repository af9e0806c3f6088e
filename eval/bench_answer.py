"""Answer-mode latency and verification on a built home (offline brief unless an LLM is configured).

    python eval/bench_answer.py --home /tmp/reffy-eval/with-summary [--queries FILE] [--runs 1]

Every dev query (except no-answer ones, which are reported separately) goes through
``ReffyService.answer`` in one warm process, as one user in one conversation per query.
Reports latency p50/p95 (time to the first released text and to the finished answer),
citations per answer, verification removals, and how often no-answer fired. Writes nothing
but the history of the home it runs on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from reffy.auth import Role, User
from reffy.config import load_settings
from reffy.retrieval.evaluate import load_queries
from reffy.retrieval.metrics import percentile
from reffy.service import ReffyService

QUERIES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_queries.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--audience", default="internal")
    args = parser.parse_args()
    svc = ReffyService(load_settings(home=args.home))
    svc.engine.warm()
    user = User("bench", Role.member)
    first, total, cites, removed, flagged, kinds = [], [], [], 0, {}, {}
    for q in load_queries(args.queries):
        started = time.perf_counter()
        stream = svc.ask(q.query, user=user, audience=args.audience, filters=q.filters or None, channel="bench")
        got_first = None
        for _ in stream:
            got_first = got_first or time.perf_counter()
        answer = stream.answer
        end = time.perf_counter()
        kinds[q.kind] = kinds.get(q.kind, 0) + 1
        flagged[q.kind] = flagged.get(q.kind, 0) + int(answer.no_answer)
        if q.kind != "no_answer":
            first.append(((got_first or end) - started) * 1000)
            total.append((end - started) * 1000)
            cites.append(len(answer.citations))
            removed += len(answer.removed)
    report = {
        "home": str(args.home),
        "llm": svc.settings.llm_model or "none (extractive brief)",
        "answers": len(total),
        "first_text_ms": {"p50": round(percentile(first, 50), 1), "p95": round(percentile(first, 95), 1)},
        "answer_ms": {"p50": round(percentile(total, 50), 1), "p95": round(percentile(total, 95), 1)},
        "citations_per_answer": round(sum(cites) / max(len(cites), 1), 2),
        "verification_removals": removed,
        "no_answer_flagged": {k: f"{flagged[k]}/{kinds[k]}" for k in kinds},
    }
    print(json.dumps(report, indent=2))
    svc.close()


if __name__ == "__main__":
    main()
