"""One ingest run: read every source, write bronze, record problems, regroup duplicates.

The run is a row in ``ingest_runs`` from its first moment (status ``running``), so a
killed run is visible afterwards (the next run marks it ``interrupted``). Records are
committed in batches as they arrive; nothing committed is lost and a rerun skips what
is already there. After each source that was read completely, records under its scope
that it no longer has are marked removed (never deleted).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.bronze import BronzeWriter
from ingest.dedup import regroup
from ingest.sources.base import ReadContext, Source
from reffy.config import Settings
from reffy.models import Gone, IngestSummary, Problem, RawRecord, SourceItem, Unchanged, utcnow
from reffy.store.warehouse import open_warehouse

log = logging.getLogger(__name__)

ProgressFn = Callable[[Source, SourceItem], None]


@dataclass
class _SourceScan:
    """What one source showed us, for the removal sweep."""

    seen_keys: set[str] = field(default_factory=set)
    read_origins: set[str] = field(default_factory=set)  # records yielded: absent keys are removed
    kept_origins: set[str] = field(default_factory=set)  # unchanged or problem: keep all records
    failed_origins: set[str] = field(default_factory=set)  # an error inside: read again next run
    gone_origins: set[str] = field(default_factory=set)


def run_ingest(
    settings: Settings,
    sources: Sequence[Source],
    *,
    labels: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> IngestSummary:
    """Ingest ``sources`` into bronze and return what happened. ``extra_meta`` is source
    metadata the user declares for every record (the record's own fields win)."""
    settings.ensure_home()
    started = time.perf_counter()
    now = utcnow()
    with open_warehouse(settings.db_path) as con:
        con.execute(
            "UPDATE ingest_runs SET status = 'interrupted' WHERE status = 'running'"
        )  # a running row at start belongs to a killed process: one writer at a time
        run_id = con.execute(
            "INSERT INTO ingest_runs (started_at, status, sources) VALUES (?, 'running', ?) RETURNING id",
            [now, json.dumps(list(labels or [s.name for s in sources]))],
        ).fetchone()[0]
        summary = IngestSummary(run_id=run_id, sources=list(labels or [s.name for s in sources]))
        writer = BronzeWriter(con, run_id, now, batch_size=settings.batch_size)
        fingerprints = dict(con.execute("SELECT origin, fingerprint FROM source_origins").fetchall())
        ctx = ReadContext(settings=settings, fingerprints=fingerprints)
        try:
            for source in sources:
                _ingest_source(con, writer, source, ctx, summary, progress, dict(extra_meta or {}))
            writer.flush()
            if summary.new or summary.updated or summary.removed or _groups_stale(con):
                summary.duplicates = regroup(con, settings.near_dup_threshold)
            else:
                summary.duplicates = con.execute("SELECT count(*) FROM duplicate_groups WHERE NOT is_canonical").fetchone()[0]
        except BaseException:
            summary.status = "interrupted"
            try:
                writer.flush()
            finally:
                _finish(con, summary, started)
            raise
        _finish(con, summary, started)
    return summary


def _ingest_source(con, writer: BronzeWriter, source: Source, ctx: ReadContext, summary: IngestSummary,
                   progress: ProgressFn | None, extra_meta: dict[str, Any]) -> None:  # fmt: skip
    scan = _SourceScan()
    origin_in_flight: tuple[str, str | None] | None = None

    def close_origin() -> None:
        # every record of the previous origin is buffered: its fingerprint may be stored
        if origin_in_flight and origin_in_flight[1] and origin_in_flight[0] not in scan.failed_origins:
            writer.remember_fingerprint(*origin_in_flight)

    complete = True
    try:
        for item in source.read(ctx):
            if isinstance(item, RawRecord):
                if extra_meta:
                    item = dataclasses.replace(item, meta={**extra_meta, **item.meta})
                if origin_in_flight is None or origin_in_flight[0] != item.origin:
                    close_origin()
                    origin_in_flight = (item.origin, item.origin_fingerprint)
                summary.seen += 1
                scan.seen_keys.add(item.record_key)
                scan.read_origins.add(item.origin)
                outcome = writer.add(item)
                setattr(summary, outcome, getattr(summary, outcome) + 1)
            elif isinstance(item, Problem):
                _record_problem(con, summary, item)
                if item.severity == "error":  # warnings: the item was still read
                    scan.failed_origins.add(item.origin)
                    writer.forget_fingerprint(item.origin)
                    if item.source_record_id is None:
                        scan.kept_origins.add(item.origin)
                    else:  # a bad entry: keep its earlier version, not the whole origin
                        scan.seen_keys.add(RawRecord(item.origin, "", "", "", "", item.source_record_id).record_key)
            elif isinstance(item, Unchanged):
                summary.unchanged += writer.touch_origin(item.origin)
                scan.kept_origins.add(item.origin)
            elif isinstance(item, Gone):
                scan.gone_origins.add(item.origin)
            if progress:
                progress(source, item)
        close_origin()
    except Exception as exc:  # a connector bug must not lose the rest of the run
        complete = False
        log.exception("source %s failed", source.name)
        _record_problem(con, summary, Problem(source.name, "internal",
                        f"the connector stopped with {type(exc).__name__}: {exc}; please report this"))  # fmt: skip
    writer.flush()
    summary.removed += writer.mark_removed(_removed_keys(writer, source, scan, complete))


def _removed_keys(writer: BronzeWriter, source: Source, scan: _SourceScan, complete: bool) -> list[str]:
    removed = list(writer.keys_of(scan.gone_origins))
    if not complete:
        return removed
    for key, origin in writer.keys_of(scan.read_origins).items():
        if key not in scan.seen_keys:
            removed.append(key)
    if source.scope is not None:
        touched = scan.read_origins | scan.kept_origins
        for key, origin in writer.present_keys().items():
            if origin not in touched and _within(origin, source.scope):
                removed.append(key)
    return removed


def _within(origin: str, scope: str) -> bool:
    """Folders cover the paths below them; a URL scope (feed, playlist) covers only itself."""
    if "://" in scope:
        return origin == scope
    return origin == scope or origin.startswith(scope.rstrip("/") + "/")


def _record_problem(con, summary: IngestSummary, problem: Problem) -> None:
    if problem.severity == "warning":
        summary.warnings += 1
    else:
        summary.errors += 1
    con.execute(
        "INSERT INTO ingest_errors (run_id, created_at, origin, source_record_id, reason, severity, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [summary.run_id, utcnow(), problem.origin, problem.source_record_id, problem.reason,
         problem.severity, problem.detail],
    )  # fmt: skip


def _groups_stale(con) -> bool:
    """True when some current record has no duplicate-group row (e.g. a run killed before grouping)."""
    return bool(
        con.execute(
            "SELECT count(*) FROM bronze_records b LEFT JOIN duplicate_groups g USING (record_key)"
            " WHERE b.superseded_at IS NULL AND b.removed_at IS NULL AND g.record_key IS NULL"
        ).fetchone()[0]
    )


def _finish(con, summary: IngestSummary, started: float) -> None:
    summary.duration_s = time.perf_counter() - started
    con.execute(
        "UPDATE ingest_runs SET finished_at = ?, status = ?, seen = ?, new = ?, updated = ?, unchanged = ?,"
        " removed = ?, errors = ?, warnings = ?, duplicates = ?, duration_s = ? WHERE id = ?",
        [utcnow(), summary.status, summary.seen, summary.new, summary.updated, summary.unchanged,
         summary.removed, summary.errors, summary.warnings, summary.duplicates, summary.duration_s,
         summary.run_id],
    )  # fmt: skip
