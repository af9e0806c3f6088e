"""Cross-encoder re-ranking, used only when its weights load offline.

No cross-encoder weights ship on PyPI, so by default re-ranking is off and nothing of it is
imported (sentence-transformers and torch cost seconds). Point ``REFFY_RERANKER_MODEL`` at a
local model directory (or a hub name on a machine with network) to turn it on. ``reffy status``
reports the state once (:func:`reranker_state`); a configured model that fails to load is
logged once and search goes on without it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """``sentence_transformers.CrossEncoder`` over (query, passage) pairs."""

    def __init__(self, model: str) -> None:
        self.model_id = model
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        with self._lock:
            if self._model is None:
                self._model = CrossEncoder(self.model_id, device="cpu")

    def scores(self, query: str, passages: list[str]) -> np.ndarray:
        import numpy as np

        self.load()
        if not passages:
            return np.zeros(0, dtype=np.float32)
        model = self._model
        assert model is not None  # load() set it
        return np.asarray(model.predict([(query, p) for p in passages], show_progress_bar=False), dtype=np.float32)


_warned: set[str] = set()


OFF_NOTE = "off (set REFFY_RERANKER_MODEL to a local cross-encoder directory to turn it on)"


def reranker_state(model: str | None, top: int) -> str:
    """One line for ``reffy status``, without loading anything: off, or what is configured and
    whether it can load offline (a local directory with a config) or needs a model hub."""
    from pathlib import Path

    if not model or not top:
        return OFF_NOTE if not model else "off (REFFY_RERANK_TOP is 0)"
    if model in _failed:
        return f"configured as {model!r} but it did not load ({_failed[model]}); search runs without it"
    path = Path(model).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return f"on: {model} (top {top})"
        return f"configured as {model!r}, but that directory has no config.json: search runs without re-ranking"
    return f"configured as {model!r} (a hub name: needs its weights downloaded once on a machine with network)"


_failed: dict[str, str] = {}


def load_reranker(model: str | None) -> tuple[CrossEncoderReranker | None, str | None]:
    """(re-ranker or None, a note saying why re-ranking is off). Logs the note once."""
    if not model:
        return None, f"re-ranking is {OFF_NOTE}"
    reranker = CrossEncoderReranker(model)
    try:
        reranker.load()
    except Exception as exc:  # missing weights offline, bad path: search goes on without it
        note = (
            f"re-ranking is off: the cross-encoder {model!r} could not be loaded offline "
            f"({type(exc).__name__}). Set REFFY_RERANKER_MODEL to a local model directory to enable it."
        )
        if model not in _warned:
            _warned.add(model)
            log.warning(note)
        _failed[model] = type(exc).__name__
        return None, note
    return reranker, None
