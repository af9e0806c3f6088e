"""The ``reffy`` command line: a thin adapter over :class:`reffy.service.ReffyService`.

Only presentation lives here. Heavy modules are imported inside commands so that
``reffy --help`` answers instantly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

# Pydantic scans every installed distribution's entry points for plugins on its first model (about
# 10 ms of a 0.26 s keyword search); Reffy uses none, so the command-line process skips the scan
# unless the user asked for plugins. Set here, in the CLI process only, never by the library.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from reffy import __version__
from reffy.errors import ReffyError
from reffy.wording import plural, plural_of, sentence

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


HomeOpt = Annotated[Path | None, typer.Option("--home", help="Reffy home (default: $REFFY_HOME).")]


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


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in items]
    if any(len(p) != 2 or not p[0].strip() for p in pairs):
        raise typer.BadParameter(f"{option} takes KEY=VALUE")
    return {k.strip(): v.strip() for k, v in pairs}


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
        head = (
            f"  {'run':>4} {'started UTC':<11} {'status':<11} {'read':>5} {'new':>6} {'upd':>4} {'same':>6} "
            f"{'rem':>4} {'dup':>4} {'err':>4} {'warn':>4} {'secs':>5}"
        )
        console.print(head, highlight=False, soft_wrap=True)
        for r in st.recent_runs:
            console.print(
                f"  {r['id']:>4} {r['started_at']:%m-%d %H:%M} {r['status']:<11} {r['seen']:>5} {r['new']:>6} "
                f"{r['updated']:>4} {r['unchanged']:>6} {r['removed']:>4} {r['duplicates']:>4} {r['errors']:>4} "
                f"{r['warnings']:>4} {r['duration_s'] or 0:>5.1f}",
                highlight=False,
                soft_wrap=True,
            )
    if st.scoring_runs:
        console.print("[bold]Recent scoring runs[/]")
        for r in st.scoring_runs:
            console.print(
                f"  {r['id']:>4} {r['started_at']:%m-%d %H:%M} {r['status']:<14} {r['scorer_key']}: "
                f"{r['scored']} scored,"
                f" {r['cached']} cached, {r['failed']} failed, {plural(r['tokens_in'] + r['tokens_out'], 'token')},"
                f" ${r['cost_usd']:.4f}, {r['duration_s'] or 0:.1f}s",
                highlight=False,
                soft_wrap=True,
            )
    if st.last_gold_build:
        b = st.last_gold_build
        console.print(
            f"[bold]Last gold build[/] {b['built_at']:%Y-%m-%d %H:%M}: {plural(b['stories'], 'story')} >= "
            f"{b['min_score']}/31"
            f" ({b['below_threshold']} below, {b['unscored']} unscored"
            + (f", {_not_stories(b['not_stories'])}" if b.get("not_stories") else "")
            + f"), {plural(b['chunks'], 'chunk')}, {b['scorer_key']}, rubric {b['rubric_version']}",
            highlight=False,
            soft_wrap=True,
        )
    if st.held_back:
        console.print(
            "[bold]Kept out of gold[/] (at or above the threshold, but not customer stories;"
            " `reffy override ID gold include` puts one back)",
            soft_wrap=True,
        )
        for h in st.held_back:
            console.print(
                f"  {h['story_id'][:12]}  {h['title'] or '(no title)'} ({h['score']}/31): {h['reason']}",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
    _print_index_state(console, st.search_index)
    console.print(f"[bold]Re-ranking[/] {st.reranker}", soft_wrap=True, highlight=False)
    if st.recent_errors:
        console.print("[bold]Recent problems[/]")
        for e in st.recent_errors:
            where = e["origin"] + (f" [{e['source_record_id']}]" if e["source_record_id"] else "")
            colour = "red" if e["severity"] == "error" else "yellow"
            console.print(
                f"  [{colour}]{e['severity']}[/] {e['reason']} (run {e['run_id']}): {where}\n      {e['detail']}",
                soft_wrap=True,
                markup=True,
                highlight=False,
            )


def _count(value: Any, word: str) -> str:
    """A count from a manifest, which may not have it ("? stories")."""
    return plural(value, word) if isinstance(value, int) else f"{'?' if value is None else value} {plural_of(word)}"


def _print_index_state(console, manifest: dict[str, Any]) -> None:
    if not manifest:
        console.print("[bold]Search index[/] not built yet: run `reffy index`.")
        return
    if manifest["complete"]:
        count = manifest.get("vector_count", manifest.get("vectors"))
        vectors = plural(count, "vector") if isinstance(count, int) else f"{count} vectors"
    elif manifest.get("stopped"):
        vectors = (
            f"[yellow]vectors incomplete[/]: the build stopped before it finished "
            f"({_count(manifest.get('stories_pending'), 'story')} not embedded; keyword search works; run "
            "`reffy index`)"
        )
    else:
        vectors = (
            f"[yellow]vectors still being computed[/] ({_count(manifest.get('stories_pending'), 'story')} to embed; "
            "keyword search works; rerun `reffy index` if no build is running)"
        )
    backend = manifest.get("embedder_backend") or "sentence-transformers"
    console.print(
        f"[bold]Search index[/] {_count(manifest.get('stories'), 'story')}, {vectors}; embedder "
        f"{manifest.get('embedder')} ({backend}), built {manifest.get('built_at', '?')}",
        soft_wrap=True,
        highlight=False,
    )
    tuned = manifest.get("no_answer")
    if not tuned:
        console.print("[bold]No-answer signal[/] built-in rule; `reffy tune` fits it to this library.", highlight=False)
    else:
        again = "; [yellow]the library changed size since: run `reffy tune` again[/]" if manifest.get("retune") else ""
        console.print(
            f"[bold]No-answer signal[/] tuned on {_count(tuned.get('stories'), 'story')} "
            f"({str(tuned.get('fitted_at', '?'))[:10]}){again}",
            soft_wrap=True,
            highlight=False,
        )


@app.command()
def config(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """The effective settings and where each value came from."""
    from rich.table import Table

    rows = _service().config()
    if as_json:
        typer.echo(json.dumps({k: {"value": v, "from": o} for k, v, o in rows}, indent=2, default=str))
        return
    table = Table()  # long values (paths, lists) wrap, folded where they have no spaces, never cut off
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    for name, value, origin in rows:
        table.add_row(name, str(value), origin)
    _console().print(table)


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


def _bar(label: str, unit: str, *, quiet: bool = False):
    """A progress bar with count, rate and time left, for the long steps (only on a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f} {unit}/s" if task.speed else f"- {unit}/s", style="dim")

    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=_console(),
        transient=True,
        disable=quiet or not sys.stdout.isatty(),
    )


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


