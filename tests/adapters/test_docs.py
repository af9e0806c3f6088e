"""Every command is documented twice: its own ``--help`` text, and a mention in the README (the
user's manual), as sqlite-utils' test_docs does. A new command without either fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from reffy.cli import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, Any]]:
    """(name, click command) for every command and sub-command (typer ships its own click)."""
    root: Any = typer.main.get_command(app)
    found = []
    for name, command in root.commands.items():
        found.append((name, command))
        if hasattr(command, "commands"):
            found += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
    return found


COMMANDS = _commands()


def test_the_cli_has_its_commands() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"ingest", "search", "ask", "status", "serve", "token add", "user list"} <= names


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help(name: str, command: Any) -> None:
    assert (command.help or "").strip(), f"`reffy {name}` has no help text: give its function a docstring"
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and not param.hidden:
            assert (param.help or "").strip(), f"`reffy {name}` option {param.opts[0]} has no help text"


@pytest.mark.parametrize("name", [n for n, _ in COMMANDS])
def test_every_command_is_in_the_readme(name: str) -> None:
    assert re.search(rf"reffy {re.escape(name)}\b", README), f"the README never mentions `reffy {name}`"
