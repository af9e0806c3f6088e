"""The ``/v1`` routes: each one authenticates, calls one :class:`ReffyService` method, shapes the result.

Governance lives in the service (a viewer is always the external audience, conversations
belong to their user); routes only pass the caller's identity and requested audience on.
Streaming answers are server-sent events: ``delta`` events carry text as it is written,
one final ``answer`` event carries the verified answer with its citations (or an ``error``
event if the provider fails mid-answer). The first chunk is produced before the response
starts, so failures that happen up front (unknown conversation, provider down) still get
a proper status code and the JSON error shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reffy.api.app import ApiError
from reffy.api.errors import reffy_error_payload
from reffy.api.schemas import (
    AUDIENCE_DOC,
    AnswerOut,
    AskRequest,
    AudienceName,
    ConversationCreate,
    ConversationDetail,
    ConversationOut,
    ConversationPatch,
    ErrorOut,
    FeedbackOut,
    FeedbackRequest,
    Filters,
    HealthOut,
    IndexState,
    SearchRequest,
    SearchResponse,
    StoryOut,
    UsageOut,
)
from reffy.auth import LOCAL_USER, User
from reffy.errors import ReffyError
from reffy.jsonable import jsonable


def no_unknown_query_parameters(request: Request) -> None:
    """A misspelt query parameter (``?dayz=7``) fails loudly instead of being ignored, like body fields."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ApiError(
            422,
            "invalid_request",
            f"Unknown query parameter(s): {', '.join(unknown)}"
            f"{'; known: ' + ', '.join(sorted(known)) if known else ''}.",
        )


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


router = APIRouter(prefix="/v1", dependencies=[Depends(no_unknown_query_parameters)])
CHANNEL = "api"