def _not_stories(n: int) -> str:
    return f"{n} not a customer story" if n == 1 else f"{n} not customer stories"


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
    service = _service(home)
    _print_summary(_run_ingest(service, sources, [], [], [], extra_meta=_pairs(meta or [], "--meta")))
    _print_score(_run_score(service, model=model, max_cost=max_cost))
    _print_build(service.build())
    _print_index(_run_index(service))


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop and rebuild every index.")] = False,
    home: HomeOpt = None,
) -> None:
    """Sync the keyword (BM25) and vector (Chroma) indexes with gold. Incremental."""
    _print_index(_run_index(_service(home), rebuild=rebuild))


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


AudienceOpt = Annotated[
    str | None, typer.Option("--audience", help="internal, or external (public stories only); default REFFY_AUDIENCE.")
]


def _filters(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _pairs(items, "--filter").items():
        out[key] = (
            value
            if key in ("year_min", "year_max", "min_score", "shareability")
            else [v.strip() for v in value.split(",") if v.strip()]
        )
    return out


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What you are looking for, in your own words.")],
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            "-f",
            help="KEY=VALUE: industry, country, product, "
            "competitor, tags_any, tags_all (comma-separated), year_min, year_max, min_score, shareability.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=200, help="How many stories.")] = 10,
    mode: Annotated[str, typer.Option("--mode", help="keyword (instant) or hybrid.")] = "hybrid",
    fresh: Annotated[bool, typer.Option("--fresh", help="Favour strong stories that are rarely shown.")] = False,
    audience: AudienceOpt = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Find customer stories."""
    from dataclasses import asdict

    if mode not in ("keyword", "hybrid"):
        raise typer.BadParameter("--mode is keyword or hybrid")
    result = _service(home).search(
        query, filters=_filters(filter_ or []), k=k, mode=mode, fresh=fresh, audience=audience
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "query": query,
                    "searched_for": result.text,
                    "mode": mode,
                    "no_answer": result.no_answer,
                    "notes": result.notes,
                    "timings_ms": result.timings_ms,
                    "hits": [asdict(h) for h in result.hits],
                    "below_threshold": result.below_threshold,
                },
                indent=2,
                default=str,
            )
        )
        return
    console = _console()
    if not result.hits:
        console.print(
            "[yellow]No stories match this search and these filters.[/]"
            if filter_
            else "[yellow]No stories match this search.[/]"
        )
    elif result.no_answer:
        console.print("[yellow]No strong match in the library.[/] The closest stories:")
    for i, h in enumerate(result.hits, 1):
        facts = " | ".join(x for x in (h.customer, h.industry, h.country, str(h.year or "")) if x)
        console.print(
            f"[bold]{i:>2}. {h.title}[/]  [dim]{h.quality}/31 {h.shareability}  {h.story_id[:12]}[/]", soft_wrap=True
        )
        console.print(f"    {facts}  ({h.why})", soft_wrap=True, highlight=False)
        console.print(f"    {h.source_link or h.source_uri}", soft_wrap=True, highlight=False)
    if result.below_threshold:
        console.print(
            "[bold]Below the library's quality bar[/] [dim](not in search; shown to analysts because "
            "the search names the customer)[/]",
            soft_wrap=True,
        )
        for b in result.below_threshold:
            console.print(
                f"  - {b['title']}  [dim]{b['score']}/31, the library needs {b['min_score']}  {b['story_id'][:12]}[/]",
                soft_wrap=True,
                highlight=False,
            )
    for note in result.notes:
        console.print(f"[dim]{note}[/]", soft_wrap=True)


@app.command()
def ask(
    question: Annotated[
        str, typer.Argument(help="Your question, e.g. 'which stories prove we beat Zentrix in retail?'")
    ],
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", help="Continue this conversation id (printed after each answer)."),
    ] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", "-f", help="KEY=VALUE, as for search.")] = None,
    audience: AudienceOpt = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the finished answer as JSON (no streaming).")] = False,
) -> None:
    """Answer a question from the library with cited stories (streamed). With no LLM configured,
    an extractive brief of the best stories."""
    from dataclasses import asdict

    stream = _service(home).ask(
        question, conversation_id=conversation, filters=_filters(filter_ or []), audience=audience
    )
    if as_json:
        answer = stream.collect()
        data = asdict(answer)
        data["hits"] = [asdict(h) for h in answer.hits]
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    console = _console()
    stream_markdown(console, stream)
    answer = stream.answer
    if answer.citations:
        console.print("\n[bold]Sources[/]")
        for c in answer.citations:
            console.print(
                f"  [{c['n']}] {c['title']}  [dim]{c['shareability']}  {c['source_link'] or c['story_id'][:12]}[/]",
                soft_wrap=True,
                highlight=False,
            )
    for note in answer.removed:
        console.print(f"[yellow]Verification removed:[/] {note}", soft_wrap=True, highlight=False)
    understood = dict(answer.understood.items())
    if understood:
        console.print(f"[dim]Filters understood from the question: {json.dumps(understood)}[/]", soft_wrap=True)
    how = (
        f"{answer.model}, ${answer.cost_usd:.4f}"
        if not answer.offline
        else "extractive brief (the LLM could not answer: see the note)"
        if answer.error
        else "extractive brief (no LLM configured)"
    )
    console.print(
        f"[dim]{how}; {answer.latency_ms:.0f} ms; audience {answer.audience}; "
        f"continue with --conversation {answer.conversation_id}[/]",
        soft_wrap=True,
    )


_BLOCK_END = re.compile(r"\n[ \t]*\n")


def stream_markdown(console, pieces) -> str:
    """Print streamed Markdown rendered (bold, lists, headings), as it arrives: each finished block
    (paragraph, list) is printed once it ends; on a terminal the block being written is shown live
    below them. Returns the whole text."""
    from contextlib import nullcontext

    from rich.live import Live
    from rich.markdown import Markdown
    from rich.text import Text

    text, pending = "", ""
    live = Live(Text(""), console=console, auto_refresh=False, transient=True) if console.is_terminal else None
    with live if live is not None else nullcontext():
        for piece in pieces:
            text += piece
            pending += piece
            *finished, pending = _BLOCK_END.split(pending)
            for block in finished:
                if block.strip():
                    _print_markdown(console, block + "\n\n")
            if live is not None:  # a bold still open in the unfinished block is closed, so no raw ** flashes
                preview = pending + ("**" if pending.count("**") % 2 else "")
                live.update(Markdown(preview, justify="default"), refresh=True)
        if live is not None:
            live.update(Text(""), refresh=True)
    if pending.strip():
        _print_markdown(console, pending)
    return text


def _print_markdown(console, block: str) -> None:
    from rich.markdown import Markdown

    rendered = Markdown(block.rstrip(), justify="default")
    if console.is_terminal:
        console.print(rendered)
        console.print()
        return
    with console.capture() as captured:  # a pipe or a file: no styles, so no padding to the width either
        console.print(rendered)
    console.file.write(re.sub(r"[ \t]+\n", "\n", captured.get()) + ("\n" if block.endswith("\n\n") else ""))
    console.file.flush()


@app.command()
def story(
    story_id: Annotated[str, typer.Argument(help="A story id, or its first characters (search prints 12).")],
    audience: AudienceOpt = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole story as JSON.")] = False,
) -> None:
    """One story: facts, score with the evidence for each rubric point, outcomes, quotes and source."""
    from rich.markup import escape

    detail = _service(home).story(story_id, audience=audience)
    if as_json:
        typer.echo(json.dumps(detail, indent=2, default=str))
        return
    console = _console()
    facts = " | ".join(
        str(x) for x in (detail.get("customer"), detail.get("industry"), detail.get("country"), detail.get("year")) if x
    )
    console.print(
        f"[bold]{escape(detail['title'])}[/]  [dim]{detail.get('score')}/{detail.get('max_score') or 31} "
        f"{detail.get('shareability')}  {detail['story_id'][:12]}[/]",
        soft_wrap=True,
    )
    if facts:
        console.print(escape(facts), soft_wrap=True, highlight=False)
    console.print(escape(detail.get("source_link") or detail.get("source_uri") or ""), soft_wrap=True, highlight=False)
    for label, values in (("Outcomes", detail.get("outcomes") or []), ("Quotes", detail.get("quotes") or [])):
        if values:
            console.print(f"[bold]{label}[/]")
            for v in values:
                text = v.get("text") if isinstance(v, dict) else v
                who = f"  [dim]{escape(str(v['speaker']))}[/]" if isinstance(v, dict) and v.get("speaker") else ""
                console.print(f"  - {escape(str(text))}{who}", soft_wrap=True, highlight=False)
    if detail.get("criteria"):
        console.print("[bold]Rubric points[/]")
        for c in detail["criteria"]:
            evidence = f"  [dim]{escape(str(c['evidence']))}[/]" if c.get("evidence") else ""
            console.print(
                f"  {c.get('points')}/{c.get('max_points')} {escape(str(c.get('name') or c.get('id')))}{evidence}",
                soft_wrap=True,
                highlight=False,
            )


def _role(value: str):
    from reffy.auth import Role

    try:
        return Role(value)
    except ValueError:
        raise typer.BadParameter(f"--role is one of {', '.join(r.value for r in Role)}") from None


user_app = typer.Typer(help="App users of a shared installation (REFFY_HOME/users.yaml).", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer (external audience only), member, analyst or admin.")
    ] = "member",
    home: HomeOpt = None,
) -> None:
    """Create a user or reset their password and role (asks for the password)."""
    from reffy.auth import add_user, users_file

    parsed = _role(role)
    settings = _service(home).settings
    path = users_file(settings) or settings.home / "users.yaml"
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    add_user(path, name, password, parsed)
    _console().print(f"{name} ({parsed.value}) saved in {path}. The app now asks everyone to log in.")


@user_app.command("remove")
def user_remove(
    name: Annotated[str, typer.Argument(help="Login name (as `reffy user list` shows it).")], home: HomeOpt = None
) -> None:
    """Remove a user from the users file and revoke every API token issued to them."""
    done = _service(home).remove_user(name)
    parts = [f"removed {done['name']} ({done['role']}) from {done['users_file']}"] if done["role"] else []
    if done["tokens_revoked"]:
        parts.append(
            f"revoked {plural(len(done['tokens_revoked']), 'API token')} "
            f"({', '.join(str(i) for i in done['tokens_revoked'])})"
        )
    message = sentence("; ".join(parts))
    typer.echo(message[0].upper() + message[1:])


@user_app.command("list")
def user_list(home: HomeOpt = None) -> None:
    """List users and roles (never passwords)."""
    from reffy.auth import load_users, users_file

    path = users_file(_service(home).settings)
    if path is None:
        _console().print("Single-user mode: no users file. Add one with `reffy user add NAME --role admin`.")
        return
    for name, (role, _) in sorted(load_users(path).items()):
        typer.echo(f"{name}\t{role.value}")


@app.command(name="eval")
def eval_(
    queries: Annotated[Path, typer.Option("--queries", help="Labelled queries (dev_queries.json format).")],
    runs_out: Annotated[Path | None, typer.Option("--runs-out", help="Write {query id: [ids]} here.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="keyword or hybrid.")] = "hybrid",
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Evaluate search on labelled queries: nDCG@10, MRR, recall@10/50 per kind, no-answer P/R, latency."""
    report = _service(home).evaluate(queries, runs_out=runs_out, mode=mode)
    typer.echo(json.dumps(report.to_dict(), indent=2, default=str) if as_json else report.to_table())
    if report.labelled_in_library is not None and report.labelled_in_library < 0.5:
        typer.secho(
            f"Warning: only {report.labelled_in_library:.0%} of the stories these queries label as relevant "
            "are in this library: the queries were probably written for another library, so the scores above "
            "say little.",
            err=True,
            fg=typer.colors.YELLOW,
        )


@app.command()
def override(
    story: Annotated[
        str,
        typer.Argument(
            help="Story id (or its first 12 characters), source record id (e.g. a "
            "slug), or the source file's path (relative or absolute) or name."
        ),
    ],
    field: Annotated[
        str,
        typer.Argument(
            help="customer, country, industry, products, competitors, shareability, title, or points.<criterion_id>"
        ),
    ],
    value: Annotated[str | None, typer.Argument(help="The corrected value (lists comma-separated).")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the override.")] = "",
    author: Annotated[str, typer.Option("--author", help="Who made the correction.")] = "",
    remove: Annotated[bool, typer.Option("--remove", help="Remove this override instead.")] = False,
    home: HomeOpt = None,
) -> None:
    """Correct a score or a metadata field; the correction wins over every scorer. Run `reffy build` after."""
    import getpass

    service = _service(home)
    if remove:
        gone = service.remove_override(story, field)
        typer.echo("Override removed." if gone else "There was no such override.")
        return
    if value is None:
        raise typer.BadParameter("give the corrected VALUE (or --remove)")
    done = service.set_override(story, field, value, author=author or getpass.getuser(), reason=reason)
    typer.echo(f"{done['title']}: {done['field']} = {json.dumps(done['value'])}. Run `reffy build` to apply it.")


@app.command()
def overrides(
    home: HomeOpt = None, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False
) -> None:
    """List analysts' overrides."""
    rows = _service(home).overrides()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        typer.echo(
            f"{(r['story_id'] or r['record_key'])[:12]}  {r['title']}: {r['field']} = {json.dumps(r['value'])}"
            f"  ({r['author']}, {r['created_at']:%Y-%m-%d}: {r['reason'] or 'no reason given'})"
        )
    if not rows:
        typer.echo("No overrides.")


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
    _print_summary(_run_ingest(service, [str(data)], [], [], []))
    _print_score(_run_score(service))
    _print_build(service.build())
    _print_index(_run_index(service))
    status(home=home, runs=3, errors=5, as_json=False)
    console.print(f'\nTry: [bold]REFFY_HOME={home} reffy search "bank that cut call handling time"[/]')
    if not no_app:
        _run_app(service, port=port)


def _run_app(service, host: str = "127.0.0.1", port: int = 8501) -> None:
    """Run the Streamlit app over ``service`` in the foreground (Ctrl+C stops it)."""
    from reffy.ui.server import run_app

    console = _console()
    console.print("Loading the search models and indexes…")

    def ready(seconds: float) -> None:
        console.print(f"Ready in {seconds:.1f}s. The app is at [bold]http://{host}:{port}[/] (Ctrl+C stops it).")

    with contextlib.suppress(KeyboardInterrupt):
        run_app(service, host=host, port=port, on_ready=ready)


@app.command(name="app")
def app_(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (0.0.0.0 for every one).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8501,
    home: HomeOpt = None,
) -> None:
    """Run the web app (search, answers, explorer, analytics, ingest). Models load before it listens;
    no file watching, no usage statistics, localhost only unless --host says otherwise."""
    _run_app(_service(home), host=host, port=port)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (0.0.0.0 for every one).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    home: HomeOpt = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs). Tokens: `reffy token add`."""
    import uvicorn

    from reffy.api import create_app

    uvicorn.run(create_app(_service(home), warm=True), host=host, port=port, log_level="info")


@app.command()
def mcp(
    transport: Annotated[
        str, typer.Option("--transport", help="stdio (desktop agents) or http (streamable HTTP at /mcp).")
    ] = "stdio",
    host: Annotated[str, typer.Option("--host", help="Interface for --transport http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port for --transport http.")] = 8765,
    home: HomeOpt = None,
) -> None:
    """Serve Reffy as an MCP server (tools: search_stories, get_story, ask). Identity: REFFY_API_TOKEN."""
    from reffy.mcp_server import serve as serve_mcp

    if transport not in ("stdio", "http"):
        raise typer.BadParameter("--transport is stdio or http")
    serve_mcp(transport, host=host, port=port, service=_service(home))  # type: ignore[arg-type]


token_app = typer.Typer(help="API tokens for `reffy serve` and `reffy mcp` (stored hashed).", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("add")
def token_add(
    user: Annotated[str, typer.Argument(help="Who the token acts as.")],
    role: Annotated[str, typer.Option("--role", help="viewer (public stories only), member, analyst or admin.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for (e.g. the CRM).")] = "",
    home: HomeOpt = None,
) -> None:
    """Create a token; it is printed once, only its hash is kept."""
    role_ = _role(role)
    token = _service(home).create_token(user, role_, label=label)
    typer.echo(token)
    typer.secho(f"Token for {user} ({role_.value}). Store it now: it cannot be shown again.", err=True)


@token_app.command("list")
def token_list(
    home: HomeOpt = None, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False
) -> None:
    """List tokens (never their values)."""
    rows = _service(home).list_tokens()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        state = "revoked" if r.get("revoked") else f"last used {r.get('last_used') or 'never'}"
        typer.echo(
            f"{r['id']:>4}  {r['user']} ({r['role']})  {r.get('label') or '-'}  created {r['created_at']}, {state}"
        )
    if not rows:
        typer.echo("No API tokens: the API runs every request as the local user.")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The id from `reffy token list`.")], home: HomeOpt = None
) -> None:
    """Revoke a token; requests using it get 401 at once."""
    if not _service(home).revoke_token(token_id):
        typer.secho(f"No active token with id {token_id}.", err=True, fg=typer.colors.RED)
        raise typer.Exit(3)
    typer.echo(f"Token {token_id} revoked.")


models_app = typer.Typer(
    help="Embedding models: ONNX exports that let searches run without torch.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("export")
def models_export(
    int8: Annotated[bool, typer.Option("--int8", help="Also export the int8 graph (bulk indexing).")] = False,
    model: Annotated[str | None, typer.Option("--model", help="Model (default: $REFFY_EMBEDDING_MODEL).")] = None,
) -> None:
    """Export the embedding model to ONNX in the model cache (once per machine; later runs reuse it)."""
    import time

    from reffy.config import load_settings
    from reffy.onnx_export import artifact_id, default_cache_dir, ensure_onnx

    settings = load_settings()
    cache = settings.model_cache_dir or default_cache_dir()
    for quantized in (False, True) if int8 else (False,):
        started = time.perf_counter()
        path = ensure_onnx(model or settings.embedding_model, quantized=quantized, cache_dir=cache)
        seconds = time.perf_counter() - started
        typer.echo(
            f"{path}  {path.stat().st_size / 1e6:.1f} MB  artifact {artifact_id(path)}  {seconds:.1f}s"
            + ("" if seconds > 1 else " (already in the cache)")
        )


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """The model cache's exports, and which backend embeds with the current settings."""
    from reffy.config import load_settings
    from reffy.embedder import resolve_backend
    from reffy.onnx_export import cached_onnx, default_cache_dir, list_cache

    settings = load_settings()
    cache = settings.model_cache_dir or default_cache_dir()
    backend, why = resolve_backend(settings.embedding_model, settings.embedding_backend)
    if backend == "onnx":
        found = cached_onnx(settings.embedding_model, quantized=False, cache_dir=cache)
        why = f"exported: {found}" if found else "exported on first use (or run `reffy models export`)"
    exports = list_cache(cache) if cache.is_dir() else []
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "cache_dir": cache,
                    "exports": exports,
                    "model": settings.embedding_model,
                    "setting": settings.embedding_backend,
                    "backend": backend,
                    "why": why,
                },
                indent=2,
                default=str,
            )
        )
        return
    typer.echo(f"Model cache: {cache}")
    for entry in exports:
        typer.echo(f"  {entry['dir'].name}  ({entry['model'] or 'unknown model'})")
        for f in entry["files"]:
            typer.echo(f"      {f['name']:<18} {f['bytes'] / 1e6:6.1f} MB  artifact {f['artifact']}")
    if not exports:
        typer.echo("  (empty)")
    typer.echo(f"{settings.embedding_model} with backend {settings.embedding_backend} -> {backend}: {why}")


import reffy.cli_insights  # noqa: E402 - the review and insights commands, registered beside the others

reffy.cli_insights.register(app)


def main() -> None:
    try:
        app()
    except ReffyError as exc:
        typer.secho(f"Error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
