"""The one API every adapter (CLI, app, REST API, MCP server) calls.

It composes the backends and owns no SQL, parsing or ranking of its own; adapters own
no logic beyond presenting what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reffy.config import Settings, load_settings
from reffy.models import IngestSummary, LibraryStatus


class ReffyService:
    """Reffy's operations over one ``REFFY_HOME``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()

    # -- ingestion ----------------------------------------------------------------------
    def ingest(
        self,
        specs: Sequence[str],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        url_lists: Sequence[Path] = (),
        progress: Callable[[Any, Any], None] | None = None,
        sources: Sequence[Any] | None = None,
    ) -> IngestSummary:
        """Read sources into bronze. ``sources`` lets callers pass ready Source objects."""
        from ingest.pipeline import run_ingest
        from ingest.sources import resolve_sources

        resolved = list(sources) if sources is not None else resolve_sources(
            specs, include=include, exclude=exclude, url_lists=url_lists
        )
        labels = [*specs, *(str(p) for p in url_lists)] or [s.name for s in resolved]
        return run_ingest(self.settings, resolved, labels=labels, progress=progress)

    def estimate(self, sources: Sequence[Any]) -> int | None:
        """How many items the sources will yield, when they can tell cheaply."""
        total = 0
        for source in sources:
            estimate = getattr(source, "estimate", None)
            if estimate is None:
                return None
            total += estimate(self.settings.default_excludes)
        return total

    def resolve(self, specs: Sequence[str], **kwargs: Any) -> list[Any]:
        from ingest.sources import resolve_sources

        return resolve_sources(specs, **kwargs)

    # -- inspection ---------------------------------------------------------------------
    def status(self, *, runs: int = 5, errors: int = 10) -> LibraryStatus:
        from reffy.store.status import library_status
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return library_status(con, str(self.settings.home), runs=runs, errors=errors)

    def config(self) -> list[tuple[str, Any, str]]:
        return self.settings.explain()
