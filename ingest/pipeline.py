"""One ingest run: read every source, write bronze, record problems, regroup duplicates.

The run is a row in ``ingest_runs`` from its first moment (status ``running``), so a
killed run is visible afterwards (the next run marks it ``interrupted``). Records are
committed in batches as they arrive; nothing committed is lost and a rerun skips what
is already there. After each source that was read completely, records under its scope
that it no longer has are marked removed (never deleted).

Every item is handled in its own error boundary: a record that cannot be stored becomes
a problem of its own and the next item is read. Before a record is buffered its strings
are made storable (:func:`~reffy.models.readable`) and its metadata is capped at
``max_meta_kb``. A run that recorded any error ends ``partial`` (``failed`` when nothing
at all could be read); ``completed`` means every item was read (warnings allowed).
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
from reffy.models import Gone, IngestSummary, Problem, RawRecord, SourceItem, Unchanged, readable, utcnow
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
        ).fetchall()[0][0]
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
                summary.duplicates = con.execute(
                    "SELECT count(*) FROM duplicate_groups WHERE NOT is_canonical"
                ).fetchall()[0][0]
            summary.status = final_status(summary)
        except BaseException:
            summary.status = "interrupted"
            try:
                writer.flush()
            finally:
                _finish(con, summary, started)
            raise
        _finish(con, summary, started)
    return summary


def _ingest_source(
    con,
    writer: BronzeWriter,
    source: Source,
    ctx: ReadContext,
    summary: IngestSummary,
    progress: ProgressFn | None,
    extra_meta: dict[str, Any],
) -> None:
    scan = _SourceScan()
    origin_in_flight: tuple[str, str | None] | None = None

    def close_origin() -> None:
        # every record of the previous origin is buffered: its fingerprint may be stored
        if origin_in_flight and origin_in_flight[1] and origin_in_flight[0] not in scan.failed_origins:
            writer.remember_fingerprint(origin_in_flight[0], origin_in_flight[1])

    complete = True
    meta_limit = int(ctx.settings.max_meta_kb * 1024)
    max_chars = ctx.settings.max_story_chars
    try:
        for item in source.read(ctx):
            try:  # this item's own boundary: a record that cannot be stored is a problem of its own
                item = _storable(item)
                dropped = None
                if isinstance(item, RawRecord):
                    if len(item.text) > max_chars:
                        item = _too_long(item, max_chars)
                    else:
                        item, dropped = _prepare(item, extra_meta, meta_limit)
            except Exception as exc:
                log.exception("an item of %s could not be stored", source.name)
                _failed_item(con, writer, scan, summary, _unstorable(item, source, exc))
                continue
            if isinstance(item, RawRecord):
                if dropped is not None:
                    _record_problem(con, summary, dropped)
                if origin_in_flight is None or origin_in_flight[0] != item.origin:
                    close_origin()
                    origin_in_flight = (item.origin, item.origin_fingerprint)
                summary.seen += 1
                scan.seen_keys.add(item.record_key)
                scan.read_origins.add(item.origin)
                outcome = writer.add(item)  # a write failure is not the item's fault: not caught here
                setattr(summary, outcome, getattr(summary, outcome) + 1)
            elif isinstance(item, Problem):
                _failed_item(con, writer, scan, summary, item)
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
        _record_problem(
            con,
            summary,
            Problem(
                readable(source.name),
                "internal",
                f"the connector stopped with {type(exc).__name__}: {exc}; please report this",
            ),
        )
    writer.flush()
    summary.removed += writer.mark_removed(_removed_keys(writer, source, scan, complete))


def _failed_item(con, writer: BronzeWriter, scan: _SourceScan, summary: IngestSummary, item: Problem) -> None:
    _record_problem(con, summary, item)
    if item.severity == "error":  # warnings: the item was still read
        scan.failed_origins.add(item.origin)
        writer.forget_fingerprint(item.origin)
        if item.source_record_id is None:
            scan.kept_origins.add(item.origin)
        else:  # a bad entry: keep its earlier version, not the whole origin
            scan.seen_keys.add(RawRecord(item.origin, "", "", "", "", item.source_record_id).record_key)


def _unstorable(item: Any, source: Source, exc: Exception) -> Problem:
    origin = readable(str(getattr(item, "origin", None) or source.name))
    record_id = getattr(item, "source_record_id", None)
    message = " ".join(str(exc).split())[:200]
    return Problem(
        origin,
        "internal",
        f"this item could not be stored ({type(exc).__name__}: {message}); "
        "the rest of the run went on, please report this",
        "error",
        readable(str(record_id)) if record_id is not None else None,
    )


def _too_long(record: RawRecord, limit: int) -> Problem:
    return Problem(
        record.origin,
        "too_large",
        f"the story text is {len(record.text):,} characters (limit {limit:,}, REFFY_MAX_STORY_CHARS): "
        "refused as a dump or a broken export rather than a story; split it into stories, or raise "
        "the limit if it really is one",
        "error",
        record.source_record_id,
    )


def final_status(summary: IngestSummary) -> str:
    """``completed`` when nothing failed; else ``partial``, or ``failed`` when not one item
    (record or unchanged origin) could be read."""
    if not summary.errors:
        return "completed"
    return "partial" if summary.seen or summary.unchanged else "failed"


def _storable(item: SourceItem) -> SourceItem:
    """The item with every string storable (no lone surrogates, e.g. from a file name that
    is not UTF-8). Cheap when, as almost always, there is nothing to fix."""
    changes = {}
    for name in ("origin", "source_uri", "title", "text", "source_record_id", "reason", "detail"):
        value = getattr(item, name, None)
        if isinstance(value, str) and (clean := readable(value)) is not value:
            changes[name] = clean
    return dataclasses.replace(item, **changes) if changes else item  # type: ignore[arg-type]  # fields named above


def _prepare(record: RawRecord, extra_meta: dict[str, Any], limit: int) -> tuple[RawRecord, Problem | None]:
    """The record ready to buffer: declared metadata merged in, metadata that serialises
    the way the content hash does it (sorted keys) and no larger than ``limit`` bytes.
    Otherwise each field is made plain JSON and readable, and the largest fields are
    dropped until the rest fits, with a warning naming them."""
    meta = {**extra_meta, **record.meta} if extra_meta else record.meta
    try:
        encoded = json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)
    except (RecursionError, ValueError, TypeError):
        encoded = None
    if encoded is not None and readable(encoded) is encoded and len(encoded.encode("utf-8")) <= limit:
        return (record if meta is record.meta else dataclasses.replace(record, meta=meta)), None
    fields: dict[str, Any] = {}
    sizes: dict[str, float] = {}
    for key, value in meta.items():
        name = readable(str(key))
        try:
            part = json.dumps(value, ensure_ascii=False, default=str)
            fields[name] = _clean_json(json.loads(part))  # plain JSON: str keys, readable strings
            sizes[name] = len(part.encode("utf-8", "replace")) + len(name.encode("utf-8")) + 6
        except (RecursionError, ValueError, TypeError):
            sizes[name] = float("inf")
    dropped = [name for name, size in sizes.items() if name not in fields]
    total = sum(sizes[name] for name in fields)
    for name in sorted(fields, key=lambda n: sizes[n], reverse=True):
        if total <= limit:
            break
        total -= sizes[name]
        del fields[name]
        dropped.append(name)
    problem = None
    if dropped:
        size = sum(sizes.values())
        what = "too deeply nested to store" if size == float("inf") else f"{size / 1024:,.0f} KB"
        shown = ", ".join(sorted(dropped)[:8]) + (" ..." if len(dropped) > 8 else "")
        problem = Problem(
            record.origin,
            "meta_too_large",
            f"the source metadata is {what} (limit {limit / 1024:g} KB, REFFY_MAX_META_KB); the story was "
            f"kept without these fields: {shown}",
            "warning",
            record.source_record_id,
        )
    return dataclasses.replace(record, meta=fields), problem


def _clean_json(value: Any) -> Any:
    """A plain JSON value with every string, keys included, :func:`readable`."""
    if isinstance(value, str):
        return readable(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {readable(k): _clean_json(v) for k, v in value.items()}
    return value


def _removed_keys(writer: BronzeWriter, source: Source, scan: _SourceScan, complete: bool) -> list[str]:
    removed = list(writer.keys_of(scan.gone_origins))
    if not complete:
        return removed
    removed.extend(key for key in writer.keys_of(scan.read_origins) if key not in scan.seen_keys)
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
    problem = _storable(problem)  # type: ignore[assignment]
    if problem.severity == "warning":
        summary.warnings += 1
    else:
        summary.errors += 1
    con.execute(
        "INSERT INTO ingest_errors (run_id, created_at, origin, source_record_id, reason, severity, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            summary.run_id,
            utcnow(),
            problem.origin,
            problem.source_record_id,
            problem.reason,
            problem.severity,
            problem.detail,
        ],
    )


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
        [
            utcnow(),
            summary.status,
            summary.seen,
            summary.new,
            summary.updated,
            summary.unchanged,
            summary.removed,
            summary.errors,
            summary.warnings,
            summary.duplicates,
            summary.duration_s,
            summary.run_id,
        ],
    )
