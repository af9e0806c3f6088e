"""Export a sentence-transformers model to ONNX once per machine, and find the export again.

The export is the only place in Reffy's embedding path that needs torch and transformers;
afterwards :class:`reffy.onnx_embedder.OnnxEmbedder` runs the graph with onnxruntime.

Exports live in a shared cache (``REFFY_MODEL_CACHE_DIR``, by default the user's cache
directory) so every REFFY_HOME on a machine reuses one file. A directory is keyed by the
model's weights fingerprint and :data:`EXPORT_VERSION`, so new weights or a changed export
recipe never reuse a stale graph::

    <cache>/all-minilm-l6-v2-<sha256 of weights, 12 hex>-e<EXPORT_VERSION>/
        model.onnx, model-int8.onnx      the graphs (last_hidden_state out; pooling is numpy)
        model*.onnx.sha256               their full sha256, the embedder's ``artifact``
        export.json                      what made them (versions, seconds)
        .lock                            held while exporting

Every file is written to a temporary name and moved into place with ``os.replace``, and
exports hold an exclusive ``flock`` on ``.lock``: two processes starting at once export
once, and a reader never sees half a file. The int8 variant quantises the MatMul weights
(per channel) but the most sensitive one: quantising every op costs too much accuracy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from reffy.embedder import hf_offline, resolve_model_path
from reffy.errors import ConfigError, NotExportable
from reffy.onnx_embedder import ModelSpec, load_tokenizer, mean_pool, pad_batch, read_spec, run_graph

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"  # bump when the graph or its inputs change: old exports are then ignored
OPSET = 17
FP32, INT8 = "model.onnx", "model-int8.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
FINGERPRINTS = "fingerprints.json"  # weights sha256 by (path, size, mtime): hashing 90 MB costs 0.2 s
CHECK_TEXTS = (
    "Reffy checks the export.",
    "A customer cut onboarding time by 40% after moving its support desk to the cloud, and kept every contract.",
    "Le client a réduit ses coûts.",
)
MAX_ABS_DIFF = 1e-3  # ONNX fp32 vs torch on CHECK_TEXTS, per hidden value of a real token
MIN_INT8_COSINE = 0.97  # int8 vs fp32 pooled vectors on CHECK_TEXTS; lower means a broken graph


def default_cache_dir() -> Path:
    """``<user cache dir>/reffy/models``: shared by every REFFY_HOME of this user."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("reffy", appauthor=False)) / "models"


def onnx_name(quantized: bool) -> str:
    return INT8 if quantized else FP32


def weights_file(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise NotExportable(f"{model_dir} has none of {', '.join(WEIGHT_FILES)}: nothing to export.")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def weights_fingerprint(model_dir: Path, cache_dir: Path) -> str:
    """sha256 of the model's weights, remembered in the cache by path, size and mtime."""
    weights = weights_file(model_dir).resolve()
    stat = weights.stat()
    key = f"{weights}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_path = cache_dir / FINGERPRINTS
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if key not in memo:
        memo[key] = sha256_file(weights)
        with contextlib.suppress(OSError):  # a read-only cache still works, it just hashes again
            cache_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(memo_path, json.dumps(memo, indent=1))
    return memo[key]


def export_dir(model: str, cache_dir: Path) -> Path:
    """Where ``model``'s exports go: ``<cache>/<name>-<weights fingerprint>-e<EXPORT_VERSION>``."""
    spec = read_spec(resolve_model_path(model))
    name = re.sub(r"[^a-z0-9.]+", "-", Path(model.split(":", 1)[-1]).name.lower()).strip("-") or "model"
    return cache_dir / f"{name}-{weights_fingerprint(spec.path, cache_dir)[:12]}-e{EXPORT_VERSION}"


def cached_onnx(model: str, *, quantized: bool, cache_dir: Path) -> Path | None:
    """The exported file if it is already in the cache (never exports)."""
    path = export_dir(model, cache_dir) / onnx_name(quantized)
    return path if path.is_file() else None


def artifact_id(onnx_path: Path) -> str:
    """Short sha256 of an exported graph (from its ``.sha256`` file, written at export)."""
    sidecar = onnx_path.with_name(onnx_path.name + ".sha256")
    try:
        return sidecar.read_text(encoding="utf-8").strip()[:12]
    except OSError:
        return sha256_file(onnx_path)[:12]


def ensure_onnx(model: str, *, quantized: bool = False, cache_dir: Path) -> Path:
    """The ONNX file for ``model`` (int8 when ``quantized``), exporting it first if needed.

    Raises :class:`NotExportable` for models the ONNX runtime cannot reproduce, and
    whatever torch or the exporter raise when an export fails."""
    directory = export_dir(model, Path(cache_dir))
    target = directory / onnx_name(quantized)
    if target.is_file():
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the model cache {directory} ({exc}): set REFFY_MODEL_CACHE_DIR to a writable directory."
        ) from exc
    spec = read_spec(resolve_model_path(model))
    with _exclusive(directory / ".lock"):
        for stale in directory.glob(".*.tmp"):  # left by a killed export; nobody else writes here now
            stale.unlink(missing_ok=True)
        fp32 = directory / FP32
        if not fp32.is_file():  # another process may have exported while we waited for the lock
            _publish(directory, FP32, lambda tmp: _export_fp32(spec, tmp), model)
        if quantized and not target.is_file():
            _publish(directory, INT8, lambda tmp: _quantize(spec, fp32, tmp), model)
    return target


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive lock across processes (and threads: each holds its own open file)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; atomic replace still keeps every file whole
        yield
        return
    with lock_path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _publish(directory: Path, name: str, build, model: str) -> None:
    """Build ``name`` under a temporary name, record its sha256, then move it into place."""
    tmp = directory / f".{name}.{os.getpid()}.tmp"
    started = time.perf_counter()
    try:
        build(tmp)
        _write_atomic(directory / f"{name}.sha256", sha256_file(tmp) + "\n")
        os.replace(tmp, directory / name)
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    _record(directory, name, model, seconds)
    log.info("exported %s to %s in %.1f s", model, directory / name, seconds)


