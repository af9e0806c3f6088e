"""The MCP server, driven by the official SDK's client: over stdio (``python -m reffy.mcp_server``
as a subprocess), over streamable HTTP on 127.0.0.1 (``reffy mcp --transport http``), and
in-process for the governance cases. The library is the real demo library; answers are offline.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from conftest import DATA
from helpers import stop_process
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from reffy.auth import Role
from reffy.config import load_settings
from reffy.errors import ConfigError
from reffy.mcp_server import build_server, serve
from reffy.service import ReffyService

TOOLS = {"search_stories", "get_story", "ask"}


@pytest.fixture
def svc(demo_settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReffyService]:
    monkeypatch.delenv("REFFY_API_TOKEN", raising=False)
    service = ReffyService(demo_settings)
    yield service
    service.close()


@pytest.fixture
def internal(svc: ReffyService) -> dict[str, dict[str, Any]]:
    return {r.story_id: r.to_dict() for r in svc.stories(audience="internal") if r.shareability == "internal"}


def run(coro_fn, *args: Any) -> Any:
    return anyio.run(coro_fn, *args)


async def exercise_every_tool(client: Client) -> dict[str, Any]:
    """List the tools and call each one (plus an error case); return what came back."""
    listed = (await client.list_tools()).tools
    out: dict[str, Any] = {"tools": {t.name: t for t in listed}}
    found = await client.call_tool(
        "search_stories", {"query": "bank that cut call handling time", "k": 3, "filters": {"industry": ["finance"]}}
    )
    out["search"] = found
    first = found.structured_content["hits"][0]["story_id"]
    out["story"] = await client.call_tool("get_story", {"story_id": first})
    out["ask"] = await client.call_tool("ask", {"question": "Which bank cut call handling time?"})
    out["missing"] = await client.call_tool("get_story", {"story_id": "no-such-story"})
    out["invalid"] = await client.call_tool("search_stories", {"query": "bank", "k": 0})
    return out


def check_every_tool(out: dict[str, Any]) -> None:
    assert set(out["tools"]) == TOOLS
    for tool in out["tools"].values():
        assert tool.description and tool.output_schema and tool.input_schema["properties"]
    assert out["tools"]["search_stories"].annotations.read_only_hint is True
    assert set(out["tools"]["search_stories"].input_schema["properties"]) == {"query", "filters", "k", "mode"}
    search = out["search"]
    assert not search.is_error
    hits = search.structured_content["hits"]
    assert 0 < len(hits) <= 3 and all(h["industry"] == "finance" for h in hits)
    assert search.content[0].type == "text" and hits[0]["story_id"] in search.content[0].text
    story = out["story"].structured_content
    assert not out["story"].is_error and story["story_id"] == hits[0]["story_id"] and story["text"]
    answer = out["ask"].structured_content
    assert not out["ask"].is_error and answer["text"] and answer["citations"] and answer["conversation_id"]
    missing = out["missing"]
    assert missing.is_error and missing.structured_content["error"]["code"] == "not_found"
    assert "no-such-story" in missing.structured_content["error"]["message"]
    assert out["invalid"].is_error  # k=0 is refused by the published input schema


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    # the stdio client starts the server with a minimal environment: pass the session's model cache,
    # and PYTHONPATH when set, so the server runs the same checkout of Reffy as the tests
    path = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    return {
        "REFFY_HOME": str(home),
        "REFFY_VENDOR_PATH": str(DATA / "vendor.yaml"),
        "REFFY_MODEL_CACHE_DIR": os.environ["REFFY_MODEL_CACHE_DIR"],
        **path,
        **extra,
    }


# -- stdio --------------------------------------------------------------------------------
def test_stdio_lists_and_calls_every_tool(demo_home: Path, svc: ReffyService, internal) -> None:
    token = svc.create_token("agent", Role.viewer, label="mcp")  # the env token makes this client a viewer
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "reffy.mcp_server"],
        env=subprocess_env(demo_home, REFFY_API_TOKEN=token),
        cwd=str(demo_home),
    )

    errlog = (demo_home / "mcp-stderr.log").open("w")  # the server's log (a real file: pytest swaps sys.stderr)

    async def main() -> dict[str, Any]:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=120) as client:
            out = await exercise_every_tool(client)
            hidden = next(iter(internal.values()))
            out["hidden_search"] = await client.call_tool("search_stories", {"query": hidden["title"], "k": 20})
            out["hidden_story"] = await client.call_tool("get_story", {"story_id": hidden["story_id"]})
            deadline = time.monotonic() + 60  # a stdio server has no health route: it says so on stderr
            while (
                "reffy mcp: ready in" not in (demo_home / "mcp-stderr.log").read_text() and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.05)
            out["log"] = (demo_home / "mcp-stderr.log").read_text()
            return out

    try:
        out = run(main)
    finally:
        errlog.close()
    assert "reffy mcp: ready in" in out["log"], out["log"]
    check_every_tool(out)
    for result in (out["search"], out["hidden_search"]):
        assert all(h["shareability"] == "public" for h in result.structured_content["hits"])
        assert not {h["story_id"] for h in result.structured_content["hits"]} & set(internal)
    assert out["hidden_story"].structured_content["error"]["code"] == "not_found"
    assert not {c["story_id"] for c in out["ask"].structured_content["citations"]} & set(internal)


# -- streamable HTTP ----------------------------------------------------------------------
@pytest.fixture
def http_server(demo_home: Path) -> Iterator[str]:
    """``reffy mcp --transport http`` on a free loopback port; yields the endpoint URL."""
    port = free_port()
    exe = Path(sys.executable).with_name("reffy")
    proc = subprocess.Popen(
        [str(exe), "mcp", "--transport", "http", "--port", str(port)],
        env={**os.environ, **subprocess_env(demo_home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"reffy mcp exited: {proc.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process(proc)


def test_streamable_http_lists_and_calls_every_tool_with_per_request_tokens(
    http_server: str, demo_home: Path, internal
) -> None:
    async def main() -> dict[str, Any]:
        async with Client(http_server, read_timeout_seconds=120) as client:
            out = await exercise_every_tool(client)
        # tokens exist from here on: anonymous calls are refused, a viewer's bearer token is honoured
        writer = ReffyService()  # same REFFY_HOME as the server process
        viewer = writer.create_token("crm", Role.viewer)
        writer.close()
        async with Client(http_server, read_timeout_seconds=120) as client:
            out["anonymous"] = await client.call_tool("search_stories", {"query": "bank"})
        headers = {"Authorization": f"Bearer {viewer}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120) as http,
            Client(streamable_http_client(http_server, http_client=http), read_timeout_seconds=120) as client,
        ):
            hidden = next(iter(internal.values()))
            out["viewer_search"] = await client.call_tool("search_stories", {"query": hidden["title"], "k": 20})
            out["viewer_story"] = await client.call_tool("get_story", {"story_id": hidden["story_id"]})
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer reffy_forged"}, timeout=120) as http,
            Client(streamable_http_client(http_server, http_client=http), read_timeout_seconds=120) as client,
        ):
            out["forged"] = await client.call_tool("get_story", {"story_id": hidden["story_id"]})
        return out

    out = run(main)
    check_every_tool(out)
    assert out["anonymous"].is_error and out["anonymous"].structured_content["error"]["code"] == "unauthorized"
    assert "REFFY_API_TOKEN" in out["anonymous"].structured_content["error"]["message"]
    hits = out["viewer_search"].structured_content["hits"]
    assert (
        hits and all(h["shareability"] == "public" for h in hits) and not {h["story_id"] for h in hits} & set(internal)
    )
    assert out["viewer_story"].structured_content["error"]["code"] == "not_found"
    assert out["forged"].structured_content["error"]["code"] == "unauthorized"


# -- governance, in-process ---------------------------------------------------------------
def test_env_token_sets_the_identity_and_is_checked_on_every_call(svc: ReffyService, internal) -> None:
    member = svc.create_token("mia", Role.member)
    viewer = svc.create_token("vic", Role.viewer)
    story = next(iter(internal.values()))

    async def call(token: str, name: str, args: dict[str, Any]):
        async with Client(build_server(svc, token=token)) as client:
            return await client.call_tool(name, args)

    as_member = run(call, member, "get_story", {"story_id": story["story_id"]})
    assert not as_member.is_error and as_member.structured_content["shareability"] == "internal"
    as_viewer = run(call, viewer, "get_story", {"story_id": story["story_id"]})
    assert as_viewer.structured_content["error"]["code"] == "not_found"
    answer = run(call, viewer, "ask", {"question": f"Tell me about {story['title']}"}).structured_content
    assert not {c["story_id"] for c in answer["citations"]} & set(internal)
    assert story["title"].lower() not in answer["text"].lower()
    anonymous = run(call, "", "search_stories", {"query": "bank"})
    assert anonymous.structured_content["error"]["code"] == "unauthorized"
    token_id = next(t["id"] for t in svc.list_tokens() if t["user"] == "mia")
    svc.revoke_token(token_id)
    revoked = run(call, member, "search_stories", {"query": "bank"})
    assert revoked.is_error and "revoked" in revoked.structured_content["error"]["message"]


def test_ask_continues_a_conversation_and_refuses_someone_elses(svc: ReffyService) -> None:
    alice, bob = svc.create_token("alice", Role.member), svc.create_token("bob", Role.member)

    async def main() -> tuple[Any, Any, Any]:
        async with Client(build_server(svc, token=alice)) as a, Client(build_server(svc, token=bob)) as b:
            first = await a.call_tool("ask", {"question": "Which retailer reduced returns?"})
            cid = first.structured_content["conversation_id"]
            follow = await a.call_tool("ask", {"question": "And in Germany?", "conversation_id": cid})
            stolen = await b.call_tool("ask", {"question": "What did they ask?", "conversation_id": cid})
            return first, follow, stolen

    first, follow, stolen = run(main)
    assert follow.structured_content["conversation_id"] == first.structured_content["conversation_id"]
    assert stolen.is_error and stolen.structured_content["error"]["code"] == "not_found"


def test_a_revoked_process_token_stops_the_server_from_starting(svc: ReffyService, monkeypatch) -> None:
    monkeypatch.setenv("REFFY_API_TOKEN", "reffy_not-issued-here")
    settings = load_settings(home=svc.settings.home)  # REFFY_API_TOKEN is read like every setting
    assert settings.api_token == "reffy_not-issued-here"
    with pytest.raises(ConfigError, match="REFFY_API_TOKEN is unknown or revoked"):
        serve("stdio", service=ReffyService(settings))
