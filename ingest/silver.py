"""Scoring bronze stories into silver: what needs work, running a scorer, recording it.

The silver tables are the cache. A story version needs scoring for each rubric criterion
whose (criterion id, criterion hash) has no row for the active (scorer, prompt version),
and needs metadata when it has none for that pair. So a rerun costs nothing, a killed run
resumes where it stopped (each story is committed as it finishes), and a new rubric
version rescores only the criteria it changed. Failures are recorded in
``scoring_calls`` and retried by the next run; they never become silent zeros.

A scorer whose stories take milliseconds (the offline one, ``batch_commits``) has them
committed in batches instead, at most :data:`FLUSH_STORIES` per transaction and none
waiting longer than :data:`FLUSH_SECONDS`: one DuckDB transaction per story costs more
than scoring it. LLM calls run in a thread pool (they wait on the network); a CPU-bound
scorer that offers worker processes (``workers`` > 1 and ``worker_setup``, as the offline
scorer does) runs in a process pool instead, because Python threads do not run
pure-Python work in parallel.

Size: the scoring run (jobs, budget, threads or worker processes, the resumable recorder); the
scorers themselves live in ingest/scoring/.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.scoring.base import Scorer, ScoringFailure
from reffy.config import Settings
from reffy.models import ScoreResult, StoryInput, utcnow
from reffy.rubric import Criterion, Rubric
from reffy.store.warehouse import open_warehouse

FLUSH_STORIES = 64  # stories per transaction, for scorers with ``batch_commits``
FLUSH_SECONDS = 1.0  # and none waits longer than this for its commit
POOL_CHUNK = 4  # stories sent to a worker process at a time
POOL_MIN_STORIES = 100  # one worker process per this many stories at most: starting the pool costs
# about 1.5 s, which a few hundred stories at ~16 ms each win back on two idle cores


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


def pending_jobs(
    con, rubric: Rubric, scorer_key: str, prompt_version: str, public_domains: Sequence[str] = ()
) -> tuple[list[Job], int]:
    """Jobs for current stories that lack criteria or metadata - each group's canonical and, where
    the canonical may not be shown publicly, its public twin (see ``ingest.dedup``) - and the
    cached count."""
    from ingest.dedup import public_twins
    from ingest.overrides import overrides_by_record

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
    twins = [t.story_id for t in public_twins(con, overrides_by_record(con), public_domains).values()]
    rows = con.execute(
        "SELECT DISTINCT ON (id) id, title, text, meta, source_type, origin FROM bronze_current"
        " WHERE is_canonical OR list_contains(?::VARCHAR[], id) ORDER BY id",
        [twins],
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
        ).fetchall()[0][0]
        summary = ScoringSummary(run_id, scorer.scorer_key, rubric.version, scorer.prompt_version)
        jobs, summary.cached = pending_jobs(
            con, rubric, scorer.scorer_key, scorer.prompt_version, settings.public_domains
        )
        if limit is not None:
            jobs = jobs[:limit]
        summary.considered = len(jobs) + summary.cached
        try:
            if dry_run:
                _estimate(jobs, scorer, summary)
                summary.status = "dry_run"
            else:
                if jobs:  # batch work a scorer can share (embeddings)
                    scorer.prepare([job.story for job in jobs])
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


def _run(
    con,
    jobs: list[Job],
    scorer: Scorer,
    summary: ScoringSummary,
    max_cost: float | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    # stories that cost money (LLM calls) are committed one by one, as they finish; a scorer
    # whose stories cost milliseconds asks for batches (``batch_commits``)
    batch = FLUSH_STORIES if scorer.batch_commits else 1
    recorder = _Recorder(con, summary, len(jobs), progress, batch)
    try:
        workers = min(_workers(scorer), len(jobs) // POOL_MIN_STORIES)
        if workers > 1:
            try:
                _run_processes(recorder, jobs, scorer, workers)
                return
            except _PoolUnavailable as exc:  # e.g. a __main__ the workers cannot import (a script read from stdin)
                warnings.warn(
                    f"Scoring worker processes could not start ({exc}); scoring in this process instead.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        _run_threads(recorder, jobs, scorer, summary, max_cost)
    finally:
        recorder.flush()  # what finished before an interruption is kept


def _workers(scorer: Scorer) -> int:
    """Worker processes a scorer asks for (1: score in this process)."""
    if not scorer.parallel:
        return 1
    return max(1, scorer.workers)


def _run_threads(
    recorder: _Recorder, jobs: list[Job], scorer: Scorer, summary: ScoringSummary, max_cost: float | None
) -> None:
    queue: Iterator[Job] = iter(jobs)
    in_flight: dict[Future, tuple[Job, float]] = {}
    reserved = 0.0  # estimated cost of calls in flight, so the budget holds under concurrency
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
            finished, _ = wait(in_flight, timeout=recorder.time_left(), return_when=FIRST_COMPLETED)
            for future in finished:
                job, estimate = in_flight.pop(future)
                reserved -= estimate
                recorder.add(job, _outcome(future))
            recorder.flush_if_due()
            if summary.status == "budget_reached" and not in_flight:
                return


def _outcome(future: Future) -> ScoreResult | ScoringFailure:
    """A story's result or its recorded failure; anything else is a bug and stops the run."""
    try:
        return future.result()
    except ScoringFailure as exc:
        return exc


