"""Reffy as an MCP server (official ``mcp`` SDK, 2.x): tools to search stories, read one, and ask.

Run it with ``reffy mcp`` (stdio, for desktop agents) or ``reffy mcp --transport http``
(streamable HTTP at ``http://HOST:PORT/mcp``), or ``python -m reffy.mcp_server``.

Governance is the REST API's. The caller is, in order: the ``Authorization: Bearer``
token of the HTTP request (HTTP transport only), else the token in ``REFFY_API_TOKEN``,
else the local user, which is allowed only while the library requires no tokens
(``svc.api_auth_required()``). Tools take no audience argument: it comes from the
caller's role (a viewer is always external) and ``REFFY_AUDIENCE``, so an agent cannot
widen it. Tokens are checked on every call, so a revoked token stops working at once.

Results are structured: each tool publishes an output schema (the API's response
models) and returns ``structuredContent`` plus the same JSON as text. A ``ReffyError``
becomes an error result (``isError``) whose structured content is the API's error shape,
``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, SecretStr

from reffy.api.errors import error_body, reffy_error_payload
from reffy.api.schemas import AnswerOut, Filters, SearchResponse, StoryOut
from reffy.auth import LOCAL_USER, User
from reffy.errors import ConfigError, ReffyError, Unauthorized
from reffy.jsonable import jsonable

if TYPE_CHECKING:
    from reffy.service import ReffyService

CHANNEL = "mcp"
INSTRUCTIONS = """\
Reffy is a library of customer stories (case studies, references). Use `search_stories` to find
stories matching a need (industry, country, product, competitor filters narrow it), `get_story` for
one story's full text, scores and source link, and `ask` for a short cited answer written from the
library. Cite stories by title and link; never invent customers or figures."""


def env_token(settings: Any) -> str | None:
    value = settings.api_token  # REFFY_API_TOKEN
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value.strip() or None if value else None


class Governance:
    """Who is calling: resolved per call from the request's token, the process token, or local mode."""

    def __init__(self, service: ReffyService, token: str | None = None) -> None:
        self.service = service
        self.token = token

    def user(self, ctx: Context | None = None) -> User:
        header = _authorization(ctx)
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("The Authorization header must be `Bearer <token>`.")
            return self._token_user(
                token.strip(),
                "This API token is unknown or revoked; ask an admin for a "
                "new one (`reffy token add USER --role ROLE`).",
            )
        if self.token:
            return self._token_user(
                self.token,
                "REFFY_API_TOKEN is unknown or revoked; ask an admin for a new "
                "token (`reffy token add USER --role ROLE`).",
            )
        if self.service.api_auth_required():
            raise Unauthorized(
                "This library requires an API token: set REFFY_API_TOKEN for the MCP server "
                "(or send `Authorization: Bearer <token>` over HTTP)."
            )
        return LOCAL_USER

    def _token_user(self, token: str, message: str) -> User:
        user = self.service.token_user(token)
        if user is None:
            raise Unauthorized(message)
        return user


def _authorization(ctx: Context | None) -> str | None:
    """The HTTP request's Authorization header (None on stdio and in-process calls)."""
    if ctx is None:
        return None
    try:
        request = ctx.request_context.request
    except ValueError:  # no request context (called outside a request)
        return None
    headers = getattr(request, "headers", None)
    return headers.get("authorization") if headers is not None else None


def _ok(model: type[BaseModel], value: Any) -> CallToolResult:
    data = model.model_validate(jsonable(value)).model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))], structured_content=data
    )


def _failed(payload: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(payload, ensure_ascii=False))],
        structured_content=payload,
        is_error=True,
    )


def _call(model: type[BaseModel], fn: Any) -> CallToolResult:
    """Run one service call; a ReffyError becomes an error result in the API's error shape."""
    try:
        return _ok(model, fn())
    except Unauthorized as exc:
        return _failed(error_body("unauthorized", str(exc)))
    except ReffyError as exc:
        return _failed(reffy_error_payload(exc))


