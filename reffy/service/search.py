"""Search: filters as people type them, the engine's results with audience rules applied and
logged, evaluation over a labelled query set, and readiness for servers."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reffy.auth import LOCAL_USER, User
from reffy.errors import ConfigError
from reffy.service.base import USAGE_CACHE_S, ServiceBase, _filter_dict
from reffy.views import hit_view

if TYPE_CHECKING:
    from reffy.retrieval.engine import SearchResult


class SearchOps(ServiceBase):
    def resolve_filters(
        self, filters: dict[str, Any], *, user: User = LOCAL_USER, audience: str | None = None
    ) -> dict[str, list[str]]:
        """Filter values as people type or paste them (``{"industry": ["Banking"]}``), in the
        library's own terms (``{"industry": ["finance"]}``); raises UnknownFilterValue listing the
        valid values when one names nothing here (a mistyped link must not show an empty page)."""
        user.require("read_story")
        parsed = self._filters(filters, self.audience_for(user, audience))
        return {key: list(getattr(parsed, key)) for key in filters if isinstance(getattr(parsed, key, None), tuple)}

    def usage_counts(self) -> dict[str, int]:
        """Recent recommendations per story (cached briefly), for usage-aware ranking."""
        now = time.monotonic()
        if self._usage is None or now - self._usage[0] > USAGE_CACHE_S:
            self._usage = (now, self.history.usage_counts(self.settings.usage_window_days))
        return self._usage[1]

    def search(
        self,
        query: str,
        *,
        filters: Any = None,
        k: int = 10,
        mode: str = "hybrid",
        fresh: bool = False,
        usage: dict[str, int] | None = None,
        user: User = LOCAL_USER,
        audience: str | None = None,
        channel: str = "cli",
        log: bool = True,
    ) -> SearchResult:
        """Stories for a query. ``filters``: a SearchFilters or a dict of filter values.
        External audience (and every viewer) sees public stories only; each search is logged."""
        user.require("search")
        audience = self.audience_for(user, audience)
        parsed = self._filters(filters, audience)
        if usage is None and (fresh or self.settings.fatigue_strength > 0):
            usage = self.usage_counts()
        if not query.strip():
            raise ConfigError("The query is empty: type what the story should be about.")
        started = time.perf_counter()
        result = self.engine.search(query, parsed, k=k, mode=mode, fresh=fresh, usage=usage)
        if audience == "external":  # defence in depth: the retrievers already filtered
            result.hits = [hit_view(h, audience) for h in result.hits if h.shareability == "public"]
            if not result.hits and self._hidden_by_audience(parsed):
                result.notes.append(
                    "Stories outside your audience are not shown: only public stories are "
                    "searched for the external audience."
                )
        if audience == "internal" and user.can("analytics"):
            result.below_threshold = self._below_threshold(query, parsed)
        if log:
            self.history.log_query(
                user.name,
                query,
                kind="search",
                mode=mode,
                audience=audience,
                channel=channel,
                filters=_filter_dict(parsed),
                hit_ids=[h.story_id for h in result.hits],
                no_answer=result.no_answer or not result.hits,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        return result

    def _below_threshold(self, query: str, filters: Any) -> list[dict[str, Any]]:
        """Stories left under the gold threshold whose customer the query names, for analysts:
        the threshold hides them from search, and a look-up by name should say they exist. The
        index carries them (written by `reffy index` from the last build), so this reads no
        warehouse."""
        from reffy.retrieval.below import named

        shown = named(self.engine.below_threshold, query)
        return [r for r in shown if filters.shareability is None or r["shareability"] == filters.shareability]

    def _hidden_by_audience(self, filters: Any) -> bool:
        """Whether stories that only the internal audience may see match these filters (said
        without naming or counting them)."""
        from dataclasses import replace

        internal = replace(filters, shareability=None, audience=None)
        return any(internal.matches(d) for d in self.engine.docs if not d.is_public)

    def evaluate(self, queries_path: Path, *, runs_out: Path | None = None, mode: str = "hybrid", k: int = 50):
        """Run a labelled query set through search and report quality and latency."""
        from dataclasses import replace

        from reffy.retrieval.evaluate import load_queries, run_eval

        queries = load_queries(queries_path)
        engine = self.engine
        engine.warm()
        report = run_eval(
            queries,
            lambda q, f, n: engine.search(q, replace(f, audience="internal"), k=n, mode=mode),
            k=k,
            doc_meta={str(d.source_record_id): d for d in engine.docs if d.source_record_id},
        )
        known = {str(d.source_record_id or d.story_id) for d in engine.docs}
        labelled = {str(i) for q in queries for i in q.relevant}
        report.labelled_in_library = len(labelled & known) / len(labelled) if labelled else None
        if runs_out is not None:
            report.write_runs(runs_out)
        return report

    def index_state(self) -> tuple[bool, str | None]:
        """(ready, why not): whether search can serve, loading the indexes once if needed."""
        from reffy.errors import ReffyError

        try:
            _ = self.engine
        except ReffyError as exc:
            return False, str(exc)
        return True, None

    def warm(self) -> None:
        """Load models and indexes now (the app, servers), so the first request is not the slow one.
        A library without an index yet is left cold: search will say how to build it."""
        ready, _ = self.index_state()
        if ready:
            self.engine.warm()
        self.history  # noqa: B018 - opens the history store (and its schema) now
        self._warm = True

    def warm_in_background(self) -> threading.Thread:
        """Start :meth:`warm` on a daemon thread (servers call it at start); :meth:`readiness`
        reports ``starting`` until it is done."""
        with self._lock:
            if self._warming is None:
                if self._warm:  # warmed in the foreground already (`reffy app`): nothing to do
                    self._warming = threading.Thread(target=lambda: None, daemon=True)
                    self._warming.start()
                    return self._warming

                def run() -> None:
                    try:
                        self.warm()
                    except Exception as exc:  # reported by readiness(); search will raise it again
                        self._warm_error = f"{type(exc).__name__}: {exc}"

                self._warming = threading.Thread(target=run, name="reffy-warm", daemon=True)
                self._warming.start()
        return self._warming

    def readiness(self) -> tuple[str, str | None]:
        """("ok" | "starting" | "not_ready", why not): whether a search now will be fast. Never
        touches the warehouse, so an ingest in progress does not make a server look down."""
        if self._warming is not None and self._warming.is_alive():
            return "starting", "Loading the search models and indexes."
        ready, reason = self.index_state()
        if not ready:
            return "not_ready", reason
        return "ok", None
