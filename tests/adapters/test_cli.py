"""The command line as a user drives it: a real subprocess per command, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import STORY

REFFY = [sys.executable, "-m", "reffy.cli"]


def reffy(*args: str, home: Path, env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = {**os.environ, "REFFY_HOME": str(home), **(env or {})}
    return subprocess.run([*REFFY, *args], env=full_env, capture_output=True, text=True, cwd=cwd)


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; sys.argv=['reffy','--help']\n"
        "from reffy.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('duckdb','trafilatura','torch','sentence_transformers','litellm','chromadb','httpx',"
        "'pypdf','docx','pptx','openpyxl','feedparser','datasketch') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage" in out and "HEAVY []" in out


def test_ingest_status_and_json_summary(tmp_path, home):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.md").write_text(f"# Nordvik\n\n{STORY}", encoding="utf-8")
    (lib / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    first = reffy("ingest", str(lib), "--json", home=home)
    assert first.returncode == 3, first.stderr  # partial: the good file is in, the broken one is recorded
    summary = json.loads(first.stdout)
    assert (summary["new"], summary["errors"], summary["status"]) == (1, 1, "partial")
    second = reffy("ingest", str(lib), home=home)
    assert "0 new" in second.stdout and "partial" in second.stdout
    status = reffy("status", home=home)
    assert status.returncode == 0
    assert "bronze records" in status.stdout and "corrupt" in status.stdout and "broken.pdf" in status.stdout
    st = json.loads(reffy("status", "--json", home=home).stdout)
    assert st["layers"]["bronze records"] == 1 and len(st["recent_runs"]) == 2


def test_status_before_any_ingest_says_what_to_do(home):
    result = reffy("status", home=home)
    assert result.returncode == 1 and "reffy ingest" in result.stderr


def test_missing_source_exits_2_with_a_message(home, tmp_path):
    result = reffy("ingest", str(tmp_path / "missing"), home=home)
    assert result.returncode == 2 and "No such file, folder or URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_reports_where_each_value_came_from(home, tmp_path):
    (tmp_path / ".env").write_text("REFFY_HTTP_RETRIES=5\n", encoding="utf-8")
    out = reffy("config", "--json", home=home, env={"REFFY_MAX_FILE_MB": "7"}, cwd=tmp_path)
    cfg = json.loads(out.stdout)
    assert cfg["max_file_mb"] == {"value": 7.0, "from": "environment (REFFY_MAX_FILE_MB)"}
    assert cfg["http_retries"] == {"value": 5, "from": ".env (REFFY_HTTP_RETRIES)"}
    assert cfg["batch_size"]["from"] == "default"
    assert cfg["home"]["value"] == str(home)


def test_invalid_setting_is_a_clear_error(home):
    result = reffy("config", home=home, env={"REFFY_MAX_FILE_MB": "lots"})
    assert result.returncode == 2 and "REFFY_MAX_FILE_MB" in result.stderr and "Traceback" not in result.stderr


def test_field_map_option(tmp_path, home):
    src = tmp_path / "x.jsonl"
    src.write_text(json.dumps({"ref": "R9", "headline": "H", "narrative": "Our story."}) + "\n", encoding="utf-8")
    result = reffy("ingest", str(src), "--map", "id=ref", "--map", "text=narrative", "--json", home=home)
    assert json.loads(result.stdout)["new"] == 1
    bad = reffy("ingest", str(src), "--map", "colour=red", home=home)
    assert bad.returncode == 2


def test_counts_of_one_are_singular(tmp_path, home):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.md").write_text(f"# Nordvik\n\n{STORY}", encoding="utf-8")
    (lib / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    out = " ".join(reffy("ingest", str(lib), home=home).stdout.split())
    assert "1 record read" in out and "1 error," in out and "0 warnings." in out, out
    (lib / "broken.pdf").unlink()
    for name in ("b", "c"):
        (lib / f"{name}.md").write_text(f"# Other {name}\n\n{STORY} Another line about {name}.", encoding="utf-8")
    out = " ".join(reffy("ingest", str(lib), home=home).stdout.split())
    assert "2 records read" in out and "0 errors" in out, out
