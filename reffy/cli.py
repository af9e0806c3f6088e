"""The ``reffy`` command line: a thin adapter over :class:`reffy.service.ReffyService`.

Only presentation lives here. Heavy modules are imported inside commands so that
``reffy --help`` answers instantly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from reffy import __version__
from reffy.errors import ReffyError

app = typer.Typer(
    name="reffy",
    help="Reffy: find the right customer story in seconds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _service(home: Path | None = None, **overrides: Any):
    from reffy.config import load_settings
    from reffy.service import ReffyService

    if home is not None:
        overrides["home"] = home
    return ReffyService(load_settings(**overrides))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reffy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Ingest customer stories from anywhere, score them, and find the right one fast."""


HomeOpt = Annotated[Optional[Path], typer.Option("--home", help="Reffy home (default: $REFFY_HOME).")]


@app.command()
def ingest(
    sources: Annotated[list[str], typer.Argument(help="Files, folders, URLs, feed URLs or YouTube links.")] = None,
    include: Annotated[list[str], typer.Option("--include", "-i", help="Only files matching this glob.")] = None,
    exclude: Annotated[list[str], typer.Option("--exclude", "-x", help="Skip files matching this glob.")] = None,
    url_list: Annotated[list[Path], typer.Option("--url-list", help="A file with one URL per line.")] = None,
    field_map: Annotated[
        list[str], typer.Option("--map", help="Field of JSON/CSV/XLSX sources for a role: id=slug, text=body.")
    ] = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
) -> None:
    """Read stories into the library (bronze). Safe to rerun: unchanged sources add nothing."""
    if not sources and not url_list:
        raise typer.BadParameter("give at least one SOURCE or --url-list FILE")
    overrides: dict[str, Any] = {}
    if field_map:
        pairs = [m.split("=", 1) for m in field_map]
        if any(len(p) != 2 or p[0] not in ("id", "title", "text") for p in pairs):
            raise typer.BadParameter("--map takes ROLE=FIELD with ROLE one of id, title, text")
        overrides["field_map"] = dict(pairs)
    service = _service(home, **overrides)
    summary = _run_ingest(service, sources or [], include or [], exclude or [], url_list or [], quiet=as_json)
    if as_json:
        typer.echo(json.dumps(_summary_dict(summary), indent=2, default=str))
    else:
        _print_summary(summary)
    if summary.status != "completed":
        raise typer.Exit(1)


def _run_ingest(service, specs, include, exclude, url_lists, *, quiet: bool = False):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from reffy.models import RawRecord

    resolved = service.resolve(specs, include=include, exclude=exclude, url_lists=url_lists)
    total = service.estimate(resolved)
    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]ingest[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[records]} records"), TimeElapsedColumn(),
        console=_console(), transient=True, disable=quiet or not sys.stdout.isatty(),
    )  # fmt: skip
    with progress:
        task = progress.add_task("ingest", total=total, records=0)
        counts = {"records": 0, "origins": set()}

        def on_item(_source, item) -> None:
            origin = getattr(item, "origin", None)
            if isinstance(item, RawRecord):
                counts["records"] += 1
            if origin not in counts["origins"]:
                counts["origins"].add(origin)
                progress.update(task, advance=1, records=counts["records"])
            else:
                progress.update(task, records=counts["records"])

        return service.ingest(specs, url_lists=url_lists, sources=resolved, progress=on_item)


def _summary_dict(summary) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(summary)


def _print_summary(summary) -> None:
    console = _console()
    colour = "green" if summary.status == "completed" and not summary.errors else "yellow"
    console.print(
        f"[{colour}]Run {summary.run_id} {summary.status}[/] in {summary.duration_s:.2f}s: "
        f"{summary.seen} records read, [bold]{summary.new} new[/], {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.removed} removed, {summary.duplicates} duplicates grouped, "
        f"{summary.errors} errors, {summary.warnings} warnings."
    )
    if summary.errors or summary.warnings:
        console.print("See the problems with [bold]reffy status[/].")


@app.command()
def status(
    home: HomeOpt = None,
    runs: Annotated[int, typer.Option(help="How many recent runs to show.")] = 5,
    errors: Annotated[int, typer.Option(help="How many recent problems to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Counts per layer, recent runs and recent problems."""
    st = _service(home).status(runs=runs, errors=errors)
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps(asdict(st), indent=2, default=str))
        return
    console = _console()
    console.print(f"[bold]Reffy library[/] at {st.home}", soft_wrap=True)
    for name, count in st.layers.items():
        console.print(f"  {name:<36} {count:>7}")
    if st.by_source_type:
        console.print("  by source type: " + ", ".join(f"{k} {v}" for k, v in st.by_source_type.items()))
    if st.recent_runs:
        console.print("[bold]Recent runs[/]")
        head = f"  {'run':>4} {'started UTC':<11} {'status':<11} {'read':>5} {'new':>6} {'upd':>4} {'same':>6} " \
               f"{'rem':>4} {'dup':>4} {'err':>4} {'warn':>4} {'secs':>5}"  # fmt: skip
        console.print(head, highlight=False, soft_wrap=True)
        for r in st.recent_runs:
            console.print(
                f"  {r['id']:>4} {r['started_at']:%m-%d %H:%M} {r['status']:<11} {r['seen']:>5} {r['new']:>6} "
                f"{r['updated']:>4} {r['unchanged']:>6} {r['removed']:>4} {r['duplicates']:>4} {r['errors']:>4} "
                f"{r['warnings']:>4} {r['duration_s'] or 0:>5.1f}",
                highlight=False, soft_wrap=True,
            )
    if st.recent_errors:
        console.print("[bold]Recent problems[/]")
        for e in st.recent_errors:
            where = e["origin"] + (f" [{e['source_record_id']}]" if e["source_record_id"] else "")
            colour = "red" if e["severity"] == "error" else "yellow"
            console.print(f"  [{colour}]{e['severity']}[/] {e['reason']} (run {e['run_id']}): {where}\n"
                          f"      {e['detail']}", soft_wrap=True, markup=True, highlight=False)  # fmt: skip


@app.command()
def config(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """The effective settings and where each value came from."""
    from rich.table import Table

    rows = _service().config()
    if as_json:
        typer.echo(json.dumps({k: {"value": v, "from": o} for k, v, o in rows}, indent=2, default=str))
        return
    table = Table("setting", "value", "from")
    for name, value, origin in rows:
        table.add_row(name, str(value), origin)
    _console().print(table)


@app.command()
def demo(
    home: Annotated[Optional[Path], typer.Option("--home", help="Where to build the demo library.")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="The demo data folder.")] = None,
) -> None:
    """Build the bundled demo library into a demo home, offline, and show its status."""
    from reffy.demo import demo_data_dir, demo_home

    home = home or demo_home()
    data = data or demo_data_dir()
    console = _console()
    console.print(f"Building the demo library from [bold]{data}[/] into [bold]{home}[/]")
    service = _service(home)
    summary = _run_ingest(service, [str(data)], [], [], [])
    _print_summary(summary)
    status(home=home, runs=3, errors=5, as_json=False)
    console.print(f"\nTry: [bold]REFFY_HOME={home} reffy status[/]")


def main() -> None:
    try:
        app()
    except ReffyError as exc:
        typer.secho(f"Error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
