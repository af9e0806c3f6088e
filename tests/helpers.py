"""Small helpers shared by tests (not fixtures: plain functions)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb

STORY = (
    "Nordvik Bank, a retail bank in Denmark, struggled with long queues in its contact centre. "
    "Customers waited twelve minutes on average and complaints about service were rising every quarter. "
    "The bank deployed Quillon Assist to answer routine questions about cards, loans and payments, "
    "and handed complex cases to human agents with the full conversation attached. "
    "Within six months average handling time fell by 38 percent and customer satisfaction rose by 11 points. "
    '"We finally answer customers when they need us," said Maria Jensen, Head of Customer Care.'
)


def story(n: int, words: int = 120) -> str:
    """A distinct story text, long enough for near-duplicate detection."""
    vocab = [f"w{n}x{i}" for i in range(words)]
    return f"Story number {n}. " + " ".join(vocab)


def query(home: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(home / "reffy.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def scalar(home: Path, sql: str, params: list[Any] | None = None) -> Any:
    return query(home, sql, params)[0][0]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def build_library(settings: Any, sources: list[Path]) -> None:
    """Ingest ``sources`` into ``settings.home`` and run score, gold and index (the whole pipeline)."""
    from reffy.service import ReffyService

    svc = ReffyService(settings)
    try:
        svc.refresh([str(s) for s in sources])
    finally:
        svc.close()


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a server started by a test: terminate, then kill if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_cli(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """One ``reffy`` command run in this process with typer's runner, in the shape of
    ``subprocess.run`` (returncode, stdout, stderr): for tests of what a command prints and
    returns, where a new interpreter per command is not the point (the cold-start and exit-code
    tests in tests/adapters/test_cli.py and tests/test_cold_paths.py run real subprocesses). A
    ``ReffyError`` ends the command as ``reffy.cli.main`` ends it: its message on stderr and
    its exit code."""
    from typer.testing import CliRunner

    from reffy.cli import app
    from reffy.errors import ReffyError

    result = CliRunner().invoke(app, list(args), env={"REFFY_HOME": str(home), **env})
    code, stderr = result.exit_code, result.stderr
    if isinstance(result.exception, ReffyError):
        code, stderr = result.exception.exit_code, stderr + f"Error: {result.exception}\n"
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["reffy", *args], code, result.stdout, stderr)
