"""Cross-encoder re-ranking, used only when its weights load offline.

No cross-encoder weights ship on PyPI, so on a fresh machine re-ranking is off: search
works without it and says so once. Point ``REFFY_RERANKER_MODEL`` at a local model
directory (or a hub name on a machine with network) to turn it on.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """``sentence_transformers.CrossEncoder`` over (query, passage) pairs."""

    def __init__(self, model: str) -> None:
        self.model_id = model
        self._model = None
        self._lock = threading.Lock()

    def load(self) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        with self._lock:
            if self._model is None:
                self._model = CrossEncoder(self.model_id, device="cpu")

    def scores(self, query: str, passages: list[str]) -> "np.ndarray":
        import numpy as np

        self.load()
        if not passages:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._model.predict([(query, p) for p in passages], show_progress_bar=False), dtype=np.float32)


_warned: set[str] = set()


def load_reranker(model: str | None) -> tuple[CrossEncoderReranker | None, str | None]:
    """(re-ranker or None, a note saying why re-ranking is off). Logs the note once."""
    if not model:
        return None, "re-ranking is off (REFFY_RERANKER_MODEL is empty)"
    reranker = CrossEncoderReranker(model)
    try:
        reranker.load()
    except Exception as exc:  # missing weights offline, bad path: search goes on without it
        note = (f"re-ranking is off: the cross-encoder {model!r} could not be loaded offline "
                f"({type(exc).__name__}). Set REFFY_RERANKER_MODEL to a local model directory to enable it.")  # fmt: skip
        if model not in _warned:
            _warned.add(model)
            log.info(note)
        return None, note
    return reranker, None
