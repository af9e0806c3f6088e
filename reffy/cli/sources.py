"""``reffy sources add|list|remove`` and ``reffy sync``: a thin adapter over the service's
source registry (:mod:`reffy.service.sources`). Only presentation lives here."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from reffy.service import ReffyService

sources_app = typer.Typer(
    help="The library's sources (folders, feeds, sitemaps, crawls, channels), re-read by `reffy sync`.",
    no_args_is_help=True,
)

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Reffy home (default: $REFFY_HOME).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _service(home: Path | None) -> ReffyService:
    from reffy.cli.common import _service as service

    return service(home)


def _local_user():
    from reffy.auth import LOCAL_USER

    return LOCAL_USER


@sources_app.command("add")
def sources_add(
    spec: Annotated[str, typer.Argument(help="A folder or file, a page or feed URL, a sitemap, a YouTube link.")],
    name: Annotated[str | None, typer.Option("--name", help="What to call it (default: from the spec).")] = None,
    kind: Annotated[
        str,
        typer.Option("--kind", help="auto, page, feed, sitemap or crawl (a URL to crawl from must say crawl)."),
    ] = "auto",
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="KEY=VALUE metadata for every story (e.g. shareability=public).")
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Glob of files, or of URL paths (/customers/*) to keep.")
    ] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Glob of files or URL paths to skip.")] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="How often --due/--watch sync it: 30m, 6h, 1d (default 24h).")
    ] = None,
    match: Annotated[
        str | None, typer.Option("--match", help="Channels: keep videos whose title or description matches (regex).")
    ] = None,
    max_pages: Annotated[int | None, typer.Option("--max-pages", help="Crawls: pages per sync at most.")] = None,
    max_depth: Annotated[int | None, typer.Option("--max-depth", help="Crawls: links from the start page.")] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Register a source. Nothing is read until `reffy sync`."""
    from reffy.cli.common import _pairs

    svc = _service(home)
    row = svc.add_source(
        _local_user(),
        spec,
        name=name,
        kind=kind,
        include=include or [],
        exclude=exclude or [],
        meta=_pairs(meta or [], "--meta"),
        every=every,
        match=match,
        max_pages=max_pages,
        max_depth=max_depth,
    )
    if as_json:
        typer.echo(json.dumps(row, indent=2, default=str))
        return
    typer.echo(f"Added {row['kind']} source {row['name']}: {row['spec']} (every {row['every']}).")
    typer.echo(f"Run `reffy sync {row['name']}` to read it now.")


@sources_app.command("list")
def sources_list(as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """Every source: kind, last sync, status, stories, problems, next due."""
    rows = _service(home).sources(_local_user())
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("No source registered yet: `reffy sources add PATH-OR-URL`.")
        return
    typer.echo(
        f"{'name':<24} {'kind':<8} {'last sync (UTC)':<17} {'status':<13} {'stories':>7} {'problems':>8}  next due"
    )
    for r in rows:
        last = (r["last_sync_at"] or "never")[:16].replace("T", " ")
        due = r["next_due_at"][:16].replace("T", " ")
        typer.echo(
            f"{r['name'][:24]:<24} {r['kind']:<8} {last:<17} {r['status'][:13]:<13} {r['records']:>7} "
            f"{r['problems']:>8}  {due}"
        )
        typer.echo(f"  {r['spec']}  (every {r['every']})")


@sources_app.command("remove")
def sources_remove(
    name: Annotated[str, typer.Argument(help="The source's name (`reffy sources list`).")],
    keep_stories: Annotated[
        bool, typer.Option("--keep-stories", help="Unregister only: its stories stay in the library.")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Unregister a source and remove its stories (gold and search follow at once)."""
    out = _service(home).remove_source(_local_user(), name, keep_stories=keep_stories, report=typer.echo)
    if keep_stories:
        typer.echo(f"Removed source {name}; its stories stay in the library.")
    else:
        typer.echo(f"Removed source {name} and {out['removed']} of its stories.")


def sync(
    names: Annotated[list[str] | None, typer.Argument(help="Sources to sync (default: all).")] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Only sources whose --every says they are due (for cron).")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Stay in the foreground and sync each source when it is due.")
    ] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Re-read registered sources, then score, build and index what changed, in one command."""
    svc = _service(home)
    user = _local_user()
    if watch:
        if names:
            raise typer.BadParameter("--watch syncs every source when it is due; give no names")
        _watch(svc, user)
        return
    say = (lambda _line: None) if as_json else typer.echo
    report = svc.sync(user, names or [], due=due, report=say)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        from reffy.service.sources import sync_line

        typer.echo(sync_line(report) + ".")
    if report.failed:
        raise typer.Exit(1)


def _watch(svc: ReffyService, user: Any) -> None:
    """Foreground scheduler: Ctrl+C or SIGTERM stops it (a sync in progress is interrupted the way
    a killed one is, and the next sync resumes it)."""
    stop = threading.Event()

    def on_term(signum: int, frame: Any) -> None:
        stop.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    typer.echo("Watching the registered sources (Ctrl+C to stop).")
    try:
        svc.watch(user, stop=stop, report=typer.echo)
    except KeyboardInterrupt:
        typer.echo("Stopped.")
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
    app.command(name="sync")(sync)
