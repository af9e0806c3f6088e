"""Reading registered sources for `reffy sync`: one ingest run per source, the registry updated
after it, and the lock that keeps two syncs apart.

Each source gets its own ingest run (its own counts and problems in ``ingest_runs`` /
``ingest_errors``), read through :func:`ingest.pipeline.run_ingest` like `reffy ingest`, so
removal, versioning, duplicates and crash safety are the pipeline's. What the source listed
(:class:`~ingest.registry.ItemState` per origin) is written to the registry only after the run
has committed: a sync killed mid-source re-reads those pages next time (finding them unchanged
in bronze) instead of skipping pages it never stored.

The lock is a file lock (``filelock``) on ``REFFY_HOME/sync.lock``, released by the operating
system when its process dies, so a ``kill -9`` never leaves a library locked; beside it
``sync.lock.json`` says which process holds it, since when and doing what, for the message
the second sync prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from filelock import FileLock, Timeout

from ingest.pipeline import run_ingest
from ingest.registry import ItemState, RegisteredSource, build_source, items_of, record_source_sync, save_items
from reffy.config import Settings
from reffy.errors import SyncRunning
from reffy.models import Gone, IngestSummary, RawRecord, SourceItem, Unchanged, utcnow
from reffy.store.warehouse import open_warehouse

COUNTS = ("seen", "new", "updated", "unchanged", "removed", "errors", "warnings")


@dataclass(slots=True)
class SourceSync:
    """What one sync did to one source."""

    name: str
    kind: str
    run_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    complete: bool = True

    @property
    def changed(self) -> bool:
        return bool(self.counts.get("new") or self.counts.get("updated") or self.counts.get("removed"))


class SyncLock:
    """``with SyncLock(settings, "sync docs"):`` or SyncRunning naming the holder."""

    def __init__(self, settings: Settings, what: str) -> None:
        home = settings.ensure_home()
        self.path = home / "sync.lock"
        self.info = home / "sync.lock.json"
        self.what = what
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> SyncLock:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise SyncRunning(self._busy()) from None
        self.info.write_text(
            json.dumps({"pid": os.getpid(), "since": utcnow().isoformat(timespec="seconds"), "what": self.what}),
            encoding="utf-8",
        )
        return self

    def check(self) -> None:
        """SyncRunning now if the lock is held (before starting a background job that needs it)."""
        with self:
            pass

    def __exit__(self, *exc: object) -> None:
        try:
            self.info.unlink(missing_ok=True)
        finally:
            self._lock.release()

    def _busy(self) -> str:
        try:
            held = json.loads(self.info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            held = {}
        who = f"process {held['pid']}" if held.get("pid") else "another process"
        since = f", started {held['since'].replace('T', ' ')[:19]} UTC" if held.get("since") else ""
        doing = f" ({held['what']})" if held.get("what") else ""
        return (
            f"A sync is already running: {who}{since}{doing}. Wait for it to finish (or stop that process) and "
            f"run this again; two syncs at once would fight over the same sources. The lock is {self.path}."
        )


class _Collector:
    """Origins a source yielded (records and unchanged ones), for sources that keep no state."""

    def __init__(self, outer: Callable[[Any, Any], None] | None) -> None:
        self.origins: set[str] = set()
        self.gone: set[str] = set()
        self.outer = outer

    def __call__(self, source: Any, item: Any) -> None:
        if isinstance(item, RawRecord | Unchanged):
            self.origins.add(item.origin)
        elif isinstance(item, Gone):
            self.gone.add(item.origin)
        if self.outer is not None:
            self.outer(source, item)


def read_source(
    settings: Settings,
    registered: RegisteredSource,
    *,
    progress: Callable[[Any, Any], None] | None = None,
    clients: Mapping[str, Any] | None = None,
) -> SourceSync:
    """One ingest run over a registered source, then its registry rows."""
    with open_warehouse(settings.db_path) as con:
        known = items_of(con, registered.name)
    source = build_source(registered, known, settings, **dict(clients or {}))
    collector = _Collector(progress)
    meta = dict(registered.options.get("meta") or {})
    summary = run_ingest(
        settings, [source], labels=[f"source:{registered.name}"], progress=collector, extra_meta=meta or None
    )
    state: dict[str, ItemState] | None = getattr(source, "state", None)
    if state is not None:
        complete = bool(getattr(source, "complete", False))
        states = state
    else:  # folder, page, feed, video or playlist: remember what it yielded
        complete = summary.status == "completed" and source.scope is not None
        states = {o: ItemState(o, ok=True) for o in collector.origins}
        if not complete:  # keep what was known, drop what answered that it is gone
            states = {**{o: s for o, s in known.items() if o not in collector.gone}, **states}
    counts = {k: getattr(summary, k) for k in COUNTS}
    with open_warehouse(settings.db_path) as con:
        save_items(con, registered.name, states, replace=complete or state is None)
        counts["records"] = _records(con, registered, states)
        record_source_sync(con, registered.name, status=summary.status, run_id=summary.run_id, counts=counts)
    return SourceSync(registered.name, registered.kind, summary.run_id, summary.status, counts, complete)


def _records(con: Any, registered: RegisteredSource, states: Mapping[str, ItemState]) -> int:
    from ingest.registry import owned_origins, present_records

    return present_records(con, owned_origins(con, registered) if registered.kind == "folder" else states)


class GoneSource:
    """Every origin given, reported gone: how removing a registered source removes its stories
    through the pipeline (marked removed, duplicates regrouped, the run recorded)."""

    scope: str | None = None

    def __init__(self, name: str, origins: Sequence[str]) -> None:
        self.name = name
        self.origins = list(origins)

    def read(self, ctx: Any) -> Iterator[SourceItem]:
        for origin in self.origins:
            yield Gone(origin, f"the source {self.name} was removed from the registry")


def remove_stories(settings: Settings, name: str, origins: Sequence[str]) -> IngestSummary:
    return run_ingest(settings, [GoneSource(name, origins)], labels=[f"remove source:{name}"])


__all__ = ["GoneSource", "SourceSync", "SyncLock", "read_source", "remove_stories"]
