"""reffy.llm against a local OpenAI-compatible stub, through the real litellm client."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from llmstub import LLMStub, StubReply, error, ok

from reffy.config import Settings, load_settings
from reffy.errors import LLMError, LLMInputError, LLMTimeout, LLMUnavailable, LLMUnreachable, ReffyError
from reffy.llm import ChatResponse, LiteLLMChatModel, TextStream, estimate_cost, retry_after_s

MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Say hi."}]
SCHEMA = {"title": "greeting", "type": "object", "properties": {"hi": {"type": "string"}}, "required": ["hi"]}


def make_settings(tmp_path: Path, base: str, **kw: object) -> Settings:
    kw = {"llm_model": "openai/gpt-4o-mini", "llm_api_key": "sk-test", **kw}
    return load_settings(home=tmp_path / "home", llm_api_base=base, **kw)


def make_model(tmp_path: Path, stub: LLMStub, **kw: object) -> tuple[LiteLLMChatModel, list[float]]:
    sleeps: list[float] = []
    return LiteLLMChatModel(make_settings(tmp_path, stub.base_url, **kw), sleep=sleeps.append), sleeps


def test_complete_sends_the_request_and_reports_usage_and_cost(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(ok('{"hi": "there"}', prompt_tokens=1000, completion_tokens=200))

    resp = model.complete(MESSAGES, json_schema=SCHEMA, temperature=0)

    assert isinstance(resp, ChatResponse)
    assert resp.text == '{"hi": "there"}'
    assert (resp.tokens_in, resp.tokens_out) == (1000, 200)
    assert resp.cost_known and resp.cost_usd == pytest.approx(1000 * 0.15e-6 + 200 * 0.6e-6)
    assert resp.model == "openai/gpt-4o-mini" and resp.finish_reason == "stop" and resp.latency_s > 0
    body = llm_stub.requests[0]
    assert body["model"] == "gpt-4o-mini" and body["messages"] == MESSAGES and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"  # gpt-4o-mini supports response schemas
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert llm_stub.paths == ["/v1/chat/completions"]
    assert llm_stub.headers[0]["authorization"] == "Bearer sk-test"
    assert sleeps == []
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"


def test_unknown_model_gets_json_object_mode_and_unknown_cost(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, _ = make_model(tmp_path, llm_stub, llm_model="openai/my-local-model")
    llm_stub.enqueue(ok('{"hi": 1}'))
    resp = model.complete(MESSAGES, json_schema=SCHEMA)
    assert llm_stub.requests[0]["response_format"] == {"type": "json_object", "schema": SCHEMA}  # llama.cpp: a grammar
    assert resp.cost_usd == 0.0 and resp.cost_known is False
    assert resp.tokens_in == 1000


def test_no_json_schema_sends_no_response_format(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, _ = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(ok("plain"))
    assert model.complete(MESSAGES).text == "plain"
    assert "response_format" not in llm_stub.requests[0]


def test_server_refusing_the_response_format_gets_a_weaker_one(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(
        error(400, "response_format json_schema is not supported", "invalid_request_error"),
        error(400, "response_format json_object is not supported", "invalid_request_error"),
        ok('{"hi": 1}'),
        ok('{"hi": 2}'),
    )
    assert model.complete(MESSAGES, json_schema=SCHEMA).text == '{"hi": 1}'
    formats = [r.get("response_format", {}).get("type") for r in llm_stub.requests]
    assert formats == ["json_schema", "json_object", None]
    model.complete(MESSAGES, json_schema=SCHEMA)  # the downgrade is remembered
    assert "response_format" not in llm_stub.requests[-1]
    assert sleeps == []


def test_rate_limit_honours_retry_after(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(error(429, "Rate limit reached", "rate_limit_error", headers={"Retry-After": "7"}), ok("fine"))
    assert model.complete(MESSAGES).text == "fine"
    assert len(llm_stub.requests) == 2 and sleeps == [7.0]


def test_server_error_then_success_backs_off_with_jitter(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(error(500), error(503), ok("fine"))
    assert model.complete(MESSAGES).text == "fine"
    assert len(sleeps) == 2 and 1 <= sleeps[0] <= 2 and 2 <= sleeps[1] <= 3


def test_persistent_server_error_fails_after_the_configured_retries(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub, llm_max_retries=2)
    llm_stub.enqueue(*[error(500, "upstream exploded")] * 3)
    with pytest.raises(LLMUnavailable) as info:
        model.complete(MESSAGES)
    assert len(llm_stub.requests) == 3 and len(sleeps) == 2
    message = str(info.value)
    assert "after 3 attempts" in message and "upstream exploded" in message
    assert "REFFY_LLM_MAX_RETRIES" in message and isinstance(info.value, ReffyError)


@pytest.mark.parametrize("stream", [False, True])
def test_refused_connection_fails_at_once_and_says_how_to_fix(tmp_path: Path, stream: bool) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    settings = make_settings(tmp_path, f"http://127.0.0.1:{port}/v1", llm_max_retries=4)
    with pytest.raises(LLMUnreachable) as info:
        LiteLLMChatModel(settings, sleep=sleeps.append).complete(MESSAGES, stream=stream)
    assert sleeps == [] and info.value.attempts == 1  # not retried: nothing listens there
    assert isinstance(info.value, LLMUnavailable)
    message = str(info.value)
    assert message.startswith(f"Cannot connect to the LLM server at http://127.0.0.1:{port}/v1 for openai/gpt-4o-mini")
    assert "Start the server, or check REFFY_LLM_API_BASE; or unset REFFY_LLM_MODEL" in message
    assert ".." not in message and "Connection error" not in message


def test_timeout_is_retried(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub, llm_timeout_s=0.3)
    llm_stub.enqueue(StubReply(content="late", delay=1.0), ok("in time"))
    assert model.complete(MESSAGES).text == "in time"
    assert len(sleeps) == 1


def test_timeout_is_retried_once_only(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub, llm_timeout_s=0.2, llm_max_retries=4)
    llm_stub.enqueue(*[StubReply(content="late", delay=0.6)] * 3)
    with pytest.raises(LLMTimeout) as info:
        model.complete(MESSAGES)
    assert len(llm_stub.requests) == 2 and len(sleeps) == 1 and info.value.attempts == 2
    message = str(info.value)
    assert "did not answer within 0.2 s" in message and "(2 attempts)" in message and "REFFY_LLM_TIMEOUT_S" in message


def test_strict_schema_mode_gets_no_length_bounds(tmp_path: Path, llm_stub: LLMStub) -> None:
    """OpenAI's strict mode refuses maxLength and friends; grammar servers (json_object) need them."""
    bounded = {
        "title": "t",
        "type": "object",
        "properties": {
            "hi": {"type": "string", "maxLength": 5},
            "n": {"type": "integer", "minimum": 0, "maximum": 3},
            "xs": {"type": "array", "items": {"type": "string", "maxLength": 4}, "maxItems": 2},
        },
    }
    model, _ = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(
        ok('{"hi": "yo"}'), error(400, "json_schema not supported", "invalid_request_error"), ok('{"hi": "yo"}')
    )
    model.complete(MESSAGES, json_schema=bounded)
    sent = llm_stub.requests[0]["response_format"]["json_schema"]["schema"]
    assert sent["properties"] == {
        "hi": {"type": "string"},
        "n": {"type": "integer"},
        "xs": {"type": "array", "items": {"type": "string"}},
    }
    model._mode = "json_schema"
    model.complete(MESSAGES, json_schema=bounded)
    assert llm_stub.requests[-1]["response_format"] == {"type": "json_object", "schema": bounded}


