"""The REST API over the real demo library (FastAPI TestClient, real service, offline answers).

Governance is the heart of these tests: a viewer token is the external audience, and no route
(search, stories, ask, its stream, conversations, feedback) may hand it an internal-only story.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from llmstub import LLMStub, error, ok

from reffy.api import create_app
from reffy.auth import Role
from reffy.service import ReffyService


# -- fixtures -----------------------------------------------------------------------------
@pytest.fixture
def svc(demo_settings) -> Iterator[ReffyService]:
    service = ReffyService(demo_settings)
    yield service
    service.close()


@pytest.fixture
def client(svc: ReffyService) -> Iterator[TestClient]:
    with TestClient(create_app(svc)) as c:
        yield c


@pytest.fixture
def tokens(svc: ReffyService) -> dict[str, str]:
    """One token per role (creating any token turns auth on)."""
    return {role.value: svc.create_token(f"{role.value}-user", role, label="test") for role in Role}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def library(svc: ReffyService) -> dict[str, Any]:
    """The demo library's internal-only stories, and customer names that appear only in them (a
    customer whose internal story has a public twin is public: the external audience sees the twin)."""
    internal = {r.story_id: r.to_dict() for r in svc.stories(audience="internal") if r.shareability == "internal"}
    public = {r.story_id: r.to_dict() for r in svc.stories(audience="external")}
    assert internal and public, "the demo library has both internal and public stories"
    public_names = {(r["customer"] or "").lower() for r in public.values()}
    only_internal = sorted(
        {r["customer"] for r in internal.values() if r["customer"] and r["customer"].lower() not in public_names}
    )
    return {"internal": internal, "public": public, "internal_customers": only_internal}


def assert_error(response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def ask_stream(client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None):
    with client.stream("POST", "/v1/ask", json={**body, "stream": True}, headers=headers or {}) as r:
        r.read()
    return r, r.text


def topic_question(story: dict[str, Any]) -> str:
    """A question about a story's topic that does not name its customer."""
    title = story["title"]
    for name in filter(None, (story.get("customer"), (story.get("customer") or "").split(" ")[0])):
        title = title.replace(name, "a customer")
    return f"Which customer story covers this: {title}?"


# -- health, local mode, errors -----------------------------------------------------------
def test_health_needs_no_token_and_reports_counts_and_index(client: TestClient, tokens) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["index"]["ready"] is True
    assert body["auth_required"] is True
    assert body["library"]["gold stories"] > 0 and body["library"]["gold public"] > 0
    assert "home" not in json.dumps(body)  # no server paths to anonymous callers


def test_without_tokens_requests_run_as_the_local_user(client: TestClient) -> None:
    assert client.get("/v1/health").json()["auth_required"] is False
    r = client.post("/v1/search", json={"query": "bank that cut call handling time", "k": 3})
    assert r.status_code == 200
    assert len(r.json()["hits"]) == 3
    assert client.get("/v1/usage").status_code == 200  # the local user is an admin


def test_unknown_routes_wrong_methods_and_bad_bodies_share_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(client.delete("/v1/search"), 405, "method_not_allowed")
    err = assert_error(
        client.post("/v1/search", json={"query": "bank", "filters": {"colour": ["red"]}}), 422, "invalid_request"
    )
    assert any(d["loc"][-1] == "colour" for d in err["details"])
    assert_error(client.post("/v1/search", json={"query": "bank", "k": 0}), 422)
    assert_error(client.post("/v1/search", json={"query": "bank", "k": "5"}), 422)  # strict: no coercion
    assert client.post("/v1/search", json={"query": "bank", "k": 5.0}).status_code == 200  # JSON's integer 5.0
    assert_error(client.get("/v1/usage", params={"dayz": 7}), 422, "invalid_request")  # typos fail loudly
    assert_error(client.post("/v1/search", content=b"{not json", headers={"Content-Type": "application/json"}), 422)
    assert_error(client.post("/v1/search", json={"query": "   "}), 422, "invalid_request")  # blank is not a query


