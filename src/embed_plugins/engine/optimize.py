"""ONNX Runtime's transformer graph optimisations, applied once and cached on disk.

``onnxruntime.transformers.optimizer`` fuses attention, skip-layer-norm,
embedding-layer-norm and bias-GELU subgraphs into single kernels.  Fusing takes
seconds, so the result is written to a cache folder keyed by the graph's
content hash and the onnxruntime version, and reused by every later session
(and every worker).  The fused graph is checked against the plain one on a
probe batch before it is used; if it differs by more than 1e-5 it is discarded
with a warning.

Needs the ``onnx`` package (the ``optimize`` extra).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..errors import ModelLoadError

CACHE_ENV = "EMBED_PLUGINS_CACHE_DIR"
#: transformers' ``config.json`` model_type -> the optimizer's model family.
_MODEL_TYPES = {
    "bert": "bert",
    "xlm-roberta": "bert",
    "roberta": "bert",
    "camembert": "bert",
    "distilbert": "bert",
    "mpnet": "bert",
    "electra": "bert",
}
_PARITY_TOL = 1e-5


def cache_root() -> Path:
    """``$EMBED_PLUGINS_CACHE_DIR``, else ``$XDG_CACHE_HOME/embed_plugins``, else ``~/.cache``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "embed_plugins"


def _model_config(model_path: Path) -> dict[str, object]:
    for folder in (model_path.parent, model_path.parent.parent):
        config = folder / "config.json"
        if config.is_file():
            data = json.loads(config.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
    return {}


@functools.lru_cache(maxsize=64)
def _digest_of(model_path: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with model_path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    h.update(ort.__version__.encode())
    return h.hexdigest()[:32]


def _digest(model_path: Path) -> str:
    """Content hash of the graph (+ onnxruntime version), computed once per file version."""
    stat = model_path.stat()
    return _digest_of(model_path.resolve(), stat.st_size, stat.st_mtime_ns)


def optimized_model_path(model_path: Path) -> Path:
    """The fused graph for ``model_path``, built on first use; the plain path if not possible."""
    config = _model_config(model_path)
    model_type = _MODEL_TYPES.get(str(config.get("model_type", "")))
    if model_type is None:
        warnings.warn(
            f"no transformer graph optimisation for model_type {config.get('model_type')!r} "
            f"({model_path}); using the plain graph",
            RuntimeWarning,
            stacklevel=3,
        )
        return model_path
    target = cache_root() / "optimized" / f"{_digest(model_path)}.onnx"
    if target.is_file():
        return target
    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as exc:  # the optimizer needs the onnx package
        raise ModelLoadError(
            "transformer graph optimisation needs the 'onnx' package: "
            "pip install 'embed_plugins[optimize]'"
        ) from exc
    except Exception as exc:  # the optimizer does not know this graph: keep the plain one
        _fallback(model_path, f"fusion failed ({type(exc).__name__}: {exc})")
        return model_path
    heads = config.get("num_attention_heads", 0)
    hidden = config.get("hidden_size", 0)
    try:
        fused = optimize_model(
            str(model_path),
            model_type=model_type,
            num_heads=int(heads) if isinstance(heads, int) else 0,
            hidden_size=int(hidden) if isinstance(hidden, int) else 0,
            opt_level=0,
        )
    except ImportError as exc:  # e.g. sympy, needed for symbolic shape inference
        raise ModelLoadError(
            f"transformer graph optimisation is missing a dependency ({exc}): "
            "pip install 'embed_plugins[optimize]'"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        candidate = Path(tmp) / "model.onnx"
        fused.save_model_to_file(str(candidate))
        lost = _lost_outputs(model_path, candidate)
        if lost:
            warnings.warn(
                f"fusing {model_path} removes graph outputs {lost}; using the plain graph",
                RuntimeWarning,
                stacklevel=3,
            )
            return model_path
        try:
            diff = _probe_difference(model_path, candidate)
        except Exception as exc:  # e.g. a graph input the probe does not provide
            _fallback(model_path, f"the parity probe failed ({type(exc).__name__}: {exc})")
            return model_path
        if diff > _PARITY_TOL:
            warnings.warn(
                f"fused graph of {model_path} differs from the plain one by {diff:.2e} "
                f"(> {_PARITY_TOL}); using the plain graph",
                RuntimeWarning,
                stacklevel=3,
            )
            return model_path
        os.replace(candidate, target)  # atomic: concurrent workers never see half a file
    return target


def _fallback(model_path: Path, why: str) -> None:
    warnings.warn(f"{model_path}: {why}; using the plain graph", RuntimeWarning, stacklevel=4)


def _lost_outputs(plain: Path, fused: Path) -> list[str]:
    """Outputs of the plain graph the fused one no longer has (e.g. attention probabilities)."""
    names = [
        {
            o.name
            for o in ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).get_outputs()
        }
        for p in (plain, fused)
    ]
    return sorted(names[0] - names[1])


def _probe_difference(plain: Path, fused: Path) -> float:
    """Max abs difference of the first output on a padded probe batch."""
    sessions = [
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (plain, fused)
    ]
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 100, size=(3, 12), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    outs = []
    for session in sessions:
        names = {i.name for i in session.get_inputs()}
        outs.append(session.run(None, {k: v for k, v in feeds.items() if k in names})[0])
    valid = mask.astype(bool)
    a, b = outs
    if a.ndim == 3:
        a, b = a[valid], b[valid]
    return float(np.abs(a - b).max())
