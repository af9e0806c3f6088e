"""Paths a person waits on import nothing heavy: each runs in a fresh interpreter (a real
subprocess, as a user meets it) on the built demo library, and reports which of the heavy
libraries ended up in ``sys.modules``.

Heavy: torch, transformers and sentence-transformers (seconds to import; only an explicit ONNX
export or the reference embedder needs them), litellm (only with an LLM configured), chromadb
(only hybrid search needs vectors), and the cross-encoder stack unless a re-ranker is configured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "sentence_transformers", "litellm", "chromadb")
DATA = Path(__file__).resolve().parent.parent / "data"

PRELUDE = """
import json, sys
HEAVY = {heavy!r}
def report():
    print("HEAVY=" + json.dumps(sorted(m for m in HEAVY if m in sys.modules)))
"""


def run_python(body: str, home: Path, heavy: tuple[str, ...] = HEAVY, **env: str) -> list[str]:
    """Run ``body`` in a fresh interpreter with REFFY_HOME=home; the heavy modules it imported."""
    code = PRELUDE.format(heavy=heavy) + body + "\nreport()\n"
    full_env = {**os.environ, "REFFY_HOME": str(home), "REFFY_VENDOR_PATH": str(DATA / "vendor.yaml"), **env}
    out = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("HEAVY="))
    return json.loads(line.removeprefix("HEAVY="))


def cli(*args: str) -> str:
    return f"""
from reffy import cli
sys.argv = ["reffy", *{list(args)!r}]
try:
    cli.main()
except SystemExit as exc:
    assert not exc.code, exc.code
"""


@pytest.mark.parametrize(
    "args",
    [
        ("search", "Zentrix", "--mode", "keyword", "--k", "5", "--json"),
        ("search", "bank call handling", "--mode", "keyword", "--filter", "industry=finance", "--filter", "country=DK"),
        ("status",),
        ("config",),
    ],
)
def test_cli_paths_import_nothing_heavy(demo_home: Path, args: tuple[str, ...]) -> None:
    assert run_python(cli(*args), demo_home) == []


def test_keyword_search_logs_its_query_without_sqlite_utils(demo_home: Path) -> None:
    """sqlite-utils costs ~0.1 s to import; a keyword search's history work is plain sqlite3
    (once the history file exists: creating its schema is sqlite-utils' job). Nor does it open
    the warehouse (DuckDB, ~0.1 s): everything it reads, analysts' below-threshold look-ups
    included, is in the index."""
    args = ("search", "Zentrix", "--mode", "keyword", "--k", "5", "--json")
    run_python(cli(*args), demo_home)
    assert run_python(cli(*args), demo_home, heavy=(*HEAVY, "sqlite_utils", "pandas", "duckdb")) == []
    import sqlite3

    with sqlite3.connect(demo_home / "history.sqlite") as con:  # the search was logged all the same
        assert con.execute("SELECT query, mode FROM query_log").fetchall() == [("Zentrix", "keyword")] * 2


def test_story_lookup_imports_nothing_heavy(demo_home: Path) -> None:
    body = """
from reffy.service import ReffyService
svc = ReffyService()
hit = svc.search("Nordvik Bank", mode="keyword", k=1).hits[0]
detail = svc.story(hit.story_id)
assert detail.title and detail.text
"""
    assert run_python(body, demo_home) == []


def test_cli_story_by_short_id_imports_nothing_heavy(demo_home: Path) -> None:
    body = """
from reffy.service import ReffyService
short = ReffyService().search("Nordvik Bank", mode="keyword", k=1, log=False).hits[0].story_id[:12]
""" + cli("story", "SHORT").replace("'SHORT'", "short")
    assert run_python(body, demo_home) == []


def test_api_start_and_health_import_nothing_heavy(demo_home: Path) -> None:
    body = """
from fastapi.testclient import TestClient
from reffy.api import create_app
with TestClient(create_app()) as client:
    health = client.get("/v1/health").json()
    assert health["status"] == "ok", health
    found = client.post("/v1/search", json={"query": "Zentrix", "mode": "keyword", "k": 3}).json()
    assert found["hits"], found
"""
    assert run_python(body, demo_home) == []


def test_mcp_server_start_imports_nothing_heavy(demo_home: Path) -> None:
    body = """
from reffy.mcp_server import build_server
server = build_server()
"""
    assert run_python(body, demo_home) == []


def test_reranker_is_not_loaded_unless_configured(demo_home: Path) -> None:
    """The default has no re-ranker: a hybrid search never imports the cross-encoder stack for it,
    and its result list carries no note about it (``reffy status`` reports it once)."""
    body = """
from reffy.service import ReffyService
svc = ReffyService()
result = svc.search("bank that cut call handling time", k=3)
assert result.hits and not result.notes, result.notes
assert svc.engine.reranker() is None
assert "off" in svc.status().reranker
"""
    assert "sentence_transformers" not in run_python(body, demo_home, REFFY_EMBEDDING_BACKEND="onnx")


def test_a_warmed_server_holds_no_torch(demo_home: Path) -> None:
    """What servers load at start (warm): the ONNX query embedder and the vector store, never
    torch, transformers or sentence-transformers, and no LLM client without an LLM configured."""
    body = """
from reffy.service import ReffyService
svc = ReffyService()
svc.warm()
assert "chromadb" in sys.modules and "onnxruntime" in sys.modules
result = svc.search("bank that cut call handling time", k=3)
assert result.hits and result.mode == "hybrid"
"""
    assert run_python(body, demo_home) == ["chromadb"]


def test_only_the_insights_digest_imports_scikit_learn(demo_home: Path) -> None:
    """scikit-learn (and the scipy clustering under it) is the digest's alone: a keyword search,
    `reffy status`, the review queue and the API's start never import it."""
    clustering = ("sklearn", "scipy.cluster")
    for args in (("search", "Zentrix", "--mode", "keyword"), ("status",), ("review", "--json")):
        assert run_python(cli(*args), demo_home, heavy=clustering) == [], args
    body = """
from fastapi.testclient import TestClient
from reffy.api import create_app
with TestClient(create_app()) as client:
    assert client.get("/v1/health").status_code == 200
    assert client.get("/v1/review").status_code == 200
"""
    assert run_python(body, demo_home, heavy=clustering) == []
    themed = """
from reffy.auth import LOCAL_USER
from reffy.service import ReffyService
svc = ReffyService()
for i in range(12):
    svc.search(f"bank that cut call handling time {i}", mode="keyword")
assert svc.insights(LOCAL_USER, days=1)["questions"] >= 12
"""
    assert "sklearn" in run_python(themed, demo_home, heavy=clustering)  # the digest does import it
