"""Reading and building the library: ingest, score, build, index, run (all of them), tune and the demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from reffy.cli.common import HomeOpt, _bar, _console, _not_stories, _pairs, _service, app
from reffy.wording import plural


@app.command()
def ingest(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Files, folders, URLs, feed URLs or YouTube links.")
    ] = None,
    include: Annotated[list[str] | None, typer.Option("--include", "-i", help="Only files matching this glob.")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", "-x", help="Skip files matching this glob.")] = None,
    url_list: Annotated[list[Path] | None, typer.Option("--url-list", help="A file with one URL per line.")] = None,
    field_map: Annotated[
        list[str] | None, typer.Option("--map", help="Field of JSON/CSV/XLSX sources for a role: id=slug, text=body.")
    ] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="Source metadata for every record, e.g. shareability=public.")
    ] = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
) -> None:
    """Read stories into the library (bronze). Safe to rerun: unchanged sources add nothing.

    An item that fails (a file, row, page or feed entry) is recorded, see `reffy status`; the rest still ingests.

    Exit status: 0 completed, 3 partial (some items failed), 1 failed (nothing could be read) or interrupted, 2 usage.
    """
    if not sources and not url_list:
        raise typer.BadParameter("give at least one SOURCE or --url-list FILE")
    overrides: dict[str, Any] = {}
    if field_map:
        pairs = [m.split("=", 1) for m in field_map]
        if any(len(p) != 2 or p[0] not in ("id", "title", "text") for p in pairs):
            raise typer.BadParameter("--map takes ROLE=FIELD with ROLE one of id, title, text")
        overrides["field_map"] = dict(pairs)
    extra = _pairs(meta or [], "--meta")
    service = _service(home, **overrides)
    summary = _run_ingest(
        service, sources or [], include or [], exclude or [], url_list or [], quiet=as_json, extra_meta=extra
    )
    if as_json:
        typer.echo(json.dumps(_summary_dict(summary), indent=2, default=str))
    else:
        _print_summary(summary)
    raise typer.Exit(INGEST_EXIT_CODES.get(summary.status, 1))


# `reffy ingest` exit status per run status (README "Sources"); 2 is bad usage, as everywhere.
INGEST_EXIT_CODES = {"completed": 0, "partial": 3, "failed": 1, "interrupted": 1}


def _run_ingest(service, specs, include, exclude, url_lists, *, quiet: bool = False, extra_meta=None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from reffy.models import RawRecord

    resolved = service.resolve(specs, include=include, exclude=exclude, url_lists=url_lists)
    total = service.estimate(resolved)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]ingest[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[records]} records"),
        TimeElapsedColumn(),
        console=_console(),
        transient=True,
        disable=quiet or not sys.stdout.isatty(),
    )
    with progress:
        task = progress.add_task("ingest", total=total, records=0)
        records = [0]
        origins: set[Any] = set()

        def on_item(_source, item) -> None:
            origin = getattr(item, "origin", None)
            if isinstance(item, RawRecord):
                records[0] += 1
            if origin not in origins:
                origins.add(origin)
                progress.update(task, advance=1, records=records[0])
            else:
                progress.update(task, records=records[0])

        return service.ingest(specs, url_lists=url_lists, sources=resolved, progress=on_item, extra_meta=extra_meta)


def _summary_dict(summary) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(summary)


def _print_summary(summary) -> None:
    console = _console()
    colour = {"completed": "green", "partial": "yellow"}.get(summary.status, "red")
    console.print(
        f"[{colour}]Run {summary.run_id} {summary.status}[/] in {summary.duration_s:.2f}s: "
        f"{plural(summary.seen, 'record')} read, [bold]{summary.new} new[/], {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.removed} removed, {plural(summary.duplicates, 'duplicate')} grouped, "
        f"{plural(summary.errors, 'error')}, {plural(summary.warnings, 'warning')}."
    )
    if summary.errors or summary.warnings:
        console.print("See the problems with [bold]reffy status[/].")


@app.command()
def score(
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="litellm model string; default REFFY_LLM_MODEL, or the offline scorer when unset."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Score at most N stories.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Estimate tokens and cost; call nothing.")] = False,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0, help="Stop before spending more (USD).")
    ] = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Score stories on the 31-point rubric and extract their metadata (silver). Resumable; cached."""
    summary = _run_score(_service(home), model=model, limit=limit, dry_run=dry_run, max_cost=max_cost, quiet=as_json)
    if as_json:
        typer.echo(json.dumps(_summary_dict(summary), indent=2, default=str))
    else:
        _print_score(summary)
    if summary.failed:
        raise typer.Exit(1)


