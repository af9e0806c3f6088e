"""The habits the build enforces: ruff's lint and format (pyproject's ``[tool.ruff]``) and mypy's
type check (``[tool.mypy]``) pass on the whole repository, as import-linter's layers do in
tests/test_layers.py. Each check also fails on a real defect, so a passing run means something."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `pip install -e '.[dev]'` installs it")
    return found


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=900)


def test_ruff_lint_and_format_pass() -> None:
    lint = _run(_tool("ruff"), "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run(_tool("ruff"), "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_ruff_catches_a_defect(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x):\n    return undefined_name + x\n", encoding="utf-8")
    run = _run(_tool("ruff"), "check", "--config", str(REPO / "pyproject.toml"), str(bad), cwd=tmp_path)
    assert run.returncode == 1 and "F401" in run.stdout and "F821" in run.stdout


def test_mypy_passes_on_both_packages() -> None:
    run = _run(_tool("mypy"))  # files and settings from pyproject's [tool.mypy]
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success: no issues found" in run.stdout


def test_mypy_catches_a_type_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x: int) -> str:\n    return x\n", encoding="utf-8")
    run = _run(_tool("mypy"), "--config-file", str(REPO / "pyproject.toml"), str(bad), cwd=tmp_path)
    assert run.returncode == 1 and "Incompatible return value type" in run.stdout


def test_a_long_module_says_why_it_is_long() -> None:
    """Small modules named after what they own; one over 500 lines states its reason ("Size: ...")
    in its docstring, so the next reader knows whether splitting it is welcome."""
    import ast

    unexplained = []
    for path in [*REPO.glob("reffy/**/*.py"), *REPO.glob("ingest/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 500 and "Size:" not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(str(path.relative_to(REPO)))
    assert not unexplained, f"over 500 lines with no 'Size:' reason in the docstring: {unexplained}"
