"""Every `reffy ...` command the README shows parses with the real CLI: its subcommands exist,
and its options, arguments and their types are what the command takes (click's own parser,
through typer's click command, which typer 0.29 vendors; nothing is run). Code blocks (``$ reffy ...`` sessions, chained
with ``&&``, with environment assignments before them) and inline code spans are read."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from reffy.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"(?<!`)`(reffy [^`]+)`(?!`)")
ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def command_lines(text: str) -> list[str]:
    """The command lines of the README that run ``reffy``: code-block lines (a ``$ `` prompt in
    console sessions; every line in bash blocks; ``\\`` continuations joined) and inline spans."""
    lines: list[str] = []
    for block in FENCE.findall(text):
        joined = block.replace("\\\n", " ")
        prompts = [line[2:] for line in joined.splitlines() if line.startswith("$ ")]
        for line in prompts or joined.splitlines():
            if re.search(r"(^|&&|;|\|)\s*([A-Z_][A-Z0-9_]*=\S+\s+)*reffy(\s|$)", line):
                lines.append(line)
    lines += [" ".join(span.split()) for span in INLINE.findall(text)]
    return lines


def command_path(args: list[str]) -> bool:
    """Whether ``args`` are only command names (``user remove``): how prose names a command."""
    command = typer.main.get_command(app)
    for name in args:
        if not isinstance(command, TyperGroup) or name not in command.commands:
            return False
        command = command.commands[name]
    return True


def invocations(line: str) -> list[list[str]]:
    """Each ``reffy`` call in a shell line, as its argument list (comments, env assignments,
    ``&&`` / ``;`` / ``|`` chains handled by shlex)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, "#"
    calls, current = [], []
    for token in [*lexer, ";"]:
        if token in ("&&", "||", ";", "|", "&"):
            while current and ENV.match(current[0]):
                current.pop(0)
            if current[:1] == ["reffy"]:
                calls.append(current[1:])
            current = []
        else:
            current.append(token)
    return calls


def parse(args: list[str]) -> object:
    """Parse ``args`` as the real ``reffy`` would, down to the subcommand, without invoking it (the
    steps of ``TyperGroup.invoke``); a usage error (unknown command or option, missing argument,
    bad value) raises, as a ``typer.TyperException``."""
    command = typer.main.get_command(app)
    ctx = command.make_context("reffy", list(args))
    while isinstance(command, TyperGroup):
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            ctx.fail("Missing command.")
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return command


CALLS = [(line, call) for line in command_lines(README.read_text(encoding="utf-8")) for call in invocations(line)]


def test_the_readme_shows_many_reffy_commands() -> None:
    names = {call[0] for _, call in CALLS if call}
    assert len(CALLS) >= 40, CALLS
    assert {
        "ingest",
        "score",
        "build",
        "index",
        "search",
        "ask",
        "story",
        "override",
        "overrides",
        "user",
        "token",
        "serve",
        "mcp",
        "app",
        "demo",
        "status",
        "config",
        "eval",
        "models",
        "run",
    } <= names


@pytest.mark.parametrize(("line", "args"), CALLS, ids=[" ".join(a) for _, a in CALLS])
def test_every_readme_command_parses(line: str, args: list[str]) -> None:
    if line == "reffy " + " ".join(args) and command_path(args):
        return  # an inline `reffy search` names the command, whose arguments the prose is about
    try:
        parse(args)
    except typer.TyperException as exc:
        pytest.fail(f"README command does not parse: {line!r}: {exc}")


@pytest.mark.parametrize(
    "args",
    [
        ["search"],
        ["search", "x", "--nope"],
        ["serch", "x"],
        ["user", "delete", "a"],
        ["search", "x", "--k", "many"],
        ["token", "add", "bot"],
    ],
)
def test_the_check_refuses_what_the_cli_refuses(args: list[str]) -> None:
    with pytest.raises(typer.TyperException):
        parse(args)
