"""Request and response models of the REST API: the OpenAPI schema clients read.

Requests are strict (no silent coercion of ``"5"`` into ``5``, unknown fields refused) so a
typo in a filter fails loudly instead of widening a search. Responses mirror the service's
dataclasses and dicts; nested records the service may grow (story criteria, message
metadata, analytics tables) are typed loosely so a new service field never turns into a 500.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

Mode = Literal["hybrid", "keyword"]
AudienceName = Literal["internal", "external"]
StrOrList = str | list[str]
NOT_BLANK = r"[^\s\x1c-\x1f]"  # a character str.strip() keeps (it also strips the separators \x1c-\x1f)


def _json_integer(value: Any) -> Any:
    """JSON Schema counts ``8.0`` as an integer; strict pydantic does not. Accept it, nothing looser."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Bounds before the validator: pydantic then writes them into the schema as minimum/maximum.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]
Year = Annotated[int, Field(ge=1900, le=2100), BeforeValidator(_json_integer)]  # as search filters take them
RubricScore = Annotated[int, Field(ge=0, le=31), BeforeValidator(_json_integer)]
AnswerK = Annotated[int, Field(ge=1, le=20), BeforeValidator(_json_integer)]
# row ids fit SQLite (64-bit) and JSON doubles exactly
MessageId = Annotated[int, Field(ge=1, le=2**53), BeforeValidator(_json_integer)]

