"""The source registry: the library's sources, their schedules and what each listed last time.

Tables (migration ``0007_sources``):

``sources``
    One row per registered source: its kind (``folder``, ``web``, ``youtube``, ``channel``,
    ``sitemap``, ``crawl``), the path or URL, its options (include/exclude globs, declared
    metadata, a title filter, crawl caps), its schedule and the outcome of its last sync.
``source_items``
    Per source and origin (a sitemap's page, a crawled page, a channel's video, a file): the
    sitemap ``lastmod`` and HTTP validator seen when it last read cleanly, a crawled page's links,
    and whether it read cleanly. A sync skips an item whose ``lastmod`` did not move and sends the
    validator as a conditional request otherwise; an item that leaves the listing is marked
    removed. Rows are written only after the source's ingest run has committed its records, so a
    killed sync re-reads what it had not recorded yet instead of skipping it.
``sync_runs`` / ``sync_state``
    One row per sync with per-source counts and what score, build and index did;
    ``downstream_pending`` makes a sync killed between reading and indexing finish the job next
    time.

This module owns the SQL of those tables and turns a registered source into a
:class:`~ingest.sources.base.Source`; ``reffy.service`` decides who may call it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reffy.errors import ConfigError, NotFound, SourceNotFound
from reffy.models import utcnow

if TYPE_CHECKING:
    import duckdb

    from ingest.sources.base import Source
    from reffy.config import Settings

KINDS = ("folder", "web", "youtube", "channel", "sitemap", "crawl")
ASKABLE_KINDS = ("auto", "page", "feed", "sitemap", "crawl")  # what --kind accepts
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def parse_every(text: str) -> int:
    """Seconds in a schedule such as ``30m``, ``6h``, ``1d``, ``1h30m``; ConfigError otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(f"{n}{u}" for n, u in parts) != cleaned:
        raise ConfigError(
            f"Cannot read the schedule {text!r}: give a number and a unit (s, m, h, d, w), e.g. 30m, 6h, 1d or 1h30m."
        )
    seconds = int(sum(float(n) * _UNITS[u] for n, u in parts))
    if seconds < 60:
        raise ConfigError(f"The schedule {text!r} is under a minute: sync a source at most once a minute (e.g. 5m).")
    return seconds


def describe_every(seconds: int | None) -> str:
    if not seconds:
        return "default"
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(slots=True)
class ItemState:
    """What a listing source knew about one origin when it last read it (a ``source_items`` row)."""

    origin: str
    lastmod: str | None = None
    validator: str | None = None
    links: list[str] = field(default_factory=list)
    ok: bool = False


@dataclass(slots=True)
class RegisteredSource:
    """A ``sources`` row."""

    name: str
    kind: str
    spec: str
    options: dict[str, Any]
    every_s: int | None
    added_at: datetime
    added_by: str | None = None
    last_sync_at: datetime | None = None
    last_status: str | None = None
    last_run_id: int | None = None
    last_counts: dict[str, int] = field(default_factory=dict)

    def every(self, default_s: int) -> int:
        return self.every_s or default_s

    def next_due(self, default_s: int) -> datetime:
        """When ``--due`` and ``--watch`` sync it next: now for a source never synced."""
        if self.last_sync_at is None:
            return self.added_at
        return self.last_sync_at + timedelta(seconds=self.every(default_s))

    def as_dict(self, default_s: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "spec": self.spec,
            "options": self.options,
            "every": describe_every(self.every_s) if self.every_s else f"{describe_every(default_s)} (default)",
            "added_at": self.added_at.isoformat(),
            "added_by": self.added_by,
            "last_sync_at": self.last_sync_at.isoformat() if self.last_sync_at else None,
            "next_due_at": self.next_due(default_s).isoformat(),
            "status": self.last_status or "never synced",
            "last_run_id": self.last_run_id,
            "records": self.last_counts.get("records", 0),
            "counts": self.last_counts,
            "problems": self.last_counts.get("errors", 0) + self.last_counts.get("warnings", 0),
        }


