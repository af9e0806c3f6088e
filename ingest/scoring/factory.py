"""Which scorer runs: the LLM scorer when ``REFFY_LLM_MODEL`` is set, else the offline one."""

from __future__ import annotations

from dataclasses import dataclass

from reffy.config import Settings
from reffy.rubric import Rubric, Taxonomy, VendorProfile, load_rubric, load_taxonomy, load_vendor


@dataclass(slots=True)
class ScoringSetup:
    rubric: Rubric
    vendor: VendorProfile
    taxonomy: Taxonomy


def load_setup(settings: Settings) -> ScoringSetup:
    return ScoringSetup(
        load_rubric(settings.rubric_path), load_vendor(settings.vendor_path), load_taxonomy(settings.taxonomy_path)
    )


def offline_scorer(settings: Settings, setup: ScoringSetup):
    from ingest.extract.industry import IndustryClassifier
    from ingest.scoring.offline import OfflineScorer
    from reffy.embedder import get_embedder

    classifier = IndustryClassifier(setup.taxonomy, get_embedder(settings.embedding_model))
    return OfflineScorer(setup.rubric, setup.vendor, classifier, workers=settings.score_workers)


def make_scorer(settings: Settings, setup: ScoringSetup):
    if not settings.llm_model:
        return offline_scorer(settings, setup)
    from ingest.scoring.llm import LLMScorer

    return LLMScorer(settings, setup.rubric, setup.vendor, setup.taxonomy)


def active_key(settings: Settings) -> tuple[str, str]:
    """(scorer_key, prompt_version) whose silver rows gold is built from."""
    if not settings.llm_model:
        from ingest.scoring.offline import OFFLINE_VERSION

        return "offline", OFFLINE_VERSION
    from ingest.scoring.llm import prompt_version

    return f"llm:{settings.llm_model}", prompt_version()