def _run_score(service, *, quiet: bool = False, **kwargs):
    progress = _bar("score", "stories", quiet=quiet)
    with progress:
        task = progress.add_task("score", total=None)
        return service.score(progress=lambda done, total: progress.update(task, completed=done, total=total), **kwargs)


def _print_score(summary) -> None:
    console = _console()
    if summary.status == "dry_run":
        cost = (
            "unknown (model not in the price list)"
            if summary.estimated_cost_usd is None
            else f"${summary.estimated_cost_usd:.4f}"
        )
        console.print(
            f"Dry run ({summary.scorer_key}): {plural(summary.pending, 'story')} to score, {summary.cached} "
            f"cached; about {plural(summary.estimated_tokens_in, 'input token')}, estimated cost {cost}."
        )
        return
    colour = "green" if summary.status == "completed" and not summary.failed else "yellow"
    console.print(
        f"[{colour}]Scoring run {summary.run_id} {summary.status}[/] ({summary.scorer_key}, rubric "
        f"{summary.rubric_version}) in {summary.duration_s:.1f}s: {summary.scored} scored, {summary.cached} cached, "
        f"{summary.failed} failed; {plural(summary.tokens_in, 'token')} in, {summary.tokens_out} out, "
        f"${summary.cost_usd:.4f}."
    )
    if summary.status == "budget_reached":
        console.print(
            f"Budget reached: {plural(summary.pending, 'story')} left unscored; rerun with a higher --max-cost."
        )
    for failure in summary.failures[:10]:
        console.print(f"  [red]failed[/] {failure['title']}: {failure['reason']}: {failure['detail']}", soft_wrap=True)


@app.command()
def build(
    home: HomeOpt = None, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False
) -> None:
    """Rebuild gold: stories at or above the score threshold, with summaries and chunks."""
    summary = _service(home).build()
    if as_json:
        typer.echo(json.dumps(_summary_dict(summary), indent=2, default=str))
    else:
        _print_build(summary)


def _print_build(summary) -> None:
    _console().print(
        f"[green]Gold built[/] in {summary.duration_s:.2f}s: {plural(summary.stories, 'story')} "
        f"({summary.public} public, "
        f"{summary.internal} internal) at or above {summary.min_score}/31, {plural(summary.chunks, 'chunk')}; "
        f"{summary.below_threshold} below the threshold, {summary.unscored} not scored yet"
        + (
            f"; {plural(summary.public_twins, 'public twin')} of internal stories serve the external audience"
            if getattr(summary, "public_twins", 0)
            else ""
        )
        + (
            f"; {_not_stories(summary.not_stories)} kept out (`reffy status` lists them)."
            if summary.not_stories
            else "."
        )
    )