def test_request_body_over_the_limit_is_413(svc: ReffyService, demo_settings) -> None:
    small = ReffyService(demo_settings.model_copy(update={"api_max_body_kb": 1}))
    with TestClient(create_app(small)) as c:
        big = {"query": "bank " * 400}
        assert_error(c.post("/v1/search", json=big), 413, "request_too_large")

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted while read
            yield b'{"query": "'
            for _ in range(40):
                yield b"bank " * 10
            yield b'"}'

        assert_error(c.post("/v1/search", content=chunked(), headers={"Content-Type": "application/json"}), 413)
        assert c.post("/v1/search", json={"query": "bank", "k": 1}).status_code == 200
    small.close()


def test_cors_allows_only_configured_origins(demo_settings) -> None:
    svc = ReffyService(demo_settings.model_copy(update={"api_cors_origins": ["https://crm.example"]}))
    with TestClient(create_app(svc)) as c:
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        ok_ = c.options("/v1/search", headers={"Origin": "https://crm.example", **pre})
        assert ok_.status_code == 200
        assert ok_.headers["access-control-allow-origin"] == "https://crm.example"
        bad = c.options("/v1/search", headers={"Origin": "https://evil.example", **pre})
        assert "access-control-allow-origin" not in bad.headers
        r = c.get("/v1/health", headers={"Origin": "https://crm.example"})
        assert r.headers["access-control-allow-origin"] == "https://crm.example"
    svc.close()


