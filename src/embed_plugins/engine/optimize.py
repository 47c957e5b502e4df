"""ONNX Runtime's transformer graph optimisations, applied once and cached on disk.

``onnxruntime.transformers.optimizer`` fuses attention, skip-layer-norm,
embedding-layer-norm and bias-GELU subgraphs into single kernels.  Fusing takes
seconds, so the result is written to a cache folder keyed by the graph's
content hash and the onnxruntime version, and reused by every later session
(and every worker).  The fused graph is checked against the plain one on a
probe batch before it is used; if it differs by more than 1e-5 it is discarded
with a warning.  A cache folder that cannot be written (read-only, or not a
folder) is not an error either: the plain graph runs, with a warning naming the
folder and ``$EMBED_PLUGINS_CACHE_DIR``, which moves it.

The first fusing of a graph is logged (logger ``embed_plugins.engine.optimize``,
level INFO) with the cache file it writes, since it takes seconds and the file
is about as large as the graph.

Needs the ``onnx`` package (the ``optimize`` extra).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ..errors import ModelLoadError
from ..hub import model_file_path

CACHE_ENV = "EMBED_PLUGINS_CACHE_DIR"
logger = logging.getLogger(__name__)
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


def _model_config(model_path: Path, model_dir: Path | None) -> dict[str, object]:
    """config.json of the model folder (else of the graph's own folder), read safely."""
    config = (
        model_file_path(model_dir, "config.json")
        if model_dir is not None
        else model_file_path(model_path.parent, "config.json")
    )
    if not config.is_file():
        return {}
    data = json.loads(config.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


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


def optimized_model_path(model_path: Path, model_dir: Path | None = None) -> Path:
    """The fused graph for ``model_path``, built on first use; the plain path if not possible.

    ``model_dir`` is the model folder, whose config.json names the architecture;
    without it, the config.json next to the graph is read.
    """
    config = _model_config(model_path, model_dir)
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
            f"{sys.executable} -m pip install 'embed_plugins[optimize]'"
        ) from exc
    except Exception as exc:  # the optimizer does not know this graph: keep the plain one
        _fallback(model_path, f"fusion failed ({type(exc).__name__}: {exc})")
        return model_path
    workspace = _workspace(target.parent)  # checked before fusing, which takes seconds
    if workspace is None:
        return model_path
    heads = config.get("num_attention_heads", 0)
    hidden = config.get("hidden_size", 0)
    logger.info(
        "optimize=True: fusing the transformer graph %s once (this takes a few seconds); "
        "the fused graph is cached as %s (set %s to move the cache)",
        model_path,
        target,
        CACHE_ENV,
    )
    started = time.perf_counter()
    try:
        fused = optimize_model(
            str(model_path),
            model_type=model_type,
            num_heads=int(heads) if isinstance(heads, int) else 0,
            hidden_size=int(hidden) if isinstance(hidden, int) else 0,
            opt_level=0,
        )
        built = _build(model_path, fused, workspace / "model.onnx", target)
        if built == target:
            logger.info(
                "optimize=True: cached the fused graph of %s as %s (%.0f MB, %.1f s)",
                model_path,
                target,
                target.stat().st_size / 1e6,
                time.perf_counter() - started,
            )
        return built
    except ImportError as exc:  # e.g. sympy, needed for symbolic shape inference
        raise ModelLoadError(
            f"transformer graph optimisation is missing a dependency ({exc}): "
            f"{sys.executable} -m pip install 'embed_plugins[optimize]'"
        ) from exc
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _workspace(folder: Path) -> Path | None:
    """A fresh temporary folder inside the cache ``folder``; ``None`` (with a warning)
    when the cache cannot be written: read-only, not a folder, no permission."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=folder))
    except OSError as exc:
        _unwritable(folder, exc)
        return None


def _build(model_path: Path, fused: Any, candidate: Path, target: Path) -> Path:
    """Save the fused graph, check it against the plain one, move it into the cache."""
    try:
        fused.save_model_to_file(str(candidate))
    except OSError as exc:
        _unwritable(target.parent, exc)
        return model_path
    lost = _lost_outputs(model_path, candidate)
    if lost:
        warnings.warn(
            f"fusing {model_path} removes graph outputs {lost}; using the plain graph",
            RuntimeWarning,
            stacklevel=4,
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
            stacklevel=4,
        )
        return model_path
    try:
        os.replace(candidate, target)  # atomic: concurrent workers never see half a file
    except OSError as exc:
        _unwritable(target.parent, exc)
        return model_path
    return target


def _unwritable(folder: Path, exc: OSError) -> None:
    warnings.warn(
        f"optimize=True: cannot write the optimised-graph cache {folder} "
        f"({type(exc).__name__}: {exc}); running the plain graph. Set {CACHE_ENV} to a "
        "writable folder to cache fused graphs.",
        RuntimeWarning,
        stacklevel=4,
    )


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
