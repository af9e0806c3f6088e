"""The one door to LLM providers: a small ``ChatModel`` protocol and its litellm implementation.

Everything else in Reffy talks to :class:`ChatModel`, so tests and alternative backends
can stand in for litellm. litellm is imported lazily (it takes seconds and, unless told
otherwise, fetches a price list from the internet) and only here. Transient provider
failures are retried with backoff; everything else becomes an :class:`LLMError` whose
message says which setting to fix. Two failures are not worth the full backoff: a server
that refuses the connection (nothing listens at REFFY_LLM_API_BASE) fails at once as
:class:`LLMUnreachable`, and a call that outlasts REFFY_LLM_TIMEOUT_S is tried once more,
then fails as :class:`LLMTimeout` (another wait as long would rarely end differently).

Structured output is asked for in the strongest form the server takes, weakening on a
refusal (400/422): ``json_schema`` (OpenAI's structured outputs), then ``json_object``
carrying the schema (what llama.cpp's server turns into a grammar), then no format (the
prompt asks for JSON). Local servers that return tool calls only when told which function
to call (llama.cpp's) get the one tool named in ``tool_choice`` under REFFY_LLM_TOOLS=on.

Size: the one adapter to litellm (protocol, response and stream types, retries, error translation);
its parts only make sense together.
"""

from __future__ import annotations

import email.utils
import errno
import logging
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, overload

from reffy.config import Settings
from reffy.errors import LLMError, LLMInputError, LLMTimeout, LLMUnavailable, LLMUnreachable
from reffy.wording import plural, sentence

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
ResponseMode = Literal["json_schema", "json_object"] | None
_DOWNGRADE: dict[ResponseMode, ResponseMode] = {"json_schema": "json_object", "json_object": None}
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER_S = 120.0
TIMEOUT_ATTEMPTS = 2  # a call that timed out is tried once more, whatever REFFY_LLM_MAX_RETRIES says
_UNREACHABLE_ERRNO = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL})
_NO_KEY = re.compile(r"missing credentials|api_key client option must be set", re.I)
_PROVIDER_PREFIX = re.compile(r"^(?:\s*(?:litellm\.)?\w+(?:Error|Exception)\s*[:-]\s*)+")

_litellm: Any = None
_import_lock = threading.Lock()


def _lib() -> Any:
    """Import litellm once, offline: local price map, no tokenizer downloads, no banners."""
    global _litellm
    if _litellm is None:
        with _import_lock:
            if _litellm is None:
                os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
                import litellm

                litellm.suppress_debug_info = True
                litellm.disable_hf_tokenizer_download = True
                _litellm = litellm
    return _litellm


@dataclass(slots=True)
class ChatResponse:
    text: str
    tokens_in: int
    tokens_out: int
    cost_usd: float  # 0.0 when the price is unknown; see cost_known
    model: str
    latency_s: float
    cost_known: bool = True
    finish_reason: str | None = None  # "length" means the answer was cut off
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "arguments" (str JSON)}]


class ChatModel(Protocol):
    """What scorers and answerers need from an LLM: one ``complete`` call (JSON-shaped, streamed
    or with tools) and whether tools may be offered. :class:`LiteLLMChatModel` is the one
    implementation; tests drive it against a local fake provider."""

    model: str

    def supports_tools(self) -> bool: ...

    @overload
    def complete(
        self,
        messages: Messages,
        *,
        json_schema: dict[str, Any] | None = ...,
        stream: Literal[False] = ...,
        temperature: float | None = ...,
        tools: list[dict[str, Any]] | None = ...,
        max_tokens: int | None = ...,
        tool_choice: str | dict[str, Any] | None = ...,
    ) -> ChatResponse: ...

    @overload
    def complete(
        self,
        messages: Messages,
        *,
        json_schema: dict[str, Any] | None = ...,
        stream: Literal[True],
        temperature: float | None = ...,
        tools: list[dict[str, Any]] | None = ...,
        max_tokens: int | None = ...,
        tool_choice: str | dict[str, Any] | None = ...,
    ) -> Iterator[str]: ...


def _cost(lib: Any, response: Any) -> tuple[float, bool]:
    try:
        return float(lib.completion_cost(completion_response=response) or 0.0), True
    except Exception:
        return 0.0, False


def _to_chat_response(lib: Any, response: Any, model: str, latency_s: float) -> ChatResponse:
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    cost, known = _cost(lib, response)
    calls = [
        {"name": c.function.name, "arguments": c.function.arguments or "{}"}
        for c in (getattr(choice.message, "tool_calls", None) or [])
        if getattr(c, "function", None)
    ]
    return ChatResponse(
        tool_calls=calls,
        text=choice.message.content or "",
        tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
        tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=cost,
        model=model,
        latency_s=latency_s,
        cost_known=known,
        finish_reason=getattr(choice, "finish_reason", None),
    )


