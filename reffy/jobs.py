"""Background pipeline runs: ingest, then score, build gold and index, in a thread the server
process owns, so closing the page, moving to another one or losing the browser changes nothing.

The ``jobs`` table of the history store (:mod:`reffy.history`, schema v2; SQLite in WAL mode, so
any page, a refresh, another browser or another process reads it while the warehouse is busy)
holds each run: who started it, what it reads (``specs``; uploads are files under
``REFFY_HOME/uploads``, so a run can be resumed), its stage and progress, each step's counts
(``result``), the input lines that could not be read (``problems``; they are also recorded as
problems of the ingest run, with everything else that went wrong) and, when it stopped, why.

One run at a time: starting one while another is running is refused (:class:`JobRunning`); the
check and the insert are one write transaction, so two browsers clicking at once cannot both
win. A run whose process is gone (the server was stopped or killed) is found out the next time
anyone looks, marked ``interrupted`` and can be resumed: every step is idempotent (unchanged
sources add nothing, scores are cached), so a resumed run continues rather than repeats.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from reffy.errors import JobRunning, ReffyError
from reffy.history import HistoryStore, _iso
from reffy.models import Problem
from reffy.service.library import RefreshHooks
from reffy.wording import plural

if TYPE_CHECKING:
    from reffy.auth import User
    from reffy.service.library import LibraryOps

log = logging.getLogger(__name__)

FULL = ("ingest", "score", "build", "index")
# Share of the progress bar each step gets in a full run.
SHARES = {"ingest": (0.0, 0.3), "score": (0.3, 0.75), "build": (0.75, 0.8), "index": (0.8, 1.0)}
LIVE = ("running",)
FINISHED = ("completed", "partial", "failed", "interrupted")
PROGRESS_EVERY_S = 0.5  # progress is written at most this often (and at every step change)
HEARTBEAT_S = 10.0  # a running job's row is touched this often, even inside one long item
STALE_AFTER_S = 120.0  # a job of another process not touched for this long is taken as dead
_ACTIVE: set[tuple[str, int]] = set()  # (history file, job id) of each run with a live thread in this process
_ACTIVE_LOCK = threading.RLock()  # held from a run's insert to its registration: never seen as orphaned


@dataclass(slots=True)
class Job:
    """One pipeline run, as stored."""

    id: int
    kind: str
    user: str
    status: str
    stage: str | None
    done: int
    total: int | None
    message: str
    specs: list[str]
    options: dict[str, Any]
    result: dict[str, Any]
    problems: list[dict[str, Any]]
    error: str | None
    run_id: int | None
    pid: int | None
    created_at: str
    started_at: str | None
    updated_at: str
    finished_at: str | None

    @property
    def running(self) -> bool:
        return self.status in LIVE

    @property
    def steps(self) -> tuple[str, ...]:
        return FULL if self.options.get("full", True) else ("ingest",)

    @property
    def fraction(self) -> float:
        """How far the run is, 0-1, for a progress bar."""
        if not self.running:
            return 1.0 if self.status in ("completed", "partial") else self._reached()
        return self._reached()

    def _reached(self) -> float:
        if self.stage not in self.steps:
            return 0.0
        lo, hi = SHARES[self.stage] if self.steps == FULL else (0.0, 1.0)
        part = min(self.done / self.total, 1.0) if self.total else (0.5 if self.done else 0.0)
        return round(lo + (hi - lo) * part, 3)

    def report(self) -> list[str]:
        """One line per finished step, in people's words."""
        lines = []
        if ingest := self.result.get("ingest"):
            problems = ingest["errors"] + ingest["warnings"]
            lines.append(
                f"Read {plural(ingest['seen'], 'story')}: {ingest['new']} new, "
                f"{ingest['updated']} updated, {ingest['unchanged']} unchanged, "
                f"{plural(problems, 'problem')}."
            )
        if score := self.result.get("score"):
            lines.append(
                f"Scored {plural(score['scored'], 'story')}"
                + (f" ({score['cached']} had scores already)" if score["cached"] else "")
                + (f"; {score['failed']} could not be scored" if score["failed"] else "")
                + "."
            )
        if gold := self.result.get("build"):
            lines.append(
                f"Library: {plural(gold['stories'], 'story')} ({gold['public']} public, "
                f"{gold['internal']} internal); {gold['below_threshold']} below {gold['min_score']}/31."
            )
        if sync := self.result.get("sync"):
            for name, counts in (sync.get("sources") or {}).items():
                lines.append(
                    f"{name}: {counts.get('new', 0)} new, {counts.get('updated', 0)} updated, "
                    f"{counts.get('unchanged', 0)} unchanged, {counts.get('removed', 0)} removed, "
                    f"{plural(counts.get('errors', 0) + counts.get('warnings', 0), 'problem')}."
                )
            for name, why in (sync.get("failed") or {}).items():
                lines.append(f"{name}: not read ({why})")
            if not sync.get("downstream"):
                lines.append("Nothing changed: the library was not rebuilt.")
        if removed := self.result.get("remove"):
            lines.append(f"Removed source {removed['name']}: {plural(removed['removed'], 'story')} removed.")
        if index := self.result.get("index"):
            lines.append(
                f"Searchable: {plural(index['stories'], 'story')} ({index['embedded_stories']} newly indexed)."
            )
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fraction": self.fraction, "report": self.report()}