def _run_processes(recorder: _Recorder, jobs: list[Job], scorer: Scorer, workers: int) -> None:
    """Score in worker processes, a few stories per task, a bounded number of tasks in flight
    (memory stays flat however large the library). The scorer's ``worker_setup()`` names the
    worker initializer (which builds the scorer once per process), its arguments and the
    function that scores a list of ``worker_task(...)`` payloads there; scorers do no
    budgeting here (their calls cost nothing)."""
    initializer, initargs, run_tasks = scorer.worker_setup()
    queue: Iterator[Job] = iter(jobs)
    in_flight: dict[Future, list[Job]] = {}
    started = False  # a worker has returned results (until then a broken pool means they never ran)
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads and models
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(initializer, initargs)
    ) as pool:
        try:
            while True:
                while len(in_flight) < 2 * workers:
                    chunk = [job for _, job in zip(range(POOL_CHUNK), queue)]
                    if not chunk:
                        break
                    tasks = [scorer.worker_task(job.story, job.criteria, job.want_metadata) for job in chunk]
                    in_flight[pool.submit(run_tasks, tasks)] = chunk
                if not in_flight:
                    return
                finished, _ = wait(in_flight, timeout=recorder.time_left(), return_when=FIRST_COMPLETED)
                for future in finished:
                    chunk = in_flight.pop(future)
                    try:
                        outcomes = future.result()
                    except BrokenProcessPool as exc:
                        if not started:
                            raise _PoolUnavailable(str(exc)) from exc
                        raise
                    started = True
                    for job, outcome in zip(chunk, outcomes, strict=True):
                        recorder.add(job, outcome)
                recorder.flush_if_due()
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise


class _PoolUnavailable(Exception):
    """The worker processes died before scoring anything."""


