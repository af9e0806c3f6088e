"""Registered sources and `reffy sync`: the service side (permissions, orchestration).

Admins add, remove and sync sources (the ``ingest`` permission); analysts and admins see them
(``analytics``, as Library status). A sync reads each chosen source through
:func:`ingest.sync.read_source` (one ingest run each) and then, once, scores, builds gold and
indexes, but only when something changed or a previous sync stopped before finishing those
steps (the ``downstream_pending`` flag, set before anything is read): a no-op sync of an
unchanged library reads what it must and stops there.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reffy.auth import LOCAL_USER, User
from reffy.errors import ConfigError, PermissionDenied, ReffyError, SyncRunning
from reffy.models import utcnow
from reffy.service.library import LibraryOps, RefreshHooks

if TYPE_CHECKING:
    from reffy.jobs import Job

Report = Callable[[str], None]
PENDING = "downstream_pending"
_STEP_KEYS = {
    "score": ("status", "scored", "cached", "failed"),
    "build": ("stories", "public", "internal", "below_threshold", "min_score"),
    "index": ("stories", "embedded_stories", "stories_removed"),
}


@dataclass(slots=True)
class SyncReport:
    """What one `reffy sync` did: per source, then score/build/index (None: nothing to do)."""

    run_id: int
    sources: list[Any] = field(default_factory=list)  # ingest.sync.SourceSync
    failed: dict[str, str] = field(default_factory=dict)  # source name -> why it could not be read
    downstream: dict[str, dict[str, Any]] | None = None
    status: str = "completed"
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "sources": {
                s.name: {"kind": s.kind, "run_id": s.run_id, "status": s.status, **s.counts} for s in self.sources
            },
            "failed": self.failed,
            "downstream": self.downstream,
        }


class SourceOps(LibraryOps):
    """The source registry and sync; a sync's score, build and index are the library's own stages."""

    # -- the registry --------------------------------------------------------------------------
    def _default_every_s(self) -> int:
        from ingest.registry import parse_every

        return parse_every(self.settings.sync_default_every)

    def add_source(
        self,
        user: User,
        spec: str,
        *,
        name: str | None = None,
        kind: str = "auto",
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        meta: Mapping[str, Any] | None = None,
        every: str | None = None,
        match: str | None = None,
        max_pages: int | None = None,
        max_depth: int | None = None,
    ) -> dict[str, Any]:
        """Register a source (admins). Nothing is read until the next sync."""
        from ingest import registry
        from ingest.sources.channel import compile_match
        from reffy.store.warehouse import open_warehouse

        user.require("ingest")
        found_kind, canonical = registry.classify(spec, kind)
        if found_kind == "folder" and user != LOCAL_USER:
            raise PermissionDenied(
                f"{user.name} cannot register a folder of the server: folders are added from the server's "
                "command line (`reffy sources add PATH`). Through the app or the API give a web address "
                "(a page, feed, sitemap or YouTube link), or upload files on the Ingest page."
            )
        if match is not None and found_kind != "channel":
            raise ConfigError(
                "--match filters a YouTube channel's videos by title or description; this is not a channel."
            )
        compile_match(match)
        if (max_pages is not None or max_depth is not None) and found_kind != "crawl":
            raise ConfigError("--max-pages and --max-depth bound a crawl: add the start page with --kind crawl.")
        if (max_pages is not None and max_pages < 1) or (max_depth is not None and max_depth < 0):
            raise ConfigError("--max-pages must be at least 1 and --max-depth at least 0.")
        every_s = registry.parse_every(every) if every else None
        options: dict[str, Any] = {
            k: v
            for k, v in {
                "include": list(include),
                "exclude": list(exclude),
                "meta": dict(meta or {}),
                "match": match,
                "max_pages": max_pages,
                "max_depth": max_depth,
            }.items()
            if v not in (None, [], {})
        }
        with open_warehouse(self.settings.db_path) as con:
            taken = [s.name for s in registry.list_sources(con)]
            chosen = registry.check_name(name) if name else registry.default_name(found_kind, canonical, taken)
            row = registry.add_source(
                con, name=chosen, kind=found_kind, spec=canonical, options=options, every_s=every_s, added_by=user.name
            )
        return row.as_dict(self._default_every_s())

    def sources(self, user: User) -> list[dict[str, Any]]:
        """Every registered source with its last sync, next due time, records and problems."""
        from ingest.registry import list_sources
        from reffy.store.warehouse import open_warehouse

        user.require("analytics")
        if not self.settings.db_path.exists():
            return []
        with open_warehouse(self.settings.db_path) as con:
            rows = list_sources(con)
        default = self._default_every_s()
        return [r.as_dict(default) for r in rows]

    def sync_runs(self, user: User, *, limit: int = 5) -> list[dict[str, Any]]:
        from ingest.registry import recent_sync_runs
        from reffy.store.warehouse import open_warehouse

        user.require("analytics")
        if not self.settings.db_path.exists():
            return []
        with open_warehouse(self.settings.db_path) as con:
            return recent_sync_runs(con, limit)

    def remove_source(
        self, user: User, name: str, *, keep_stories: bool = False, report: Report | None = None
    ) -> dict[str, Any]:
        """Unregister a source; unless ``keep_stories``, its stories are marked removed and gold
        and the search index are brought in line at once."""
        from ingest import registry
        from ingest.sync import SyncLock, remove_stories
        from reffy.store.warehouse import open_warehouse

        user.require("ingest")
        say = report or (lambda _line: None)
        with SyncLock(self.settings, f"removing source {name}"):
            with open_warehouse(self.settings.db_path) as con:
                source = registry.get_source(con, name)
                origins = [] if keep_stories else registry.owned_origins(con, source)
                if origins:
                    registry.set_state(con, PENDING, "true")
            out: dict[str, Any] = {"name": name, "kind": source.kind, "removed": 0, "kept": keep_stories}
            if origins:
                summary = remove_stories(self.settings, name, origins)
                out["removed"] = summary.removed
                if summary.removed:
                    say(f"Marked {summary.removed} stories of {name} removed; rebuilding the library and its index.")
                    out["downstream"] = self._downstream(say, user=user)
            with open_warehouse(self.settings.db_path) as con:
                registry.delete_source(con, name)
                if origins:
                    registry.set_state(con, PENDING, "false")
        return out

    # -- sync ----------------------------------------------------------------------------------
    def sync(
        self,
        user: User,
        names: Sequence[str] = (),
        *,
        due: bool = False,
        report: Report | None = None,
        progress: Callable[[Any, Any], None] | None = None,
        clients: Mapping[str, Any] | None = None,
    ) -> SyncReport:
        """Re-read the named sources (all, or with ``due`` only those whose schedule says so), then
        score, build and index what changed. SyncRunning when another sync holds the lock."""
        from ingest import registry
        from ingest.sync import SourceSync, SyncLock, read_source
        from reffy.store.warehouse import open_warehouse

        user.require("ingest")
        say = report or (lambda _line: None)
        started = time.perf_counter()
        with SyncLock(self.settings, "sync " + (", ".join(names) if names else "due sources" if due else "all")):
            with open_warehouse(self.settings.db_path) as con:
                chosen = self._chosen(registry.list_sources(con), names, due)
                was_pending = registry.get_state(con, PENDING) == "true"
                if not chosen and not was_pending:  # `--due` from cron with nothing due: no run to record
                    say("No source is due.")
                    return SyncReport(0, duration_s=time.perf_counter() - started)
                run_id = registry.start_sync_run(con, [s.name for s in chosen], os.getpid())
                if chosen:
                    registry.set_state(con, PENDING, "true")
            result = SyncReport(run_id)
            counts: dict[str, Any] = {}
            try:
                for source in chosen:
                    say(f"Syncing {source.name} ({source.kind}: {source.spec})…")
                    try:
                        done: SourceSync = read_source(self.settings, source, progress=progress, clients=clients)
                    except ReffyError as exc:
                        result.failed[source.name] = str(exc)
                        counts[source.name] = {"error": str(exc)}
                        say(f"  {source.name}: {exc}")
                        continue
                    result.sources.append(done)
                    counts[source.name] = {"run_id": done.run_id, "status": done.status, **done.counts}
                    say("  " + source_line(done))
                    with open_warehouse(self.settings.db_path) as con:
                        registry.update_sync_run(con, run_id, sources=counts)
                changed = any(s.changed for s in result.sources)
                if changed or was_pending:
                    if not changed:
                        say("Finishing what the last sync left undone: score, build, index.")
                    result.downstream = self._downstream(say, user=user)
                elif chosen:
                    say("Nothing changed: score, build and index skipped.")
            except BaseException:
                with open_warehouse(self.settings.db_path) as con:
                    registry.update_sync_run(
                        con, run_id, sources=counts, status="interrupted", duration_s=time.perf_counter() - started
                    )
                raise
            problems = any(s.status != "completed" for s in result.sources) or result.failed
            result.status = "partial" if problems else "completed"
            result.duration_s = time.perf_counter() - started
            with open_warehouse(self.settings.db_path) as con:
                if chosen or was_pending:
                    registry.set_state(con, PENDING, "false")
                registry.update_sync_run(
                    con,
                    run_id,
                    sources=counts,
                    status=result.status,
                    downstream=result.downstream,
                    duration_s=result.duration_s,
                )
        return result

    def _chosen(self, registered: Sequence[Any], names: Sequence[str], due: bool) -> list[Any]:
        from reffy.errors import NotFound

        if names:
            by_name = {s.name: s for s in registered}
            unknown = [n for n in names if n not in by_name]
            if unknown:
                known = ", ".join(by_name) or "none yet (`reffy sources add SPEC`)"
                raise NotFound(f"No source named {', '.join(map(repr, unknown))}; registered: {known}.")
            return [by_name[n] for n in dict.fromkeys(names)]
        if not registered:
            raise ConfigError("No source is registered: add one with `reffy sources add PATH-OR-URL`, then sync.")
        if not due:
            return list(registered)
        now, default = utcnow(), self._default_every_s()
        return [s for s in registered if s.next_due(default) <= now]

    def _downstream(self, say: Report, *, user: User, score: bool = True) -> dict[str, dict[str, Any]]:
        """Score (unless told not to), build gold and index: the pipeline's own stages, each
        reported as a line as it ends."""
        out: dict[str, dict[str, Any]] = {}

        class Lines(RefreshHooks):
            def finished(self, stage: str, summary: Any) -> None:
                out[stage] = {k: getattr(summary, k, None) for k in _STEP_KEYS[stage]}
                say("  " + step_line(stage, out[stage]))

        stages = ("score", "build", "index") if score else ("build", "index")
        self._run_stages(user=user, stages=stages, hooks=Lines())
        return out

    def next_due_in(self, user: User) -> float | None:
        """Seconds until the next source is due (0 when one is due now); None with no source."""
        rows = self.sources(user)
        if not rows:
            return None
        from datetime import datetime

        now = utcnow()
        return max(0.0, min((datetime.fromisoformat(r["next_due_at"]) - now).total_seconds() for r in rows))

    def watch(self, user: User, *, stop: threading.Event, report: Report, max_sleep_s: float = 60.0) -> None:
        """Sync what is due, sleep until the next source is due, again, until ``stop`` is set. A
        sync refused because another one runs (a cron job, the app) is reported and retried later."""
        user.require("ingest")
        while not stop.is_set():
            wait = self.next_due_in(user)
            if wait == 0:
                try:
                    done = self.sync(user, due=True, report=report)
                    report(sync_line(done))
                except SyncRunning as exc:
                    report(str(exc))
                except ReffyError as exc:
                    report(f"The sync stopped: {exc}")
                wait = self.next_due_in(user)
            if wait is None:
                report("No source is registered yet; checking again in a minute.")
            stop.wait(max(1.0, min(wait if wait is not None else max_sleep_s, max_sleep_s)))

    def start_sync(self, user: User, names: Sequence[str] = ()) -> Job:
        """Run :meth:`sync` as a background job of this process (the app's Ingest page)."""
        from ingest.registry import list_sources
        from ingest.sync import SyncLock
        from reffy.store.warehouse import open_warehouse

        user.require("ingest")
        with open_warehouse(self.settings.db_path) as con:
            self._chosen(list_sources(con), names, False)  # an unknown name is refused now, not in the job
        self.job_runner.store.refuse_if_running()
        SyncLock(self.settings, "a check").check()  # a sync in a terminal or cron: refused now too

        def task(progress: Callable[[str, int, int | None, str], None]) -> dict[str, Any]:
            def on_line(line: str) -> None:
                progress("sync", 0, None, line.strip()[:200])

            return {"sync": self.sync(user, names, report=on_line).as_dict()}

        return self.job_runner.start_task(user, "sync", list(names) or ["all sources"], task)

    def start_remove_source(self, user: User, name: str, *, keep_stories: bool = False) -> Job:
        """Run :meth:`remove_source` as a background job (the app)."""
        from ingest.registry import get_source
        from ingest.sync import SyncLock
        from reffy.store.warehouse import open_warehouse

        user.require("ingest")
        with open_warehouse(self.settings.db_path) as con:
            get_source(con, name)  # NotFound now, not in the job
        self.job_runner.store.refuse_if_running()
        SyncLock(self.settings, "a check").check()

        def task(progress: Callable[[str, int, int | None, str], None]) -> dict[str, Any]:
            def on_line(line: str) -> None:
                progress("sync", 0, None, line.strip()[:200])

            return {"remove": self.remove_source(user, name, keep_stories=keep_stories, report=on_line)}

        return self.job_runner.start_task(user, "remove source", [name], task)


# -- people's words for the CLI, the app and the job page -------------------------------------------
def source_line(done: Any) -> str:
    c = done.counts
    return (
        f"{done.name}: {c.get('new', 0)} new, {c.get('updated', 0)} updated, {c.get('unchanged', 0)} unchanged, "
        f"{c.get('removed', 0)} removed, {c.get('errors', 0)} errors, {c.get('warnings', 0)} warnings "
        f"({done.status}, ingest run {done.run_id})"
    )


def step_line(name: str, values: Mapping[str, Any]) -> str:
    v = {k: values.get(k) or 0 for k in ("scored", "cached", "failed", "stories", "public", "embedded_stories")}
    if name == "score":
        return f"score: {v['scored']} scored, {v['cached']} cached, {v['failed']} failed"
    if name == "build":
        return f"build: {v['stories']} gold stories ({v['public']} public)"
    removed = values.get("stories_removed") or 0
    return f"index: {v['stories']} stories, {v['embedded_stories']} embedded, {removed} removed"


def sync_line(done: SyncReport) -> str:
    if not done.run_id:
        return "Nothing to sync: no source is due"
    n = len(done.sources) + len(done.failed)
    return f"Sync {done.run_id} {done.status} in {done.duration_s:.1f}s: {n} source(s)" + (
        "" if done.downstream else ", nothing to rebuild"
    )


__all__ = ["SourceOps", "SyncReport", "source_line", "step_line", "sync_line"]
