"""REST routes of the review queue and the insights digest (analyst or admin tokens).

Thin: each route passes the caller to :class:`reffy.service.ReffyService`, which refuses other
roles (403 naming the role needed) and decides which story titles the audience may see.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from reffy.api.routes import Caller, Svc, errors, no_unknown_query_parameters

router = APIRouter(prefix="/v1", dependencies=[Depends(no_unknown_query_parameters)], tags=["analytics"])

Only = Literal["thumbs-down", "no-answer", "removals", "unreviewed"]
Audience = Literal["internal", "external"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ReviewPage(_Out):
    """One page of the review queue, newest first; page on with `offset` until it reaches `total`."""

    items: list[dict[str, Any]] = Field(default_factory=list)
    total: int
    limit: int
    offset: int
    audience: str


class ReviewMarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewed: bool | None = Field(
        True, description="true marks it reviewed, false takes the mark back, null leaves it."
    )
    note: str | None = Field(None, max_length=2000, description="A note for the team; an empty string clears it.")


class ReviewMarkOut(_Out):
    item: str
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    note: str | None = None


class InsightsOut(_Out):
    """Themes of the period's questions, gaps, products and competitors named, the review summary."""

    questions: int
    themes: list[dict[str, Any]] = Field(default_factory=list)
    gaps: list[int] = Field(default_factory=list)
    named: list[dict[str, Any]] = Field(default_factory=list)
    review: dict[str, Any] = Field(default_factory=dict)
    period: dict[str, Any] = Field(default_factory=dict)


Item = Annotated[str, Query(min_length=1, max_length=40, pattern=r"^(search|answer):\d{1,18}$")]


@router.get("/review", response_model=ReviewPage, responses=errors(400, 403), summary="The review queue (analysts)")
def review(
    user: Caller,
    svc: Svc,
    since: Annotated[
        str, Query(pattern=r"^[0-9]{1,4}[hdw]$", description="How far back: hours, days or weeks (24h, 7d, 2w).")
    ] = "7d",
    only: Annotated[Only | None, Query(description="Only items with this flag.")] = None,
    by_user: Annotated[str | None, Query(alias="user", max_length=200, description="Only this person's.")] = None,
    kind: Annotated[Literal["search", "answer"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    audience: Annotated[Audience | None, Query()] = None,
) -> Any:
    return svc.review_queue(
        user, since=since, only=only, by_user=by_user, kind=kind, limit=limit, offset=offset, audience=audience
    )


@router.post(
    "/review/mark",
    response_model=ReviewMarkOut,
    responses=errors(400, 403, 404),
    summary="Mark a review item reviewed and/or note on it (analysts)",
)
def review_mark(item: Item, body: ReviewMarkIn, user: Caller, svc: Svc) -> Any:
    return svc.review_mark(user, item, reviewed=body.reviewed, note=body.note)


@router.get(
    "/insights",
    response_model=InsightsOut,
    responses=errors(400, 403),
    summary="Themes of what people asked, with gaps (analysts)",
)
def insights(
    user: Caller,
    svc: Svc,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    audience: Annotated[Audience | None, Query()] = None,
) -> Any:
    return svc.insights(user, days=days, audience=audience)


@router.get(
    "/insights.md",
    response_model=None,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}, **errors(400, 403)},
    summary="The insights digest as Markdown (analysts)",
)
def insights_markdown(
    user: Caller,
    svc: Svc,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    audience: Annotated[Audience | None, Query()] = None,
) -> Any:
    text = svc.insights_report(user, days=days, fmt="markdown", audience=audience)
    return PlainTextResponse(text, media_type="text/markdown")
