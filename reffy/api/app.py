"""The FastAPI application: factory, one JSON error shape, body-size limit, CORS, auth.

Design: the app holds one :class:`ReffyService` (models and indexes load once per
process) in ``app.state``; routes are plain ``def`` functions, so FastAPI runs the
blocking service calls on its thread pool. Every failure leaves as
``{"error": {"code", "message"}}``: ``ReffyError`` subclasses are translated here, once,
by class (see :mod:`reffy.api.errors`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reffy import __version__
from reffy.api.errors import error_body, error_status, reffy_error_payload
from reffy.errors import ReffyError

if TYPE_CHECKING:
    from reffy.service import ReffyService

log = logging.getLogger(__name__)
DOCS_ASSETS = "/docs-assets"  # where the API docs' scripts, stylesheets and icon are served from

DESCRIPTION = """\
Reffy's customer-story library over HTTP: search, grounded answers (JSON or server-sent
events), stories, conversations, feedback and usage analytics.

**Auth**: `Authorization: Bearer <token>` (tokens from `reffy token add USER --role ROLE`). A library
with no tokens runs every request as the local user. A viewer token only ever sees public stories.

**Errors** all have one shape: `{"error": {"code": "...", "message": "..."}}`.
"""


class ApiError(Exception):
    """An adapter-level failure with its status (auth, limits) that is not a domain error."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ReffyError)
    async def _reffy(_: Request, exc: ReffyError) -> JSONResponse:
        return JSONResponse(reffy_error_payload(exc), status_code=error_status(exc))

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(d['loc'][1:] or d['loc'])}: {d['msg']}" for d in details[:5])
        return JSONResponse(error_body("invalid_request", f"Invalid request: {summary}", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the API", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "Reffy hit an unexpected error; the server log has the details."),
            status_code=500,
        )


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before any route parses them.

    Pure ASGI so it also catches chunked bodies with no Content-Length: the body is read
    (at most ``max_bytes`` + one chunk) and replayed to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await self._reject(scope, send, 400, "invalid_request", "Content-Length is not a number.")
                return
            if too_big:
                await self._reject_too_large(scope, send)
                return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client went away before sending its body
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject_too_large(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # later reads wait for the disconnect, as the server's would

        await self.app(scope, replay, send)

    async def _reject_too_large(self, scope: Scope, send: Send) -> None:
        await self._reject(
            scope,
            send,
            413,
            "request_too_large",
            f"The request body is over {self.max_bytes // 1024} KB (REFFY_API_MAX_BODY_KB).",
        )

    @staticmethod
    async def _reject(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        response = JSONResponse(error_body(code, message), status_code=status)
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:  # pragma: no cover - JSONResponse never reads
    return {"type": "http.disconnect"}


def create_app(service: ReffyService | None = None, *, warm: bool = False) -> FastAPI:
    """The API over ``service`` (default: a service for the configured ``REFFY_HOME``).

    ``warm``: load models and indexes on a background thread as the server starts (``reffy
    serve``), so the first request is as fast as the tenth; `/v1/health` says ``starting`` until
    then. A service passed in stays the caller's to close; one created here is closed on shutdown."""
    from reffy.api.insights_routes import router as insights_router
    from reffy.api.routes import router
    from reffy.api.sources_routes import router as sources_router
    from reffy.service import ReffyService

    owned = service is None
    svc = service if service is not None else ReffyService()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            svc.warm_in_background()
        yield
        if owned:
            svc.close()

    # fastapi-offline serves Swagger UI and ReDoc (/docs, /redoc) from the JS and CSS its wheel ships,
    # under DOCS_ASSETS, instead of FastAPI's CDN links: the docs work with no network.
    app = FastAPIOffline(
        title="Reffy API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        openapi_tags=[
            {"name": "search"},
            {"name": "answers"},
            {"name": "stories"},
            {"name": "conversations"},
            {"name": "feedback"},
            {"name": "analytics"},
            {"name": "sources"},
            {"name": "health"},
        ],
    )
    app.state.service = svc
    _install_error_handlers(app)
    app.include_router(router)
    app.include_router(sources_router)  # /v1/sources: the registry and background syncs
    app.include_router(insights_router)  # the review queue and the insights digest (reffy/api/insights_routes.py)
    settings = svc.settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_kb * 1024)
    if settings.api_cors_origins:  # added last = outermost, so errors and 413s carry CORS headers too
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["X-Conversation-Id"],
        )
    return app