def test_an_unbuilt_library_says_not_ready_and_how_to_fix_it(settings) -> None:
    svc = ReffyService(settings)  # an empty REFFY_HOME: nothing ingested or indexed
    with TestClient(create_app(svc)) as c:
        health = c.get("/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "not_ready"
        assert "reffy ingest" in health.json()["index"]["message"]
        assert str(settings.home) not in health.text  # no server paths to anonymous callers
        err = assert_error(c.post("/v1/search", json={"query": "bank"}), 503)
        assert "reffy" in err["message"]  # names the command that fixes it
    svc.close()


# -- auth ---------------------------------------------------------------------------------
PROTECTED = [
    ("POST", "/v1/search", {"query": "bank"}),
    ("POST", "/v1/ask", {"question": "Which bank cut handling time?"}),
    ("GET", "/v1/stories/some-story", None),
    ("GET", "/v1/conversations", None),
    ("POST", "/v1/conversations", {"title": "x"}),
    ("GET", "/v1/conversations/abc", None),
    ("PATCH", "/v1/conversations/abc", {"title": "y"}),
    ("DELETE", "/v1/conversations/abc", None),
    ("POST", "/v1/feedback", {"rating": 1, "story_id": "x"}),
    ("GET", "/v1/usage", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_every_protected_route_refuses_missing_invalid_and_revoked_tokens(
    client: TestClient, svc: ReffyService, tokens, method: str, path: str, body: Any
) -> None:
    def call(headers: dict[str, str]):
        return client.request(method, path, json=body, headers=headers)

    err = assert_error(call({}), 401, "missing_token")
    assert "reffy token add" in err["message"]
    assert call({}).headers["www-authenticate"] == "Bearer"
    assert_error(call(auth("reffy_not-a-real-token")), 401, "invalid_token")
    assert_error(call({"Authorization": "Basic dXNlcjpwdw=="}), 401, "invalid_token")
    doomed = svc.create_token("leaver", Role.admin)
    assert call(auth(doomed)).status_code != 401
    token_id = next(t["id"] for t in svc.list_tokens() if t["user"] == "leaver")
    assert svc.revoke_token(token_id)
    assert_error(call(auth(doomed)), 401, "invalid_token")


def test_a_bad_token_is_refused_even_when_tokens_are_optional(client: TestClient) -> None:
    assert_error(client.post("/v1/search", json={"query": "bank"}, headers=auth("reffy_forged")), 401, "invalid_token")


def test_usage_needs_the_analyst_role(client: TestClient, tokens) -> None:
    for role in ("viewer", "member"):
        err = assert_error(client.get("/v1/usage", headers=auth(tokens[role])), 403, "permission_denied")
        assert "analyst" in err["message"]
    client.post("/v1/search", json={"query": "retailer returns"}, headers=auth(tokens["member"]))
    for role in ("analyst", "admin"):
        r = client.get("/v1/usage", params={"days": 7}, headers=auth(tokens[role]))
        assert r.status_code == 200
        body = r.json()
        assert {"queries_per_day", "latency", "most_cited", "zero_result", "content_gaps", "totals"} <= set(body)
        assert sum(d["queries"] for d in body["queries_per_day"]) >= 1
    assert_error(client.get("/v1/usage", params={"days": 0}, headers=auth(tokens["admin"])), 422)


# -- search -------------------------------------------------------------------------------
def test_search_returns_documented_hits_with_filters_and_both_modes(client: TestClient, tokens) -> None:
    h = auth(tokens["member"])
    for mode in ("hybrid", "keyword"):
        r = client.post(
            "/v1/search",
            json={
                "query": "bank that cut call handling time",
                "k": 5,
                "mode": mode,
                "filters": {"industry": ["finance"]},
            },
            headers=h,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["mode"] == mode and 0 < len(body["hits"]) <= 5
        assert all(hit["industry"] == "finance" for hit in body["hits"])
        first = body["hits"][0]
        assert {"story_id", "title", "score", "customer", "quality", "shareability", "why", "parts"} <= set(first)
    scalar = client.post("/v1/search", json={"query": "bank", "filters": {"country": "DK"}}, headers=h).json()
    assert scalar["hits"] and all(hit["country"] == "DK" for hit in scalar["hits"])


def test_viewer_search_never_returns_internal_stories(client: TestClient, tokens, library) -> None:
    internal = library["internal"]
    viewer, member = auth(tokens["viewer"]), auth(tokens["member"])
    seen_internal_as_member = 0
    for i, story in enumerate(internal.values()):
        mode = "hybrid" if i < 4 else "keyword"
        for body in (
            {"query": story["title"], "mode": mode, "k": 20, "audience": "internal"},
            {"query": story["title"], "mode": mode, "filters": {"shareability": "internal"}},
        ):
            r = client.post("/v1/search", json=body, headers=viewer)
            assert r.status_code == 200, r.text
            hits = r.json()["hits"]
            assert not {h["story_id"] for h in hits} & set(internal), story["title"]
            assert all(h["shareability"] == "public" for h in hits)
        member_hits = client.post(
            "/v1/search", json={"query": story["title"], "mode": "keyword", "k": 3}, headers=member
        ).json()["hits"]
        seen_internal_as_member += story["story_id"] in {h["story_id"] for h in member_hits}
    assert seen_internal_as_member >= len(internal) // 2  # the control: members do find them


def test_member_can_ask_for_the_external_audience(client: TestClient, tokens, library) -> None:
    story = next(iter(library["internal"].values()))
    r = client.post(
        "/v1/search", json={"query": story["title"], "audience": "external"}, headers=auth(tokens["member"])
    )
    assert all(h["shareability"] == "public" for h in r.json()["hits"])


# -- stories ------------------------------------------------------------------------------
def test_story_by_id_with_audience_enforced(client: TestClient, tokens, library) -> None:
    viewer, member = auth(tokens["viewer"]), auth(tokens["member"])
    for story_id in library["internal"]:
        assert_error(client.get(f"/v1/stories/{story_id}", headers=viewer), 404, "not_found")
        assert_error(client.get(f"/v1/stories/{story_id}", params={"audience": "internal"}, headers=viewer), 404)
    internal_id = next(iter(library["internal"]))
    r = client.get(f"/v1/stories/{internal_id}", headers=member)
    assert r.status_code == 200
    story = r.json()
    assert story["story_id"] == internal_id and story["shareability"] == "internal"
    assert story["text"] and story["criteria"] and story["max_score"] == 31
    assert_error(client.get(f"/v1/stories/{internal_id}", params={"audience": "external"}, headers=member), 404)
    public_id = next(iter(library["public"]))
    assert client.get(f"/v1/stories/{public_id}", headers=viewer).json()["shareability"] == "public"
    assert_error(client.get("/v1/stories/no-such-story", headers=member), 404, "not_found")
    assert_error(client.get("/v1/stories/x", params={"audience": "everyone"}, headers=member), 422)


# -- answers ------------------------------------------------------------------------------
def test_ask_returns_a_cited_answer_as_json(client: TestClient, tokens) -> None:
    r = client.post("/v1/ask", json={"question": "Which bank cut call handling time?"}, headers=auth(tokens["member"]))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["offline"] is True and answer["text"] and answer["citations"]
    assert answer["conversation_id"] and r.headers["x-conversation-id"] == answer["conversation_id"]
    assert answer["message_id"]
    cited = {c["story_id"] for c in answer["citations"]}
    assert cited <= {h["story_id"] for h in answer["hits"]}
    assert all(f"[{c['n']}]" in answer["text"] for c in answer["citations"])


def test_ask_streams_deltas_then_one_answer_event(client: TestClient, tokens) -> None:
    r, text = ask_stream(client, {"question": "Which retailer reduced returns?"}, auth(tokens["member"]))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1
    assert set(kinds[:-1]) == {"delta"} and len(kinds) > 2
    answer = events[-1][1]
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    assert answer["text"].strip() and streamed.strip()
    assert answer["citations"] and answer["conversation_id"] == r.headers["x-conversation-id"]
    follow = client.post(
        "/v1/ask",
        json={"question": "And in Germany?", "conversation_id": answer["conversation_id"]},
        headers=auth(tokens["member"]),
    )
    assert follow.status_code == 200 and follow.json()["conversation_id"] == answer["conversation_id"]


def test_viewer_answers_and_conversations_never_show_internal_stories(client: TestClient, tokens, library) -> None:
    internal = library["internal"]
    viewer, member = auth(tokens["viewer"]), auth(tokens["member"])
    questions = [topic_question(s) for s in list(internal.values())[:4]]
    member_cited_internal = 0
    conversation_id = None
    for i, question in enumerate(questions):
        names = [c for c in library["internal_customers"] if c.lower() not in question.lower()]
        titles = [s["title"] for s in internal.values()]
        body = {"question": question, "audience": "internal", "conversation_id": conversation_id}
        if i % 2:
            r, text = ask_stream(client, body, viewer)
            assert r.status_code == 200
            events = sse_events(text)
            answer = events[-1][1]
            shown = text  # everything the viewer received, deltas included
        else:
            r = client.post("/v1/ask", json=body, headers=viewer)
            assert r.status_code == 200, r.text
            answer, shown = r.json(), r.text
        conversation_id = answer["conversation_id"]
        assert not {c["story_id"] for c in answer["citations"]} & set(internal)
        assert not {h["story_id"] for h in answer["hits"]} & set(internal)
        leaked = [n for n in [*names, *titles] if n.lower() in shown.lower()]
        assert not leaked, (question, leaked)
        control = client.post("/v1/ask", json={"question": question}, headers=member).json()
        member_cited_internal += bool({c["story_id"] for c in control["citations"]} & set(internal))
    assert member_cited_internal >= 1  # the same questions do reach internal stories for members
    convo = client.get(f"/v1/conversations/{conversation_id}", headers=viewer)
    assert convo.status_code == 200
    messages = convo.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * len(questions)
    everything = json.dumps(convo.json()).lower()
    assert not [
        n
        for n in library["internal_customers"]
        if n.lower() in everything and not any(n.lower() in q.lower() for q in questions)
    ]
    assert all(t["title"].lower() not in everything for t in internal.values())
    listed = client.get("/v1/conversations", headers=viewer).json()
    assert [c["id"] for c in listed] == [conversation_id]


def test_llm_failure_is_a_502_in_the_error_shape(demo_settings, llm_stub: LLMStub) -> None:
    settings = demo_settings.model_copy(
        update={
            "llm_model": "openai/stub-model",
            "llm_api_base": llm_stub.base_url,
            "llm_api_key": "sk-test",
            "llm_max_retries": 0,
        }
    )
    svc = ReffyService(settings)
    with TestClient(create_app(svc)) as c:
        llm_stub.enqueue(error(401, "invalid api key", "authentication_error"))
        err = assert_error(c.post("/v1/ask", json={"question": "Which bank cut call handling time?"}), 502)
        assert err["code"].startswith("llm")
        llm_stub.enqueue(error(401, "invalid api key", "authentication_error"))
        r, _ = ask_stream(c, {"question": "Which bank cut call handling time?"})
        assert_error(r, 502)
    svc.close()


def test_streamed_llm_answer_arrives_as_deltas_with_verified_citations(demo_settings, llm_stub: LLMStub) -> None:
    settings = demo_settings.model_copy(
        update={
            "llm_model": "openai/stub-model",
            "llm_api_base": llm_stub.base_url,
            "llm_api_key": "sk-test",
            "llm_max_retries": 0,
        }
    )
    reply = "Nordvik Bank took almost four minutes off every call [1]. A made-up story says more [9]."
    llm_stub.responder = lambda body: ok(reply, chunks=[reply[i : i + 12] for i in range(0, len(reply), 12)])
    svc = ReffyService(settings)
    with TestClient(create_app(svc)) as c:
        r, text = ask_stream(c, {"question": "Which bank cut call handling time?"})
    svc.close()
    assert r.status_code == 200
    events = sse_events(text)
    assert [k for k, _ in events].count("delta") >= 2 and events[-1][0] == "answer"
    answer = events[-1][1]
    assert answer["offline"] is False and answer["model"]
    assert [c["n"] for c in answer["citations"]] == [1]  # the invented [9] was removed by verification
    assert "[9]" not in answer["text"] and any(llm_stub.requests)
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    assert "four minutes off every call [1]" in streamed and "[9]" not in streamed  # verified before it is sent


# -- conversations and feedback -----------------------------------------------------------
def test_conversation_lifecycle_and_ownership(client: TestClient, tokens) -> None:
    alice, bob = auth(tokens["member"]), auth(tokens["analyst"])
    r = client.post("/v1/conversations", json={"title": "Retail references"}, headers=alice)
    assert r.status_code == 201
    convo = r.json()
    cid = convo["id"]
    assert convo["title"] == "Retail references"
    assert client.post("/v1/conversations", headers=alice).status_code == 201  # body optional
    assert cid in [c["id"] for c in client.get("/v1/conversations", headers=alice).json()]
    asked = client.post(
        "/v1/ask", json={"question": "Which retailer reduced returns?", "conversation_id": cid}, headers=alice
    )
    assert asked.status_code == 200
    detail = client.get(f"/v1/conversations/{cid}", headers=alice).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][0]["content"] == "Which retailer reduced returns?"
    renamed = client.patch(f"/v1/conversations/{cid}", json={"title": "Returns"}, headers=alice)
    assert renamed.status_code == 200 and renamed.json()["title"] == "Returns"
    assert_error(client.patch(f"/v1/conversations/{cid}", json={"title": ""}, headers=alice), 422)
    # someone else's conversation does not exist for bob
    assert_error(client.get(f"/v1/conversations/{cid}", headers=bob), 404, "not_found")
    assert_error(client.patch(f"/v1/conversations/{cid}", json={"title": "mine"}, headers=bob), 404)
    assert_error(client.delete(f"/v1/conversations/{cid}", headers=bob), 404)
    assert_error(client.post("/v1/ask", json={"question": "more?", "conversation_id": cid}, headers=bob), 404)
    assert cid not in [c["id"] for c in client.get("/v1/conversations", headers=bob).json()]
    deleted = client.delete(f"/v1/conversations/{cid}", headers=alice)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(client.get(f"/v1/conversations/{cid}", headers=alice), 404)


def test_feedback_on_answers_and_stories(client: TestClient, tokens, library) -> None:
    member, viewer = auth(tokens["member"]), auth(tokens["viewer"])
    answer = client.post("/v1/ask", json={"question": "Which bank cut call handling time?"}, headers=member).json()
    r = client.post(
        "/v1/feedback", json={"rating": -1, "message_id": answer["message_id"], "comment": "too long"}, headers=member
    )
    assert r.status_code == 201
    assert r.json()["rating"] == -1
    public_id, internal_id = next(iter(library["public"])), next(iter(library["internal"]))
    assert client.post("/v1/feedback", json={"rating": 1, "story_id": public_id}, headers=viewer).status_code == 201
    assert_error(client.post("/v1/feedback", json={"rating": 1, "story_id": internal_id}, headers=viewer), 404)
    assert_error(
        client.post("/v1/feedback", json={"rating": 1, "message_id": answer["message_id"]}, headers=viewer), 404
    )
    assert_error(client.post("/v1/feedback", json={"rating": 0, "story_id": public_id}, headers=member), 422)
    assert_error(client.post("/v1/feedback", json={"rating": True, "story_id": public_id}, headers=member), 422)
    assert_error(client.post("/v1/feedback", json={"rating": 1}, headers=member), 422, "invalid_request")
    usage = client.get("/v1/usage", headers=auth(tokens["analyst"])).json()
    assert usage["thumbs_down"]


# -- the schema ---------------------------------------------------------------------------
def test_openapi_documents_every_route_with_models_errors_and_bearer_auth(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert (
        len(operations) == 20
    )  # 11, 5 under /v1/sources, and the review queue, its marks, the insights digest and its Markdown
    for path, method, op in operations:
        assert op.get("summary") and op.get("tags"), (path, method)
        if path != "/v1/health":
            assert op.get("security") and "401" in op["responses"], (path, method)
            assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
            assert "HTTPValidationError" not in json.dumps(op["responses"])  # our 422 shape, not FastAPI's
    assert "text/event-stream" in spec["paths"]["/v1/ask"]["post"]["responses"]["200"]["content"]
    search = spec["components"]["schemas"]["SearchRequest"]
    assert search["properties"]["query"]["examples"] and search["additionalProperties"] is False


# -- token commands -----------------------------------------------------------------------
def test_token_commands_create_list_and_revoke(demo_home, client: TestClient) -> None:
    from typer.testing import CliRunner

    from reffy.cli import app

    runner = CliRunner()
    added = runner.invoke(app, ["token", "add", "crm-bot", "--role", "viewer", "--label", "CRM"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[0]
    assert token.startswith("reffy_")
    assert client.post("/v1/search", json={"query": "bank"}, headers=auth(token)).status_code == 200
    assert_error(client.get("/v1/usage", headers=auth(token)), 403)
    listed = runner.invoke(app, ["token", "list", "--json"])
    rows = json.loads(listed.stdout)
    assert [(r["user"], r["role"], r["label"], r["revoked"]) for r in rows] == [("crm-bot", "viewer", "CRM", False)]
    assert token not in listed.stdout
    assert runner.invoke(app, ["token", "revoke", str(rows[0]["id"])]).exit_code == 0
    assert_error(client.post("/v1/search", json={"query": "bank"}, headers=auth(token)), 401, "invalid_token")
    assert runner.invoke(app, ["token", "revoke", str(rows[0]["id"])]).exit_code == 3
    assert runner.invoke(app, ["token", "add", "x", "--role", "superuser"]).exit_code != 0
