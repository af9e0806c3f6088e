"""The scorer interface: what :func:`ingest.silver.score_library` needs of a scorer, with the
optional capabilities declared as attributes that have defaults (no ``getattr`` probing).

A scorer subclasses :class:`Scorer` and overrides what it can do: ``prepare`` (batch work done
once in the calling process, e.g. embedding), ``batch_commits`` (stories so cheap that commits
are batched), ``parallel``, ``workers`` and ``worker_setup``/``worker_task`` (scoring in worker processes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reffy.models import ScoreResult, StoryInput
from reffy.rubric import Criterion


class Scorer:
    """Scores stories against rubric criteria. Subclasses set ``scorer_key`` and
    ``prompt_version`` and implement :meth:`score` and :meth:`estimate`."""

    scorer_key: str
    prompt_version: str
    concurrency: int = 1  # stories scored at once by threads of this process
    batch_commits: bool = False  # commit silver rows in batches (cheap scorers) rather than per story
    parallel: bool = False  # worker_setup() and worker_task() work: it can score in worker processes
    workers: int = 1  # worker processes, for a parallel scorer

    def score(self, story: StoryInput, criteria: list[Criterion], want_metadata: bool) -> ScoreResult:
        raise NotImplementedError

    def estimate(self, story: StoryInput, criteria: list[Criterion]) -> tuple[int, float | None]:
        """(tokens, cost in USD or None when unknown) scoring ``story`` would take."""
        raise NotImplementedError

    def prepare(self, stories: list[StoryInput]) -> None:
        """Work done once for a batch of stories before they are scored (default: nothing)."""

    def worker_setup(self) -> tuple[Callable[..., None], tuple[Any, ...], Callable[[list[Any]], list[Any]]]:
        """(initializer, its arguments, the function scoring a list of worker_task payloads) for
        scoring in worker processes (a ``parallel`` scorer)."""
        raise NotImplementedError

    def worker_task(self, story: StoryInput, criteria: list[Criterion], want_metadata: bool) -> Any:
        """The picklable payload a worker process scores (with worker_setup)."""
        raise NotImplementedError


class ScoringFailure(Exception):
    """Raised by a scorer for one story: recorded, counted, retried next run."""

    def __init__(self, reason: str, detail: str, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float = 0.0):
        super().__init__(detail)
        self.reason, self.detail = reason, detail
        self.tokens_in, self.tokens_out, self.cost_usd = tokens_in, tokens_out, cost_usd

    def __reduce__(self):  # travels back from a worker process intact
        return type(self), (self.reason, self.detail, self.tokens_in, self.tokens_out, self.cost_usd)