class TextStream(Iterator[str]):
    """Text deltas of a streamed answer; ``response`` holds totals once the stream is exhausted."""

    def __init__(self, raw: Any, messages: Messages, model: str, started: float, translate: Callable) -> None:
        self._raw, self._messages, self._model, self._started = raw, messages, model, started
        self._translate = translate
        self._chunks: list[Any] = []
        self._it: Iterator[Any] | None = None
        self.response: ChatResponse | None = None

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        with warnings.catch_warnings():  # litellm's stream types trip a pydantic UserWarning
            warnings.filterwarnings("ignore", message=".*ReadOnly", category=UserWarning)
            return self._next()

    def _next(self) -> str:
        if self._it is None:
            self._it = iter(self._raw)
        while True:
            try:
                chunk = next(self._it)
            except StopIteration:
                if self.response is None:
                    lib = _lib()
                    built = lib.stream_chunk_builder(self._chunks, messages=self._messages)
                    elapsed = time.monotonic() - self._started
                    self.response = _to_chat_response(lib, built, self._model, elapsed) if built else None
                raise
            except Exception as exc:
                raise self._translate(exc, 1, mid_stream=True) from exc
            self._chunks.append(chunk)
            choices = getattr(chunk, "choices", None) or []
            delta = getattr(choices[0].delta, "content", None) if choices else None
            if delta:
                return delta


