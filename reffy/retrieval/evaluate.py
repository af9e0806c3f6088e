"""Evaluation harness: run a query set through a search callable and score it.

The CLI and ``eval/`` scripts are thin wrappers over ``load_queries`` -> ``run_eval`` ->
``EvalReport``. The search engine is passed in as a plain callable so the harness can score any
retriever (BM25 alone, dense alone, the full hybrid engine, a fake in tests) the same way.

Reports carry query ids, never query text: the query sets are licensed material and reports /
run files may be saved next to the code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reffy.domain.story import StoryCard
from reffy.retrieval.metrics import mean, mrr, ndcg_at_k, percentile, precision_recall, recall_at_k
from reffy.retrieval.types import SearchFilters

KINDS = ("known_item", "topical", "faceted", "no_answer")
METRICS = ("ndcg@10", "mrr", "recall@10", "recall@50")
_META_KEYS = ("industry", "country", "products", "competitors", "tags", "year", "score", "shareability")

# (query text, filters, k) -> object with .hits (each with .source_record_id) and .no_answer
SearchFn = Callable[[str, SearchFilters, int], Any]


@dataclass(frozen=True, slots=True)
class EvalQuery:
    id: str
    kind: str
    query: str
    filters: SearchFilters = field(default_factory=SearchFilters)
    relevant: dict[str, int] = field(default_factory=dict)
    notes: str = ""

    @property
    def answerable(self) -> bool:
        return self.kind != "no_answer"


def _parse_query(i: int, raw: Any, seen: set[str]) -> EvalQuery:
    if not isinstance(raw, dict):
        raise ValueError(f"entry {i}: expected an object, got {type(raw).__name__}")
    qid = raw.get("id")
    if not isinstance(qid, str) or not qid.strip():
        raise ValueError(f"entry {i}: missing or empty 'id'")
    if qid in seen:
        raise ValueError(f"query {qid}: duplicate id")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"query {qid}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    text = raw.get("query")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"query {qid}: missing or empty 'query'")
    filters_raw = raw.get("filters") or {}
    if not isinstance(filters_raw, dict):
        raise ValueError(f"query {qid}: 'filters' must be an object")
    try:
        filters = SearchFilters.from_dict(filters_raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"query {qid}: bad filters: {exc}") from exc
    relevant = raw.get("relevant", {})
    if not isinstance(relevant, dict):
        raise ValueError(f"query {qid}: 'relevant' must be an object {{slug: grade}}")
    for slug, grade in relevant.items():
        if not slug or type(grade) is not int or grade < 0:
            raise ValueError(f"query {qid}: bad relevance label {slug!r}: {grade!r} (grade must be an int >= 0)")
    has_relevant = any(g >= 1 for g in relevant.values())
    if kind == "no_answer" and has_relevant:
        raise ValueError(f"query {qid}: a no_answer query must not list relevant stories")
    if kind != "no_answer" and not has_relevant:
        raise ValueError(f"query {qid}: a {kind} query needs at least one relevant story (grade >= 1)")
    seen.add(qid)
    return EvalQuery(qid, kind, text, filters, dict(relevant), str(raw.get("notes") or ""))


def load_queries(path: str | Path) -> list[EvalQuery]:
    """Read and validate a query set; a bad entry raises ``ValueError`` naming its id."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of queries")
    seen: set[str] = set()
    return [_parse_query(i, raw, seen) for i, raw in enumerate(data)]


def load_doc_meta(path: str | Path) -> dict[str, StoryCard]:
    """``{slug: metadata}`` from a stories.jsonl corpus, for the filter-violation check."""
    out: dict[str, StoryCard] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out[row["slug"]] = StoryCard.from_row(
                    {
                        "story_id": row["slug"],
                        "title": row.get("title") or "",
                        **{k: row[k] for k in _META_KEYS if k in row},
                    }
                )
    return out


@dataclass(slots=True)
class QueryResult:
    id: str
    kind: str
    ranked: list[str]
    latency_ms: float
    flagged: bool  # the engine said "no strong match"
    scores: dict[str, float | None]  # METRICS -> value (None when undefined, e.g. no_answer)
    violations: list[str] | None = None  # hits failing the query's filters; None when not checked
    unknown: int = 0  # hits of a filtered query with no metadata to check against
    filtered: bool = False  # the query had filters


def _hit_id(hit: Any) -> str:
    return str(getattr(hit, "source_record_id", None) or getattr(hit, "story_id", ""))


