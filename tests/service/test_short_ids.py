"""Short story ids: the 12 characters the CLI prints work wherever an id is accepted (service,
CLI, REST API, MCP), an ambiguous prefix is refused with the candidates listed, an unknown one
says how to find ids, and no prefix tells an external caller that an internal story exists."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp import Client

from reffy.api import create_app
from reffy.auth import Role, User
from reffy.errors import AmbiguousId, NotFound
from reffy.ids import HOW_TO_FIND, distinct_prefixes, resolve_prefix
from reffy.mcp_server import build_server
from reffy.service import ReffyService

IDS = ["ab12" + "0" * 60, "ab12" + "1" * 60, "ab12" + "1" * 11 + "2" * 49, "cd34" + "5" * 60]


# -- the one resolver ---------------------------------------------------------------------
def test_a_whole_id_or_a_unique_prefix_resolves() -> None:
    assert resolve_prefix(IDS[3], IDS) == IDS[3]
    assert resolve_prefix("cd3", IDS) == IDS[3]
    assert resolve_prefix("  CD34 ", IDS) == IDS[3]  # pasted with spaces, in capitals
    assert resolve_prefix("ab120", IDS) == IDS[0]


def test_an_ambiguous_prefix_lists_the_candidates_by_prefixes_that_tell_them_apart() -> None:
    with pytest.raises(AmbiguousId) as info:
        resolve_prefix("ab12", IDS, label=lambda i: f"title {IDS.index(i)}")
    message = str(info.value)
    assert "'ab12' is the start of 3 story ids" in message and "Give more characters" in message
    shown = distinct_prefixes(IDS)
    assert shown[IDS[0]] == IDS[0][:12] and shown[IDS[1]] == IDS[1][:16] and shown[IDS[2]] == IDS[2][:16]
    for i in IDS[:3]:
        assert f"{shown[i]} (title {IDS.index(i)})" in message
    assert IDS[3][:12] not in message


def test_an_unknown_id_says_how_to_find_ids() -> None:
    for ref in ("ef", "no-such-story", IDS[0] + "0"):
        with pytest.raises(NotFound) as info:
            resolve_prefix(ref, IDS, scope="for the external audience")
        assert str(info.value) == f"No story {ref!r} in this library (for the external audience). {HOW_TO_FIND}"
    assert "reffy index" not in HOW_TO_FIND  # sales people are not told to rebuild anything


# -- the service over the demo library ----------------------------------------------------
@pytest.fixture
def svc(demo_settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReffyService]:
    monkeypatch.delenv("REFFY_API_TOKEN", raising=False)
    service = ReffyService(demo_settings)
    yield service
    service.close()


@pytest.fixture
def ids(svc: ReffyService) -> dict[str, list[str]]:
    """What each audience sees: the external one includes public twins of internal stories."""
    rows = svc.stories(audience="internal")
    return {
        "public": sorted(r.story_id for r in svc.stories(audience="external")),
        "internal": sorted(r.story_id for r in rows if r.shareability == "internal"),
    }


def outcome(fn: Any) -> tuple[str, str]:
    try:
        return "ok", fn().story_id
    except (NotFound, AmbiguousId) as exc:
        return type(exc).__name__, str(exc)


def test_every_printed_short_id_opens_its_story(svc: ReffyService, ids) -> None:
    for story_id in ids["public"] + ids["internal"]:
        assert svc.story(story_id[:12]).story_id == story_id
        assert svc.card(story_id[:12].upper()).story_id == story_id
        assert svc.resolve_story_id(story_id[:12]) == story_id


def test_a_prefix_resolves_within_the_callers_audience_and_reveals_nothing_internal(svc: ReffyService, ids) -> None:
    """For an external caller every prefix of an internal id behaves exactly as if the internal
    stories did not exist: it names the one public story it starts, or lists public stories only,
    or is unknown with the message an invented id gets."""
    titles = {r.story_id: r.title for r in svc.stories(audience="internal")}
    internal_only = [titles[i] for i in ids["internal"]]
    cases = {"resolved": 0, "ambiguous": 0, "unknown": 0, "internal ambiguous": 0}
    for story_id in ids["internal"]:
        for n in range(1, 13):
            ref = story_id[:n]
            public = [p for p in ids["public"] if p.startswith(ref)]
            kind, got = outcome(lambda ref=ref: svc.card(ref, audience="external"))
            if len(public) == 1:
                assert (kind, got) == ("ok", public[0])
                cases["resolved"] += 1
            elif public:
                assert kind == "AmbiguousId" and f"start of {len(public)} story ids" in got
                assert not any(i[:12] in got for i in ids["internal"]) and not any(t in got for t in internal_only)
                cases["ambiguous"] += 1
            else:
                assert (kind, got) == (
                    "NotFound",
                    f"No story {ref!r} in this library (for the external audience). {HOW_TO_FIND}",
                )
                cases["unknown"] += 1
            every = [s for s in ids["public"] + ids["internal"] if s.startswith(ref)]
            internal_kind, _ = outcome(lambda ref=ref: svc.card(ref, audience="internal"))
            assert internal_kind == ("ok" if len(every) == 1 else "AmbiguousId")
            cases["internal ambiguous"] += len(every) > 1
    assert cases["unknown"] and cases["internal ambiguous"] and (cases["resolved"] or cases["ambiguous"]), cases
    whole = ids["internal"][0]
    assert outcome(lambda: svc.story(whole, audience="external")) == (
        "NotFound",
        f"No story {whole!r} in this library (for the external audience). {HOW_TO_FIND}",
    )


def test_feedback_on_a_short_id_is_stored_under_the_whole_id(svc: ReffyService, ids) -> None:
    story_id = ids["public"][0]
    row = svc.feedback(User("ann", Role.member), rating=1, story_id=story_id[:12])
    assert row["story_id"] == story_id


# -- adapters -----------------------------------------------------------------------------
def test_the_api_accepts_short_ids_and_refuses_ambiguous_ones(svc: ReffyService, ids) -> None:
    viewer = {"Authorization": f"Bearer {svc.create_token('vic', Role.viewer)}"}
    member = {"Authorization": f"Bearer {svc.create_token('mia', Role.member)}"}
    public, internal = ids["public"][0], ids["internal"][0]
    with TestClient(create_app(svc)) as client:
        r = client.get(f"/v1/stories/{public[:12]}", headers=viewer)
        assert r.status_code == 200 and r.json()["story_id"] == public
        assert client.get(f"/v1/stories/{internal[:12]}", headers=member).json()["story_id"] == internal
        hidden = client.get(f"/v1/stories/{internal[:12]}", headers=viewer)
        unknown = client.get("/v1/stories/no-such-story", headers=viewer)
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["error"]["message"].replace(internal[:12], "X") == unknown.json()["error"][
            "message"
        ].replace("no-such-story", "X")
        every = ids["public"] + ids["internal"]
        shared = next(s[:1] for s in every if sum(o.startswith(s[:1]) for o in every) > 1)
        ambiguous = client.get(f"/v1/stories/{shared}", headers=member)
        assert ambiguous.status_code == 400 and ambiguous.json()["error"]["code"] == "ambiguous_id"
        assert "Give more characters" in ambiguous.json()["error"]["message"]
        fb = client.post("/v1/feedback", json={"rating": 1, "story_id": public[:12]}, headers=viewer)
        assert fb.status_code == 201 and fb.json()["story_id"] == public
        assert (
            client.post("/v1/feedback", json={"rating": 1, "story_id": internal[:12]}, headers=viewer).status_code
            == 404
        )


def test_the_mcp_get_story_tool_accepts_short_ids(svc: ReffyService, ids) -> None:
    async def main() -> Any:
        async with Client(build_server(svc, token="")) as client:
            return await client.call_tool("get_story", {"story_id": ids["internal"][0][:12]})

    result = anyio.run(main)
    assert not result.is_error and result.structured_content["story_id"] == ids["internal"][0]


def test_the_cli_prints_short_ids_that_reffy_story_opens(demo_home, ids) -> None:
    env = {**os.environ, "REFFY_HOME": str(demo_home)}

    def reffy(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "reffy.cli", *args], env=env, capture_output=True, text=True)

    found = reffy("search", "bank that cut call handling time", "--mode", "keyword", "--k", "3")
    assert found.returncode == 0, found.stderr
    printed = [s[:12] for s in ids["public"] + ids["internal"] if s[:12] in found.stdout]
    assert len(printed) == 3, found.stdout
    shown = reffy("story", printed[0])
    assert shown.returncode == 0, shown.stderr
    assert printed[0] in shown.stdout and "Rubric points" in shown.stdout
    assert reffy("story", printed[0], "--json").stdout.count(printed[0]) >= 1
    missing = reffy("story", "no-such-story")
    assert missing.returncode == 3 and "search for the story to find its id" in missing.stderr