def build_server(service: ReffyService | None = None, *, token: str | None = None) -> MCPServer:
    """The MCP server over ``service`` (default: one for the configured ``REFFY_HOME``).

    ``token`` defaults to ``REFFY_API_TOKEN``; pass one explicitly in tests or embedders."""
    from reffy import __version__

    if service is None:
        from reffy.service import ReffyService

        service = ReffyService()
    gov = Governance(service, token if token is not None else env_token(service.settings))
    server = MCPServer("reffy", title="Reffy customer stories", instructions=INSTRUCTIONS, version=__version__)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    def search_stories(
        query: Annotated[str, Field(min_length=1, max_length=2000, description="What the story should be about.")],
        filters: Annotated[
            Filters | None,
            Field(
                description="Metadata filters: industry, country (ISO codes), "
                "product, competitor, tags_any, tags_all, year_min, year_max, min_score (of 31)."
            ),
        ] = None,
        k: Annotated[int, Field(ge=1, le=50, description="How many stories.")] = 10,
        mode: Annotated[
            Literal["hybrid", "keyword"], Field(description="hybrid (meaning + words) or keyword.")
        ] = "hybrid",
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, SearchResponse]:
        """Find customer stories for a need. Hits carry title, customer, industry, country, year, quality
        (of 31), source link and why they matched; `no_answer` true means nothing matches strongly."""
        return _call(
            SearchResponse,
            lambda: service.search(
                query,
                filters=filters.to_service() if filters else None,
                k=k,
                mode=mode,
                user=gov.user(ctx),
                channel=CHANNEL,
            ),
        )

    @server.tool(annotations=read_only)
    def get_story(
        story_id: Annotated[
            str,
            Field(
                min_length=1, max_length=200, description="A story_id from search results, or its first 12 characters."
            ),
        ],
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, StoryOut]:
        """One story: summary, full text, outcomes, quotes, rubric points with evidence, source link."""
        return _call(StoryOut, lambda: service.story(story_id, user=gov.user(ctx)))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False))
    def ask(
        question: Annotated[str, Field(min_length=1, max_length=4000, description="The question, in plain words.")],
        conversation_id: Annotated[
            str | None,
            Field(
                max_length=200, description="Continue this conversation (from an earlier answer); omit to start one."
            ),
        ] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, AnswerOut]:
        """A short answer written from the library's stories only, with [n] citations (story id, title,
        link) verified against them. Returns conversation_id for follow-up questions."""
        return _call(
            AnswerOut,
            lambda: service.answer(question, user=gov.user(ctx), conversation_id=conversation_id, channel=CHANNEL),
        )

    return server


def _announce_ready(service: ReffyService, warming: threading.Thread, started: float) -> None:
    """Say on stderr (which MCP clients show in their server log) when a search will be fast: a
    stdio server has no health endpoint, and an agent's first call should not be the slow one."""
    warming.join()
    state, why = service.readiness()
    took = time.perf_counter() - started
    line = f"reffy mcp: ready in {took:.1f}s" if state == "ok" else f"reffy mcp: {state} after {took:.1f}s: {why}"
    print(line, file=sys.stderr, flush=True)


def serve(
    transport: Literal["stdio", "http"] = "stdio",
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    service: ReffyService | None = None,
) -> None:
    """Run until the client disconnects (stdio) or the process is stopped (http). A process token that
    is already unknown or revoked stops the start with a clear error instead of failing every call."""
    started = time.perf_counter()
    if service is None:
        from reffy.service import ReffyService

        service = ReffyService()
    token = env_token(service.settings)
    if token and service.token_user(token) is None:
        raise ConfigError(
            "REFFY_API_TOKEN is unknown or revoked; ask an admin for a new token (`reffy token add USER --role ROLE`)."
        )
    server = build_server(service, token=token)
    warming = service.warm_in_background()  # the first tool call should not be the one that loads the models
    threading.Thread(target=_announce_ready, args=(service, warming, started), name="reffy-ready", daemon=True).start()
    try:
        if transport == "stdio":
            server.run("stdio")
        else:
            server.run("streamable-http", host=host, port=port)
    finally:
        service.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reffy.mcp_server", description="Reffy MCP server.")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    try:
        serve(args.transport, host=args.host, port=args.port)
    except ReffyError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 1))


if __name__ == "__main__":
    main()
