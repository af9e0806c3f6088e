"""Isolation through a real `reffy serve` (a separate process, real HTTP, real tokens from the
CLI) on a copy of the demo library:

- conversations belong to a principal (name and role class), so a viewer token an admin
  named like a member lists, reads, renames, deletes, continues and rates none of the
  member's conversations;
- the external audience's views carry nothing internal (no server paths, versions, duplicates
  or overrides), and it sees a duplicate group's public twin where the canonical is internal.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA
from helpers import stop_process
from test_live_governance import REFFY, env_for, free_port, http, reffy, wait_healthy


@pytest.fixture(scope="module")
def server(demo_library: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("api-isolation") / "home"
    shutil.copytree(demo_library, home)
    tokens = {
        "member": reffy(home, "token", "add", "alice", "--role", "member").strip(),
        "viewer": reffy(home, "token", "add", "alice", "--role", "viewer").strip(),
    }
    docs = json.loads((home / "index" / "docs.json").read_text())
    port = free_port()
    log = home.parent / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*REFFY, "serve", "--port", str(port)], env=env_for(home), stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield {"url": url, "tokens": tokens, "docs": docs}
    finally:
        stop_process(proc)


def test_a_viewer_token_named_like_a_member_reaches_none_of_their_conversations(server) -> None:
    url, member, viewer = server["url"], server["tokens"]["member"], server["tokens"]["viewer"]
    status, asked = http("POST", f"{url}/v1/ask", member, {"question": "Which bank beat Zentrix on handling time?"})
    assert status == 200, asked
    cid, message_id = asked["conversation_id"], asked["message_id"]
    status, titled = http("PATCH", f"{url}/v1/conversations/{cid}", member, {"title": "Zentrix pricing - internal"})
    assert status == 200 and titled["title"] == "Zentrix pricing - internal"

    status, listed = http("GET", f"{url}/v1/conversations", viewer)
    assert status == 200 and listed == []  # before: the member's titles, to anyone holding a token named alice
    for method, path, body in (
        ("GET", f"/v1/conversations/{cid}", None),
        ("PATCH", f"/v1/conversations/{cid}", {"title": "mine"}),
        ("DELETE", f"/v1/conversations/{cid}", None),
        ("POST", "/v1/ask", {"question": "And what did I ask before?", "conversation_id": cid}),
        ("POST", "/v1/feedback", {"rating": -1, "message_id": message_id}),
    ):
        status, error = http(method, f"{url}{path}", viewer, body)
        assert status == 404 and error["error"]["code"] == "not_found", (method, path, error)
        assert "Zentrix pricing" not in json.dumps(error)

    status, own = http("POST", f"{url}/v1/ask", viewer, {"question": "Which bank cut its call handling time?"})
    assert status == 200
    assert [c["id"] for c in http("GET", f"{url}/v1/conversations", viewer)[1]] == [own["conversation_id"]]
    status, mine = http("GET", f"{url}/v1/conversations", member)
    assert [c["id"] for c in mine] == [cid] and mine[0]["title"] == "Zentrix pricing - internal"


def test_the_external_audience_gets_the_public_twin_and_no_internal_annotations(server) -> None:
    url, member, viewer = server["url"], server["tokens"]["member"], server["tokens"]["viewer"]
    nordvik = {d["audience"]: d for d in server["docs"] if d["customer"] == "Nordvik Bank"}
    canonical, twin = nordvik["internal"], nordvik["external"]

    status, page = http("GET", f"{url}/v1/stories/{twin['story_id']}", viewer)
    assert status == 200 and page["text"] and page["source_link"] == "https://quillon.example/customers/nordvik-bank"
    assert page["source_uri"] is None and page["source_record_id"] is None
    assert page["duplicates"] == page["versions"] == page["overrides"] == []
    assert "file://" not in json.dumps(page) and str(DATA) not in json.dumps(page)
    assert http("GET", f"{url}/v1/stories/{canonical['story_id']}", viewer)[0] == 404
    status, inside = http("GET", f"{url}/v1/stories/{canonical['story_id']}", member)
    assert status == 200 and inside["source_uri"].startswith("file://") and inside["versions"]  # members keep them

    status, found = http("POST", f"{url}/v1/search", viewer, {"query": "Nordvik Bank handling time", "k": 5})
    assert status == 200 and found["hits"][0]["story_id"] == twin["story_id"]
    assert "file://" not in json.dumps(found)
    status, answer = http("POST", f"{url}/v1/ask", viewer, {"question": "Which Danish bank cut call handling time?"})
    assert status == 200 and twin["story_id"] in [c["story_id"] for c in answer["citations"]]
    assert "file://" not in json.dumps(answer)
