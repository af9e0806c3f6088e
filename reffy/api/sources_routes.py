"""``/v1/sources`` routes: the source registry and background syncs, for admin tokens (the
service decides: listing needs analyst, changing and syncing admin). Syncs and removals run as
background jobs of the server, one at a time, as on the app's Ingest page; the answer is the
job (202), whose outcome shows in ``GET /v1/sources`` and ``GET /v1/sources/runs``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from reffy.api.routes import Caller, Svc, errors, no_unknown_query_parameters
from reffy.api.schemas import ErrorOut

router = APIRouter(prefix="/v1", dependencies=[Depends(no_unknown_query_parameters)], tags=["sources"])
BUSY: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "A sync or pipeline run is already going: wait for it."}
}
SourceName = Annotated[str, Path(min_length=1, max_length=64, description="The source's name.")]


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str = Field(
        min_length=1,
        max_length=2000,
        description="A page or feed URL, a sitemap, a crawl's start page, a YouTube video, playlist or "
        "channel (folders of the server are added from its command line).",
        examples=["https://vendor.example/sitemap.xml"],
    )
    name: str | None = Field(None, max_length=64, description="What to call it (default: from the spec).")
    kind: Literal["auto", "page", "feed", "sitemap", "crawl"] = Field(
        "auto", description="What a URL is: decided from it (auto), or said."
    )
    include: list[str] = Field(default_factory=list, description="Globs of files, or of URL paths, to keep.")
    exclude: list[str] = Field(default_factory=list, description="Globs of files or URL paths to skip.")
    meta: dict[str, str] = Field(default_factory=dict, description="Metadata for every story (shareability=public).")
    every: str | None = Field(None, description="Schedule for scheduled syncs: 30m, 6h, 1d.")
    match: str | None = Field(None, description="Channels: keep videos whose title or description matches (regex).")
    max_pages: int | None = Field(None, ge=1, description="Crawls: pages per sync at most.")
    max_depth: int | None = Field(None, ge=0, description="Crawls: links from the start page at most.")


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[str] = Field(default_factory=list, description="Sources to sync (empty: all).")


class SourceOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    kind: str
    spec: str
    every: str
    status: str
    records: int
    problems: int
    last_sync_at: str | None = None
    next_due_at: str


class JobOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    kind: str
    status: str
    message: str


def _job(job: Any) -> dict[str, Any]:
    return job.as_dict()


@router.get("/sources", summary="Registered sources", response_model=list[SourceOut], responses=errors(403))
def list_sources(svc: Svc, user: Caller) -> list[dict[str, Any]]:
    """Every source with its kind, last sync, status, stories, problems and next due time."""
    return svc.sources(user)


@router.post(
    "/sources", summary="Register a source", status_code=201, response_model=SourceOut, responses=errors(400, 403)
)
def add_source(body: SourceIn, svc: Svc, user: Caller) -> dict[str, Any]:
    """Register a source (admins); nothing is read until it is synced."""
    return svc.add_source(user, body.spec, **body.model_dump(exclude={"spec"}))


@router.post(
    "/sources/sync",
    summary="Sync sources in the background",
    status_code=202,
    response_model=JobOut,
    responses={**errors(403, 404), **BUSY},
)
def sync_sources(body: SyncIn, svc: Svc, user: Caller) -> dict[str, Any]:
    """Start a sync of the named sources (or all) as a background job; 409 while a run is going."""
    return _job(svc.start_sync(user, body.names))


@router.delete(
    "/sources/{name}",
    summary="Remove a source",
    status_code=202,
    response_model=JobOut,
    responses={**errors(403, 404), **BUSY},
)
def remove_source(
    name: SourceName,
    svc: Svc,
    user: Caller,
    keep_stories: Annotated[bool, Query(description="Unregister only: its stories stay.")] = False,
) -> dict[str, Any]:
    """Unregister a source and, unless ``keep_stories``, remove its stories (a background job)."""
    return _job(svc.start_remove_source(user, name, keep_stories=keep_stories))


@router.get("/sources/runs", summary="Recent syncs", responses=errors(403))
def sync_runs(
    svc: Svc, user: Caller, limit: Annotated[int, Query(ge=1, le=100, description="How many.")] = 10
) -> list[dict[str, Any]]:
    """The last syncs: per-source counts and what score, build and index did."""
    return svc.sync_runs(user, limit=limit)