AUDIENCE_DOC = (
    "Who the result is for: `external` shows public stories only. Defaults to the server's setting; "
    "a viewer token is always external, whatever is asked."
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors -------------------------------------------------------------------------------
class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`, `invalid_token`.")
    message: str = Field(description="What went wrong and how to fix it.")
    details: list[dict[str, Any]] | None = Field(None, description="Per-field problems of an invalid request.")


class ErrorOut(BaseModel):
    """Every error the API returns has this one shape."""

    error: ErrorBody

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": {"code": "not_found", "message": "No story 'abc' in this library."}}]}
    )


# -- search -------------------------------------------------------------------------------
class Filters(_Request):
    """Metadata filters, applied inside both retrievers. Lists match any value, except `tags_all`."""

    industry: StrOrList | None = Field(None, examples=[["finance"]])
    country: StrOrList | None = Field(None, description="ISO 3166 alpha-2 codes.", examples=[["DK", "SE"]])
    product: StrOrList | None = None
    competitor: StrOrList | None = None
    tags_any: StrOrList | None = None
    tags_all: StrOrList | None = None
    year_min: Year | None = None
    year_max: Year | None = None
    min_score: RubricScore | None = Field(None, description="Least rubric score (of 31).")
    shareability: Literal["public", "internal"] | None = None

    def to_service(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SearchRequest(_Request):
    query: str = Field(
        min_length=1,
        max_length=2000,
        pattern=NOT_BLANK,
        description="What you are looking for, in your own words.",
        examples=["European bank that cut contact-centre cost with a chatbot"],
    )
    filters: Filters | None = None
    k: JsonInt = Field(10, ge=1, le=50, description="How many stories.")
    mode: Mode = Field("hybrid", description="`keyword` (BM25 only, instant) or `hybrid` (BM25 + vectors).")
    fresh: bool = Field(False, description="Favour strong stories that have rarely been recommended.")
    audience: AudienceName | None = Field(None, description=AUDIENCE_DOC)


class HitOut(_Response):
    story_id: str
    title: str
    score: float = Field(description="The final ranking score (comparable within one result list only).")
    source_record_id: str | None = None
    customer: str | None = None
    industry: str | None = None
    country: str | None = None
    year: int | None = None
    quality: int | None = Field(None, description="Rubric total, of 31.")
    shareability: str | None = Field(None, description="`public` or `internal`.")
    source_uri: str | None = None
    source_link: str | None = Field(None, description="Where a person can read the story.")
    parts: dict[str, float] = Field(default_factory=dict, description="Score parts: keyword, dense, fused, ...")
    why: str = Field("", description="A short explanation of why this story matched.")
    passage: str | None = Field(None, description="The best-matching passage, when one matched.")


class BelowThresholdOut(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the server path stays on the server

    story_id: str
    title: str | None = None
    customer: str | None = None
    score: int = Field(description="Its rubric score, of 31.")
    min_score: int = Field(description="The score the library needs (REFFY_GOLD_MIN_SCORE).")
    shareability: str | None = None


class SearchResponse(_Response):
    query: str
    mode: str
    no_answer: bool = Field(description="True when nothing in the library matches strongly; hits are the closest.")
    hits: list[HitOut]
    notes: list[str] = Field(default_factory=list, description="Operational notes (e.g. re-ranking is off).")
    timings_ms: dict[str, float] = Field(default_factory=dict)
    signals: dict[str, Any] = Field(default_factory=dict)
    text: str = Field(
        "",
        description="What was searched: the query less the words its filters already cover "
        '("banks" under industry=finance).',
    )
    below_threshold: list[BelowThresholdOut] = Field(
        default_factory=list,
        description="Analyst and admin tokens, internal audience: stories under the library's "
        "score threshold whose customer the query names. Never ranked; listed so a look-up by name finds them.",
    )


# -- answers ------------------------------------------------------------------------------
class AskRequest(_Request):
    question: str = Field(
        min_length=1, max_length=4000, pattern=NOT_BLANK, examples=["Which retailer cut returns with Quillon?"]
    )
    conversation_id: str | None = Field(
        None, max_length=200, description="Continue this conversation (omit to start a new one)."
    )
    stream: bool = Field(False, description="true: server-sent events (`delta` events, then one `answer` event).")
    filters: Filters | None = None
    k: AnswerK | None = Field(None, description="Stories given to the answer model (default: server's).")
    audience: AudienceName | None = Field(None, description=AUDIENCE_DOC)


class CitationOut(_Response):
    n: int = Field(description="The marker number, `[n]` in the text.")
    story_id: str
    title: str | None = None
    customer: str | None = None
    source_link: str | None = None


class AnswerOut(_Response):
    text: str = Field(description="The answer, with `[n]` markers pointing at `citations`.")
    citations: list[CitationOut] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list, description="What citation verification removed.")
    no_answer: bool = False
    offline: bool = Field(False, description="True: an extractive brief written without an LLM.")
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    conversation_id: str | None = None
    message_id: int | None = None
    hits: list[HitOut] = Field(default_factory=list, description="The stories the answer was written from.")
    filters: dict[str, Any] = Field(
        default_factory=dict, description="Filters applied, incl. those understood from the question."
    )
    error: str | None = None


# -- stories ------------------------------------------------------------------------------
class StoryOut(_Response):
    story_id: str
    title: str
    customer: str | None = None
    industry: str | None = None
    country: str | None = None
    year: int | None = None
    products: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    score: int | float | None = Field(None, description="Rubric total.")
    max_score: int | None = 31
    shareability: str | None = None
    source_type: str | None = None
    source_uri: str | None = None
    source_link: str | None = None
    source_record_id: str | None = None
    summary: str | None = None
    text: str | None = None
    outcomes: list[Any] = Field(default_factory=list)
    quotes: list[Any] = Field(default_factory=list, description="`{text, speaker}` records.")
    criteria: list[Any] = Field(default_factory=list, description="Rubric points with their evidence.")
    scorer: str | None = None
    duplicates: list[Any] = Field(default_factory=list)
    versions: list[Any] = Field(default_factory=list)
    overrides: list[Any] = Field(default_factory=list)


# -- conversations ------------------------------------------------------------------------
class ConversationOut(_Response):
    id: str
    title: str | None = None
    audience: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class MessageOut(_Response):
    id: int | str
    role: str = Field(description="`user` or `assistant`.")
    content: str
    created_at: str | None = None


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(default_factory=list)


class ConversationCreate(_Request):
    title: str | None = Field(None, min_length=1, max_length=200, pattern=NOT_BLANK)


class ConversationPatch(_Request):
    title: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)


# -- feedback, usage, health --------------------------------------------------------------
class FeedbackRequest(_Request):
    """Rate one answer (`message_id`) or one story (`story_id`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["message_id"], "properties": {"message_id": {"type": "integer"}}},
                {"required": ["story_id"], "properties": {"story_id": {"type": "string"}}},
            ]
        }
    )

    rating: Literal[1, -1] = Field(description="1 (helpful) or -1 (not helpful).")
    message_id: MessageId | None = Field(None, description="The answer rated (from `AnswerOut.message_id`).")
    story_id: str | None = Field(None, min_length=1, max_length=200, description="The story rated.")
    comment: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _rates_something(self) -> FeedbackRequest:
        if self.message_id is None and self.story_id is None:
            raise ValueError("feedback needs a message_id (an answer) or a story_id (a story)")
        return self

    @field_validator("rating", mode="before")
    @classmethod
    def _not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # Literal[1] would otherwise accept true
            raise ValueError("rating is 1 or -1, not a boolean")
        return value


class FeedbackOut(_Response):
    id: int | str | None = None


class UsageOut(_Response):
    """Analytics over the last `days` days; tables are lists of records."""

    daily_active_users: list[dict[str, Any]] = Field(default_factory=list)
    queries_per_day: list[dict[str, Any]] = Field(default_factory=list)
    latency: dict[str, Any] = Field(default_factory=dict)
    most_cited: list[dict[str, Any]] = Field(default_factory=list)
    zero_result: list[dict[str, Any]] = Field(default_factory=list)
    content_gaps: list[dict[str, Any]] = Field(default_factory=list)
    totals: dict[str, Any] = Field(default_factory=dict)


class IndexState(BaseModel):
    ready: bool
    message: str | None = Field(None, description="Why search is not ready, and the command that fixes it.")


class HealthOut(BaseModel):
    status: Literal["ok", "starting", "not_ready"] = Field(
        description="ok: a search now is fast; starting: models and indexes are still loading; not_ready: "
        "the library cannot serve (see index.message)."
    )
    version: str
    auth_required: bool = Field(description="Whether requests need `Authorization: Bearer <token>`.")
    library: dict[str, int] = Field(default_factory=dict, description="Counts per layer (bronze, silver, gold).")
    index: IndexState
    last_gold_build: str | None = None
    busy: bool = Field(
        False, description="An ingest or build holds the warehouse: library counts are omitted, search still serves."
    )
