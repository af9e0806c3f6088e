"""Evaluating the offline scorer on a labelled corpus (``../shared/corpus`` format).

Inputs are built from **title and body only** (summary, company, industry and tags are
withheld), as a raw source would arrive. Reported: industry and customer accuracy against
the corpus labels (customer under two match rules, see :mod:`ingest.extract.evaluate`), the
score distribution, and the degradation test: a copy of each story with outcome figures and
quotes removed must score lower than the original.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.extract.evaluate import customer_matches, customer_matches_strict
from reffy.models import StoryInput

_QUOTED = re.compile(r"[“\"]([^”\"\n]{12,}?)[”\"]")
_BLOCKQUOTE = re.compile(r"^\s*>.*$", re.MULTILINE)
_FIGURE = re.compile(
    r"(?:[$€£¥]\s?)?\d[\d,.]*\s?(?:%|percent|per cent|x\b|times\b|[kKmM]\b|bn\b|million|billion|"
    r"thousand|hours?|minutes?|seconds?|days?|weeks?|months?|years?|ms\b|points?|pp\b)?"
)


def degrade(text: str) -> str:
    """The story without its evidence: every quote (as the quote extractor finds them, plus
    any quoted passage and Markdown blockquote) and every figure removed."""
    from ingest.extract.quotes import find_quotes

    for quote in sorted(find_quotes(text), key=lambda q: -len(q.text)):
        if len(quote.text) >= 12:
            text = text.replace(quote.text, "")
    text = _BLOCKQUOTE.sub("", text)
    text = _QUOTED.sub("", text)
    return _FIGURE.sub("", text)


def load_corpus(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate_scoring(
    scorer, corpus: list[dict[str, Any]], *, sample: int | None = None, degrade_sample: int = 300, seed: int = 7
) -> dict[str, Any]:
    """Run the offline scorer over the corpus and its degraded copies."""
    rows = corpus if sample is None else random.Random(seed).sample(corpus, min(sample, len(corpus)))
    stories = [StoryInput(r["slug"], r["title"], r["body"] or "", {}, "jsonl", "") for r in rows]
    started = time.perf_counter()
    scorer.prepare(stories)
    results = [scorer.score(s) for s in stories]
    elapsed = time.perf_counter() - started

    industry_ok = sum(res.metadata.industry == r["industry"] for res, r in zip(results, rows, strict=True))
    pairs = list(zip(results, rows, strict=True))
    customer_ok = sum(customer_matches_strict(res.metadata.customer, r["company"]) for res, r in pairs)
    customer_lenient = sum(customer_matches(res.metadata.customer, r["company"]) for res, r in pairs)
    majority = Counter(r["industry"] for r in rows).most_common(1)[0]
    totals = [res.total for res in results]

    picked = random.Random(seed + 1).sample(range(len(rows)), min(degrade_sample, len(rows)))
    degraded = [
        StoryInput(f"{stories[i].story_id}#degraded", stories[i].title, degrade(stories[i].text), {}, "jsonl", "")
        for i in picked
    ]
    scorer.prepare(degraded)
    lower = ties = changed = lower_changed = 0
    drops = []
    for i, story in zip(picked, degraded, strict=True):
        d = scorer.score(story).total
        lower += d < totals[i]
        ties += d == totals[i]
        drops.append(totals[i] - d)
        if " ".join(story.text.split()) != " ".join(stories[i].text.split()):
            changed += 1
            lower_changed += d < totals[i]
    by_industry: dict[str, list[int]] = {}
    for res, r in zip(results, rows, strict=True):
        by_industry.setdefault(r["industry"], []).append(res.total)
    return {
        "stories": len(rows),
        "industry_accuracy": industry_ok / len(rows),
        "majority_baseline": majority[1] / len(rows),
        "majority_class": majority[0],
        "customer_accuracy_strict": customer_ok / len(rows),
        "customer_accuracy_lenient": customer_lenient / len(rows),
        "country_coverage": sum(res.metadata.country is not None for res in results) / len(rows),
        "score_mean": statistics.mean(totals),
        "score_median": statistics.median(totals),
        "score_histogram": dict(sorted(Counter(t // 5 * 5 for t in totals).items())),
        "score_by_industry": {k: round(statistics.mean(v), 1) for k, v in sorted(by_industry.items())},
        "degraded_pairs": len(picked),
        "degraded_lower": lower / len(picked),
        "degraded_ties": ties,
        "degraded_pairs_with_evidence": changed,  # pairs where degrading removed something
        "degraded_lower_with_evidence": lower_changed / changed if changed else None,
        "degraded_mean_drop": statistics.mean(drops),
        "throughput_stories_per_s": len(rows) / elapsed,
    }
