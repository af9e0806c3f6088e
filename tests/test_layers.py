"""The layers run one way (pyproject.toml's import-linter contracts): the read side and the shared
domain code never import the pipeline, and the pipeline never imports the service, the adapters
or the read side. The same check fails on a real reach across: the service does import the
pipeline, so a contract that forbids it must come out broken."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def test_every_layer_contract_is_kept() -> None:
    run = subprocess.run(LINT, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 kept, 0 broken" in run.stdout


def test_a_reach_across_breaks_the_build(tmp_path: Path) -> None:
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["reffy", "ingest"]\n\n[[tool.importlinter.contracts]]\n'
        'name = "the service never imports the pipeline (false)"\ntype = "forbidden"\n'
        'source_modules = ["reffy.service"]\nforbidden_modules = ["ingest"]\n'
    )
    run = subprocess.run([*LINT, "--config", str(config)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "BROKEN" in run.stdout and "reffy.service.library -> ingest" in run.stdout, (
        run.stdout
    )
