"""int8 graphs for CPU: onnxruntime's dynamic quantisation, built once, checked, cached.

``quantize="int8"`` (or ``quantize=Quantization(...)``) on a text model runs its
transformer graph with int8 weights: :func:`quantized_model_path` writes the
quantised graph into ``$EMBED_PLUGINS_CACHE_DIR/quantized/`` (beside the fused
graphs of ``optimize=True``), named by the source graph's content hash and the
settings, and every later session, in this process or a worker, loads that file.
Builders serialise on a lock file and publish with an atomic rename, so workers
that start together quantise once; the parent builds before it starts workers
(:func:`prebuild`).

Before a quantised graph is used it is compared with the fp32 graph on a fixed
probe set (:data:`PROBE_TEXTS`, tokenised with the model's own tokenizer): the
cosine between fp32 and int8 outputs, per text, is written beside the graph
(``<key>.json``) and logged, and a graph whose lowest cosine is under
``Quantization.min_cosine`` is refused with :class:`~embed_plugins.errors.ModelLoadError`.

A graph that is already quantised (a ``-Q`` / ``-int8`` catalogue entry, a Hub
``model_quantized.onnx``) is used as it is.  The settings were measured on
all-MiniLM-L6-v2 (benchmarks/README.md, "int8"); needs the ``onnx`` package.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import onnxruntime as ort

from ..errors import ArgumentTypeError, InvalidArgumentError, ModelLoadError
from ..hub import model_file_path
from .optimize import CACHE_ENV, _digest, cache_root
from .quantize_files import has_vnni, is_quantized
from .quantize_probe import PROBE_TEXTS, probe_cosines

__all__ = ["PROBE_TEXTS", "Quantization", "as_quantization", "quantized_model_path"]

logger = logging.getLogger(__name__)
_VERSION = 1  # bump when the build changes in a way the settings do not show


@dataclass(frozen=True)
class Quantization:
    """How to quantise a graph (``quantize="int8"`` is ``Quantization()``).

    Attributes:
        per_channel: One weight scale per output column instead of one per matrix.
            On all-MiniLM-L6-v2 it lifts the mean fp32/int8 cosine from 0.957 to 0.993.
        reduce_range: 7-bit weights, which x86 CPUs without VNNI need to avoid
            saturating their 16-bit int8 dot products; ``None`` decides from this
            CPU (on where VNNI is missing, off where it is present or on ARM).
        op_types: Operators whose weights are quantised: ``MatMul`` (the linear
            layers); ``Gather`` (the embedding table) is left in fp32 by default.
        fp32_layers: Encoder layers whose weights all stay fp32 (0 = the first, -1 =
            the last), found by the ``layer.N`` part of the node names.
        fp32_ffn_outputs: Layers whose feed-forward output projection (the layer's last
            weight ``MatMul``) stays fp32.  Its input, after GELU, has the widest range
            of any activation, and dynamic quantisation gives a whole batch one scale:
            keeping layer 0's in fp32 (5 % of the weight arithmetic of MiniLM) takes the
            mean cosine from 0.9931 to 0.9946 (keeping all of layer 0 gives 0.9950 at
            three times the cost).
        min_cosine: The bound: a graph whose lowest fp32/int8 cosine on the probe set
            is below it is refused.  Not part of the cache key.
    """

    per_channel: bool = True
    reduce_range: bool | None = None
    op_types: tuple[str, ...] = ("MatMul",)
    fp32_layers: tuple[int, ...] = ()
    fp32_ffn_outputs: tuple[int, ...] = (0,)
    min_cosine: float = 0.98

    def __post_init__(self) -> None:
        for name in ("per_channel",):
            if not isinstance(getattr(self, name), bool):
                raise ArgumentTypeError(f"Quantization.{name} must be a bool")
        if self.reduce_range is not None and not isinstance(self.reduce_range, bool):
            raise ArgumentTypeError("Quantization.reduce_range must be a bool or None")
        if isinstance(self.op_types, str) or not self.op_types:
            raise ArgumentTypeError("Quantization.op_types must be a non-empty tuple of names")
        for name in ("fp32_layers", "fp32_ffn_outputs"):
            layers = getattr(self, name)
            if isinstance(layers, (str, int)) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in layers
            ):
                raise ArgumentTypeError(f"Quantization.{name} must be a tuple of layer numbers")
        bound = self.min_cosine
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not -1 <= bound <= 1:
            raise InvalidArgumentError(
                f"Quantization.min_cosine must be a number in [-1, 1], got {bound!r}"
            )

    def resolved(self) -> Quantization:
        """These settings with ``reduce_range`` decided for this CPU."""
        if self.reduce_range is not None:
            return self
        return replace(self, reduce_range=not has_vnni())

    def cache_key(self) -> dict[str, Any]:
        key = asdict(self.resolved())
        key.pop("min_cosine")
        return key


def as_quantization(value: object) -> Quantization | None:
    """The constructor's ``quantize`` as settings: ``None``/``False``: no quantisation."""
    if value is None or value is False:
        return None
    if isinstance(value, Quantization):
        return value
    if isinstance(value, str):
        if value.lower() == "int8":
            return Quantization()
        raise InvalidArgumentError(
            f"quantize={value!r} is not a quantisation this library knows; use quantize='int8' "
            "(dynamic int8, checked against fp32) or quantize=Quantization(...), or None"
        )
    raise ArgumentTypeError(
        f"quantize must be None, 'int8' or a Quantization, got {type(value).__name__} "
        f"{value!r}" + (" (use quantize='int8')" if value is True else "")
    )


