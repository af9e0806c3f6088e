"""`eval/chaos.py` keeps working and its fast probe classes find nothing lost or leaked: hostile
files (bombs, deep JSON, pathological lines, undecodable names) beside good ones, hostile URLs
against a local server, and injections in every story field of both prompts. The slower classes
(kill -9, live revocation, external views) are asserted one by one by their own test modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_fast_chaos_classes_lose_and_leak_nothing(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, str(REPO / "eval" / "chaos.py"), "--classes", "files,urls,prompts", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    table = {row["name"]: row for row in json.loads(out.read_text())}
    assert set(table) == {"hostile files", "hostile URLs", "prompt injection"}
    for row in table.values():
        assert row["tried"] >= 10 and row["handled"] == row["tried"] and row["lost"] == row["leaked"] == 0, row
    assert "| hostile files | 16 | 16 | 0 | 0 |" in run.stdout
