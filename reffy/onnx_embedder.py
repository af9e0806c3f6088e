"""Sentence embeddings on onnxruntime: the same vectors as sentence-transformers, without torch.

A search query needs one embedding, and importing sentence-transformers (and with it torch
and transformers) costs ~8 s of a fresh process. This module reproduces what a
sentence-transformers BERT model computes -- the model's ``tokenizer.json`` truncated to its
``max_seq_length``, the transformer as an ONNX graph (exported once by
:mod:`reffy.onnx_export`), mean pooling over the attention mask, L2 normalisation -- and
imports only numpy, onnxruntime and tokenizers.

:func:`read_spec` decides whether a model directory is one this runtime reproduces exactly
(BERT, mean pooling, optional Normalize, no extra modules); anything else stays on the
sentence-transformers backend, which remains the reference.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reffy.errors import ConfigError, NotExportable

if TYPE_CHECKING:
    import numpy as np

SUPPORTED_MODEL_TYPES = frozenset({"bert"})  # the architectures the export was verified on
# Texts of at most this many tokens ([CLS] and [SEP] included) skip the int8 graph: with so few
# tokens its rounding does not average out in the mean (cosine to fp32 fell to 0.95 for "?!"),
# and they cost next to nothing in fp32.
SHORT_TOKENS = 8
TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"
MEAN_ONLY = {
    "pooling_mode_mean_tokens": True,
    "pooling_mode_cls_token": False,
    "pooling_mode_max_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False,
}


@dataclass(frozen=True)
class ModelSpec:
    """What the runtime needs to know about a local sentence-transformers model."""

    path: Path
    model_type: str
    max_seq_length: int
    dimensions: int
    normalize: bool  # the model's own Normalize module; vectors are unit length either way


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotExportable(f"{path} is missing or not JSON ({exc}).") from exc


def read_spec(model_dir: str | Path) -> ModelSpec:
    """The model's spec, or :class:`NotExportable` saying why the ONNX backend cannot run it."""
    path = Path(model_dir)
    if not path.is_dir():
        raise NotExportable(
            f"{str(model_dir)!r} is not a local model directory (a hub name needs sentence-transformers)."
        )
    for name in ("tokenizer.json", "modules.json", "config.json"):
        if not (path / name).is_file():
            raise NotExportable(f"{path} has no {name}: not a sentence-transformers folder the ONNX backend reads.")
    modules = _read_json(path / "modules.json")
    types = [m.get("type") for m in modules] if isinstance(modules, list) else []
    if types not in ([TRANSFORMER, POOLING], [TRANSFORMER, POOLING, NORMALIZE]):
        raise NotExportable(f"{path} has modules {types}; the ONNX backend supports Transformer, Pooling[, Normalize].")
    pooling = _read_json(path / next(m.get("path", "") for m in modules if m["type"] == POOLING) / "config.json")
    if any(bool(pooling.get(k, False)) != v for k, v in MEAN_ONLY.items()):
        raise NotExportable(f"{path} does not use plain mean pooling; the ONNX backend supports only that.")
    config = _read_json(path / "config.json")
    model_type = str(config.get("model_type", ""))
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise NotExportable(
            f"{path} is a {model_type or 'unknown'!r} model; the ONNX backend supports "
            f"{', '.join(sorted(SUPPORTED_MODEL_TYPES))}."
        )
    st_config = _read_json(path / "sentence_bert_config.json") if (path / "sentence_bert_config.json").is_file() else {}
    if st_config.get("do_lower_case"):
        raise NotExportable(f"{path} lower-cases in sentence-transformers (do_lower_case); the ONNX backend does not.")
    max_len = st_config.get("max_seq_length") or config.get("max_position_embeddings") or 512
    dims = pooling.get("word_embedding_dimension") or config.get("hidden_size")
    return ModelSpec(
        path=path,
        model_type=model_type,
        max_seq_length=int(max_len),
        dimensions=int(dims),
        normalize=NORMALIZE in types,
    )


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask in a container, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class OnnxEmbedder:
    """A sentence-transformers model as an ONNX graph; thread-safe, loaded on first use.

    ``model_id`` is the model's Reffy name (the same string the sentence-transformers
    embedder reports, so indexes built by either backend stay valid for the other);
    ``backend`` and ``artifact`` (short sha256 of the .onnx file) say exactly what runs.
    With ``short_path`` (the fp32 graph next to an int8 one), texts of at most
    :data:`SHORT_TOKENS` tokens run on that graph instead.
    """

    def __init__(
        self,
        model_id: str,
        spec: ModelSpec,
        onnx_path: Path,
        *,
        backend: str = "onnx",
        artifact: str = "",
        short_path: Path | None = None,
        batch_size: int = 32,
    ) -> None:
        self.model_id = model_id
        self.spec = spec
        self.onnx_path = Path(onnx_path)
        self.short_path = Path(short_path) if short_path else None
        self.backend = backend
        self.artifact = artifact
        self.batch_size = batch_size
        self.dimensions = spec.dimensions
        self._sessions: tuple[Any, Any] | None = None  # (main, short) InferenceSessions; short may be main
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._sessions is not None:
                return
            main = _session(self.onnx_path)
            self._tokenizer = load_tokenizer(self.spec)
            self._sessions = (main, _session(self.short_path) if self.short_path else main)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text, in input order."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        self._load()
        encodings = self._tokenizer.encode_batch([str(t) for t in texts])
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # similar lengths share a batch: little padding
        short = lengths[order] <= (SHORT_TOKENS if self.short_path else 0)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        sessions = self._sessions
        assert sessions is not None  # set by _load()
        for rows, session in ((order[~short], sessions[0]), (order[short], sessions[1])):
            for start in range(0, len(rows), self.batch_size):
                batch = rows[start : start + self.batch_size]
                out[batch] = _embed_batch(session, [encodings[i].ids for i in batch])
        return out


def load_tokenizer(spec: ModelSpec):
    """The model's own tokenizer, truncating to its max_seq_length; padding is per batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(spec.path / "tokenizer.json"))
    tokenizer.no_padding()  # tokenizer.json may pad every text to a fixed length (MiniLM's: 128)
    tokenizer.enable_truncation(max_length=spec.max_seq_length)
    return tokenizer


def _session(path: Path):
    """A CPU session on every core this process may use, with all graph optimisations."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = cpu_count()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (unexported) exception types
        raise ConfigError(
            f"Cannot load {path} ({exc}). Delete it and run `reffy models export`, "
            "or set REFFY_EMBEDDING_BACKEND=sentence-transformers."
        ) from exc


def pad_batch(token_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), right-padded with 0 to the longest sequence."""
    import numpy as np

    input_ids = np.zeros((len(token_ids), max(len(ids) for ids in token_ids)), dtype=np.int64)
    mask = np.zeros_like(input_ids)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return input_ids, mask


def run_graph(session, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The graph's last hidden state (InferenceSession.run is thread-safe)."""
    import numpy as np

    feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
    names = {i.name for i in session.get_inputs()}  # some BERT exports take no token_type_ids
    return session.run(None, {k: v for k, v in feeds.items() if k in names})[0]


def _embed_batch(session, token_ids: list[list[int]]) -> np.ndarray:
    input_ids, mask = pad_batch(token_ids)
    return mean_pool(run_graph(session, input_ids, mask), mask)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors the mask keeps, scaled to unit length (float32)."""
    import numpy as np

    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32, copy=False)
