"""What every concern of the service shares: the settings, the engine over the index on disk, the
history store, audiences and filter parsing. Each concern (library, search, stories, answers,
identity, analytics) is a mixin over this base; :class:`reffy.service.ReffyService` combines them
behind one entry point, so adapters keep calling one object."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from reffy.auth import Role, User
from reffy.config import Settings, load_settings
from reffy.errors import ConfigError
from reffy.wording import sentence

if TYPE_CHECKING:
    from reffy.history import HistoryStore
    from reffy.jobs import JobRunner
    from reffy.retrieval.engine import SearchEngine
    from reffy.retrieval.types import SearchFilters

USAGE_CACHE_S = 30.0  # how long usage counts for fatigue-aware ranking are reused


class ServiceBase:
    """Reffy's state over one ``REFFY_HOME``. One instance per process; thread-safe."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._engine: SearchEngine | None = None
        self._history: HistoryStore | None = None
        self._lock = threading.Lock()
        self._usage: tuple[float, dict[str, int]] | None = None
        self._setup: tuple[Any, Any] | None = None
        self._chat_model: Any = None
        self._warming: threading.Thread | None = None
        self._warm_error: str | None = None
        self._warm = False
        self._names: tuple[Any, Any] | None = None
        self._users_cache: tuple[tuple[str, int, int], dict[str, tuple[Role, str]]] | None = None
        self._jobs: JobRunner | None = None

    @property
    def engine(self) -> SearchEngine:
        """The search engine over the index as it is on disk now. A long-lived process notices a
        new build (one ``stat`` per call) and swaps in a fresh engine, so every request is decided
        against the current library: a story made internal stops being served as soon as
        ``reffy index`` has written it. The old engine is left to requests still using it."""
        engine = self._engine
        if engine is None or not engine.is_current():
            with self._lock:
                if self._engine is None or not self._engine.is_current():
                    from reffy.retrieval.engine import SearchEngine

                    self._engine = SearchEngine(self.settings)
                engine = self._engine
        return engine

    def _filters(self, filters: Any, audience: str) -> SearchFilters:
        from reffy.retrieval.types import SearchFilters

        if isinstance(filters, SearchFilters):
            raw = {k: getattr(filters, k) for k in SearchFilters.__dataclass_fields__}
        else:
            raw = dict(filters or {})
        if audience == "external":
            raw["shareability"] = "public"  # governance: never widened by a caller
        raw["audience"] = audience  # each duplicate group once, as this audience's copy
        try:
            parsed = SearchFilters.from_dict({k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigError(sentence(f"Invalid filter: {exc}")) from exc
        if parsed.empty:
            return parsed
        from reffy.retrieval.filter_values import resolve

        return resolve(parsed, self.engine.vocabulary)

    def audience_for(self, user: User, audience: str | None) -> str:
        if audience not in (None, "internal", "external"):
            raise ConfigError(f"audience must be internal or external, not {audience!r}.")
        return user.audience(audience, self.settings.audience)  # type: ignore[arg-type]

    def _close_engine(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def close(self) -> None:
        self._close_engine()
        if self._history is not None:
            self._history.close()
            self._history = None

    @property
    def history(self) -> HistoryStore:
        if self._history is None:
            with self._lock:
                if self._history is None:
                    from reffy.history import HistoryStore

                    self._history = HistoryStore(self.settings.history_path)
        return self._history

    def _scoring_setup(self) -> tuple[Any, Any]:
        if self._setup is None:
            from reffy.rubric import load_rubric, load_taxonomy, load_vendor

            self._setup = (
                load_rubric(self.settings.rubric_path),
                (load_vendor(self.settings.vendor_path), load_taxonomy(self.settings.taxonomy_path)),
            )
        return self._setup


def _filter_dict(filters: Any) -> dict[str, Any]:
    """A SearchFilters as the plain dict logged to history (empty values left out)."""
    out = {}
    for key in type(filters).__dataclass_fields__:
        if key == "audience":  # logged in its own column; not a filter anyone asked for
            continue
        value = getattr(filters, key)
        if value not in (None, (), ""):
            out[key] = list(value) if isinstance(value, tuple) else value
    return out