_JSON = {"specs": list, "options": dict, "result": dict, "problems": list}


def _job(row: dict[str, Any]) -> Job:
    for key, kind in _JSON.items():
        row[key] = json.loads(row[key]) if row.get(key) else kind()
    return Job(**row)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobStore:
    """Rows of the ``jobs`` table (a companion of :class:`~reffy.history.HistoryStore`)."""

    def __init__(self, history: HistoryStore) -> None:
        self.history = history

    def _now(self) -> str:
        return _iso(self.history._clock())

    def _mark_interrupted(self, job_id: int, error: str) -> None:
        now = self._now()
        self.history._write(
            lambda db: db.execute(
                "UPDATE jobs SET status = 'interrupted', error = ?, finished_at = ?, updated_at = ? "
                "WHERE id = ? AND status = 'running'",
                [error, now, now, job_id],
            )
        )

    def get(self, job_id: int) -> Job | None:
        self.reconcile()
        rows = self.history._rows("SELECT * FROM jobs WHERE id = ?", [job_id])
        return _job(rows[0]) if rows else None

    def recent(self, limit: int = 5) -> list[Job]:
        self.reconcile()
        return [_job(r) for r in self.history._rows("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", [limit])]

    def running(self) -> Job | None:
        """The run going now, if any."""
        self.reconcile()
        rows = self.history._rows("SELECT * FROM jobs WHERE status IN ('running') ORDER BY id LIMIT 1")
        return _job(rows[0]) if rows else None

    def refuse_if_running(self) -> None:
        if (job := self.running()) is not None:
            raise JobRunning(_busy(job))

    def create(
        self,
        user: str,
        specs: Sequence[str],
        options: dict[str, Any],
        problems: Sequence[Problem],
        kind: str = "pipeline",
    ) -> Job:
        """A new running job, unless one is running already (then :class:`JobRunning`)."""
        self.reconcile()

        def write(db) -> int:
            running = list(db.query("SELECT * FROM jobs WHERE status IN ('running') ORDER BY id LIMIT 1"))
            if running:
                raise JobRunning(_busy(_job(running[0])))
            now = self._now()
            row = {
                "kind": kind,
                "user": user,
                "status": "running",
                "stage": "ingest" if kind == "pipeline" else kind.split()[0],
                "done": 0,
                "message": "Reading sources…",
                "specs": json.dumps(list(specs)),
                "options": json.dumps(options),
                "problems": json.dumps([{"line": p.origin, "reason": p.reason, "detail": p.detail} for p in problems]),
                "pid": os.getpid(),
                "created_at": now,
                "started_at": now,
                "updated_at": now,
            }
            return db.table("jobs").insert(row).last_pk

        job_id = self.history._write(write)
        rows = self.history._rows("SELECT * FROM jobs WHERE id = ?", [job_id])
        return _job(rows[0])

    def update(self, job_id: int, **fields: Any) -> None:
        for key in _JSON:
            if key in fields:
                fields[key] = json.dumps(fields[key])
        fields["updated_at"] = self._now()
        self.history._write(lambda db: db.table("jobs").update(job_id, fields))

    def reconcile(self) -> int:
        """Mark running jobs whose process is gone as interrupted; how many were."""
        rows = self.history._rows("SELECT id, pid, stage, updated_at FROM jobs WHERE status IN ('running')")
        now = self.history._clock()
        dead = []
        for row in rows:
            if row["pid"] == os.getpid():
                with _ACTIVE_LOCK:
                    alive = (str(self.history.path), row["id"]) in _ACTIVE
            else:
                touched = datetime.fromisoformat(row["updated_at"])
                alive = _pid_alive(row["pid"]) and now - touched < timedelta(seconds=STALE_AFTER_S)
            if not alive:
                dead.append(row)
        for row in dead:
            error = (
                f"The server stopped during the {row['stage'] or 'first'} step. Resume the run: "
                "what was already read and scored is kept."
            )
            self._mark_interrupted(row["id"], error)
        return len(dead)


