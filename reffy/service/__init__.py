"""The one API every adapter (CLI, app, REST API, MCP server) calls.

It composes the backends and owns no SQL, parsing or ranking of its own; adapters own
no logic beyond presenting what it returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reffy.auth import LOCAL_USER, Role, User
from reffy.config import Settings, load_settings
from reffy.errors import ConfigError, NotFound
from reffy.models import IngestSummary, LibraryStatus
from reffy.service.insights import InsightOps
from reffy.views import hit_view, story_view
from reffy.wording import sentence

if TYPE_CHECKING:
    from reffy.answer.pipeline import Answer, AnswerStream
    from reffy.history import HistoryStore
    from reffy.jobs import Job, JobRunner
    from reffy.retrieval.engine import SearchResult
    from reffy.sessions import SessionStore, SignedIn

USAGE_CACHE_S = 30.0


class ReffyService(InsightOps):
    """Reffy's operations over one ``REFFY_HOME``. One instance per process; thread-safe."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._engine = None
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

        resolved = (
            list(sources)
            if sources is not None
            else resolve_sources(specs, include=include, exclude=exclude, url_lists=url_lists)
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
        return score_library(
            settings, scorer, setup.rubric, limit=limit, dry_run=dry_run, max_cost=max_cost, progress=progress
        )

    def build(self):
        """Rebuild gold from silver (LLM scores where present, offline scores otherwise)."""
        from ingest.gold import build_gold
        from ingest.scorers import active_key, load_setup

        setup = load_setup(self.settings)
        key, prompt_version = active_key(self.settings)
        fallback = active_key(self.settings.model_copy(update={"llm_model": None})) if self.settings.llm_model else None
        return build_gold(
            self.settings,
            setup.rubric,
            setup.taxonomy,
            scorer_key=key,
            prompt_version=prompt_version,
            fallback=fallback,
        )

    # -- search -------------------------------------------------------------------------
    def index(
        self,
        *,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
        on_keyword_ready: Callable[[], None] | None = None,
    ):
        """Bring the keyword and vector indexes in line with gold (incremental). Keyword search
        works from ``on_keyword_ready`` on, while the vectors are still being computed."""
        from reffy.embedder import embedder_for
        from reffy.retrieval.indexer import sync_indexes

        self._close_engine()  # (not the history store: other threads of a server keep using it)
        return sync_indexes(
            self.settings,
            embedder_for(self.settings, bulk=True),
            rebuild=rebuild,
            progress=progress,
            on_keyword_ready=on_keyword_ready,
        )

    def tune(self, *, max_false_flags: float | None = None):
        """Calibrate the no-answer signal on this library (see :mod:`reffy.retrieval.calibrate`)
        and record it in the index manifest, where every engine, running servers included,
        picks it up. Returns the fitted :class:`NoAnswerModel`."""
        from reffy.retrieval.calibrate import calibrate
        from reffy.retrieval.engine import SearchEngine
        from reffy.retrieval.layout import record_calibration

        engine = SearchEngine(self.settings)
        try:
            if not engine.vectors_ready:
                raise ConfigError(
                    "The search index is still being built: run `reffy index` to the end, then `reffy tune`."
                )
            model = calibrate(engine, max_false_flags=max_false_flags or self.settings.no_answer_false_flags)
        except ValueError as exc:  # an exam too small to fit on
            raise ConfigError(sentence(f"Cannot tune yet: {exc}")) from exc
        finally:
            engine.close()
        record_calibration(self.settings.index_dir, model.to_dict())
        return model

    @property
    def engine(self):
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

    def _filters(self, filters: Any, audience: str) -> Any:
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

    def resolve_filters(
        self, filters: dict[str, Any], *, user: User = LOCAL_USER, audience: str | None = None
    ) -> dict[str, list[str]]:
        """Filter values as people type or paste them (``{"industry": ["Banking"]}``), in the
        library's own terms (``{"industry": ["finance"]}``); raises UnknownFilterValue listing the
        valid values when one names nothing here (a mistyped link must not show an empty page)."""
        user.require("read_story")
        parsed = self._filters(filters, self.audience_for(user, audience))
        return {key: list(getattr(parsed, key)) for key in filters if isinstance(getattr(parsed, key, None), tuple)}

    def audience_for(self, user: User, audience: str | None) -> str:
        if audience not in (None, "internal", "external"):
            raise ConfigError(f"audience must be internal or external, not {audience!r}.")
        return user.audience(audience, self.settings.audience)  # type: ignore[arg-type]

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
        return any(internal.matches(d) for d in self.engine.docs if d.get("shareability") != "public")

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
            doc_meta={d.get("source_record_id"): d for d in engine.docs if d.get("source_record_id")},
        )
        known = {str(d.get("source_record_id") or d["story_id"]) for d in engine.docs}
        labelled = {str(i) for q in queries for i in q.relevant}
        report.labelled_in_library = len(labelled & known) / len(labelled) if labelled else None
        if runs_out is not None:
            report.write_runs(runs_out)
        return report

    def _close_engine(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def close(self) -> None:
        self._close_engine()
        if self._history is not None:
            self._history.close()
            self._history = None

    # -- overrides ----------------------------------------------------------------------
    def set_override(self, story: str, field: str, value: str, *, author: str, reason: str) -> dict[str, Any]:
        from ingest.overrides import set_override
        from reffy.rubric import load_rubric
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return set_override(
                con, story, field, value, load_rubric(self.settings.rubric_path), author=author, reason=reason
            )

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
    def status(self, *, runs: int = 5, errors: int = 10, user: User = LOCAL_USER) -> LibraryStatus:
        """Counts per layer, recent runs and problems, the index: for analysts and admins (it names
        paths, settings and commands), and the CLI."""
        user.require("analytics")
        from reffy.retrieval.layout import build_stopped, read_manifest, vectors_complete
        from reffy.retrieval.rerank import reranker_state
        from reffy.store.status import library_status
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            st = library_status(con, str(self.settings.home), runs=runs, errors=errors)
        manifest = read_manifest(self.settings.index_dir)
        st.search_index = (
            {**manifest, "complete": vectors_complete(manifest), "stopped": build_stopped(manifest)} if manifest else {}
        )
        if manifest:
            from reffy.retrieval.calibrate import from_manifest, grown_since

            tuned = from_manifest(manifest)
            st.search_index["retune"] = bool(
                tuned
                and manifest.get("stories")
                and grown_since(tuned, manifest["stories"]) >= self.settings.retune_growth
            )
        st.reranker = reranker_state(self.settings.reranker_model, self.settings.rerank_top)
        return st

    def config(self) -> list[tuple[str, Any, str]]:
        return self.settings.explain()

    # -- background pipeline runs (see reffy.jobs) ------------------------------------------
    @property
    def job_runner(self) -> JobRunner:
        """The runner of this process: its jobs run on threads this service owns, not a page's."""
        if self._jobs is None:
            with self._lock:
                if self._jobs is None:
                    from reffy.jobs import JobRunner

                    self._jobs = JobRunner(self)
        return self._jobs

    def save_uploads(self, user: User, files: Sequence[tuple[str, bytes]]) -> list[str]:
        """Keep uploaded files under ``REFFY_HOME/uploads/`` by file name only (no path from the
        browser), so uploading an edited file again makes a new version of the same story."""
        user.require("ingest")
        folder = self.settings.ensure_home() / "uploads"
        folder.mkdir(exist_ok=True)
        paths = []
        for name, data in files:
            target = folder / (Path(name.replace("\\", "/")).name or "upload")
            target.write_bytes(data)
            paths.append(str(target))
        return paths

    def start_pipeline(
        self, user: User, *, urls: str = "", uploads: Sequence[tuple[str, bytes]] = (), full: bool = True
    ) -> Job:
        """Start ingest (then, with ``full``, score, build and index) on uploaded files and pasted
        web addresses, in the background; returns the job at once. Each pasted line that is not an
        http(s) address is recorded as a problem of its own while the rest is read. Refused with
        :class:`~reffy.errors.JobRunning` while another run is going."""
        from ingest.sources import web_address_lines

        user.require("ingest")
        addresses, refused = web_address_lines(urls or "")
        if not uploads and not addresses:
            if refused:
                raise ConfigError(sentence(" ".join(p.detail for p in refused[:3])))
            raise ConfigError("Nothing to read: upload a file or paste a web address first.")
        self.job_runner.store.refuse_if_running()  # before an upload can overwrite a file it is reading
        specs = [*self.save_uploads(user, uploads), *addresses]
        return self.job_runner.start(user, specs, full=full, refused=refused)

    def resume_job(self, user: User, job_id: int) -> Job:
        """Run a stopped job again (interrupted or failed): what it already did is not redone."""
        user.require("ingest")
        job = self.job_runner.store.get(job_id)
        if job is None:
            raise NotFound(f"No pipeline run {job_id}: the Ingest page lists the recent ones.")
        if job.status not in ("interrupted", "failed"):
            raise ConfigError(f"Pipeline run {job_id} is {job.status}: only a stopped run can be resumed.")
        return self.job_runner.start(user, job.specs, full=job.options.get("full", True))

    def jobs(self, user: User, *, limit: int = 5) -> list[Job]:
        """Recent pipeline runs, newest first (a run whose server stopped shows as interrupted)."""
        user.require("analytics")
        return self.job_runner.store.recent(limit)

    def job_problems(self, user: User, job: Job, *, limit: int = 200) -> list[dict[str, Any]]:
        """What went wrong in a run, item by item: its ingest problems (pasted lines that are not
        web addresses among them), or, before its ingest run exists, the refused lines."""
        user.require("analytics")
        if job.run_id is None:
            return [
                {"severity": "error", "reason": p["reason"], "origin": p["line"], "detail": p["detail"]}
                for p in job.problems
            ]
        from reffy.errors import WarehouseError
        from reffy.store.status import run_problems
        from reffy.store.warehouse import open_warehouse

        try:
            with open_warehouse(self.settings.db_path, must_exist=True) as con:
                return run_problems(con, job.run_id, limit)
        except WarehouseError:  # another process is writing: the refused lines are still known
            return [
                {"severity": "error", "reason": p["reason"], "origin": p["line"], "detail": p["detail"]}
                for p in job.problems
            ]

    # -- identity -----------------------------------------------------------------------
    @property
    def history(self) -> HistoryStore:
        if self._history is None:
            with self._lock:
                if self._history is None:
                    from reffy.history import HistoryStore

                    self._history = HistoryStore(self.settings.history_path)
        return self._history

    def login_required(self) -> bool:
        from reffy.auth import users_file

        return users_file(self.settings) is not None

    def authenticate(self, name: str, password: str) -> User | None:
        from reffy.auth import authenticate

        user = authenticate(self.settings, name, password)
        if user is not None:
            self.history.ensure_user(user.name, user.role.value)
        return user

    # -- app sessions (see reffy.sessions) ------------------------------------------------
    @property
    def sessions(self) -> SessionStore:
        from reffy.sessions import SessionStore

        return SessionStore(self.history)

    @property
    def session_cookie(self) -> str:
        """The cookie name the web app keeps its session token under: one per library, since
        cookies ignore ports and two Reffy apps on one host must not overwrite each other's."""
        import hashlib

        return "reffy_session_" + hashlib.sha256(str(self.settings.home).encode()).hexdigest()[:10]

    def log_in(self, name: str, password: str) -> SignedIn | None:
        """Check a name and password and start a session lasting ``REFFY_SESSION_HOURS``: the
        user, the token the browser keeps and how many seconds it is good for; None when wrong."""
        from reffy.sessions import SignedIn

        user = self.authenticate(name, password)
        if user is None:
            return None
        token, session = self.sessions.create(user.name, user.role.value, hours=self.settings.session_hours)
        return SignedIn(user, token, session.seconds_left(self.history._clock()))

    def session_user(self, token: str | None) -> User | None:
        """Who a session token signs in, or None (unknown, expired, logged out). A password
        session is checked against the users file each time: a removed user is out at once (and
        the session ended), a changed role applies at once."""
        session = self.sessions.resolve(token)
        if session is None:
            return None
        if session.via != "password":
            return User(session.user, Role(session.role))
        entry = self._users().get(session.user)
        if entry is None:
            self.sessions.revoke(token)
            return None
        return User(session.user, entry[0])

    def log_out(self, token: str | None) -> bool:
        """End the session ``token`` names (the cookie that holds it is refused from now on)."""
        return self.sessions.revoke(token)

    def _users(self) -> dict[str, tuple[Role, str]]:
        """The users file, re-read only when it changes (checked on every app request)."""
        from reffy.auth import load_users, users_file

        path = users_file(self.settings)
        if path is None:
            return {}
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        cached = self._users_cache
        if cached is None or cached[0] != key:
            cached = self._users_cache = (key, load_users(path))
        return cached[1]

    def create_token(self, user_name: str, role: Role | str, label: str = "") -> str:
        token, _ = self.history.add_token(user_name.strip(), Role(role).value, label)
        return token

    def token_user(self, token: str) -> User | None:
        found = self.history.token_user(token)
        return User(found[0], Role(found[1]), via="token") if found else None

    def remove_user(self, name: str) -> dict[str, Any]:
        """Remove a user: their users-file entry and every active API token issued to them (a
        removed person must not keep access through a token). NotFound when neither exists."""
        from reffy.auth import remove_user, users_file

        name = name.strip()
        path = users_file(self.settings)
        role = remove_user(path, name) if path is not None else None
        revoked = []
        for token in self.history.list_tokens():
            if token["user"] == name and not token["revoked"] and self.history.revoke_token(token["id"]):
                revoked.append(token["id"])
        self.sessions.revoke_user(name)  # signed in in the app: out now, not at the session's expiry
        if role is None and not revoked:
            where = f"in {path}" if path is not None else "(single-user mode: there is no users file)"
            raise NotFound(
                f"No user {name!r} {where} and no API token for them: `reffy user list` shows the users, "
                "`reffy token list` the tokens."
            )
        return {
            "name": name,
            "role": role.value if role else None,
            "users_file": str(path) if role else None,
            "tokens_revoked": revoked,
        }

    def list_tokens(self) -> list[dict[str, Any]]:
        return self.history.list_tokens()

    def revoke_token(self, token_id: int) -> bool:
        return self.history.revoke_token(token_id)

    def api_auth_required(self) -> bool:
        if self.settings.api_auth is not None:
            return self.settings.api_auth
        # Once any token was ever issued the API stays closed: revoking the last token must not
        # reopen it to anonymous admin access.
        return bool(self.history.list_tokens())

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

    # -- stories ------------------------------------------------------------------------
    def _visible(self, doc: dict[str, Any], audience: str) -> bool:
        return audience == "internal" or doc.get("shareability") == "public"

    def _story_doc(self, ref: str, audience: str) -> dict[str, Any]:
        """The gold story ``ref`` names for this audience: its whole id, or an unambiguous prefix
        (the CLI prints 12 characters). Only the stories the audience may see are candidates, so
        neither a prefix nor a whole id tells an external caller that an internal story exists."""
        from reffy.ids import resolve_prefix

        engine = self.engine
        doc = engine.by_id.get(ref)
        if doc is not None and self._visible(doc, audience):
            return doc  # the common case (cards of a result list): one dictionary lookup
        visible = [d["story_id"] for d in engine.docs if self._visible(d, audience)]
        story_id = resolve_prefix(
            ref, visible, label=lambda i: str(engine.by_id[i].get("title") or ""), scope=f"for the {audience} audience"
        )
        return engine.by_id[story_id]

    def resolve_story_id(self, ref: str, *, user: User = LOCAL_USER, audience: str | None = None) -> str:
        """The full id of the story ``ref`` (a story id or an unambiguous prefix of one) names
        for this caller. Ambiguous prefixes raise ``AmbiguousId`` listing the candidates (all
        within the caller's audience); unknown ones ``NotFound`` saying how to find ids."""
        user.require("read_story")
        return self._story_doc(ref, self.audience_for(user, audience))["story_id"]

    def card(self, story_id: str, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, Any]:
        """One gold story's card (facts, outcomes, quotes; no full text): what a result list shows.
        A lookup in the loaded index, no warehouse or docstore round trip. ``story_id`` may be
        shortened to any unambiguous prefix (see :meth:`resolve_story_id`)."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        return story_view(dict(self._story_doc(story_id, audience)), audience)

    def story(self, story_id: str, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, Any]:
        """Everything about one gold story: card, text, rubric evidence, duplicates, versions and
        overrides - the last three (and anything else internal) only for the internal audience."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        doc = self._story_doc(story_id, audience)
        story_id = doc["story_id"]
        engine = self.engine
        stored = engine.docstore.get(doc["story_id"]) or {"text": "", "breakdown": []}
        setup_rubric, _ = self._scoring_setup()
        dims = {c.id: c.dimension for c in setup_rubric.criteria}
        names = {c.id: c.label for c in setup_rubric.criteria}
        dim_names = {d.id: d.name for d in setup_rubric.dimensions}
        criteria = [
            {
                "id": c.get("criterion_id"),
                "name": names.get(c.get("criterion_id"), c.get("criterion_id")),
                "dimension": dims.get(c.get("criterion_id")),
                "dimension_name": dim_names.get(dims.get(c.get("criterion_id"), ""), ""),
                "points": c.get("points"),
                "max_points": c.get("max_points"),
                "evidence": c.get("evidence"),
                "withdrawn": bool(c.get("claimed_points")) and (c.get("claimed_points") or 0) > (c.get("points") or 0),
                "overridden": bool(c.get("overridden")),
            }
            for c in stored["breakdown"]
        ]
        detail = {
            **dict(doc.items()),
            "text": stored["text"],
            "criteria": criteria,
            "max_score": setup_rubric.total,
            "duplicates": [],
            "versions": [],
            "overrides": [],
        }
        if audience == "internal":  # the warehouse holds only internal annotations: not even asked
            detail.update(self._warehouse_detail(doc))
        return story_view(detail, audience)

    def _warehouse_detail(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Duplicates, versions and overrides from the warehouse; empty while an ingest holds its lock."""
        from reffy.errors import WarehouseError
        from reffy.store.stories import story_history

        try:
            return story_history(self.settings.db_path, doc["story_id"], doc.get("record_key"))
        except WarehouseError:
            return {}

    def stories(
        self, *, user: User = LOCAL_USER, audience: str | None = None, filters: Any = None, text: str | None = None
    ) -> list[dict[str, Any]]:
        """Gold stories for the explorer table, best first."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        parsed = self._filters(filters, audience)
        needle = (text or "").strip().lower()
        rows = []
        for doc in self.engine.docs:
            if not parsed.matches(doc):
                continue
            if (
                needle
                and needle not in " ".join(str(doc.get(k) or "") for k in ("title", "customer", "summary")).lower()
            ):
                continue
            rows.append(
                story_view(
                    {
                        k: doc.get(k)
                        for k in (
                            "story_id",
                            "title",
                            "customer",
                            "industry",
                            "industry_name",
                            "country",
                            "country_name",
                            "year",
                            "score",
                            "shareability",
                            "source_type",
                            "products",
                            "competitors",
                            "tags",
                            "source_link",
                            "source_record_id",
                        )
                    },
                    audience,
                )
            )
        return sorted(rows, key=lambda r: (-(r["score"] or 0), r["title"]))

    def facets(self, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, list[Any]]:
        """The filter values present in the library (for filter widgets)."""
        rows = self.stories(user=user, audience=audience)
        out: dict[str, set[Any]] = {
            "industry": set(),
            "country": set(),
            "product": set(),
            "competitor": set(),
            "year": set(),
            "tags": set(),
        }
        for row in rows:
            for key, field in (("industry", "industry"), ("country", "country"), ("year", "year")):
                if row.get(field) is not None:
                    out[key].add(row[field])
            out["product"].update(row.get("products") or [])
            out["competitor"].update(row.get("competitors") or [])
            out["tags"].update(row.get("tags") or [])
        return {key: sorted(values) for key, values in out.items()}

    def facet_names(self, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, dict[str, str]]:
        """People's names for the filter values present: {"industry": {"finance": "Banking &
        financial services"}, "country": {"DK": "Denmark"}} (values with no known name are left out)."""
        names: dict[str, dict[str, str]] = {"industry": {}, "country": {}}
        for row in self.stories(user=user, audience=audience):
            for key in names:
                if row.get(key) and row.get(f"{key}_name"):
                    names[key][str(row[key])] = str(row[f"{key}_name"])
        return names

    # -- answers ------------------------------------------------------------------------
    def _scoring_setup(self) -> tuple[Any, Any]:
        if self._setup is None:
            from reffy.rubric import load_rubric, load_taxonomy, load_vendor

            self._setup = (
                load_rubric(self.settings.rubric_path),
                (load_vendor(self.settings.vendor_path), load_taxonomy(self.settings.taxonomy_path)),
            )
        return self._setup

    def chat_model(self) -> Any:
        """The configured chat model, or None (offline answers)."""
        if not self.settings.llm_model:
            return None
        if self._chat_model is None:
            from reffy.llm import LiteLLMChatModel

            self._chat_model = LiteLLMChatModel(self.settings)
        return self._chat_model

    def ask(
        self,
        question: str,
        *,
        user: User = LOCAL_USER,
        conversation_id: str | None = None,
        audience: str | None = None,
        filters: dict[str, Any] | None = None,
        k: int | None = None,
        channel: str = "cli",
    ) -> AnswerStream:
        """Answer a question from the library, streamed. The user's message is stored before
        anything can fail; the answer (or the error) after."""
        from reffy.answer import pipeline
        from reffy.answer.understand import Request, understand

        user.require("ask")
        if not question.strip():
            raise ConfigError("The question is empty.")
        history = self.history
        history.ensure_user(user.name, user.role.value)
        requested = audience
        audience = self.audience_for(user, audience)
        if conversation_id is None:
            conversation = history.create_conversation(user, audience=audience)
        else:
            conversation = history.get_conversation(user, conversation_id)
            if conversation is None:
                raise NotFound(f"No conversation {conversation_id!r} for {user.name}: start a new one.")
            if requested is None and user.role is not Role.viewer:
                audience = conversation.get("audience") or audience
        conversation_id = conversation["id"]
        if conversation.get("audience") != audience:
            history.set_conversation_audience(user, conversation_id, audience)
        earlier = history.recent_messages(user, conversation_id, max(self.settings.history_turns, 2) * 2)
        previous = next(
            (
                Request(**m["meta"]["request"])
                for m in reversed(earlier)
                if m["role"] == "assistant" and (m.get("meta") or {}).get("request")
            ),
            None,
        )
        _, (vendor, taxonomy) = self._scoring_setup()
        if filters is not None and not isinstance(filters, dict):
            filters = _filter_dict(filters)  # a SearchFilters
        explicit = {k: v for k, v in (filters or {}).items() if k != "shareability"}
        request = understand(question, vendor, taxonomy, previous=previous, explicit=explicit)
        # Earlier turns go to the model only when written for this audience: after a switch to
        # external, internal answers (which may quote internal stories) stay out of the context.
        turns = [
            {"role": m["role"], "content": m["content"]}
            for m in earlier
            if m["content"] and not m.get("error") and (audience == "internal" or m.get("audience") == "external")
        ]
        turns = turns[-self.settings.history_turns :] if self.settings.history_turns else []
        history.add_message(user, conversation_id, "user", question, audience=audience, filters=request.filters or None)
        engine = self.engine
        k = k or self.settings.answer_k

        def search(query: str, f: dict[str, Any], n: int) -> SearchResult:
            return self.search(query, filters=f, k=n, user=user, audience=audience, channel=channel, log=False)

        model = self.chat_model()
        gen = pipeline.run(
            question,
            request,
            search=search,
            by_id=engine.by_id,
            docstore=engine.docstore,
            model=model,
            history=turns,
            audience=audience,
            vendor=vendor.name,
            k=k,
            max_tokens=self.settings.answer_max_tokens,
            names=self._story_names(engine) if model is not None else None,
        )
        return pipeline.AnswerStream(
            self._recorded(gen, user, conversation_id, question, request, audience, channel), conversation_id
        )

    def _story_names(self, engine: Any) -> Any:
        """The verifier's index of story names, built once per loaded index (a new index
        generation brings a new engine, and so new names)."""
        cached = self._names
        if cached is None or cached[0] is not engine:
            from reffy.answer.verify import StoryNames

            cached = self._names = (engine, StoryNames(engine.docs))
        return cached[1]

    def _recorded(
        self, gen: Any, user: User, conversation_id: str, question: str, request: Any, audience: str, channel: str
    ) -> Any:
        from dataclasses import asdict

        started = time.perf_counter()
        try:
            answer = yield from gen
        except Exception as exc:
            from reffy.errors import ReffyError

            message = str(exc) if isinstance(exc, ReffyError) else f"{type(exc).__name__}: {exc}"
            self.history.add_message(
                user,
                conversation_id,
                "assistant",
                "",
                audience=audience,
                mode="answer",
                error=message,
                meta={"request": asdict(request)},
            )
            raise
        answer.conversation_id = conversation_id
        latency = (time.perf_counter() - started) * 1000
        answer.latency_ms = max(answer.latency_ms, latency)
        row = self.history.add_message(
            user,
            conversation_id,
            "assistant",
            answer.text,
            mode="offline" if answer.offline else "answer",
            latency_ms=answer.latency_ms,
            cited=answer.cited_ids,
            model=answer.model,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            cost_usd=answer.cost_usd,
            audience=audience,
            filters=answer.filters or None,
            no_answer=answer.no_answer,
            meta={
                "request": asdict(request),
                "citations": answer.citations,
                "removed": answer.removed,
                "hit_ids": [h.story_id for h in answer.hits],
                "prompt_version": answer.prompt_version,
                **({"llm_error": answer.error} if answer.error else {}),
            },
        )
        answer.message_id = row["id"]
        self.history.log_query(
            user.name,
            question,
            kind="ask",
            mode="offline" if answer.offline else "answer",
            audience=audience,
            channel=channel,
            filters=answer.filters or None,
            hit_ids=[h.story_id for h in answer.hits],
            no_answer=answer.no_answer,
            latency_ms=answer.latency_ms,
            cited=answer.cited_ids,
        )
        return answer

    def answer(self, question: str, **kwargs: Any) -> Answer:
        """:meth:`ask`, collected: the finished answer."""
        return self.ask(question, **kwargs).collect()

    # -- conversations and feedback -----------------------------------------------------
    def conversations(self, user: User) -> list[dict[str, Any]]:
        return self.history.list_conversations(user)

    def new_conversation(self, user: User, title: str | None = None) -> dict[str, Any]:
        self.history.ensure_user(user.name, user.role.value)
        return self.history.create_conversation(user, title, audience=self.audience_for(user, None))

    def conversation(self, user: User, conversation_id: str) -> dict[str, Any]:
        found = self.history.get_conversation(user, conversation_id)
        if found is None:
            raise NotFound(f"No conversation {conversation_id!r} for {user.name}.")
        if user.role is Role.viewer:  # a viewer never sees what was written for an internal audience
            found["messages"] = [m for m in found["messages"] if m.get("audience") in (None, "external")]
        return found

    def rename_conversation(self, user: User, conversation_id: str, title: str) -> dict[str, Any]:
        if not title.strip():
            raise ConfigError("A conversation title cannot be empty.")
        found = self.history.rename_conversation(user, conversation_id, title.strip())
        if found is None:
            raise NotFound(f"No conversation {conversation_id!r} for {user.name}.")
        return found

    def delete_conversation(self, user: User, conversation_id: str) -> None:
        if not self.history.delete_conversation(user, conversation_id):
            raise NotFound(f"No conversation {conversation_id!r} for {user.name}.")

    def feedback(
        self,
        user: User,
        *,
        rating: int,
        message_id: int | None = None,
        story_id: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        user.require("feedback")
        if rating not in (1, -1):
            raise ConfigError("rating must be 1 (thumbs up) or -1 (thumbs down).")
        if message_id is None and story_id is None:
            raise ConfigError("Feedback needs a message_id (an answer) or a story_id (a story card).")
        if story_id is not None:  # NotFound for unknown or hidden stories; a prefix is stored as the whole id
            story_id = self.resolve_story_id(story_id, user=user)
        query = None
        if message_id is not None:
            message = self.history.get_message(user, message_id) if 0 < message_id < 2**63 else None
            if message is None:
                raise NotFound(f"No message {message_id} for {user.name}.")
            conv = self.history.get_conversation(user, message["conversation_id"]) or {"messages": []}
            asked = [m for m in conv["messages"] if m["role"] == "user" and m["id"] < message_id]
            query = asked[-1]["content"] if asked else None
        self.history.ensure_user(user.name, user.role.value)
        return self.history.add_feedback(
            user, rating, message_id=message_id, story_id=story_id, comment=(comment or "").strip() or None, query=query
        )

    # -- analytics ----------------------------------------------------------------------
    def usage(self, user: User, *, days: int = 30) -> dict[str, Any]:
        """Usage analytics, with story titles, overused references and content gaps."""
        from reffy import analytics

        user.require("analytics")
        stats = self.history.usage_stats(days)
        by_id = self.engine.by_id
        for row in stats.get("most_cited", []):
            row["title"] = (by_id.get(row["story_id"]) or {}).get("title")
        stats["overused"] = analytics.overused(stats.get("most_cited", []), len(by_id))
        once = [d for d in self.engine.docs if d.get("audience") != "external"]  # each duplicate group once
        stats["content_gaps"] = analytics.content_gaps(
            stats.get("requested_facets", []), analytics.strong_by_facet(once)
        )
        return stats

    def score_table(self, user: User) -> list[dict[str, Any]]:
        user.require("analytics")
        return self.stories(user=user, audience="internal")

    def coverage(self, user: User, *, min_score: int | None = None) -> list[dict[str, Any]]:
        """Counts of strong stories per (industry, country)."""
        from reffy import analytics

        user.require("analytics")
        rows = self.stories(user=user, audience="internal")
        names = {
            (key, r.get(key)): r.get(f"{key}_name")
            for r in rows
            for key in ("industry", "country")
            if r.get(f"{key}_name")
        }
        cells = analytics.coverage(rows, analytics.STRONG_SCORE if min_score is None else min_score)
        for cell in cells:  # people's names beside the ids, for the chart
            for key in ("industry", "country"):
                if (key, cell[key]) in names:
                    cell[f"{key}_name"] = names[(key, cell[key])]
        return cells


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
