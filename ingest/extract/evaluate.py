"""Measure the offline extractors against labelled stories.

* :func:`evaluate_corpus` — the shared corpus of published case studies (JSON Lines with
  ``title``, ``body``, ``company``, ``industry``). Each story is seen as
  ``StoryInput(title=title, text=body, meta={})``: the summary, company, industry and tags
  are withheld. Industry is scored against the corpus tag with a taxonomy whose ids are
  the corpus tags (``eval/corpus_industries.yaml``).
* :func:`evaluate_demo` — the bundled demo library against ``data/tools/catalog.yaml``,
  once with the stories' own metadata and once with it withheld (text only).

**Customer matching rule** (:func:`customer_matches`). Both names are normalised: NFC,
lower case, punctuation dropped, ``&`` read as "and", a trailing possessive and legal or
generic suffixes removed (Inc, Ltd, LLC, GmbH, AG, Corp, Company, Group, Holdings,
Technologies, Labs, AI, .ai, .com, Systems, Solutions, Software, International, Global).
A prediction is correct when

1. it equals the label, or one contains the other as a whole word sequence
   ("Snorkel" ~ "Snorkel AI", "Harman International" ~ "Harman"); or
2. one is an abbreviation of the other: it can be spelled by taking a non-empty prefix of
   each of at least two words of the other, in order, skipping words after the first
   ("CommBank" ~ "Commonwealth Bank of Australia", "CBA" ~ the same); or
3. the label names several organisations ("A / B", "A, B", "Various (A, B)"): rule 1 or 2
   holds for any one of them; or
4. the prediction is None and the label says the story has no single named customer
   ("Various", "Various (A, B)", "Unspecified client", "Unnamed private university",
   "Large Gaming Company") or names three or more organisations (a panel).

The report also gives ``customer_accuracy_strict``: rule 1 alone, None never correct.

Run ``python -m ingest.extract.evaluate`` for a report (``--help`` for options).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.extract.customer import ANONYMOUS, UNNAMED_LABELS, find_customer, normalise_name
from reffy.domain.country import primary_country
from reffy.models import StoryInput

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"
CORPUS_TAXONOMY = REPO / "eval" / "corpus_industries.yaml"
DEMO_DIR = REPO / "data"


# -- customer matching --------------------------------------------------------------------------
def _abbreviates(short: str, long: str) -> bool:
    """``short`` (spaces removed) is spelled by prefixes of >= 2 words of ``long``, in order,
    starting with its first word."""
    s = short.replace(" ", "")
    words = long.split()
    if len(words) < 2 or len(s) < 2:
        return False

    def rec(i: int, j: int, used: int) -> bool:
        if i == len(s):
            return used >= 2
        if j == len(words):
            return False
        word = words[j]
        for k in range(min(len(word), len(s) - i), 0, -1):
            if s[i : i + k] == word[:k] and rec(i + k, j + 1, used + 1):
                return True
        return used > 0 and rec(i, j + 1, used)

    return rec(0, 0, 0)


def _same_org(pred: str, gold: str) -> bool:
    p, g = normalise_name(pred), normalise_name(gold)
    if not p or not g:
        return False
    if p == g:
        return True
    if re.search(rf"\b{re.escape(p)}\b", g) or re.search(rf"\b{re.escape(g)}\b", p):
        return True
    return _abbreviates(p, g) or _abbreviates(g, p)


def unnamed_label(gold: str) -> bool:
    """The label says there is no single named customer."""
    return bool(UNNAMED_LABELS.search(gold) or ANONYMOUS.search(f"a {gold}"))


def label_names(gold: str) -> list[str]:
    """The organisations a label names ("A / B", "A, B and C", "Various (A, B)")."""
    parts = [p.strip() for p in re.split(r"\s*(?:/|,|\(|\)|;|\band\b)\s*", gold) if p.strip()]
    return [p for p in parts if not UNNAMED_LABELS.fullmatch(p)]


def customer_matches(pred: str | None, gold: str) -> bool:
    """Whether a predicted customer counts as correct for a label (rules in the module doc)."""
    named = label_names(gold)
    if pred is None:
        return unnamed_label(gold) or len(named) >= 3
    return any(_same_org(pred, g) for g in [gold, *named])


def customer_matches_strict(pred: str | None, gold: str) -> bool:
    """The plain rule: equal or one contains the other as a whole word sequence, after
    normalisation; None is never correct."""
    if pred is None:
        return False
    p, g = normalise_name(pred), normalise_name(gold)
    return bool(p and g and (p == g or re.search(rf"\b{re.escape(p)}\b", g) or re.search(rf"\b{re.escape(g)}\b", p)))


# -- corpus ---------------------------------------------------------------------------------------
def read_corpus(path: Path | str, *, limit: int | None = None, step: int = 1) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for index, line in enumerate(fh):
            if not line.strip() or index % step:
                continue
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def evaluate_corpus(
    path: Path | str = DEFAULT_CORPUS,
    taxonomy_path: Path | str = CORPUS_TAXONOMY,
    limit: int | None = None,
    *,
    step: int = 1,
    embedder=None,
    examples: int = 0,
) -> dict[str, Any]:
    """Industry, customer and country extraction on the corpus, from title and body only.

    ``step`` takes every n-th story (a fixed sample); ``limit`` caps the count. Returns
    accuracies, the majority-class baseline, per-class results, the commonest confusions,
    country coverage and timings; with ``examples`` > 0 also that many wrong predictions
    per field (slugs and values only)."""
    from ingest.extract.industry import IndustryClassifier
    from reffy.rubric import load_taxonomy

    rows = read_corpus(path, limit=limit, step=step)
    stories = [
        StoryInput(story_id=r["slug"], title=r.get("title") or "", text=r.get("body") or "", meta={}) for r in rows
    ]
    started = time.perf_counter()
    customers = [find_customer(s.title, s.text, s.meta) for s in stories]
    countries = [primary_country(s.title, s.text, s.meta, c) for s, c in zip(stories, customers)]
    rules_s = time.perf_counter() - started

    taxonomy = load_taxonomy(Path(taxonomy_path))
    if embedder is None:
        from reffy.embedder import get_embedder

        embedder = get_embedder()
    classifier = IndustryClassifier(taxonomy, embedder)
    started_ind = time.perf_counter()
    classifier.similarities(["warm-up"])  # model load and prototypes: not per-story work
    load_s = time.perf_counter() - started_ind
    started_ind = time.perf_counter()
    industries = classifier.classify_many([(s.title, s.text, s.meta) for s in stories], customers=customers)
    industry_s = time.perf_counter() - started_ind

    gold_ind = [r.get("industry") for r in rows]
    pred_ind = [i for i, _ in industries]
    n = len(rows)
    correct_ind = sum(p == g for p, g in zip(pred_ind, gold_ind))
    majority, majority_n = Counter(gold_ind).most_common(1)[0] if rows else (None, 0)
    per_class: dict[str | None, dict[str, Any]] = {}
    confusions: Counter[tuple[str | None, str | None]] = Counter()
    by_gold: dict[str | None, list[str | None]] = defaultdict(list)
    for p, g in zip(pred_ind, gold_ind):
        by_gold[g].append(p)
        if p != g:
            confusions[(g, p)] += 1
    for label in sorted(by_gold, key=lambda k: -len(by_gold[k])):
        preds = by_gold[label]
        hits = sum(p == label for p in preds)
        per_class[label] = {
            "n": len(preds),
            "correct": hits,
            "accuracy": round(hits / len(preds), 3),
            "predicted": sum(p == label for p in pred_ind),
            "top_confusions": Counter(p for p in preds if p != label).most_common(3),
        }
    cust_ok = [customer_matches(p, r.get("company") or "") for p, r in zip(customers, rows)]
    cust_strict = [customer_matches_strict(p, r.get("company") or "") for p, r in zip(customers, rows)]
    report: dict[str, Any] = {
        "stories": n,
        "industry_accuracy": round(correct_ind / n, 4) if n else 0.0,
        "majority_baseline": round(majority_n / n, 4) if n else 0.0,
        "majority_class": majority,
        "per_class": per_class,
        "top_confusions": [{"gold": g, "predicted": p, "n": c} for (g, p), c in confusions.most_common(10)],
        "customer_accuracy": round(sum(cust_ok) / n, 4) if n else 0.0,
        "customer_accuracy_strict": round(sum(cust_strict) / n, 4) if n else 0.0,
        "customer_none": sum(c is None for c in customers),
        "country_coverage": round(sum(c is not None for c in countries) / n, 4) if n else 0.0,
        "countries": Counter(c for c in countries if c).most_common(10),
        "timing": {
            "rules_s": round(rules_s, 2),
            "industry_s": round(industry_s, 2),
            "model_load_s": round(load_s, 2),
            "total_s": round(rules_s + industry_s, 2),
            "stories_per_s": round(n / (rules_s + industry_s), 1) if n else 0.0,
        },
    }
    if examples:
        report["industry_errors"] = [
            {"slug": r["slug"], "gold": g, "predicted": p} for r, p, g in zip(rows, pred_ind, gold_ind) if p != g
        ][:examples]
        report["customer_errors"] = [
            {"slug": r["slug"], "gold": r.get("company"), "predicted": c}
            for r, c, ok in zip(rows, customers, cust_ok)
            if not ok
        ][:examples]
    return report


# -- demo library -------------------------------------------------------------------------------
def read_demo(data_dir: Path | str = DEMO_DIR) -> list[tuple[str, StoryInput]]:
    """(catalogue key, story) for every story of the demo library, read with Reffy's own
    folder source (no database)."""
    import tempfile

    from ingest.sources.base import ReadContext
    from ingest.sources.files import FolderSource
    from reffy.config import load_settings
    from reffy.models import RawRecord

    root = Path(data_dir).resolve()
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home))
        items = list(FolderSource(root).read(ReadContext(settings=settings)))
    out: list[tuple[str, StoryInput]] = []
    for item in items:
        if not isinstance(item, RawRecord):
            continue
        rel = Path(item.origin).relative_to(root).as_posix()
        key = f"{rel}#{item.source_record_id.split('!')[-1]}" if item.source_record_id else rel
        out.append(
            (
                key,
                StoryInput(
                    story_id=item.content_hash,
                    title=item.title,
                    text=item.text,
                    meta=dict(item.meta),
                    source_type=item.source_type,
                    origin=item.origin,
                ),
            )
        )
    return out


def evaluate_demo(
    data_dir: Path | str = DEMO_DIR,
    taxonomy_path: Path | str | None = None,
    *,
    embedder=None,
    with_meta: bool | None = None,
) -> dict[str, Any]:
    """Customer, country and industry on the demo library against ``tools/catalog.yaml``.

    Reports both modes (``with_meta`` None), or one: with the stories' own metadata
    (front matter, spreadsheet columns, document properties) or with it withheld."""
    import yaml

    from ingest.extract import extract_many
    from ingest.extract.industry import IndustryClassifier, map_industry
    from reffy.rubric import load_taxonomy, load_vendor

    root = Path(data_dir)
    catalog = {e["source"]: e for e in yaml.safe_load((root / "tools" / "catalog.yaml").read_text("utf-8"))["stories"]}
    vendor = load_vendor(root / "vendor.yaml")
    taxonomy = load_taxonomy(Path(taxonomy_path) if taxonomy_path else None)
    if embedder is None:
        from reffy.embedder import get_embedder

        embedder = get_embedder()
    classifier = IndustryClassifier(taxonomy, embedder)
    stories = read_demo(root)
    modes = [True, False] if with_meta is None else [with_meta]
    report: dict[str, Any] = {"stories": len(stories), "catalogued": len(catalog)}
    for mode in modes:
        inputs = [
            s if mode else StoryInput(s.story_id, s.title, s.text, {}, s.source_type, s.origin) for _, s in stories
        ]
        started = time.perf_counter()
        metas = extract_many(inputs, vendor=vendor, classifier=classifier)
        elapsed = time.perf_counter() - started
        rows: list[dict[str, Any]] = []
        for (key, _), meta in zip(stories, metas):
            entry = catalog.get(key)
            if entry is None:
                continue
            gold_industry = map_industry(entry["industry"], taxonomy)
            competitor = entry.get("competitor")
            rows.append(
                {  # a row of mixed values: the sums below read the bools
                    "source": key,
                    "customer_ok": customer_matches(meta.customer, entry["customer"]),
                    "country_ok": meta.country == str(entry["country"]),
                    "industry_ok": meta.industry == gold_industry,
                    "competitor_ok": (competitor in meta.competitors) if competitor else True,
                    "has_outcome": bool(meta.outcomes),
                    "has_quote": bool(meta.quotes),
                    "predicted": {"customer": meta.customer, "country": meta.country, "industry": meta.industry},
                    "gold": {
                        "customer": entry["customer"],
                        "country": str(entry["country"]),
                        "industry": gold_industry,
                    },
                }
            )
        n = len(rows) or 1
        report["with_meta" if mode else "text_only"] = {
            "stories": len(rows),
            "customer_accuracy": round(sum(r["customer_ok"] for r in rows) / n, 4),
            "country_accuracy": round(sum(r["country_ok"] for r in rows) / n, 4),
            "industry_accuracy": round(sum(r["industry_ok"] for r in rows) / n, 4),
            "competitor_recall": round(sum(r["competitor_ok"] for r in rows) / n, 4),
            "with_outcomes": round(sum(r["has_outcome"] for r in rows) / n, 4),
            "with_quotes": round(sum(r["has_quote"] for r in rows) / n, 4),
            "seconds": round(elapsed, 2),
            "errors": [
                {"source": r["source"], "predicted": r["predicted"], "gold": r["gold"]}
                for r in rows
                if not (r["customer_ok"] and r["country_ok"] and r["industry_ok"])
            ],
        }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Evaluate Reffy's offline metadata extraction.")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--taxonomy", type=Path, default=CORPUS_TAXONOMY)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--step", type=int, default=1, help="take every n-th corpus story")
    parser.add_argument("--examples", type=int, default=0, help="list this many errors per field")
    parser.add_argument("--demo", action="store_true", help="evaluate the demo library instead")
    args = parser.parse_args(argv)
    if args.demo:
        report = evaluate_demo()
    else:
        if not args.corpus.is_file():
            parser.error(f"no corpus at {args.corpus}")
        report = evaluate_corpus(args.corpus, args.taxonomy, args.limit, step=args.step, examples=args.examples)
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