@app.command()
def run(
    sources: Annotated[list[str], typer.Argument(help="Files, folders, URLs, feed URLs or YouTube links.")],
    model: Annotated[str | None, typer.Option("--model", help="litellm model string for scoring.")] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", min=0, help="Scoring budget (USD).")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="Source metadata for every record (KEY=VALUE).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Ingest, score and build gold in one go."""
    _refresh(_service(home), sources, extra_meta=_pairs(meta or [], "--meta"), model=model, max_cost=max_cost)


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop and rebuild every index.")] = False,
    home: HomeOpt = None,
) -> None:
    """Sync the keyword (BM25) and vector (Chroma) indexes with gold. Incremental."""
    _print_index(_run_index(_service(home), rebuild=rebuild))


def _refresh(service, specs: list[str], **options: Any) -> dict[str, Any]:
    """The whole pipeline (the service's ``refresh``), each stage with its progress bar and summary."""
    from reffy.service.library import RefreshHooks

    console = _console()
    printers = {"ingest": _print_summary, "score": _print_score, "build": _print_build, "index": _print_index}

    class Bars(RefreshHooks):
        def __init__(self) -> None:
            self.bar: Any = None
            self.task: Any = None
            self.origins: set[Any] = set()
            self.started_at = 0.0

        def started(self, stage: str, total: int | None) -> None:
            import time

            self.started_at = time.perf_counter()
            if stage == "build":
                return
            label, unit = {
                "ingest": ("ingest", "sources"),
                "score": ("score", "stories"),
                "index": ("embed", "vectors"),
            }[stage]
            self.bar = _bar(label, unit)
            self.bar.start()
            self.task = self.bar.add_task(label, total=total)

        def item(self, source: Any, item: Any) -> None:
            origin = getattr(item, "origin", None)
            if origin not in self.origins:
                self.origins.add(origin)
                self.bar.update(self.task, advance=1)

        def progress(self, stage: str, done: int, total: int | None) -> None:
            self.bar.update(self.task, completed=done, total=total)

        def keyword_ready(self) -> None:
            import time

            self.bar.console.print(
                f"Keyword search is ready ({time.perf_counter() - self.started_at:.1f}s); hybrid search "
                "follows when the vectors are done.",
                highlight=False,
            )

        def finished(self, stage: str, summary: Any) -> None:
            if self.bar is not None:
                self.bar.stop()
                self.bar = None
            printers[stage](summary)

    hooks = Bars()
    try:
        return service.refresh(specs, hooks=hooks, **options)
    finally:
        if hooks.bar is not None:
            hooks.bar.stop()
        console.file.flush()


def _run_index(service, *, rebuild: bool = False):
    import time

    progress = _bar("embed", "vectors")
    started = time.perf_counter()

    def keyword_ready() -> None:
        progress.console.print(
            f"Keyword search is ready ({time.perf_counter() - started:.1f}s); hybrid search "
            "follows when the vectors are done.",
            highlight=False,
        )

    with progress:
        task = progress.add_task("embed", total=None)
        return service.index(
            rebuild=rebuild,
            progress=lambda d, t: progress.update(task, completed=d, total=t),
            on_keyword_ready=keyword_ready,
        )


def _print_index(summary) -> None:
    if not summary.stories:
        _console().print(
            "[yellow]The gold library is empty, so there is nothing to index.[/] Score and build it "
            "first: `reffy score` then `reffy build` (or `reffy run SOURCE` for every step)."
        )
    _console().print(
        f"[green]Indexed[/] {plural(summary.stories, 'story')} in {summary.duration_s:.1f}s: keyword index "
        f"{'unchanged' if summary.keyword_unchanged else f'{summary.keyword_seconds:.1f}s'}; "
        f"{plural(summary.embedded_stories, 'story')} embedded "
        f"({plural(summary.vectors_added, 'vector')}, {summary.embed_seconds:.1f}s), "
        f"{summary.stories_removed} removed, "
        f"{plural(summary.vectors_total, 'vector')}."
    )


@app.command()
def tune(
    false_flags: Annotated[
        float | None,
        typer.Option(
            "--false-flags",
            min=0.001,
            max=0.49,
            help="Share of answerable questions that may be told 'no strong match' "
            "(default REFFY_NO_ANSWER_FALSE_FLAGS).",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Fit search to this library: calibrate when to say "no strong match" on questions the
    library writes about itself. Rerun when the library has grown (`reffy status` says so)."""
    svc = _service(home)
    with _console().status("Calibrating the no-answer signal on the library's own questions..."):
        model = svc.tune(max_false_flags=false_flags)
    if as_json:
        print(json.dumps(model.to_dict(), indent=1))
        return
    f = model.facts
    _console().print(
        f'[green]Tuned[/] on {plural(model.stories, "story")} in {f["seconds"]:.1f}s: "no strong match" below '
        f"{model.threshold:.0%} query coverage, besides the built-in rule. On the library's own exam the two flag "
        f"{f['combined_false_flags']:.1%} of {f['answerable']} answerable questions and catch "
        f"{f['combined_recall']:.0%} of {f['unanswerable']} questions about held-aside topics (the built-in rule "
        f"alone: {f['built_in_rule_false_flags']:.1%} and {f['built_in_rule_recall']:.0%}).",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def demo(
    home: Annotated[Path | None, typer.Option("--home", help="Where to build the demo library.")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="The demo data folder.")] = None,
    no_app: Annotated[bool, typer.Option("--no-app", help="Only build the library; do not start the web app.")] = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port of the web app.")] = 8501,
) -> None:
    """Build the bundled demo library (ingest, score offline, gold, index) into a demo home, then run the
    web app on it. No network, no API key."""
    from reffy.demo import demo_data_dir, demo_home, write_demo_settings

    home = home or demo_home()
    data = data or demo_data_dir()
    write_demo_settings(home, data)
    console = _console()
    console.print(f"Building the demo library from [bold]{data}[/] into [bold]{home}[/]")
    service = _service(home)
    _refresh(service, [str(data)])
    from reffy.cli.inspect import status
    from reffy.cli.servers import _run_app

    status(home=home, runs=3, errors=5, as_json=False)
    console.print(f'\nTry: [bold]REFFY_HOME={home} reffy search "bank that cut call handling time"[/]')
    if not no_app:
        _run_app(service, port=port)