def _busy(job: Job) -> str:
    return (
        f"A pipeline run is already going (started by {job.user} at {(job.started_at or '')[11:16]} UTC, now: "
        f"{job.message.rstrip('.…')}). Wait for it to finish: its progress is on the Ingest page."
    )


@dataclass
class _Progress:
    """Throttled progress writes for one job."""

    store: JobStore
    job_id: int
    last: float = 0.0
    stage: str | None = None

    def __call__(self, stage: str, done: int, total: int | None, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and stage == self.stage and now - self.last < PROGRESS_EVERY_S and done != total:
            return
        self.stage, self.last = stage, now
        self.store.update(self.job_id, stage=stage, done=done, total=total, message=message)


# What each step records in the job's result, and how its progress reads.
_RECORDED = {
    "ingest": ("run_id", "status", "seen", "new", "updated", "unchanged", "removed", "errors", "warnings"),
    "score": ("status", "scored", "cached", "failed"),
    "build": ("stories", "public", "internal", "below_threshold", "min_score"),
    "index": ("stories", "embedded_stories", "stories_removed"),
}
_VERBS = {
    "score": ("Scoring", "stories"),
    "build": ("Building the library", ""),
    "index": ("Indexing for search", "stories"),
}


class _JobHooks(RefreshHooks):
    """A pipeline run's progress and counts, written to its job row as the service's refresh goes."""

    def __init__(self, store: JobStore, job_id: int, progress: _Progress, result: dict[str, Any]) -> None:
        self.store, self.job_id, self.write, self.result = store, job_id, progress, result
        self.total: int | None = None
        self.seen = 0

    def started(self, stage: str, total: int | None) -> None:
        if stage == "ingest":
            self.total = total
            self.write("ingest", 0, total, "Reading sources…", force=True)
        else:
            self.write(stage, 0, None, f"{_VERBS[stage][0]}…", force=True)

    def item(self, source: Any, item: Any) -> None:
        self.seen += 1
        known = f" of {self.total}" if self.total else ""
        self.write("ingest", self.seen, self.total, f"Reading sources: {self.seen}{known} items")

    def progress(self, stage: str, done: int, total: int | None) -> None:
        verb, unit = _VERBS[stage]
        self.write(stage, done, total, f"{verb}: {done} of {total} {unit}".rstrip())

    def finished(self, stage: str, summary: Any) -> None:
        self.result[stage] = {k: getattr(summary, k) for k in _RECORDED[stage]}
        if stage == "ingest":
            self.store.update(self.job_id, run_id=summary.run_id, result=self.result)
        else:
            self.store.update(self.job_id, result=self.result)


class JobRunner:
    """Starts pipeline runs on threads of this process and records them in a :class:`JobStore`
    with its own connection to the history file (a service's ``close()`` cannot cut it)."""

    def __init__(self, service: LibraryOps) -> None:
        self.service = service
        self.store = JobStore(HistoryStore(service.settings.history_path))

    def start(self, user: User, specs: Sequence[str], *, full: bool = True, refused: Sequence[Problem] = ()) -> Job:
        with _ACTIVE_LOCK:
            job = self.store.create(user.name, specs, {"full": full}, refused)
            _ACTIVE.add((str(self.store.history.path), job.id))
        thread = threading.Thread(
            target=self._run,
            args=(user, job.id, list(specs), list(refused), full),
            name=f"reffy-job-{job.id}",
            daemon=True,
        )
        thread.start()
        return job

    def start_task(
        self, user: User, kind: str, specs: Sequence[str], task: Callable[[_Progress], dict[str, Any]]
    ) -> Job:
        """Run ``task(progress)`` as a job of its own ``kind`` (a source sync, a source removal):
        one run at a time with the pipeline's, its returned dict stored as the job's result."""
        with _ACTIVE_LOCK:
            job = self.store.create(user.name, specs, {"full": False}, (), kind=kind)
            _ACTIVE.add((str(self.store.history.path), job.id))
        thread = threading.Thread(target=self._run_task, args=(job.id, task), name=f"reffy-job-{job.id}", daemon=True)
        thread.start()
        return job

    def _run_task(self, job_id: int, task: Callable[[_Progress], dict[str, Any]]) -> None:
        def work(progress: _Progress, result: dict[str, Any]) -> bool:
            result.update(task(progress))
            return (result.get("sync") or {}).get("status") == "partial"

        self._supervise(job_id, work, stopped=lambda _progress: "The run stopped")

    def _run(self, user: User, job_id: int, specs: list[str], refused: list[Problem], full: bool) -> None:
        def work(progress: _Progress, result: dict[str, Any]) -> bool:
            self._steps(user, job_id, specs, refused, full, progress, result)
            return bool(refused) or result["ingest"]["errors"] > 0 or result.get("score", {}).get("failed", 0) > 0

        self._supervise(job_id, work, stopped=lambda progress: f"The {progress.stage or 'ingest'} step stopped")

    def _supervise(
        self,
        job_id: int,
        work: Callable[[_Progress, dict[str, Any]], bool],
        *,
        stopped: Callable[[_Progress], str],
    ) -> None:
        """Run ``work`` (which fills the result and says whether it was partial) under a heartbeat,
        then record how the job ended: done, partial, or failed with the reason."""
        stop = threading.Event()
        threading.Thread(
            target=self._heartbeat, args=(job_id, stop), name=f"reffy-job-{job_id}-beat", daemon=True
        ).start()
        progress = _Progress(self.store, job_id)
        result: dict[str, Any] = {}
        try:
            partial = work(progress, result)
            self.store.update(
                job_id,
                status="partial" if partial else "completed",
                stage="done",
                result=result,
                message="Done",
                finished_at=_iso(self.store.history._clock()),
            )
        except Exception as exc:
            if not isinstance(exc, ReffyError):
                log.exception("job %s failed", job_id)
            detail = str(exc) if isinstance(exc, ReffyError) else f"{type(exc).__name__}: {exc}"
            self.store.update(
                job_id,
                status="failed",
                result=result,
                message="Stopped",
                error=f"{stopped(progress)}: {detail}",
                finished_at=_iso(self.store.history._clock()),
            )
        finally:
            stop.set()
            with _ACTIVE_LOCK:
                _ACTIVE.discard((str(self.store.history.path), job_id))

    def _steps(
        self,
        user: User,
        job_id: int,
        specs: list[str],
        refused: list[Problem],
        full: bool,
        progress: _Progress,
        result: dict[str, Any],
    ) -> None:
        """Run each step in turn (the service's one pipeline), recording its counts as soon as it is done."""
        from ingest.sources import RefusedInput

        self.service.refresh(
            user=user,
            stages=FULL if full else ("ingest",),
            sources=self.service.resolve(specs) if specs else [],
            unestimated=[RefusedInput(refused)] if refused else [],
            hooks=_JobHooks(self.store, job_id, progress, result),
        )

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                self.store.history._write(
                    lambda db: db.execute(
                        "UPDATE jobs SET updated_at = ? WHERE id = ? AND status = 'running'",
                        [_iso(self.store.history._clock()), job_id],
                    )
                )
            except Exception:
                log.debug("job %s heartbeat failed", job_id, exc_info=True)