def _record(directory: Path, name: str, model: str, seconds: float) -> None:
    import onnxruntime

    path = directory / "export.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    info.update(
        {"model": model, "export_version": EXPORT_VERSION, "opset": OPSET, "onnxruntime": onnxruntime.__version__}
    )
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    info.setdefault("files", {})[name] = {"seconds": round(seconds, 2), "exported_at": stamp}
    _write_atomic(path, json.dumps(info, indent=2))


def _check_batch(spec: ModelSpec):
    """CHECK_TEXTS tokenised and right-padded: the export traces a batch *with* padding, so the
    traced graph keeps the attention-mask path (an all-ones mask can be optimised away)."""
    return pad_batch([e.ids for e in load_tokenizer(spec).encode_batch(list(CHECK_TEXTS))])


def _run_onnx(path: Path, input_ids, mask):
    import onnxruntime as ort

    return run_graph(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), input_ids, mask)


def _export_fp32(spec: ModelSpec, dst: Path) -> None:
    """torch.onnx.export of the transformer (TorchScript exporter), checked against torch."""
    import warnings

    import numpy as np

    hf_offline()
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(spec.path), attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):  # keyword arguments: transformers 5 reorders BertModel's positionals
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    input_ids, mask = _check_batch(spec)
    args = tuple(torch.from_numpy(a) for a in (input_ids, mask, np.zeros_like(input_ids)))
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        expected = LastHidden(model)(*args).numpy()  # before exporting: torch's own output changes after it
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer notes
        torch.onnx.export(
            LastHidden(model),
            args,
            str(dst),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    kept = mask.astype(bool)  # padding positions hold arbitrary values in both; pooling ignores them
    diff = float(np.abs(_run_onnx(dst, input_ids, mask)[kept] - expected[kept]).max())
    if diff > MAX_ABS_DIFF:
        raise RuntimeError(f"the ONNX export of {spec.path} differs from torch by {diff:.2g} (> {MAX_ABS_DIFF})")


def _quantize(spec: ModelSpec, src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights, checked against the fp32 graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(
            str(src),
            str(dst),
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
            nodes_to_exclude=_kept_in_fp32(src),
        )
    input_ids, mask = _check_batch(spec)
    int8, fp32 = (mean_pool(_run_onnx(path, input_ids, mask), mask) for path in (dst, src))
    cosine = (int8 * fp32).sum(axis=1)
    if float(cosine.min()) < MIN_INT8_COSINE:
        raise RuntimeError(f"the int8 graph of {spec.path} drifted from fp32 (cosine {cosine.min():.3f})")


def _kept_in_fp32(src: Path) -> list[str]:
    """The first layer's feed-forward output MatMul: its input (the GELU output) has the widest
    range of the graph, and quantising it alone cost MiniLM the most (min cosine to fp32 over
    passages 0.9888 with it quantised, 0.9908 without; 1/18 of the MatMul work stays fp32)."""
    import onnx

    names = [n.name for n in onnx.load(str(src)).graph.node if n.op_type == "MatMul"]
    return [n for n in names if "/output/dense/" in n and "/attention/" not in n][:1]


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime.quantization logs dozens of notes per graph through ``logging.info`` on
    the root logger; drop just those while quantising."""

    def keep(record: logging.LogRecord) -> bool:
        return "/onnxruntime/quantization/" not in record.pathname.replace("\\", "/")

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def list_cache(cache_dir: Path) -> list[dict]:
    """One entry per export directory: name, files with size and artifact id, export.json."""
    entries = []
    for directory in sorted(p for p in Path(cache_dir).glob("*-e*") if p.is_dir()):
        try:
            info = json.loads((directory / "export.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        files = [
            {"name": f.name, "bytes": f.stat().st_size, "artifact": artifact_id(f)}
            for f in sorted(directory.glob("*.onnx"))
        ]
        entries.append(
            {"dir": directory, "model": info.get("model"), "export_version": info.get("export_version"), "files": files}
        )
    return entries
