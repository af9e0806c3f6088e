"""Looking at the library: status, config, corrections (override, overrides) and the embedding models."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from reffy.cli.common import HomeOpt, _console, _count, _not_stories, _service, app
from reffy.wording import plural


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