_ERROR_TEXT = {
    400: "Invalid request or setting.",
    401: "Missing, unknown or revoked API token.",
    403: "Your role does not allow this.",
    404: "Not found (or not visible to your audience).",
    413: "Request body too large.",
    422: "The request does not match the schema.",
    502: "The answer provider failed.",
    503: "The library is not ready (not indexed, or locked by a writer).",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can return (all share ``ErrorOut``)."""
    return {code: {"model": ErrorOut, "description": _ERROR_TEXT[code]} for code in (401, 413, 422, 503, *codes)}


_bearer = HTTPBearer(auto_error=False, description="An API token from `reffy token add USER --role ROLE`.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_service(request: Request) -> Any:
    return request.app.state.service


def current_user(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
    """The caller: the token's user; the local user when this library requires no tokens.

    A bad or revoked token is refused even where tokens are optional: a caller who sends
    credentials expects them to count (a viewer token must never silently become admin)."""
    svc = get_service(request)
    if request.headers.get("authorization") is not None:
        if creds is None or not creds.credentials.strip():
            raise ApiError(401, "invalid_token", "The Authorization header must be `Bearer <token>`.", _CHALLENGE)
        user = svc.token_user(creds.credentials.strip())
        if user is None:
            raise ApiError(
                401,
                "invalid_token",
                "This API token is unknown or revoked; ask an admin for a new "
                "one (`reffy token add USER --role ROLE`).",
                _CHALLENGE,
            )
        return user
    if svc.api_auth_required():
        raise ApiError(
            401,
            "missing_token",
            "This API needs `Authorization: Bearer <token>`; an admin creates "
            "tokens with `reffy token add USER --role ROLE`.",
            _CHALLENGE,
        )
    return LOCAL_USER


Svc = Annotated[Any, Depends(get_service)]
Caller = Annotated[User, Depends(current_user)]
ConversationId = Annotated[str, Path(min_length=1, max_length=200, description="A conversation id.")]


def _filters(filters: Filters | None) -> dict[str, Any] | None:
    return filters.to_service() if filters is not None else None


# -- health -------------------------------------------------------------------------------
@router.get("/health", response_model=HealthOut, tags=["health"], summary="Library counts and index state (no auth)")
def health(svc: Svc) -> HealthOut:
    """For load balancers and humans: 200 whenever the server runs; `status` is `ok` only when a
    search now will be fast (models and indexes loaded). An ingest in progress is reported as
    `busy`, not as down: search keeps serving from the index."""
    from reffy import __version__
    from reffy.errors import WarehouseLocked

    def why(message: str | None) -> str:  # anonymous callers learn the fix, not the server's paths
        return (message or "").replace(str(svc.settings.home), "REFFY_HOME")

    auth = bool(svc.api_auth_required())
    state, reason = svc.readiness()
    index = IndexState(ready=state == "ok", message=None if state == "ok" else why(reason))
    library, built, busy = {}, None, False
    try:
        status = svc.status()
        library = {k: int(v) for k, v in status.layers.items()}
        built = (status.last_gold_build or {}).get("built_at")
    except WarehouseLocked:
        busy = True
    except ReffyError as exc:  # no warehouse yet
        if state == "ok":
            state = "not_ready"
        index = IndexState(ready=False, message=why(str(exc)))
    return HealthOut(
        status=state,
        version=__version__,
        auth_required=auth,
        library=library,
        index=index,
        last_gold_build=str(built) if built else None,
        busy=busy,
    )


# -- search and answers -------------------------------------------------------------------
@router.post(
    "/search",
    response_model=SearchResponse,
    tags=["search"],
    responses=errors(400, 403),
    summary="Find customer stories",
)
def search(body: SearchRequest, user: Caller, svc: Svc) -> Any:
    """Hybrid (BM25 + vectors) or keyword search with metadata filters. `no_answer` is true when nothing
    matches strongly: the hits are then only the closest stories, not recommendations."""
    result = svc.search(
        body.query,
        filters=_filters(body.filters),
        k=body.k,
        mode=body.mode,
        fresh=body.fresh,
        user=user,
        audience=body.audience,
        channel=CHANNEL,
    )
    return jsonable(result)


_SSE_DOC = (
    'With `stream: true`: `text/event-stream` of `delta` events (`{"text": ...}`), then one `answer` '
    "event (the `AnswerOut` JSON) or one `error` event (the error shape)."
)


def _sse_event(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One server-sent event as OpenAPI 3.1 describes it: its name, and JSON text in ``data``."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": name},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": payload},
        },
    }


SSE_EVENT_SCHEMA = {
    "oneOf": [
        _sse_event("delta", {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}),
        _sse_event("answer", {"$ref": "#/components/schemas/AnswerOut"}),
        _sse_event("error", {"$ref": "#/components/schemas/ErrorOut"}),
    ]
}


@router.post(
    "/ask",
    response_model=AnswerOut,
    tags=["answers"],
    summary="Ask for a grounded, cited answer",
    responses={
        200: {
            "description": "The answer as JSON. " + _SSE_DOC,
            "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
        },
        **errors(400, 403, 404, 502),
    },
)
def ask(body: AskRequest, user: Caller, svc: Svc) -> Any:
    """Answers from the library's stories only, with `[n]` citations verified against them. Continue a
    conversation with `conversation_id`; the response header `X-Conversation-Id` names it either way."""
    kwargs = {
        "user": user,
        "conversation_id": body.conversation_id,
        "audience": body.audience,
        "filters": _filters(body.filters),
        "k": body.k,
        "channel": CHANNEL,
    }
    if not body.stream:
        answer = jsonable(svc.answer(body.question, **kwargs))
        headers = {"X-Conversation-Id": str(answer.get("conversation_id") or "")}
        return Response(
            AnswerOut.model_validate(answer).model_dump_json(), media_type="application/json", headers=headers
        )
    stream = svc.ask(body.question, **kwargs)
    chunks = iter(stream)
    first = next(chunks, None)  # up-front failures raise here and get their status code
    return _event_stream(stream, first, chunks)


def _event_stream(stream: Any, first: str | None, rest: Iterator[str]) -> Response:
    from sse_starlette.sse import EventSourceResponse, ServerSentEvent

    def events() -> Iterator[ServerSentEvent]:
        try:
            if first is not None:
                yield ServerSentEvent(json.dumps({"text": first}), event="delta")
            for chunk in rest:
                yield ServerSentEvent(json.dumps({"text": chunk}), event="delta")
            answer = AnswerOut.model_validate(jsonable(stream.answer))
            yield ServerSentEvent(answer.model_dump_json(), event="answer")
        except ReffyError as exc:  # the status line is sent already: report in the stream
            yield ServerSentEvent(json.dumps(reffy_error_payload(exc)), event="error")

    return EventSourceResponse(events(), headers={"X-Conversation-Id": str(stream.conversation_id or "")})


# -- stories ------------------------------------------------------------------------------
@router.get(
    "/stories/{story_id}",
    response_model=StoryOut,
    tags=["stories"],
    responses=errors(400, 403, 404),
    summary="One story with its scores, evidence and provenance",
)
def story(
    story_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=200,
            description="A story id from search results, "
            "or an unambiguous prefix of it (the CLI prints 12 characters).",
        ),
    ],
    user: Caller,
    svc: Svc,
    audience: Annotated[AudienceName | None, Query(description=AUDIENCE_DOC)] = None,
) -> Any:
    """404 both when the story does not exist and when your audience may not see it; 400 when a shortened
    id is the start of several stories your audience may see (the message lists them)."""
    return jsonable(svc.story(story_id, user=user, audience=audience))


# -- conversations ------------------------------------------------------------------------
@router.get(
    "/conversations",
    response_model=list[ConversationOut],
    tags=["conversations"],
    responses=errors(),
    summary="Your conversations, newest first",
)
def list_conversations(user: Caller, svc: Svc) -> Any:
    return svc.conversations(user)


@router.post(
    "/conversations",
    response_model=ConversationOut,
    status_code=201,
    tags=["conversations"],
    responses=errors(400),
    summary="Start a conversation",
)
def create_conversation(user: Caller, svc: Svc, body: ConversationCreate | None = None) -> Any:
    return svc.new_conversation(user, title=body.title if body else None)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    tags=["conversations"],
    responses=errors(404),
    summary="A conversation with its messages",
)
def get_conversation(conversation_id: ConversationId, user: Caller, svc: Svc) -> Any:
    return svc.conversation(user, conversation_id)


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    tags=["conversations"],
    responses=errors(400, 404),
    summary="Rename a conversation",
)
def rename_conversation(conversation_id: ConversationId, body: ConversationPatch, user: Caller, svc: Svc) -> Any:
    return svc.rename_conversation(user, conversation_id, body.title)


@router.delete(
    "/conversations/{conversation_id}",
    status_code=204,
    response_class=Response,
    tags=["conversations"],
    responses=errors(404),
    summary="Delete a conversation",
)
def delete_conversation(conversation_id: ConversationId, user: Caller, svc: Svc) -> Response:
    svc.delete_conversation(user, conversation_id)
    return Response(status_code=204)


# -- feedback and analytics ---------------------------------------------------------------
@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=201,
    tags=["feedback"],
    responses=errors(400, 403, 404),
    summary="Rate an answer or a story",
)
def feedback(body: FeedbackRequest, user: Caller, svc: Svc) -> Any:
    return svc.feedback(
        user, rating=body.rating, message_id=body.message_id, story_id=body.story_id, comment=body.comment
    )


@router.get(
    "/usage",
    response_model=UsageOut,
    tags=["analytics"],
    responses=errors(403),
    summary="Usage analytics (analyst or admin)",
)
def usage(
    user: Caller, svc: Svc, days: Annotated[int, Query(ge=1, le=366, description="Window, in days.")] = 30
) -> Any:
    return svc.usage(user, days=days)