def quantized_model_path(
    model_path: Path,
    model_dir: Path | None,
    settings: Quantization,
    *,
    optimize: bool = False,
) -> Path:
    """The int8 graph of ``model_path``, built and checked on first use (see the module)."""
    try:
        import onnx  # noqa: F401
        from onnxruntime.quantization import quantize_dynamic  # noqa: F401
    except ImportError as exc:
        raise ModelLoadError(
            f"quantize needs the 'onnx' package: {sys.executable} -m pip install "
            "'embed_plugins[optimize]'"
        ) from exc
    if is_quantized(model_path):
        logger.info("quantize: %s is already an int8 graph; using it as it is", model_path)
        return model_path
    source = model_path
    if optimize:
        from .optimize import optimized_model_path

        source = optimized_model_path(model_path, model_dir)
    settings = settings.resolved()
    blob = json.dumps([_VERSION, _digest(source), settings.cache_key()], sort_keys=True)
    key = hashlib.sha256(blob.encode()).hexdigest()[:32]
    folder = cache_root() / "quantized"
    target = folder / f"{key}.onnx"
    if not target.is_file():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with _lock(folder / f"{key}.lock"):
                if not target.is_file():  # another process may have built it meanwhile
                    _build(source, model_dir, settings, target)
        except OSError as exc:
            target = _build_private(source, model_dir, settings, key, folder, exc)
    report = json.loads(target.with_suffix(".json").read_text(encoding="utf-8"))
    _check(model_path, report, settings)
    return target


