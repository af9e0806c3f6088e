"""What the terminal shows: answers rendered as Markdown while they stream (no raw `**`),
`--json` left as it was, and `reffy config` values wrapped, never cut off, at 80 columns."""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from helpers import run_cli
from rich.console import Console

from reffy.cli.search import stream_markdown

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PIECES = [
    "_Extractive brief_\n\nThe **strongest",
    " match** for: banks\n\n",
    "**[1] Nordvik Bank** (finance)\n",
    "- Outcome: handling time down **38%** [1]\n- Quote: “Less waiting” [1]\n",
]


def reffy(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    return run_cli(*args, home=home, **env)


def test_streamed_markdown_is_rendered_block_by_block_as_it_arrives() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    seen: list[str] = []

    def pieces() -> Iterator[str]:
        for piece in PIECES:
            yield piece
            seen.append(out.getvalue())

    text = stream_markdown(console, pieces())
    assert text == "".join(PIECES)
    assert seen[0] == "Extractive brief\n\n"  # each block is printed as soon as it ends, before the rest comes
    assert seen[1] == "Extractive brief\n\nThe strongest match for: banks\n\n"
    assert seen[2] == seen[1]  # the heading's block has not ended yet
    shown = out.getvalue()
    assert "**" not in shown and "_Extractive" not in shown
    assert "[1] Nordvik Bank (finance)" in shown and "• Outcome: handling time down 38% [1]" in shown
    assert not any(line.endswith(" ") for line in shown.splitlines())


def test_on_a_terminal_the_block_being_written_is_live_and_the_result_rendered() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system="standard")
    stream_markdown(console, iter(PIECES))
    shown = ANSI.sub("", out.getvalue())
    assert "**" not in shown and "The strongest match for: banks" in shown and "handling time down 38%" in shown


def test_reffy_ask_prints_rendered_markdown_and_json_stays_raw(demo_home: Path) -> None:
    shown = reffy("ask", "which bank cut call handling time?", home=demo_home)
    assert shown.returncode == 0, shown.stderr
    assert "**" not in shown.stdout and "Sources" in shown.stdout and "strongest matches for" in shown.stdout
    raw = reffy("ask", "which bank cut call handling time?", "--json", home=demo_home)
    data = json.loads(raw.stdout)
    assert "**" in data["text"] and data["citations"] and data["offline"] is True


def test_config_wraps_long_values_at_80_columns(home: Path) -> None:
    deep = home.parent / ("a-library-folder-with-a-long-name-" * 3) / "and-deeper-still"
    out = reffy(
        "config",
        home=home,
        COLUMNS="80",
        REFFY_HOME=str(deep),
        REFFY_PUBLIC_DOMAINS="quillon.example,customers.quillon.example,stories.quillon.example",
    ).stdout
    lines = out.splitlines()
    assert lines and max(len(line) for line in lines) <= 80 and "…" not in out
    cells: dict[str, str] = {}
    name = ""
    for line in lines:
        parts = line.split("│")
        if len(parts) == 5:
            name = parts[1].strip() or name
            cells[name] = cells.get(name, "") + parts[2].strip()
    assert cells["home"] == str(deep)
    assert cells["public_domains"].replace(" ", "") == str(
        ["quillon.example", "customers.quillon.example", "stories.quillon.example"]
    ).replace(" ", "")