@pytest.mark.parametrize(
    ("setting", "offered", "named"), [("auto", False, False), ("on", True, True), ("off", False, False)]
)
def test_llm_tools_setting(tmp_path: Path, llm_stub: LLMStub, setting: str, offered: bool, named: bool) -> None:
    model, _ = make_model(tmp_path, llm_stub, llm_model="openai/my-local-model", llm_tools=setting)
    assert model.supports_tools() is offered
    tool = {"type": "function", "function": {"name": "search_stories", "parameters": {"type": "object"}}}
    llm_stub.enqueue(ok("no call"))
    model.complete(MESSAGES, tools=[tool], max_tokens=50)
    body = llm_stub.requests[0]
    assert body["max_tokens"] == 50 and body["tools"][0]["function"]["name"] == "search_stories"
    expected = {"type": "function", "function": {"name": "search_stories"}} if named else None
    assert body.get("tool_choice") == expected


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "REFFY_LLM_API_KEY"), (403, "REFFY_LLM_API_KEY"), (404, "REFFY_LLM_MODEL"), (400, "REFFY_LLM_API_BASE")],
)
def test_hard_failures_are_not_retried_and_say_how_to_fix(
    tmp_path: Path, llm_stub: LLMStub, status: int, hint: str
) -> None:
    model, sleeps = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(error(status, "provider says no", "invalid_request_error"))
    with pytest.raises(LLMError) as info:
        model.complete(MESSAGES)  # no json_schema: a 400 has no weaker format to fall back to
    assert not isinstance(info.value, LLMUnavailable)
    assert hint in str(info.value) and "provider says no" in str(info.value)
    assert len(llm_stub.requests) == 1 and sleeps == []
    assert info.value.status == status


