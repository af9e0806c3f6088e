"""A local OpenAI-compatible Chat Completions server for LLM tests (127.0.0.1 only).

Tests drive the *real* litellm client against it: each test queues canned replies
(consumed one per request; an empty queue answers 500 so a missing reply fails loudly),
and every request body is recorded so tests can assert on the exact messages sent.
Streaming requests (``"stream": true``) get the reply's content as Server-Sent Events.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass
class StubReply:
    """One canned answer: a completion wrapping ``content``, or a raw ``body`` with ``status``."""

    content: str | None = None
    status: int = 200
    body: dict[str, Any] | str | None = None  # sent as-is (JSON-encoded when a dict)
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 1000
    completion_tokens: int = 200
    finish_reason: str = "stop"
    chunks: list[str] | None = None  # how a streamed reply is split (default: ~8 characters each)
    delay: float = 0.0


def ok(content: str, **kw: Any) -> StubReply:
    return StubReply(content=content, **kw)


def error(status: int, message: str = "stub error", type_: str = "server_error", **kw: Any) -> StubReply:
    """An OpenAI-style error body (``{"error": {...}}``) with the given status."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": None}}
    return StubReply(status=status, body=body, **kw)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up early are fine
            super().handle_error(request, client_address)


class LLMStub:
    """The server: ``enqueue`` replies, read ``requests`` (bodies) and ``paths`` afterwards."""

    def __init__(self) -> None:
        self.responder = None  # optional callable(body) -> StubReply, used when the queue is empty
        self.queue: list[StubReply] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.stub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def enqueue(self, *replies: StubReply) -> None:
        with self._lock:
            self.queue.extend(replies)

    def start(self) -> LLMStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _take(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> StubReply:
        with self._lock:
            self.paths.append(path)
            self.requests.append(body)
            self.headers.append(headers)
            if self.queue:
                return self.queue.pop(0)
            responder = self.responder
        if responder is not None:
            return responder(body)
        return error(500, "llmstub: no reply queued for this request")


def _completion(reply: StubReply, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def _sse_events(reply: StubReply, model: str) -> Iterator[dict[str, Any]]:
    text = reply.content or ""
    parts = reply.chunks if reply.chunks is not None else [text[i : i + 8] for i in range(0, len(text), 8)]
    base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    for part in parts:
        yield {**base, "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        stub: LLMStub = self.server.stub  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        if path not in PATHS:
            self._send(404, json.dumps({"error": {"message": f"no route {path}", "type": "not_found"}}), {})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        reply = stub._take(path, body, {k.lower(): v for k, v in self.headers.items()})
        if reply.delay:
            time.sleep(reply.delay)
        model = str(body.get("model", "stub-model"))
        if reply.status == 200 and reply.body is None and body.get("stream"):
            self._stream(reply, model)
            return
        payload = reply.body if reply.body is not None else _completion(reply, model)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._send(reply.status, text, reply.headers)

    def _send(self, status: int, text: str, headers: dict[str, str]) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: StubReply, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for event in _sse_events(reply, model):
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def llm_stub() -> Iterator[LLMStub]:
    """A running stub for one test (import this fixture into the test module)."""
    stub = LLMStub().start()
    try:
        yield stub
    finally:
        stub.stop()


def rubric_responder(points: int = 1, delay: float = 0.0):
    """Answers any scoring request validly: each requested criterion gets ``points`` (capped
    by nothing: keep it <= 1 for a valid answer) with the story's first words as evidence."""
    import re

    def respond(body: dict[str, Any]) -> StubReply:
        system = body["messages"][0]["content"]
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        ids = re.search(r"in this order: ([^\n]+?)\.?(?:\n|$)", system).group(1).replace(" ", "").split(",")
        boundary = re.search(r"between <(story-[0-9a-f]+)>", user).group(1)
        story = user.split(f"<{boundary}>\n", 1)[1].split(f"</{boundary}>", 1)[0]
        text = story.strip().splitlines()[-1]
        evidence = " ".join(text.split()[:6])
        answer: dict[str, Any] = {
            "criteria": [{"id": i, "evidence": evidence, "rationale": "stub", "points": points} for i in ids]
        }
        if '"metadata"' in system:
            answer["metadata"] = {
                "customer": "Stub Customer",
                "country": "DK",
                "industry": None,
                "products": [],
                "competitors": [],
                "quotes": [],
                "outcomes": [],
                "shareability": None,
                "challenge": None,
                "solution": None,
            }
        return ok(json.dumps(answer), delay=delay)

    return respond
