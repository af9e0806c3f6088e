"""Finding and reading stories: search, ask (streamed), story and the labelled evaluation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from reffy.cli.common import AudienceOpt, HomeOpt, _console, _filters, _service, app


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
                    "hits": [h.to_dict() for h in result.hits],
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
        collected = stream.collect()
        data = asdict(collected)
        data["hits"] = [h.to_dict() for h in collected.hits]
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    console = _console()
    stream_markdown(console, stream)
    answer = stream.answer
    if answer is None:  # the stream ended without its answer: nothing more to show
        return
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
        typer.echo(json.dumps(detail.to_dict(), indent=2, default=str))
        return
    console = _console()
    facts = " | ".join(str(x) for x in (detail.customer, detail.industry, detail.country, detail.year) if x)
    console.print(
        f"[bold]{escape(detail.title)}[/]  [dim]{detail.score}/{detail.max_score or 31} "
        f"{detail.shareability}  {detail.story_id[:12]}[/]",
        soft_wrap=True,
    )
    if facts:
        console.print(escape(facts), soft_wrap=True, highlight=False)
    console.print(escape(detail.source_link or detail.source_uri or ""), soft_wrap=True, highlight=False)
    if detail.outcomes:
        console.print("[bold]Outcomes[/]")
        for outcome in detail.outcomes:
            console.print(f"  - {escape(outcome)}", soft_wrap=True, highlight=False)
    if detail.quotes:
        console.print("[bold]Quotes[/]")
        for quote in detail.quotes:
            who = f"  [dim]{escape(quote.speaker)}[/]" if quote.speaker else ""
            console.print(f"  - {escape(quote.text)}{who}", soft_wrap=True, highlight=False)
    if detail.criteria:
        console.print("[bold]Rubric points[/]")
        for c in detail.criteria:
            evidence = f"  [dim]{escape(c.evidence)}[/]" if c.evidence else ""
            console.print(
                f"  {c.points}/{c.max_points} {escape(str(c.name or c.id))}{evidence}",
                soft_wrap=True,
                highlight=False,
            )


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