def _check(model_path: Path, report: Mapping[str, Any], settings: Quantization) -> None:
    worst = float(report["min_cosine"])
    logger.debug("quantize: %s int8 probe cosine min %.5f", model_path, worst)
    if worst < settings.min_cosine:
        raise ModelLoadError(
            f"quantize: the int8 graph of {model_path} is too far from fp32 on the probe set: "
            f"lowest cosine {worst:.5f} (mean {float(report['mean_cosine']):.5f}) < bound "
            f"{settings.min_cosine}; keep more in fp32 (Quantization(fp32_layers=(0, ...))), or "
            "accept the loss with Quantization(min_cosine=...)"
        )


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (``fcntl``; on other systems the atomic rename alone
    keeps readers safe, and concurrent builders may each quantise)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build(source: Path, model_dir: Path | None, settings: Quantization, target: Path) -> None:
    """Quantise ``source``, probe it against fp32, publish graph and report atomically."""
    workspace = Path(tempfile.mkdtemp(dir=target.parent))
    try:
        candidate = workspace / "model.onnx"
        started = time.perf_counter()
        _quantize(source, candidate, settings)
        seconds = time.perf_counter() - started
        report = {
            "source": str(source),
            "settings": settings.cache_key(),
            "onnxruntime": ort.__version__,
            "seconds": round(seconds, 2),
            **probe_cosines(source, candidate, model_dir),
        }
        logger.info(
            "quantize: int8 graph of %s built in %.1f s as %s (set %s to move the cache); "
            "fp32/int8 cosine on %d probe texts: mean %.5f, min %.5f",
            source,
            seconds,
            target,
            CACHE_ENV,
            report["probe_texts"],
            report["mean_cosine"],
            report["min_cosine"],
        )
        (workspace / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        os.replace(workspace / "report.json", target.with_suffix(".json"))
        os.replace(candidate, target)  # last: the graph's presence means both are complete
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _build_private(
    source: Path,
    model_dir: Path | None,
    settings: Quantization,
    key: str,
    folder: Path,
    exc: OSError,
) -> Path:
    """An unwritable cache: quantise into a temporary folder of this process (removed at
    exit), with a warning; each process that loads the model then quantises again."""
    import warnings

    warnings.warn(
        f"quantize: cannot write the int8 graph cache {folder} ({type(exc).__name__}: {exc}); "
        f"quantising into a temporary folder for this process only. Set {CACHE_ENV} to a "
        "writable folder to build the graph once.",
        RuntimeWarning,
        stacklevel=4,
    )
    private = Path(tempfile.mkdtemp(prefix="embed_plugins-int8-"))
    atexit.register(shutil.rmtree, private, True)
    target = private / f"{key}.onnx"
    _build(source, model_dir, settings, target)
    return target


def _quantize(source: Path, candidate: Path, settings: Quantization) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    excluded = _excluded_nodes(model, settings, source)
    root = logging.getLogger()
    quiet = _DropQuantizerAdvice()
    root.addFilter(quiet)  # "Please consider to run pre-processing ...", on the root logger
    try:
        quantize_dynamic(
            model,
            candidate,
            op_types_to_quantize=list(settings.op_types),
            per_channel=settings.per_channel,
            reduce_range=bool(settings.reduce_range),
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            # Fused graphs (optimize=True) hold com.microsoft ops shape inference cannot type.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.removeFilter(quiet)


class _DropQuantizerAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname or "quantization" not in record.pathname


def _excluded_nodes(model: Any, settings: Quantization, source: Path) -> list[str]:
    """The weight nodes kept fp32: all of ``fp32_layers``, the last of ``fp32_ffn_outputs``
    (layers found by the ``layer.N`` in node or weight names; nodes in graph order)."""
    if not settings.fp32_layers and not settings.fp32_ffn_outputs:
        return []
    import re

    pattern = re.compile(r"(?:^|[/._])(?:layer|layers|block|blocks|h)[._/](\d+)(?=[/._]|$)")
    weights = {init.name for init in model.graph.initializer}
    by_layer: dict[int, list[str]] = {}
    for node in model.graph.node:
        if node.op_type not in settings.op_types or not set(node.input[1:]) & weights:
            continue  # only operators with a weight are quantised
        found = pattern.search(node.name) or next(
            (m for m in map(pattern.search, node.input) if m), None
        )
        if found:
            by_layer.setdefault(int(found.group(1)), []).append(node.name)
    if not by_layer:
        raise ModelLoadError(
            f"quantize: cannot tell the encoder layers of {source} from its node names, so "
            "no layer can be kept in fp32; use Quantization(fp32_layers=(), "
            "fp32_ffn_outputs=())"
        )
    count = max(by_layer) + 1

    def chosen(layers: tuple[int, ...]) -> set[int]:
        return {i % count for i in layers if -count <= i < count}

    excluded = [n for layer in chosen(settings.fp32_layers) for n in by_layer.get(layer, [])]
    excluded += [by_layer[i][-1] for i in chosen(settings.fp32_ffn_outputs) if i in by_layer]
    return sorted(set(excluded))


def prebuild(recipe: Any) -> None:
    """Build a recipe's int8 graph in this process, before workers start, so that they
    load it from the cache instead of each quantising (a no-op once it is cached)."""
    settings = recipe.session.quantize
    if settings is None or recipe.model_dir is None:
        return
    path = model_file_path(recipe.model_dir, recipe.spec.model_file)
    if path.is_file() and path.suffix == ".onnx":
        quantized_model_path(path, recipe.model_dir, settings, optimize=recipe.session.optimize)