class LiteLLMChatModel:
    """:class:`ChatModel` over litellm, configured by ``REFFY_LLM_*`` settings.

    ``sleep`` is injectable so tests of the backoff do not wait.
    """

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if not settings.llm_model:
            raise LLMError("No LLM is configured. Set REFFY_LLM_MODEL (e.g. openai/gpt-4o-mini or ollama/llama3.1).")
        self.model: str = settings.llm_model
        self.settings = settings
        self._sleep = sleep
        self._mode: ResponseMode | Literal["unset"] = "unset"

    # -- public -----------------------------------------------------------------------
    def supports_tools(self) -> bool:
        """Whether to offer tools: REFFY_LLM_TOOLS on/off, or (auto) whether litellm knows this
        model to take tool (function) definitions."""
        if self.settings.llm_tools != "auto":
            return self.settings.llm_tools == "on"
        try:
            return bool(_lib().supports_function_calling(model=self.model))
        except Exception:
            return False

    @overload
    def complete(
        self,
        messages: Messages,
        *,
        json_schema: dict[str, Any] | None = ...,
        stream: Literal[False] = ...,
        temperature: float | None = ...,
        tools: list[dict[str, Any]] | None = ...,
        max_tokens: int | None = ...,
        tool_choice: str | dict[str, Any] | None = ...,
    ) -> ChatResponse: ...

    @overload
    def complete(
        self,
        messages: Messages,
        *,
        json_schema: dict[str, Any] | None = ...,
        stream: Literal[True],
        temperature: float | None = ...,
        tools: list[dict[str, Any]] | None = ...,
        max_tokens: int | None = ...,
        tool_choice: str | dict[str, Any] | None = ...,
    ) -> Iterator[str]: ...

    def complete(
        self,
        messages: Messages,
        *,
        json_schema: dict[str, Any] | None = None,
        stream: bool = False,
        temperature: float | None = None,
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int | None = None,
        tool_choice: str | dict[str, Any] | None = None,
    ) -> ChatResponse | Iterator[str]:
        lib = _lib()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "timeout": self.settings.llm_timeout_s,
            "max_retries": 0,  # retries are ours (below), not the SDK's
            "drop_params": True,  # e.g. temperature on models that reject it
        }
        if self.settings.llm_api_base:
            kwargs["api_base"] = self.settings.llm_api_base
        if self.settings.llm_api_key:
            kwargs["api_key"] = self.settings.llm_api_key
        if temperature is not None:
            kwargs["temperature"] = temperature
        if stream:
            kwargs["stream"] = True
        if tools:
            kwargs["tools"] = tools
            if tool_choice is None and self.settings.llm_tools == "on" and len(tools) == 1:
                # Servers such as llama.cpp's return a tool call only for a function named here
                # (they constrain the output to its parameters); "auto" gets plain text back.
                tool_choice = {"type": "function", "function": {"name": tools[0]["function"]["name"]}}
            if tool_choice is not None:
                kwargs["tool_choice"] = tool_choice
        if max_tokens:
            kwargs["max_tokens"] = max_tokens
        started = time.monotonic()
        raw = self._call_with_format(lib, kwargs, json_schema)
        if stream:
            return TextStream(raw, messages, self.model, started, self._translate)
        return _to_chat_response(lib, raw, self.model, time.monotonic() - started)

    # -- internals --------------------------------------------------------------------
    def _initial_mode(self, lib: Any) -> ResponseMode:
        if self._mode == "unset":
            try:
                self._mode = "json_schema" if lib.supports_response_schema(model=self.model) else "json_object"
            except Exception:
                self._mode = "json_object"
        return self._mode

    def _call_with_format(self, lib: Any, kwargs: dict[str, Any], json_schema: dict[str, Any] | None) -> Any:
        """Ask for structured output; a server that refuses the format gets a weaker one (prompt asks for JSON)."""
        if json_schema is None:
            return self._call(lib, kwargs)
        mode = self._initial_mode(lib)
        while True:
            call = dict(kwargs)
            if mode == "json_schema":
                name = str(json_schema.get("title") or "answer").replace(" ", "_")
                call["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": _unbounded(json_schema), "strict": True},
                }
            elif mode == "json_object":
                # The schema rides along: llama.cpp's server (and others that follow it) turns it
                # into a grammar; servers that do not know the key ignore it or refuse (-> no format).
                call["response_format"] = {"type": "json_object", "schema": json_schema}
            try:
                raw = self._call(lib, call)
            except LLMError as exc:
                if exc.status not in (400, 422) or isinstance(exc, LLMInputError) or mode is None:
                    raise
                log.warning("LLM refused response_format=%s (%s); retrying with a weaker one", mode, exc)
                mode = _DOWNGRADE[mode]
                continue
            self._mode = mode  # remembered only once a weaker format actually worked
            return raw

    def _call(self, lib: Any, kwargs: dict[str, Any]) -> Any:
        from tenacity import Retrying, stop_after_attempt

        def retry(rs: Any) -> bool:
            exc = rs.outcome.exception() if rs.outcome else None
            if exc is None or not _is_transient(lib, exc) or _unreachable(exc) or _format_refused(exc):
                return False  # a refused connection fails at once: nothing is listening
            return not _is_timeout(lib, exc) or rs.attempt_number < TIMEOUT_ATTEMPTS

        retrying = Retrying(
            retry=retry,
            stop=stop_after_attempt(self.settings.llm_max_retries + 1),
            wait=_wait,
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda rs: log.info(
                "LLM retry %d: %s", rs.attempt_number, rs.outcome.exception() if rs.outcome else None
            ),
        )
        try:
            return retrying(lib.completion, **kwargs)
        except Exception as exc:
            raise self._translate(exc, int(retrying.statistics.get("attempt_number", 1))) from exc

    def _translate(self, exc: Exception, attempts: int, *, mid_stream: bool = False) -> LLMError:
        lib = _lib()
        status = getattr(exc, "status_code", None)
        detail = _PROVIDER_PREFIX.sub("", str(getattr(exc, "message", "") or exc)).strip() or type(exc).__name__
        where = self.settings.llm_api_base or "the provider's default endpoint"
        tries = plural(attempts, "attempt")
        if _unreachable(exc) and not mid_stream:
            return LLMUnreachable(
                f"Cannot connect to the LLM server at {where} for {self.model} (nothing accepts connections there). "
                "Start the server, or check REFFY_LLM_API_BASE; or unset REFFY_LLM_MODEL to use the offline scorer "
                "and extractive answers.",
                status=status,
                attempts=attempts,
            )
        if _format_refused(exc):  # llama.cpp's server answers an unknown format with a 500, not a 422
            return LLMError(
                f"The LLM server refused the response_format for {self.model} ({detail}).",
                status=422,
                attempts=attempts,
            )
        if _is_timeout(lib, exc):
            return LLMTimeout(
                f"The LLM at {where} did not answer within {self.settings.llm_timeout_s:g} s for {self.model} "
                f"({tries}). Raise REFFY_LLM_TIMEOUT_S, use a faster model (REFFY_LLM_MODEL), or check the "
                "server's load.",
                status=status,
                attempts=attempts,
            )
        if _is_transient(lib, exc):
            return LLMUnavailable(
                f"The LLM at {where} kept failing for {self.model} after {tries}: {sentence(detail)} "
                "Check that the server is running and reachable, wait and retry, or raise "
                "REFFY_LLM_MAX_RETRIES / REFFY_LLM_TIMEOUT_S.",
                status=status,
                attempts=attempts,
            )
        if isinstance(exc, lib.AuthenticationError | lib.PermissionDeniedError) or status in (401, 403):
            return LLMError(
                f"The LLM provider rejected the credentials for {self.model} ({detail}). Set REFFY_LLM_API_KEY "
                "(or the provider's own variable, e.g. OPENAI_API_KEY) to a valid key with access to this model.",
                status=status,
            )
        if _missing_key(exc):
            return LLMError(
                f"No API key for {self.model}. Set REFFY_LLM_API_KEY (or the provider's own variable, e.g. "
                "OPENAI_API_KEY); a local OpenAI-compatible server accepts any non-empty value.",
                status=status,
            )
        if isinstance(exc, lib.NotFoundError) or status == 404:
            return LLMError(
                f"The LLM provider at {where} does not know model {self.model} ({detail}). Check REFFY_LLM_MODEL "
                "(litellm form provider/model, e.g. openai/gpt-4o-mini) and REFFY_LLM_API_BASE.",
                status=status,
            )
        if isinstance(exc, lib.ContextWindowExceededError):
            return LLMInputError(
                f"The input is too long for {self.model}'s context window ({detail}). "
                "Use a model with a larger context (REFFY_LLM_MODEL).",
                status=status,
            )
        if isinstance(exc, lib.ContentPolicyViolationError):
            return LLMInputError(f"The LLM provider refused this input on content policy ({detail}).", status=status)
        if isinstance(exc, lib.BadRequestError) or status in (400, 422):
            return LLMError(
                f"The LLM provider refused the request for {self.model} ({detail}). Check that REFFY_LLM_MODEL "
                "names a chat model and REFFY_LLM_API_BASE an OpenAI-compatible /v1 endpoint.",
                status=status or 400,
            )
        return LLMError(sentence(f"The LLM call to {self.model} failed: {type(exc).__name__}: {detail}"), status=status)


