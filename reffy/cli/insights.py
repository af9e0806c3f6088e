"""``reffy review`` and ``reffy insights``: the review queue and the digest on the command line.

A thin adapter over :class:`reffy.service.ReffyService` (its ``review_*`` and ``insights*``
methods); registered on the main app by :func:`register`. The command line acts as the local user
(an admin), as ``reffy status`` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from reffy.service import ReffyService

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Reffy home (default: $REFFY_HOME).")]
AudienceOpt = Annotated[
    str | None,
    typer.Option("--audience", help="internal, or external: public story titles only, internal answers withheld."),
]


def _service(home: Path | None) -> ReffyService:
    from reffy.config import load_settings
    from reffy.service import ReffyService

    return ReffyService(load_settings(**({"home": home} if home is not None else {})))


def _user():
    from reffy.auth import LOCAL_USER

    return LOCAL_USER


def _short(text: str | None, width: int = 100) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _print_item(item: dict[str, Any]) -> None:
    flags = [f for f, on in (("no answer", item["no_answer"]), ("removals", item["removed"])) if on]
    if item["thumbs_down"]:
        flags.append(f"{item['thumbs_down']} thumbs-down")
    if item["reviewed"]:
        flags.append(f"reviewed by {item['reviewed_by']}")
    who = item["user"] + (f" ({item['role']})" if item.get("role") else "")
    latency = f"{item['latency_ms']:.0f} ms" if item.get("latency_ms") is not None else "–"
    typer.echo(
        f"{item['item']:<14} {item['created_at'][:16].replace('T', ' ')}  {who}  {item['mode'] or ''}  {latency}"
        + (f"  [{', '.join(flags)}]" if flags else "")
    )
    typer.echo(f"  Q: {_short(item['question'])}")
    if item["filters"]:
        typer.echo(f"  filters: {json.dumps(item['filters'], ensure_ascii=False)}")
    if item["kind"] == "answer":
        typer.echo(f"  A: {_short(item.get('answer') or item.get('answer_withheld'))}")
        for c in item["citations"]:
            typer.echo(f"     cites {c['story_id'][:12]}  {c['title']}")
        if item["removed"]:
            typer.echo(f"     removed by verification: {', '.join(map(str, item['removed']))}")
    else:
        for h in item["hits"][:3]:
            typer.echo(f"     {h['story_id'][:12]}  {h['title']}")
    hidden = item.get("hits_not_shown", 0) + item.get("citations_not_shown", 0)
    if hidden:
        typer.echo(f"     ({hidden} internal-only stories not named for the external audience)")
    for f in item["feedback"]:
        typer.echo(f"  feedback {'+1' if f['rating'] > 0 else '-1'} by {f['user']}: {f.get('comment') or ''}")
    if item.get("note"):
        typer.echo(f"  note: {item['note']}")


def review(
    since: Annotated[str, typer.Option("--since", help="How far back: 7d, 24h, 2w or a date (2026-11-01).")] = "7d",
    only: Annotated[str | None, typer.Option("--only", help="thumbs-down, no-answer, removals or unreviewed.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this person's searches and answers.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="search or answer.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Items per page.")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many (the next page).")] = 0,
    mark: Annotated[
        str | None, typer.Option("--mark", help="Mark this item (search:123, answer:45) reviewed instead of listing.")
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="With --mark: a note for the team (empty clears it).")
    ] = None,
    undo: Annotated[bool, typer.Option("--undo", help="With --mark: take the reviewed mark back.")] = False,
    audience: AudienceOpt = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page as JSON.")] = False,
) -> None:
    """The review queue: recent searches and answers, newest first; `--mark ITEM` marks one reviewed."""
    if mark is not None:
        _mark(home, mark, note, undo)
        return
    if note is not None or undo:
        raise typer.BadParameter("--note and --undo go with --mark ITEM")
    page = _service(home).review_queue(
        _user(), since=since, only=only, by_user=user, kind=kind, limit=limit, offset=offset, audience=audience
    )
    if as_json:
        typer.echo(json.dumps(page, indent=2, default=str, ensure_ascii=False))
        return
    shown = len(page["items"])
    if not shown:
        typer.echo(
            f"Nothing to review since {since}" + (f" with --only {only}" if only else "") + "."
            if page["total"] == 0
            else f"No items past {offset}: the queue holds {page['total']}."
        )
        return
    typer.echo(f"{page['total']} items since {since}; {offset + 1}-{offset + shown} shown, newest first.")
    for item in page["items"]:
        _print_item(item)
    if offset + shown < page["total"]:
        typer.echo(f"Next page: --offset {offset + shown}")


def _mark(home: Path | None, item: str, note: str | None, undo: bool) -> None:
    marked = _service(home).review_mark(_user(), item, reviewed=not undo, note=note)
    state = f"reviewed by {marked['reviewed_by']}" if marked["reviewed_at"] else "not reviewed"
    typer.echo(f"{item}: {state}" + (f"; note: {marked['note']}" if marked.get("note") else ""))


def insights(
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="The period: the last N days.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print the digest as JSON.")] = False,
    as_markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown (the default).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per theme.")] = False,
    audience: AudienceOpt = None,
    summaries: Annotated[
        bool, typer.Option("--summaries/--no-summaries", help="One line per theme by the LLM, when one is set.")
    ] = True,
    home: HomeOpt = None,
) -> None:
    """Themes of what people asked, gaps (asked often, few strong stories) and the review summary."""
    if sum((as_json, as_markdown, as_csv)) > 1:
        raise typer.BadParameter("choose one of --json, --markdown and --csv")
    fmt = "json" if as_json else "csv" if as_csv else "markdown"
    text = _service(home).insights_report(_user(), days=days, fmt=fmt, audience=audience, summaries=summaries)
    typer.echo(text.rstrip("\n"))


def register(app: typer.Typer) -> None:
    """Add ``reffy review`` and ``reffy insights`` to the main command line."""
    app.command("review")(review)
    app.command("insights")(insights)