def run_eval(
    queries: Sequence[EvalQuery],
    search: SearchFn,
    *,
    k: int = 50,
    doc_meta: Mapping[str, StoryCard] | None = None,
) -> EvalReport:
    """Run every query through ``search(query, filters, k)`` in this process, timing each call.
    With ``doc_meta``, also count hits that break the query's filters (should be 0)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    results: list[QueryResult] = []
    for q in queries:
        start = time.perf_counter()
        try:
            res = search(q.query, q.filters, k)
        except Exception as exc:
            exc.add_note(f"while running eval query {q.id}")
            raise
        latency = (time.perf_counter() - start) * 1000
        ranked = [_hit_id(h) for h in list(res.hits)[:k]]
        scores = {
            "ndcg@10": ndcg_at_k(ranked, q.relevant, 10),
            "mrr": mrr(ranked, q.relevant),
            "recall@10": recall_at_k(ranked, q.relevant, 10),
            "recall@50": recall_at_k(ranked, q.relevant, 50),
        }
        flagged = bool(getattr(res, "no_answer", False))  # engines without the flag never abstain
        r = QueryResult(q.id, q.kind, ranked, latency, flagged, scores, filtered=not q.filters.empty)
        if doc_meta is not None:
            r.violations = []
            if not q.filters.empty:
                for slug in ranked:
                    if slug not in doc_meta:
                        r.unknown += 1
                    elif not q.filters.matches(doc_meta[slug]):
                        r.violations.append(slug)
        results.append(r)
    return EvalReport(results, k)


def _fmt(v: float | None, width: int, digits: int = 3) -> str:
    return f"{'-' if v is None else f'{v:.{digits}f}':>{width}}"


@dataclass(slots=True)
class EvalReport:
    """Per-query results plus the aggregates; every mean gives each query equal weight."""

    results: list[QueryResult]
    k: int = 50
    labelled_in_library: float | None = None  # share of labelled relevant ids the library holds

    def _row(self, rs: list[QueryResult]) -> dict[str, Any]:
        return {m: mean(r.scores[m] for r in rs) for m in METRICS} | {"n": len(rs)}

    def rows(self) -> dict[str, dict[str, Any]]:
        """One row per kind present (fixed order), then ``overall`` over answerable queries."""
        kinds = [k for k in KINDS if any(r.kind == k for r in self.results)]
        kinds += sorted({r.kind for r in self.results} - set(kinds))
        out = {kind: self._row([r for r in self.results if r.kind == kind]) for kind in kinds}
        out["overall"] = self._row([r for r in self.results if r.kind != "no_answer"])
        return out

    def no_answer(self) -> dict[str, Any]:
        actual = [r.kind == "no_answer" for r in self.results]
        predicted = [r.flagged for r in self.results]
        p, rec = precision_recall(predicted, actual)
        n_answerable = actual.count(False)
        false_flags = sum(1 for a, f in zip(actual, predicted) if f and not a)
        return {
            "precision": p,
            "recall": rec,
            "n_no_answer": actual.count(True),
            "n_flagged": sum(predicted),
            "n_answerable": n_answerable,
            "false_flags": false_flags,
            "false_flag_rate": false_flags / n_answerable if n_answerable else None,
        }

    def latency(self) -> dict[str, float | None]:
        lat = [r.latency_ms for r in self.results]
        if not lat:
            return {"p50": None, "p95": None, "mean": None, "max": None}
        return {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "mean": mean(lat), "max": max(lat)}

    def violations(self) -> dict[str, Any]:
        checked = [r for r in self.results if r.violations is not None]
        if not checked:
            return {"checked": False, "count": None, "queries_with_filters": None, "unknown_hits": None}
        return {
            "checked": True,
            "count": sum(len(r.violations or []) for r in checked),
            "queries_with_filters": sum(r.filtered for r in checked),
            "unknown_hits": sum(r.unknown for r in checked),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the summary plus per-query scores (ids only, no query text)."""
        return {
            "k": self.k,
            "rows": self.rows(),
            "no_answer": self.no_answer(),
            "latency_ms": self.latency(),
            "violations": self.violations(),
            "queries": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    **r.scores,
                    "latency_ms": round(r.latency_ms, 3),
                    "no_answer_flag": r.flagged,
                    "n_hits": len(r.ranked),
                    "violations": r.violations,
                }
                for r in self.results
            ],
        }

    def to_table(self) -> str:
        return _table(self.to_dict())

    def write_runs(self, path: str | Path) -> None:
        """``{query id: [source record ids in rank order]}`` as JSON (for diffing / trec-style tools)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({r.id: r.ranked for r in self.results}, indent=1) + "\n", encoding="utf-8")


def _table(d: dict[str, Any]) -> str:
    lines = [f"{'kind':<12}{'nDCG@10':>9}{'MRR':>8}{'R@10':>8}{'R@50':>8}{'n':>5}"]
    for kind, row in d["rows"].items():
        cells = "".join(_fmt(row[m], 9 if m == "ndcg@10" else 8) for m in METRICS)
        lines.append(f"{kind:<12}{cells}{row['n']:>5}")
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    na, lat, vio = d["no_answer"], d["latency_ms"], d["violations"]
    lines.append(
        f"no-answer   P={_fmt(na['precision'], 0, 2)} R={_fmt(na['recall'], 0, 2)}"
        f"  flagged {na['n_flagged']}/{len(d['queries'])}; answerable wrongly flagged"
        f" {na['false_flags']}/{na['n_answerable']} ({_fmt(na['false_flag_rate'], 0, 2)})"
    )
    lines.append(f"latency ms  p50={_fmt(lat['p50'], 0, 1)} p95={_fmt(lat['p95'], 0, 1)} max={_fmt(lat['max'], 0, 1)}")
    if vio["checked"]:
        lines.append(
            f"violations  {vio['count']} (over {vio['queries_with_filters']} filtered queries;"
            f" hits without metadata: {vio['unknown_hits']})"
        )
    else:
        lines.append("violations  not checked (no doc metadata)")
    return "\n".join(lines)


def _delta(cur: float | None, base: float | None, width: int, digits: int = 3) -> str:
    if cur is None:
        return f"{'-':>{width}}"
    if base is None:
        return f"{cur:.{digits}f} (new)".rjust(width)
    return f"{cur:.{digits}f} ({cur - base:+.{digits}f})".rjust(width)


def compare(report: EvalReport | dict[str, Any], baseline: dict[str, Any], *, min_change: float = 0.1) -> str:
    """Current values with their deltas against ``baseline`` (an earlier ``to_dict()``), then the
    queries whose nDCG@10 moved by at least ``min_change`` (worst first) and no-answer flag flips."""
    cur = report.to_dict() if isinstance(report, EvalReport) else report
    lines = [f"{'kind':<12}" + "".join(f"{h:>17}" for h in ("nDCG@10", "MRR", "R@10", "R@50")) + f"{'n':>5}"]
    for kind, row in cur["rows"].items():
        base = baseline.get("rows", {}).get(kind, {})
        lines.append(f"{kind:<12}" + "".join(_delta(row[m], base.get(m), 17) for m in METRICS) + f"{row['n']:>5}")
    na, bna = cur["no_answer"], baseline.get("no_answer", {})
    lines.append(
        "no-answer   "
        + "  ".join(
            f"{label}={_delta(na[key], bna.get(key), 0, 2)}"
            for label, key in (("P", "precision"), ("R", "recall"), ("wrongly flagged", "false_flag_rate"))
        )
    )
    lat, blat = cur["latency_ms"], baseline.get("latency_ms", {})
    lines.append("latency ms  " + "  ".join(f"{p}={_delta(lat[p], blat.get(p), 0, 1)}" for p in ("p50", "p95")))
    lines.append(f"violations  {cur['violations']['count']} (baseline {baseline.get('violations', {}).get('count')})")
    before = {q["id"]: q for q in baseline.get("queries", [])}
    moved: list[tuple[float, str]] = []
    flips: list[str] = []
    for q in cur["queries"]:
        b = before.get(q["id"])
        if b is None:
            continue
        if q["ndcg@10"] is not None and b.get("ndcg@10") is not None:
            diff = q["ndcg@10"] - b["ndcg@10"]
            if abs(diff) >= min_change:
                moved.append(
                    (diff, f"  {q['id']:<10}{q['kind']:<12}{b['ndcg@10']:.3f} -> {q['ndcg@10']:.3f} ({diff:+.3f})")
                )
        if q["no_answer_flag"] != b.get("no_answer_flag"):
            flips.append(
                f"  {q['id']:<10}{q['kind']:<12}no-answer flag {b.get('no_answer_flag')} -> {q['no_answer_flag']}"
            )
    if moved:
        lines.append(f"nDCG@10 changes >= {min_change}:")
        lines += [text for _, text in sorted(moved)]
    lines += flips
    return "\n".join(lines)
