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
        self._engine = None

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
        extra_meta: dict[str, Any] | None = None,
    ) -> IngestSummary:
        """Read sources into bronze. ``sources`` lets callers pass ready Source objects."""
        from ingest.pipeline import run_ingest
        from ingest.sources import resolve_sources

        resolved = list(sources) if sources is not None else resolve_sources(
            specs, include=include, exclude=exclude, url_lists=url_lists
        )
        labels = [*specs, *(str(p) for p in url_lists)] or [s.name for s in resolved]
        return run_ingest(self.settings, resolved, labels=labels, progress=progress, extra_meta=extra_meta)

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

    # -- scoring (silver) and gold -------------------------------------------------------
    def score(
        self,
        *,
        model: str | None = None,
        limit: int | None = None,
        dry_run: bool = False,
        max_cost: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ):
        """Score stories that lack scores for the active rubric, scorer and prompt."""
        from ingest.scorers import load_setup, make_scorer
        from ingest.silver import score_library

        settings = self.settings if model is None else self.settings.model_copy(update={"llm_model": model})
        setup = load_setup(settings)
        scorer = make_scorer(settings, setup)
        return score_library(settings, scorer, setup.rubric, limit=limit, dry_run=dry_run, max_cost=max_cost,
                             progress=progress)  # fmt: skip

    def build(self):
        """Rebuild gold from silver (LLM scores where present, offline scores otherwise)."""
        from ingest.gold import build_gold
        from ingest.scorers import active_key, load_setup

        setup = load_setup(self.settings)
        key, prompt_version = active_key(self.settings)
        fallback = active_key(self.settings.model_copy(update={"llm_model": None})) if self.settings.llm_model else None
        return build_gold(self.settings, setup.rubric, setup.taxonomy, scorer_key=key, prompt_version=prompt_version,
                          fallback=fallback)  # fmt: skip

    # -- search -------------------------------------------------------------------------
    def index(self, *, rebuild: bool = False, progress: Callable[[int, int], None] | None = None):
        """Bring the keyword and vector indexes in line with gold (incremental)."""
        from reffy.embedder import get_embedder
        from reffy.retrieval.indexer import sync_indexes

        self.close()
        return sync_indexes(self.settings, get_embedder(self.settings.embedding_model), rebuild=rebuild,
                            progress=progress)  # fmt: skip

    @property
    def engine(self):
        if self._engine is None:
            from reffy.retrieval.engine import SearchEngine

            self._engine = SearchEngine(self.settings)
        return self._engine

    def search(self, query: str, *, filters: Any = None, k: int = 10, mode: str = "hybrid", fresh: bool = False,
               usage: dict[str, int] | None = None):  # fmt: skip
        """Stories for a query. ``filters``: a SearchFilters or a dict of filter values."""
        from reffy.retrieval.types import SearchFilters

        if not isinstance(filters, SearchFilters):
            try:
                filters = SearchFilters.from_dict(filters)
            except (TypeError, ValueError) as exc:
                from reffy.errors import ConfigError

                raise ConfigError(f"Invalid filter: {exc}") from exc
        return self.engine.search(query, filters, k=k, mode=mode, fresh=fresh, usage=usage)

    def evaluate(self, queries_path: Path, *, runs_out: Path | None = None, mode: str = "hybrid", k: int = 50):
        """Run a labelled query set through search and report quality and latency."""
        from reffy.retrieval.evaluate import load_queries, run_eval

        queries = load_queries(queries_path)
        engine = self.engine
        engine.warm()
        report = run_eval(queries, lambda q, f, n: engine.search(q, f, k=n, mode=mode), k=k,
                          doc_meta={d.get("source_record_id"): d for d in engine.docs if d.get("source_record_id")})  # fmt: skip
        if runs_out is not None:
            report.write_runs(runs_out)
        return report

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    # -- overrides ----------------------------------------------------------------------
    def set_override(self, story: str, field: str, value: str, *, author: str, reason: str) -> dict[str, Any]:
        from ingest.overrides import set_override
        from reffy.rubric import load_rubric
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return set_override(con, story, field, value, load_rubric(self.settings.rubric_path), author=author,
                                reason=reason)  # fmt: skip

    def remove_override(self, story: str, field: str) -> bool:
        from ingest.overrides import remove_override
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return remove_override(con, story, field)

    def overrides(self) -> list[dict[str, Any]]:
        from ingest.overrides import list_overrides
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return list_overrides(con)

    # -- inspection ---------------------------------------------------------------------
    def status(self, *, runs: int = 5, errors: int = 10) -> LibraryStatus:
        from reffy.store.status import library_status
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return library_status(con, str(self.settings.home), runs=runs, errors=errors)

    def config(self) -> list[tuple[str, Any, str]]:
        return self.settings.explain()
