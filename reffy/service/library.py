"""Library operations: reading sources, scoring, gold, indexes, tuning, corrections, status and
the background pipeline runs the app starts. Every write decides its permission here (the acting
user is an argument), never only in an adapter; :meth:`LibraryOps.refresh` is the one place the
ingest → score → build → index sequence is written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reffy.auth import LOCAL_USER, User
from reffy.errors import ConfigError, NotFound
from reffy.models import IngestSummary, LibraryStatus
from reffy.service.base import ServiceBase
from reffy.wording import sentence

if TYPE_CHECKING:
    from ingest.gold import GoldSummary
    from ingest.silver import ScoringSummary
    from reffy.jobs import Job, JobRunner
    from reffy.retrieval.calibrate import NoAnswerModel
    from reffy.retrieval.indexer import IndexSummary

STAGES = ("ingest", "score", "build", "index")  # the pipeline, in order; see LibraryOps.refresh


class RefreshHooks:
    """What a caller of :meth:`LibraryOps.refresh` is told as it runs; override what you show.

    A plain class with no-op methods (not a protocol): the CLI draws progress bars from it, a
    background job records its progress, tests and scripts pass nothing."""

    def started(self, stage: str, total: int | None) -> None:
        """A stage begins; ``total`` is its item count when known cheaply."""

    def item(self, source: Any, item: Any) -> None:
        """Ingest read one record or problem of ``source``."""

    def progress(self, stage: str, done: int, total: int | None) -> None:
        """Scoring or indexing advanced."""

    def keyword_ready(self) -> None:
        """Keyword search serves the new index (vectors may still be computing)."""

    def finished(self, stage: str, summary: Any) -> None:
        """A stage ended with ``summary`` (its IngestSummary, ScoreSummary, ...)."""


class LibraryOps(ServiceBase):
    # -- the whole pipeline ---------------------------------------------------------------
    def refresh(
        self,
        specs: Sequence[str] = (),
        *,
        user: User = LOCAL_USER,
        stages: Sequence[str] = STAGES,
        sources: Sequence[Any] | None = None,
        unestimated: Sequence[Any] = (),
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        url_lists: Sequence[Path] = (),
        extra_meta: dict[str, Any] | None = None,
        model: str | None = None,
        max_cost: float | None = None,
        rebuild: bool = False,
        hooks: RefreshHooks | None = None,
    ) -> dict[str, Any]:
        """Run ``stages`` of ingest → score → build → index in order (each incremental), telling
        ``hooks`` as they go; returns each stage's summary by name. ``sources`` are ready Source
        objects (else ``specs`` are resolved); ``unestimated`` ones are read too but left out of
        the item estimate (pasted lines already refused, for instance). A correction reruns
        ``("build", "index")``."""
        user.require("ingest")
        return self._run_stages(
            specs,
            user=user,
            stages=stages,
            sources=sources,
            unestimated=unestimated,
            include=include,
            exclude=exclude,
            url_lists=url_lists,
            extra_meta=extra_meta,
            model=model,
            max_cost=max_cost,
            rebuild=rebuild,
            hooks=hooks,
        )

    def apply_overrides(self, *, user: User = LOCAL_USER, hooks: RefreshHooks | None = None) -> dict[str, Any]:
        """Rebuild gold and sync the indexes so corrections show in search: an analyst's move
        after :meth:`set_override` (they may correct stories, not read new sources)."""
        user.require("override")
        return self._run_stages(user=user, stages=("build", "index"), hooks=hooks)

    def _run_stages(
        self,
        specs: Sequence[str] = (),
        *,
        user: User,
        stages: Sequence[str],
        sources: Sequence[Any] | None = None,
        unestimated: Sequence[Any] = (),
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        url_lists: Sequence[Path] = (),
        extra_meta: dict[str, Any] | None = None,
        model: str | None = None,
        max_cost: float | None = None,
        rebuild: bool = False,
        hooks: RefreshHooks | None = None,
    ) -> dict[str, Any]:
        """The stages, in pipeline order; permission already decided by the public caller."""
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise ConfigError(f"Unknown pipeline stage {unknown[0]!r}: the stages are {', '.join(STAGES)}.")
        hooks = hooks or RefreshHooks()
        done: dict[str, Any] = {}
        for stage in [s for s in STAGES if s in stages]:
            summary: Any
            if stage == "ingest":
                resolved = (
                    list(sources)
                    if sources is not None
                    else self.resolve(specs, include=include, exclude=exclude, url_lists=url_lists)
                )
                hooks.started(stage, self.estimate(resolved))
                summary = self.ingest(
                    specs,
                    url_lists=url_lists,
                    sources=[*resolved, *unestimated],
                    progress=hooks.item,
                    extra_meta=extra_meta,
                    user=user,
                )
            elif stage == "score":
                hooks.started(stage, None)
                summary = self.score(
                    model=model,
                    max_cost=max_cost,
                    progress=lambda d, t: hooks.progress("score", d, t),
                    user=user,
                )
            elif stage == "build":
                hooks.started(stage, None)
                summary = self._build()
            else:
                hooks.started(stage, None)
                summary = self._index(
                    rebuild=rebuild,
                    progress=lambda d, t: hooks.progress("index", d, t),
                    on_keyword_ready=hooks.keyword_ready,
                )
            done[stage] = summary
            hooks.finished(stage, summary)
        return done

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
        user: User = LOCAL_USER,
    ) -> IngestSummary:
        """Read sources into bronze. ``sources`` lets callers pass ready Source objects."""
        user.require("ingest")
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
        user: User = LOCAL_USER,
    ) -> ScoringSummary:
        """Score stories that lack scores for the active rubric, scorer and prompt."""
        user.require("ingest")
        from ingest.scoring.factory import load_setup, make_scorer
        from ingest.silver import score_library

        settings = self.settings if model is None else self.settings.model_copy(update={"llm_model": model})
        setup = load_setup(settings)
        scorer = make_scorer(settings, setup)
        return score_library(
            settings, scorer, setup.rubric, limit=limit, dry_run=dry_run, max_cost=max_cost, progress=progress
        )

    def build(self, *, user: User = LOCAL_USER) -> GoldSummary:
        """Rebuild gold from silver (LLM scores where present, offline scores otherwise)."""
        user.require("ingest")
        return self._build()

    def _build(self) -> GoldSummary:
        from ingest.gold import build_gold
        from ingest.scoring.factory import active_key, load_setup

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

    def index(
        self,
        *,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
        on_keyword_ready: Callable[[], None] | None = None,
        user: User = LOCAL_USER,
    ) -> IndexSummary:
        """Bring the keyword and vector indexes in line with gold (incremental). Keyword search
        works from ``on_keyword_ready`` on, while the vectors are still being computed."""
        user.require("ingest")
        return self._index(rebuild=rebuild, progress=progress, on_keyword_ready=on_keyword_ready)

    def _index(
        self,
        *,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
        on_keyword_ready: Callable[[], None] | None = None,
    ) -> IndexSummary:
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

    def tune(self, *, max_false_flags: float | None = None, user: User = LOCAL_USER) -> NoAnswerModel:
        """Calibrate the no-answer signal on this library (see :mod:`reffy.retrieval.calibrate`)
        and record it in the index manifest, where every engine, running servers included,
        picks it up. Returns the fitted :class:`NoAnswerModel`."""
        user.require("ingest")
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

    # -- overrides ----------------------------------------------------------------------
    def set_override(
        self,
        story: str,
        field: str,
        value: str,
        *,
        reason: str,
        author: str | None = None,
        user: User = LOCAL_USER,
    ) -> dict[str, Any]:
        """Correct one field or criterion of a story (analysts). ``author`` defaults to the user's
        name (the CLI passes the login name of the person at the keyboard)."""
        user.require("override")
        from ingest.overrides import set_override
        from reffy.rubric import load_rubric
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return set_override(
                con,
                story,
                field,
                value,
                load_rubric(self.settings.rubric_path),
                author=author or user.name,
                reason=reason,
            )

    def remove_override(self, story: str, field: str, *, user: User = LOCAL_USER) -> bool:
        user.require("override")
        from ingest.overrides import remove_override
        from reffy.store.warehouse import open_warehouse

        with open_warehouse(self.settings.db_path, must_exist=True) as con:
            return remove_override(con, story, field)

    def overrides(self, *, user: User = LOCAL_USER) -> list[dict[str, Any]]:
        user.require("analytics")
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

    def config(self, *, user: User = LOCAL_USER) -> list[tuple[str, Any, str]]:
        """Every setting with its value and where it came from (names paths: analysts and admins)."""
        user.require("analytics")
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
