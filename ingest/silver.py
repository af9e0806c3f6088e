"""Scoring bronze stories into silver: what needs work, running a scorer, recording it.

The silver tables are the cache. A story version needs scoring for each rubric criterion
whose (criterion id, criterion hash) has no row for the active (scorer, prompt version),
and needs metadata when it has none for that pair. So a rerun costs nothing, a killed run
resumes where it stopped (each story is committed as it finishes), and a new rubric
version rescores only the criteria it changed. Failures are recorded in
``scoring_calls`` and retried by the next run; they never become silent zeros.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from reffy.config import Settings
from reffy.models import ScoreResult, StoryInput, utcnow
from reffy.rubric import Criterion, Rubric
from reffy.store.warehouse import open_warehouse


class Scorer(Protocol):
    scorer_key: str
    prompt_version: str
    concurrency: int

    def score(self, story: StoryInput, criteria: list[Criterion], want_metadata: bool) -> ScoreResult: ...

    def estimate(self, story: StoryInput, criteria: list[Criterion]) -> tuple[int, float | None]: ...


class ScoringFailure(Exception):
    """Raised by a scorer for one story: recorded, counted, retried next run."""

    def __init__(self, reason: str, detail: str, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float = 0.0):
        super().__init__(detail)
        self.reason, self.detail = reason, detail
        self.tokens_in, self.tokens_out, self.cost_usd = tokens_in, tokens_out, cost_usd


@dataclass(slots=True)
class Job:
    story: StoryInput
    criteria: list[Criterion]
    want_metadata: bool


@dataclass(slots=True)
class ScoringSummary:
    run_id: int
    scorer_key: str
    rubric_version: str
    prompt_version: str
    considered: int = 0
    scored: int = 0
    cached: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    estimated_cost_usd: float | None = None
    estimated_tokens_in: int = 0
    pending: int = 0
    status: str = "completed"
    duration_s: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)


def pending_jobs(con, rubric: Rubric, scorer_key: str, prompt_version: str) -> tuple[list[Job], int]:
    """Jobs for canonical current stories that lack criteria or metadata; and the cached count."""
    done = {
        (sid, cid, chash)
        for sid, cid, chash in con.execute(
            "SELECT story_id, criterion_id, criterion_hash FROM silver_criteria"
            " WHERE scorer_key = ? AND prompt_version = ?",
            [scorer_key, prompt_version],
        ).fetchall()
    }
    with_meta = {
        sid
        for (sid,) in con.execute(
            "SELECT story_id FROM silver_metadata WHERE scorer_key = ? AND prompt_version = ?",
            [scorer_key, prompt_version],
        ).fetchall()
    }
    rows = con.execute(
        "SELECT DISTINCT ON (id) id, title, text, meta, source_type, origin FROM bronze_current"
        " WHERE is_canonical ORDER BY id"
    ).fetchall()
    jobs, cached = [], 0
    for sid, title, text, meta, source_type, origin in rows:
        missing = [c for c in rubric.criteria if (sid, c.id, c.hash) not in done]
        want_meta = sid not in with_meta
        if not missing and not want_meta:
            cached += 1
            continue
        story = StoryInput(sid, title, text, json.loads(meta), source_type, origin)
        jobs.append(Job(story, missing, want_meta))
    return jobs, cached


def score_library(
    settings: Settings,
    scorer: Scorer,
    rubric: Rubric,
    *,
    limit: int | None = None,
    dry_run: bool = False,
    max_cost: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScoringSummary:
    settings.ensure_home()
    started = time.perf_counter()
    with open_warehouse(settings.db_path) as con:
        con.execute("UPDATE scoring_runs SET status = 'interrupted' WHERE status = 'running'")
        run_id = con.execute(
            "INSERT INTO scoring_runs (started_at, status, scorer_key, rubric_version, prompt_version, max_cost_usd)"
            " VALUES (?, 'running', ?, ?, ?, ?) RETURNING id",
            [utcnow(), scorer.scorer_key, rubric.version, scorer.prompt_version, max_cost],
        ).fetchone()[0]
        summary = ScoringSummary(run_id, scorer.scorer_key, rubric.version, scorer.prompt_version)
        jobs, summary.cached = pending_jobs(con, rubric, scorer.scorer_key, scorer.prompt_version)
        if limit is not None:
            jobs = jobs[:limit]
        summary.considered = len(jobs) + summary.cached
        try:
            if dry_run:
                _estimate(jobs, scorer, summary)
                summary.status = "dry_run"
            else:
                prepare = getattr(scorer, "prepare", None)
                if prepare is not None and jobs:  # batch work a scorer can share (embeddings)
                    prepare([job.story for job in jobs])
                _run(con, jobs, scorer, summary, max_cost, progress)
        except BaseException:
            summary.status = "interrupted"
            _finish(con, summary, started)
            raise
        _finish(con, summary, started)
    return summary


def _estimate(jobs: list[Job], scorer: Scorer, summary: ScoringSummary) -> None:
    total: float | None = 0.0
    for job in jobs:
        tokens, cost = scorer.estimate(job.story, job.criteria)
        summary.estimated_tokens_in += tokens
        total = None if total is None or cost is None else total + cost
    summary.estimated_cost_usd = total
    summary.pending = len(jobs)


def _run(con, jobs: list[Job], scorer: Scorer, summary: ScoringSummary, max_cost: float | None,
         progress: Callable[[int, int], None] | None) -> None:  # fmt: skip
    queue: Iterator[Job] = iter(jobs)
    in_flight: dict[Future, tuple[Job, float]] = {}
    reserved = 0.0  # estimated cost of calls in flight, so the budget holds under concurrency
    done_count = 0
    with ThreadPoolExecutor(max_workers=max(1, scorer.concurrency)) as pool:
        while True:
            while len(in_flight) < max(1, scorer.concurrency):
                job = next(queue, None)
                if job is None:
                    break
                estimate = 0.0
                if max_cost is not None:
                    estimate = scorer.estimate(job.story, job.criteria)[1] or 0.0
                    if summary.cost_usd + reserved + estimate > max_cost:
                        summary.status = "budget_reached"
                        summary.pending = 1 + sum(1 for _ in queue)
                        break
                reserved += estimate
                in_flight[pool.submit(scorer.score, job.story, job.criteria, job.want_metadata)] = (job, estimate)
            if not in_flight:
                return
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                job, estimate = in_flight.pop(future)
                reserved -= estimate
                _record(con, summary, job, future)
                done_count += 1
                if progress:
                    progress(done_count, len(jobs))
            if summary.status == "budget_reached" and not in_flight:
                return


def _record(con, summary: ScoringSummary, job: Job, future: Future) -> None:
    """Commit one story's outcome: its silver rows, or a failure row."""
    now = utcnow()
    try:
        result: ScoreResult = future.result()
    except ScoringFailure as exc:
        summary.failed += 1
        summary.tokens_in += exc.tokens_in
        summary.tokens_out += exc.tokens_out
        summary.cost_usd += exc.cost_usd
        summary.failures.append({"story_id": job.story.story_id, "title": job.story.title, "reason": exc.reason,
                                 "detail": exc.detail})  # fmt: skip
        _call_row(con, summary, job.story.story_id, "failed", exc.reason, exc.detail, 0, 0,
                  exc.tokens_in, exc.tokens_out, exc.cost_usd, 0.0, now)  # fmt: skip
        return
    wanted = {c.id: c for c in job.criteria}
    rows = [
        (job.story.story_id, summary.scorer_key, summary.prompt_version, cs.criterion_id, wanted[cs.criterion_id].hash,
         cs.points, cs.max_points, cs.claimed_points, cs.evidence, cs.evidence_found, cs.rationale, now)
        for cs in result.criteria
        if cs.criterion_id in wanted
    ]  # fmt: skip
    con.execute("BEGIN")
    try:
        if rows:
            con.executemany("INSERT OR REPLACE INTO silver_criteria VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if job.want_metadata:
            con.execute(
                "INSERT OR REPLACE INTO silver_metadata VALUES (?, ?, ?, ?, ?)",
                [job.story.story_id, summary.scorer_key, summary.prompt_version,
                 json.dumps(asdict(result.metadata), ensure_ascii=False), now],
            )  # fmt: skip
        _call_row(con, summary, job.story.story_id, "ok", None, None, len(rows), result.withdrawn_points,
                  result.tokens_in, result.tokens_out, result.cost_usd, result.latency_s, now)  # fmt: skip
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    summary.scored += 1
    summary.tokens_in += result.tokens_in
    summary.tokens_out += result.tokens_out
    summary.cost_usd += result.cost_usd


def _call_row(con, summary: ScoringSummary, story_id: str, status: str, reason: str | None, detail: str | None,
              criteria: int, withdrawn: int, tin: int, tout: int, cost: float, latency: float, now) -> None:  # fmt: skip
    con.execute(
        "INSERT INTO scoring_calls (run_id, story_id, scorer_key, prompt_version, status, reason, detail,"
        " criteria_scored, withdrawn_points, tokens_in, tokens_out, cost_usd, latency_s, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [summary.run_id, story_id, summary.scorer_key, summary.prompt_version, status, reason, detail, criteria,
         withdrawn, tin, tout, cost, latency, now],
    )  # fmt: skip


def _finish(con, summary: ScoringSummary, started: float) -> None:
    summary.duration_s = time.perf_counter() - started
    con.execute(
        "UPDATE scoring_runs SET finished_at = ?, status = ?, considered = ?, scored = ?, cached = ?, failed = ?,"
        " tokens_in = ?, tokens_out = ?, cost_usd = ?, duration_s = ? WHERE id = ?",
        [utcnow(), summary.status, summary.considered, summary.scored, summary.cached, summary.failed,
         summary.tokens_in, summary.tokens_out, summary.cost_usd, summary.duration_s, summary.run_id],
    )  # fmt: skip


def scoring_report(con) -> dict[str, Any]:
    """Cost and outcome totals per scorer, for `reffy status` and the closing of a run."""
    rows = con.execute(
        "SELECT scorer_key, count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'failed'),"
        " sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(withdrawn_points) FROM scoring_calls GROUP BY 1"
    ).fetchall()
    return {r[0]: {"ok": r[1], "failed": r[2], "tokens_in": r[3], "tokens_out": r[4], "cost_usd": r[5],
                   "withdrawn_points": r[6]} for r in rows}  # fmt: skip