# -- what a spec is ------------------------------------------------------------------------
def classify(spec: str, kind: str = "auto") -> tuple[str, str]:
    """(kind, canonical spec) of what a person typed; SourceNotFound/ConfigError saying the fix."""
    from ingest.sources import is_url, is_youtube

    if kind not in ASKABLE_KINDS:
        raise ConfigError(f"Unknown source kind {kind!r}: give one of {', '.join(ASKABLE_KINDS)}.")
    spec = spec.strip()
    if is_youtube(spec):
        from ingest.sources.channel import parse_channel_url
        from ingest.sources.youtube import parse_youtube_url

        try:
            return "channel", parse_channel_url(spec).url
        except ValueError:
            pass
        try:
            return "youtube", parse_youtube_url(spec).url
        except ValueError:
            raise SourceNotFound(
                f"{spec} is not a YouTube video, playlist or channel URL: give watch?v=, playlist?list=, "
                "/@handle, /channel/ID or /c/NAME."
            ) from None
    if is_url(spec):
        if not urlsplit(spec).hostname:
            raise SourceNotFound(f"{spec} has no host: give a full web address.")
        if kind == "crawl":
            return "crawl", spec
        if kind == "sitemap" or (kind == "auto" and _looks_like_sitemap(spec)):
            return "sitemap", spec
        return "web", spec  # a page or a feed: told apart by content when read
    if kind not in ("auto",):
        raise ConfigError(f"--kind {kind} needs a web address, not {spec!r}.")
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceNotFound(
            f"No such file, folder or URL: {spec!r}. Give a path, an http(s) URL, a feed, a sitemap or a YouTube link."
        )
    return "folder", str(path.resolve())


def _looks_like_sitemap(url: str) -> bool:
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    return "sitemap" in name and name.endswith((".xml", ".xml.gz", ".txt", ".gz"))


def default_name(kind: str, spec: str, taken: Iterable[str]) -> str:
    """A readable unique name: the host and last path part for URLs, the folder name for paths."""
    if kind == "folder":
        base = Path(spec).name or "folder"
    else:
        parts = urlsplit(spec)
        host = (parts.hostname or "site").removeprefix("www.")
        tail = [s for s in parts.path.split("/") if s]
        if kind == "channel":
            base = f"youtube-{tail[-1].lstrip('@')}" if tail else "youtube-channel"
        elif kind == "youtube":
            base = "youtube-" + (spec.rsplit("=", 1)[-1])
        elif kind == "sitemap":
            base = host
        else:
            base = f"{host}-{tail[-1]}" if tail else host
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")[:56] or "source"
    taken = set(taken)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"Invalid source name {name!r}: use letters, digits, '.', '_' or '-' (up to 64), starting with a "
            "letter or digit."
        )
    return name


# -- rows ----------------------------------------------------------------------------------
_COLUMNS = "name, kind, spec, options, every_s, added_at, added_by, last_sync_at, last_status, last_run_id, last_counts"


def _row(values: Sequence[Any]) -> RegisteredSource:
    name, kind, spec, options, every_s, added_at, added_by, last_sync_at, last_status, last_run_id, counts = values
    return RegisteredSource(
        name,
        kind,
        spec,
        json.loads(options) if options else {},
        every_s,
        added_at,
        added_by,
        last_sync_at,
        last_status,
        last_run_id,
        json.loads(counts) if counts else {},
    )


