"""What every command shares: the typer app, the console, the service of a home, common options
and the progress bar. Imported first by :mod:`reffy.cli`; the command modules register on ``app``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

# Pydantic scans every installed distribution's entry points for plugins on its first model (about
# 10 ms of a 0.26 s keyword search); Reffy uses none, so the command-line process skips the scan
# unless the user asked for plugins. Set here, in the CLI process only, never by the library.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from reffy import __version__
from reffy.wording import plural, plural_of

if TYPE_CHECKING:
    from reffy.service import ReffyService

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


def _service(home: Path | None = None, **overrides: Any) -> ReffyService:
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


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in items]
    if any(len(p) != 2 or not p[0].strip() for p in pairs):
        raise typer.BadParameter(f"{option} takes KEY=VALUE")
    return {k.strip(): v.strip() for k, v in pairs}


def _count(value: Any, word: str) -> str:
    """A count from a manifest, which may not have it ("? stories")."""
    return plural(value, word) if isinstance(value, int) else f"{'?' if value is None else value} {plural_of(word)}"


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


def _role(value: str):
    from reffy.auth import Role

    try:
        return Role(value)
    except ValueError:
        raise typer.BadParameter(f"--role is one of {', '.join(r.value for r in Role)}") from None


def _not_stories(n: int) -> str:
    return f"{n} not a customer story" if n == 1 else f"{n} not customer stories"
