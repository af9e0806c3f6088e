"""Revocation is live: a public story made internal stops reaching external audiences of servers
that were already running (REST and MCP, real processes) as soon as `reffy index` has written
the new build, with no restart. Every request is decided against the library as it is now."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import stop_process

from reffy.config import load_settings
from reffy.service import ReffyService

DATA = Path(__file__).resolve().parents[2] / "data"
REFFY = [sys.executable, "-m", "reffy.cli"]
PUBLIC_QUERY = "Greystone Building Society complaint handling"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "REFFY_HOME": str(home), "REFFY_VENDOR_PATH": str(DATA / "vendor.yaml")}


def reffy(home: Path, *args: str) -> str:
    out = subprocess.run([*REFFY, *args], env=env_for(home), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def http(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
                if json.loads(response.read())["status"] == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server never became healthy:\n{log.read_text()}")


@pytest.fixture
def library(demo_library: Path, tmp_path: Path) -> tuple[Path, str]:
    """A private copy of the demo library and the id of one public story in it."""
    home = tmp_path / "home"
    shutil.copytree(demo_library, home)
    svc = ReffyService(load_settings(home=home, vendor_path=DATA / "vendor.yaml"))
    try:
        hit = svc.search(PUBLIC_QUERY, mode="keyword", k=1, audience="external", log=False).hits[0]
    finally:
        svc.close()
    assert hit.shareability == "public"
    return home, hit.story_id


@pytest.fixture
def rest_server(library: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[str, str, Path, str]]:
    home, story_id = library
    viewer = reffy(home, "token", "add", "crm-bot", "--role", "viewer").strip()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*REFFY, "serve", "--port", str(port)], env=env_for(home), stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url, viewer, home, story_id
    finally:
        stop_process(proc)


def make_internal(home: Path, story_id: str) -> float:
    """Override to internal, rebuild gold and the index; the moment `reffy index` finished."""
    reffy(home, "override", story_id, "shareability", "internal", "--reason", "customer withdrew approval")
    reffy(home, "build")
    reffy(home, "index")
    return time.monotonic()


def test_rest_server_stops_serving_a_revoked_story_within_a_second(rest_server) -> None:
    url, viewer, home, story_id = rest_server
    assert http("GET", f"{url}/v1/stories/{story_id}", viewer)[0] == 200
    status, found = http("POST", f"{url}/v1/search", viewer, {"query": PUBLIC_QUERY, "k": 5})
    assert story_id in [h["story_id"] for h in found["hits"]]

    done = make_internal(home, story_id)
    new_id = None
    while True:  # the override changes the story's metadata, so gold may give it a new id: check both
        status, _ = http("GET", f"{url}/v1/stories/{story_id}", viewer)
        _, found = http("POST", f"{url}/v1/search", viewer, {"query": PUBLIC_QUERY, "k": 10})
        titles = [h["title"] for h in found["hits"]]
        if status == 404 and not any("Greystone" in t for t in titles):
            break
        assert time.monotonic() - done < 1.0, f"still served {time.monotonic() - done:.2f}s after reffy index"
        time.sleep(0.05)
    # members (internal audience) still find it, labelled internal
    member = reffy(home, "token", "add", "ana", "--role", "member").strip()
    _, found = http("POST", f"{url}/v1/search", member, {"query": PUBLIC_QUERY, "k": 3})
    top = found["hits"][0]
    assert "Greystone" in top["title"] and top["shareability"] == "internal"
    new_id = top["story_id"]
    assert http("GET", f"{url}/v1/stories/{new_id}", viewer)[0] == 404


def test_mcp_server_stops_serving_a_revoked_story(library: tuple[Path, str], tmp_path: Path) -> None:
    from mcp import Client

    home, story_id = library
    token = reffy(home, "token", "add", "agent", "--role", "viewer").strip()
    port = free_port()
    log = tmp_path / "mcp.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*REFFY, "mcp", "--transport", "http", "--port", str(port)],
            env={**env_for(home), "REFFY_API_TOKEN": token},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/mcp"

    async def titles() -> list[str]:
        async with Client(url, read_timeout_seconds=120) as client:
            result = await client.call_tool("search_stories", {"query": PUBLIC_QUERY, "k": 10})
            return [h["title"] for h in result.structured_content["hits"]]

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                before = asyncio.run(titles())
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"MCP server did not start:\n{log.read_text()}")
                time.sleep(0.3)
        assert any("Greystone" in t for t in before)
        done = make_internal(home, story_id)
        after = asyncio.run(titles())
        assert not any("Greystone" in t for t in after), f"served {time.monotonic() - done:.2f}s after reffy index"
        assert time.monotonic() - done < 5  # one MCP session round trip, well inside the bound
    finally:
        stop_process(proc)