def list_sources(con: duckdb.DuckDBPyConnection) -> list[RegisteredSource]:
    return [_row(r) for r in con.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY name").fetchall()]


def get_source(con: duckdb.DuckDBPyConnection, name: str) -> RegisteredSource:
    row = con.execute(f"SELECT {_COLUMNS} FROM sources WHERE name = ?", [name]).fetchone()
    if row is None:
        names = [s.name for s in list_sources(con)]
        known = f"; registered: {', '.join(names)}" if names else "; none is registered yet (`reffy sources add`)"
        raise NotFound(f"No source named {name!r}{known}.")
    return _row(row)


def add_source(
    con: duckdb.DuckDBPyConnection,
    *,
    name: str,
    kind: str,
    spec: str,
    options: Mapping[str, Any],
    every_s: int | None,
    added_by: str | None,
) -> RegisteredSource:
    existing = con.execute("SELECT name FROM sources WHERE name = ? OR (kind = ? AND spec = ?)", [name, kind, spec])
    clash = existing.fetchone()
    if clash is not None:
        raise ConfigError(
            f"A source {clash[0]!r} is already registered"
            + (" under that name" if clash[0] == name else f" for {spec}")
            + ": remove it first (`reffy sources remove NAME`) or choose another --name."
        )
    con.execute(
        "INSERT INTO sources (name, kind, spec, options, every_s, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [name, kind, spec, json.dumps(dict(options), sort_keys=True), every_s, utcnow(), added_by],
    )
    return get_source(con, name)


def delete_source(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute("BEGIN")
    con.execute("DELETE FROM source_items WHERE source = ?", [name])
    con.execute("DELETE FROM sources WHERE name = ?", [name])
    con.execute("COMMIT")


def items_of(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, ItemState]:
    rows = con.execute(
        "SELECT origin, lastmod, validator, links, ok FROM source_items WHERE source = ?", [name]
    ).fetchall()
    return {o: ItemState(o, lm, v, json.loads(links) if links else [], ok) for o, lm, v, links, ok in rows}


def save_items(con: duckdb.DuckDBPyConnection, name: str, states: Mapping[str, ItemState], *, replace: bool) -> None:
    """Record what the source listed. ``replace``: the listing was complete, so items not in it
    are forgotten (they were marked removed by the run); otherwise only the ones read are updated."""
    now = utcnow()
    con.execute("BEGIN")
    try:
        if replace:
            con.execute("DELETE FROM source_items WHERE source = ?", [name])
        if states:
            rows = list(states.values())
            con.execute(
                "INSERT OR REPLACE INTO source_items SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),"
                " unnest(?::VARCHAR[]), unnest(?::VARCHAR[])::JSON, unnest(?::BOOLEAN[]), ?",
                [
                    name,
                    [s.origin for s in rows],
                    [s.lastmod for s in rows],
                    [s.validator for s in rows],
                    [json.dumps(s.links) if s.links else None for s in rows],
                    [s.ok for s in rows],
                    now,
                ],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def record_source_sync(
    con: duckdb.DuckDBPyConnection, name: str, *, status: str, run_id: int, counts: Mapping[str, int]
) -> None:
    con.execute(
        "UPDATE sources SET last_sync_at = ?, last_status = ?, last_run_id = ?, last_counts = ? WHERE name = ?",
        [utcnow(), status, run_id, json.dumps(dict(counts)), name],
    )


def present_records(con: duckdb.DuckDBPyConnection, origins: Iterable[str]) -> int:
    """Current (not removed) bronze records under these origins."""
    origins = list(origins)
    if not origins:
        return 0
    return con.execute(
        "SELECT count(*) FROM bronze_records WHERE superseded_at IS NULL AND removed_at IS NULL"
        " AND origin IN (SELECT unnest(?::VARCHAR[]))",
        [origins],
    ).fetchall()[0][0]


def owned_origins(con: duckdb.DuckDBPyConnection, source: RegisteredSource) -> list[str]:
    """The origins whose stories belong to this source only (what removing it removes): the items
    it listed plus, for a folder, every current record under the folder; minus origins another
    registered source lists too."""
    mine = set(items_of(con, source.name))
    if source.kind == "folder":
        prefix = source.spec.rstrip("/")
        rows = con.execute(
            "SELECT DISTINCT origin FROM bronze_records WHERE superseded_at IS NULL AND removed_at IS NULL"
            " AND (origin = ? OR starts_with(origin, ?))",
            [prefix, prefix + "/"],
        ).fetchall()
        mine.update(r[0] for r in rows)
    elif source.kind in ("web", "youtube"):
        mine.add(source.spec)
    others = {r[0] for r in con.execute("SELECT origin FROM source_items WHERE source <> ?", [source.name]).fetchall()}
    return sorted(mine - others)


# -- sync runs and state -------------------------------------------------------------------
def start_sync_run(con: duckdb.DuckDBPyConnection, names: Sequence[str], pid: int) -> int:
    con.execute("UPDATE sync_runs SET status = 'interrupted' WHERE status = 'running'")
    return con.execute(
        "INSERT INTO sync_runs (started_at, status, sources, pid) VALUES (?, 'running', ?, ?) RETURNING id",
        [utcnow(), json.dumps(dict.fromkeys(names)), pid],
    ).fetchall()[0][0]


def update_sync_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    sources: Mapping[str, Any],
    status: str = "running",
    downstream: Mapping[str, Any] | None = None,
    duration_s: float | None = None,
) -> None:
    con.execute(
        "UPDATE sync_runs SET sources = ?, status = ?, downstream = ?, duration_s = ?,"
        " finished_at = CASE WHEN ? <> 'running' THEN ? END WHERE id = ?",
        [
            json.dumps(dict(sources), default=str),
            status,
            json.dumps(dict(downstream), default=str) if downstream is not None else None,
            duration_s,
            status,
            utcnow(),
            run_id,
        ],
    )


def recent_sync_runs(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT id, started_at, finished_at, status, sources, downstream, duration_s FROM sync_runs"
        " ORDER BY id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        {
            "id": r[0],
            "started_at": r[1].isoformat() if r[1] else None,
            "finished_at": r[2].isoformat() if r[2] else None,
            "status": r[3],
            "sources": json.loads(r[4]) if r[4] else {},
            "downstream": json.loads(r[5]) if r[5] else None,
            "duration_s": r[6],
        }
        for r in rows
    ]


def get_state(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM sync_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_state(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?)", [key, value])


# -- from a row to a Source ----------------------------------------------------------------
def build_source(
    source: RegisteredSource, known: Mapping[str, ItemState], settings: Settings, **clients: Any
) -> Source:
    """The connector that reads this registered source. ``clients`` are test seams passed on
    (``fetcher``, ``lister``, ``transcript_api``)."""
    opts = source.options
    include, exclude = list(opts.get("include") or []), list(opts.get("exclude") or [])
    if source.kind == "folder":
        from ingest.sources.files import FolderSource

        return FolderSource(Path(source.spec), include, exclude)
    if source.kind == "web":
        from ingest.sources.web import WebSource

        return WebSource([source.spec], fetcher=clients.get("fetcher"))
    if source.kind == "youtube":
        from ingest.sources.youtube import YouTubeSource

        return YouTubeSource(source.spec, transcript_api=clients.get("transcript_api"))
    if source.kind == "channel":
        from ingest.sources.channel import ChannelSource

        return ChannelSource(
            source.spec,
            known=known,
            match=opts.get("match"),
            lister=clients.get("lister"),
            transcript_api=clients.get("transcript_api"),
        )
    if source.kind == "sitemap":
        from ingest.sources.sitemap import SitemapSource

        return SitemapSource(source.spec, known=known, include=include, exclude=exclude, fetcher=clients.get("fetcher"))
    if source.kind == "crawl":
        from ingest.sources.crawl import CrawlSource

        return CrawlSource(
            source.spec,
            known=known,
            include=include,
            exclude=exclude,
            max_pages=opts.get("max_pages") or settings.crawl_max_pages,
            max_depth=int(opts["max_depth"]) if opts.get("max_depth") is not None else settings.crawl_max_depth,
            fetcher=clients.get("fetcher"),
        )
    raise ConfigError(f"Source {source.name!r} has an unknown kind {source.kind!r}; remove and add it again.")


__all__ = [
    "KINDS",
    "ItemState",
    "RegisteredSource",
    "add_source",
    "build_source",
    "classify",
    "default_name",
    "delete_source",
    "describe_every",
    "get_source",
    "items_of",
    "list_sources",
    "owned_origins",
    "parse_every",
    "save_items",
]