def test_context_window_error_is_an_input_error(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, _ = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(
        error(
            400,
            "This model's maximum context length is 128000 tokens.",
            "invalid_request_error",
        ),
    )
    llm_stub.queue[0].body["error"]["code"] = "context_length_exceeded"  # type: ignore[index]
    with pytest.raises(LLMInputError, match="context window"):
        model.complete(MESSAGES, json_schema=SCHEMA)
    assert len(llm_stub.requests) == 1  # not mistaken for a refused response_format


def test_missing_api_key_is_not_retried(tmp_path: Path, llm_stub: LLMStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model, sleeps = make_model(tmp_path, llm_stub, llm_api_key=None)
    with pytest.raises(LLMError, match=r"No API key.*REFFY_LLM_API_KEY") as info:
        model.complete(MESSAGES)
    assert not isinstance(info.value, LLMUnavailable) and sleeps == [] and llm_stub.requests == []


def test_missing_model_setting_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match="REFFY_LLM_MODEL"):
        LiteLLMChatModel(load_settings(home=tmp_path, llm_model=None))


def test_streaming_yields_deltas_that_concatenate_to_the_text(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, _ = make_model(tmp_path, llm_stub)
    text = "Nordvik Bank went live in March after a six-week pilot."
    llm_stub.enqueue(ok(text, chunks=["Nordvik Bank ", "went live ", "in March", " after a six-week pilot."]))

    stream = model.complete(MESSAGES, stream=True)
    deltas = list(stream)

    assert deltas == ["Nordvik Bank ", "went live ", "in March", " after a six-week pilot."]
    assert "".join(deltas) == text
    assert llm_stub.requests[0]["stream"] is True
    assert isinstance(stream, TextStream) and stream.response is not None
    assert stream.response.text == text and stream.response.tokens_out > 0 and stream.response.cost_usd > 0


def test_streaming_start_is_retried_on_rate_limit(tmp_path: Path, llm_stub: LLMStub) -> None:
    model, sleeps = make_model(tmp_path, llm_stub)
    llm_stub.enqueue(error(429, "slow down", "rate_limit_error", headers={"retry-after-ms": "250"}), ok("a b c"))
    assert "".join(model.complete(MESSAGES, stream=True)) == "a b c"
    assert sleeps == [0.25]


def test_retry_after_parsing() -> None:
    def exc(headers: dict[str, str]) -> SimpleNamespace:
        return SimpleNamespace(response=SimpleNamespace(headers=headers))

    assert retry_after_s(exc({"retry-after": "3"})) == 3.0
    assert retry_after_s(exc({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry_after_s(exc({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0  # in the past
    assert retry_after_s(exc({"retry-after": "soon"})) is None
    assert retry_after_s(exc({})) is None
    assert retry_after_s(ValueError("no response")) is None


def test_estimate_cost_counts_tokens_locally() -> None:
    tokens, cost = estimate_cost("openai/gpt-4o-mini", "Nordvik Bank cut handling time by 38%. " * 50, 500)
    assert 300 < tokens < 700
    assert cost == pytest.approx(tokens * 0.15e-6 + 500 * 0.6e-6)
    tokens, cost = estimate_cost("openai/some-local-model", "hello world", 10)
    assert tokens > 0 and cost is None