def _start_worker(initializer: Callable[..., None], initargs: tuple) -> None:
    """First thing in each worker process: Ctrl-C is left to the parent (which stops the
    pool after the tasks under way), the worker exits when the parent dies (a killed run
    leaves no process behind), then the scorer's own initializer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:

        def exit_with_parent() -> None:
            parent.join()
            os._exit(1)

        threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()
    initializer(*initargs)


class _Recorder:
    """Accounts for each finished story at once (the budget guard reads the totals) and
    commits their silver rows and ``scoring_calls`` rows, ``batch`` stories per transaction
    (a story waits at most FLUSH_SECONDS for its batch)."""

    def __init__(
        self, con, summary: ScoringSummary, total: int, progress: Callable[[int, int], None] | None, batch: int
    ) -> None:
        self.con, self.summary, self.total, self.progress, self.batch = con, summary, total, progress, batch
        self.criteria: list[tuple] = []
        self.metadata: list[tuple] = []
        self.calls: list[tuple] = []
        self.stories = 0  # finished, not yet committed
        self.done = 0  # committed
        self.oldest: float | None = None

    def add(self, job: Job, outcome: ScoreResult | ScoringFailure) -> None:
        summary, now, sid = self.summary, utcnow(), job.story.story_id
        if self.oldest is None:
            self.oldest = time.monotonic()
        self.stories += 1
        if isinstance(outcome, ScoringFailure):
            exc = outcome
            summary.failed += 1
            summary.tokens_in += exc.tokens_in
            summary.tokens_out += exc.tokens_out
            summary.cost_usd += exc.cost_usd
            summary.failures.append(
                {"story_id": sid, "title": job.story.title, "reason": exc.reason, "detail": exc.detail}
            )
            self.calls.append(
                self._call(
                    sid, "failed", exc.reason, exc.detail, 0, 0, exc.tokens_in, exc.tokens_out, exc.cost_usd, 0.0, now
                )
            )
            return
        result = outcome
        wanted = {c.id: c for c in job.criteria}
        rows = [
            (
                sid,
                summary.scorer_key,
                summary.prompt_version,
                cs.criterion_id,
                wanted[cs.criterion_id].hash,
                cs.points,
                cs.max_points,
                cs.claimed_points,
                cs.evidence,
                cs.evidence_found,
                cs.rationale,
                now,
            )
            for cs in result.criteria
            if cs.criterion_id in wanted
        ]
        self.criteria += rows
        if job.want_metadata:
            self.metadata.append(
                (
                    sid,
                    summary.scorer_key,
                    summary.prompt_version,
                    json.dumps(asdict(result.metadata), ensure_ascii=False),
                    now,
                )
            )
        self.calls.append(
            self._call(
                sid,
                "ok",
                None,
                None,
                len(rows),
                result.withdrawn_points,
                result.tokens_in,
                result.tokens_out,
                result.cost_usd,
                result.latency_s,
                now,
            )
        )
        summary.scored += 1
        summary.tokens_in += result.tokens_in
        summary.tokens_out += result.tokens_out
        summary.cost_usd += result.cost_usd

    def _call(
        self,
        sid: str,
        status: str,
        reason: str | None,
        detail: str | None,
        criteria: int,
        withdrawn: int,
        tin: int,
        tout: int,
        cost: float,
        latency: float,
        now,
    ) -> tuple:
        s = self.summary
        return (
            s.run_id,
            sid,
            s.scorer_key,
            s.prompt_version,
            status,
            reason,
            detail,
            criteria,
            withdrawn,
            tin,
            tout,
            cost,
            latency,
            now,
        )

    def time_left(self) -> float | None:
        """Seconds until the oldest uncommitted story must be committed (None: nothing waits)."""
        if self.oldest is None:
            return None
        return max(0.0, FLUSH_SECONDS - (time.monotonic() - self.oldest))

    def flush_if_due(self) -> None:
        if self.stories >= self.batch or (self.oldest is not None and self.time_left() == 0.0):
            self.flush()

    def flush(self) -> None:
        if not self.stories:
            return
        con = self.con
        con.execute("BEGIN")
        try:
            if self.criteria:
                con.execute(_CRITERIA_INSERT, _columns(self.criteria))
            if self.metadata:
                con.execute(_METADATA_INSERT, _columns(self.metadata))
            con.execute(_CALL_INSERT, _columns(self.calls))
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        committed, self.stories, self.oldest = self.stories, 0, None
        self.criteria, self.metadata, self.calls = [], [], []
        for _ in range(committed):
            self.done += 1
            if self.progress:
                self.progress(self.done, self.total)


# Columns of the batched inserts and their SQL types: rows go column-wise through unnest(),
# one statement per batch (executemany costs a round trip per row).
_CRITERIA_COLUMNS = (
    ("story_id", "VARCHAR"),
    ("scorer_key", "VARCHAR"),
    ("prompt_version", "VARCHAR"),
    ("criterion_id", "VARCHAR"),
    ("criterion_hash", "VARCHAR"),
    ("points", "INTEGER"),
    ("max_points", "INTEGER"),
    ("claimed_points", "INTEGER"),
    ("evidence", "VARCHAR"),
    ("evidence_found", "BOOLEAN"),
    ("rationale", "VARCHAR"),
    ("scored_at", "TIMESTAMPTZ"),
)
_METADATA_COLUMNS = (
    ("story_id", "VARCHAR"),
    ("scorer_key", "VARCHAR"),
    ("prompt_version", "VARCHAR"),
    ("metadata", "VARCHAR"),
    ("scored_at", "TIMESTAMPTZ"),
)
_CALL_COLUMNS = (
    ("run_id", "BIGINT"),
    ("story_id", "VARCHAR"),
    ("scorer_key", "VARCHAR"),
    ("prompt_version", "VARCHAR"),
    ("status", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("detail", "VARCHAR"),
    ("criteria_scored", "INTEGER"),
    ("withdrawn_points", "INTEGER"),
    ("tokens_in", "INTEGER"),
    ("tokens_out", "INTEGER"),
    ("cost_usd", "DOUBLE"),
    ("latency_s", "DOUBLE"),
    ("created_at", "TIMESTAMPTZ"),
)


def _insert(verb: str, table: str, columns: tuple[tuple[str, str], ...]) -> str:
    return f"{verb} INTO {table} ({', '.join(n for n, _ in columns)}) SELECT " + ", ".join(
        f"unnest(?::{kind}[])" for _, kind in columns
    )


_CRITERIA_INSERT = _insert("INSERT OR REPLACE", "silver_criteria", _CRITERIA_COLUMNS)
_METADATA_INSERT = _insert("INSERT OR REPLACE", "silver_metadata", _METADATA_COLUMNS)
_CALL_INSERT = _insert("INSERT", "scoring_calls", _CALL_COLUMNS)


def _columns(rows: list[tuple]) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)]


def _finish(con, summary: ScoringSummary, started: float) -> None:
    summary.duration_s = time.perf_counter() - started
    con.execute(
        "UPDATE scoring_runs SET finished_at = ?, status = ?, considered = ?, scored = ?, cached = ?, failed = ?,"
        " tokens_in = ?, tokens_out = ?, cost_usd = ?, duration_s = ? WHERE id = ?",
        [
            utcnow(),
            summary.status,
            summary.considered,
            summary.scored,
            summary.cached,
            summary.failed,
            summary.tokens_in,
            summary.tokens_out,
            summary.cost_usd,
            summary.duration_s,
            summary.run_id,
        ],
    )


def scoring_report(con) -> dict[str, Any]:
    """Cost and outcome totals per scorer, for `reffy status` and the closing of a run."""
    rows = con.execute(
        "SELECT scorer_key, count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'failed'),"
        " sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(withdrawn_points) FROM scoring_calls GROUP BY 1"
    ).fetchall()
    return {
        r[0]: {
            "ok": r[1],
            "failed": r[2],
            "tokens_in": r[3],
            "tokens_out": r[4],
            "cost_usd": r[5],
            "withdrawn_points": r[6],
        }
        for r in rows
    }