def _missing_key(exc: BaseException) -> bool:
    """The SDK's own "no API key" complaint, which litellm reports as a 500."""
    return bool(_NO_KEY.search(str(exc)))


_BOUNDS = frozenset({"maxLength", "minLength", "maxItems", "minItems", "minimum", "maximum"})


def _unbounded(schema: Any) -> Any:
    """``schema`` without length and range bounds: strict structured-output modes (OpenAI's)
    refuse them, while grammar-based servers need them to end a string (json_object mode)."""
    if isinstance(schema, dict):
        return {
            k: (_unbounded(v) if k not in ("properties", "$defs") else {n: _unbounded(x) for n, x in v.items()})
            for k, v in schema.items()
            if k not in _BOUNDS
        }
    if isinstance(schema, list):
        return [_unbounded(v) for v in schema]
    return schema


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or while handling (SDKs wrap the socket error twice)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__, getattr(e, "original_exception", None)]


def _unreachable(exc: BaseException) -> bool:
    """Connection refused, no route, or no such host: the server is not there (yet)."""
    for e in _causes(exc):
        if isinstance(e, ConnectionRefusedError | socket.gaierror):
            return True
        if isinstance(e, OSError) and e.errno in _UNREACHABLE_ERRNO:
            return True
        if type(e).__name__ == "ConnectError" and "timed out" not in str(e).lower():  # httpx/httpcore
            return True
    return False


def _format_refused(exc: BaseException) -> bool:
    """A server that validates the request refused ``response_format`` (whatever status it used)."""
    return getattr(exc, "status_code", None) in (400, 422, 500) and "response_format" in str(exc)


def _is_timeout(lib: Any, exc: BaseException) -> bool:
    return isinstance(exc, lib.Timeout) or getattr(exc, "status_code", None) == 408


def _is_transient(lib: Any, exc: BaseException) -> bool:
    if _missing_key(exc):
        return False
    transient = (
        lib.RateLimitError,
        lib.APIConnectionError,
        lib.Timeout,
        lib.InternalServerError,
        lib.ServiceUnavailableError,
        lib.BadGatewayError,
    )
    if isinstance(exc, transient):
        return True
    return getattr(exc, "status_code", None) in _TRANSIENT_STATUS


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the provider asked us to wait (``Retry-After``/``retry-after-ms``), if it said."""
    headers = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, AttributeError):
        return None


def _wait(retry_state: Any) -> float:
    """Retry-After when the provider sent one (capped), else exponential backoff with jitter."""
    from tenacity import wait_exponential_jitter

    outcome = retry_state.outcome
    hinted = retry_after_s(outcome.exception() if outcome else None)
    if hinted is not None:
        return min(hinted, MAX_RETRY_AFTER_S)
    return wait_exponential_jitter(initial=1, max=30, jitter=1)(retry_state)


def estimate_cost(model: str, prompt_text: str, expected_output_tokens: int) -> tuple[int, float | None]:
    """Tokens in and dollars for a dry run, without calling the provider; cost None when unpriced."""
    lib = _lib()
    try:
        tokens_in = int(lib.token_counter(model=model, text=prompt_text))
    except Exception:
        tokens_in = max(1, len(prompt_text) // 4)
    try:
        cost_in, cost_out = lib.cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=expected_output_tokens
        )
        return tokens_in, float(cost_in) + float(cost_out)
    except Exception:
        return tokens_in, None
