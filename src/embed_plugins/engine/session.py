"""ONNX Runtime sessions: providers, threads, graph optimisation, in one place.

Every family builds its sessions through :func:`create_session`, so provider
choice, thread limits and the "did the provider I asked for take effect?" check
exist once.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ..errors import (
    ArgumentTypeError,
    EmbedPluginsError,
    InferenceError,
    InvalidArgumentError,
    ModelLoadError,
    ProviderError,
)

#: A provider as onnxruntime accepts it: a name, or ``(name, options)``.
Provider = str | tuple[str, Mapping[str, Any]]

_DEVICE_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}

_GRAPH_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


class ProviderFallbackWarning(RuntimeWarning):
    """A requested execution provider is not the one ONNX Runtime actually uses."""


@dataclass(frozen=True)
class SessionConfig:
    """How to build a session; picklable, so workers build the same one.

    Attributes:
        providers: Explicit onnxruntime providers (names or ``(name, options)``),
            in priority order.  Overrides ``device``.
        device: Shorthand: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"tensorrt"``...
        threads: Intra-op threads per session (``None``: onnxruntime's default,
            one per physical core).
        graph_optimization: ``disable`` / ``basic`` / ``extended`` / ``all``.
        optimize: Use onnxruntime's transformer fusions, built once and cached
            (see :mod:`embed_plugins.engine.optimize`).
        device_ids: GPUs for worker processes (fastembed's ``device_ids``): worker ``i``
            runs on ``device_ids[i % len(device_ids)]`` (:meth:`for_worker`); this
            process uses the first.
        cpu_mem_arena: onnxruntime's CPU memory arena (fastembed's
            ``enable_cpu_mem_arena``): off, memory goes back to the system after each
            batch, at some cost in speed.
    """

    providers: tuple[Provider, ...] | None = None
    device: str | None = None
    threads: int | None = None
    graph_optimization: str = "all"
    extra_session_options: Mapping[str, str] = field(default_factory=dict)
    optimize: bool = False
    cpu_mem_arena: bool = True
    device_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 0):
            raise InvalidArgumentError(
                f"threads must be a non-negative int or None, got {self.threads!r}"
            )
        if self.graph_optimization not in _GRAPH_LEVELS:
            raise InvalidArgumentError(
                f"graph_optimization must be one of {sorted(_GRAPH_LEVELS)}, "
                f"got {self.graph_optimization!r}"
            )

    def with_threads(self, threads: int | None) -> SessionConfig:
        return dataclasses.replace(self, threads=threads)

    def for_worker(self, index: int) -> SessionConfig:
        """The config of worker ``index``: its own GPU from ``device_ids``, one per worker
        in turn (unchanged with fewer than two devices)."""
        if len(self.device_ids) < 2:
            return self
        device = self.device_ids[index % len(self.device_ids)]
        if self.providers:
            return dataclasses.replace(
                self, providers=tuple(with_device(p, device, force=True) for p in self.providers)
            )
        kind = (self.device or "cuda").partition(":")[0]
        return dataclasses.replace(self, device=f"{kind}:{device}")

    def resolved_providers(self) -> list[Provider]:
        """The provider list to hand to onnxruntime (CPU always last as a fallback)."""
        if self.providers:
            return list(self.providers)
        if self.device is None:
            return ["CPUExecutionProvider"]
        name, _, index = self.device.partition(":")
        key = name.strip().lower()
        if key not in _DEVICE_PROVIDERS:
            raise ProviderError(
                f"unknown device {self.device!r}; use one of {sorted(_DEVICE_PROVIDERS)} "
                "(optionally with ':<id>'), or pass providers=[...]"
            )
        provider = _DEVICE_PROVIDERS[key]
        if provider == "CPUExecutionProvider":
            return [provider]
        if index and not index.isdigit():
            raise ProviderError(f"device {self.device!r}: the device index must be a number")
        options: dict[str, Any] = {"device_id": int(index)} if index else {}
        return [(provider, options) if options else provider, "CPUExecutionProvider"]


def with_device(provider: Provider, index: int, *, force: bool = False) -> Provider:
    """A GPU provider with ``device_id`` set (kept if it has one, unless ``force``); the
    CPU provider unchanged."""
    name = provider if isinstance(provider, str) else provider[0]
    if name == "CPUExecutionProvider":
        return provider
    options = {} if isinstance(provider, str) else dict(provider[1])
    if force:
        options["device_id"] = index
    else:
        options.setdefault("device_id", index)
    return (name, options)


def provider_name(provider: Provider) -> str:
    return provider if isinstance(provider, str) else provider[0]


def create_session(
    model_path: Path, config: SessionConfig, *, model_dir: Path | None = None
) -> ort.InferenceSession:
    """Build an ``InferenceSession``; warn when the first requested provider is not used.

    ``model_dir``, the model folder, is where ``optimize=True`` reads config.json.
    """
    if not model_path.is_file():
        raise ModelLoadError(f"ONNX file not found: {model_path}")
    if config.optimize:
        from .optimize import optimized_model_path

        model_path = optimized_model_path(model_path, model_dir)
    options = ort.SessionOptions()
    options.graph_optimization_level = _GRAPH_LEVELS[config.graph_optimization]
    if config.threads:
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = config.cpu_mem_arena
    for key, value in config.extra_session_options.items():
        options.add_session_config_entry(key, value)
    providers = config.resolved_providers()
    available = set(ort.get_available_providers())
    requested = [provider_name(p) for p in providers]
    usable = [p for p in providers if provider_name(p) in available]
    missing = [name for name in requested if name not in available]
    if not usable:
        raise ProviderError(
            f"none of the requested providers {requested} is available in this onnxruntime "
            f"build (available: {sorted(available)}); install the matching onnxruntime package"
        )
    try:
        session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=[_as_ort(p) for p in usable]
        )
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelLoadError(f"cannot load ONNX model {model_path}: {exc}") from exc
    active = session.get_providers()
    if missing or (active and active[0] != requested[0]):
        warnings.warn(
            f"requested execution provider {requested[0]} is not in use for {model_path.name}; "
            f"running on {active} (unavailable here: {missing or 'none'}; available: "
            f"{sorted(available)})",
            ProviderFallbackWarning,
            stacklevel=3,
        )
    return session


def run_session(
    session: ort.InferenceSession,
    output_names: Sequence[str] | None,
    feeds: Mapping[str, np.ndarray],
    *,
    model: str,
    onnx_file: Path | str,
    indices: Sequence[int],
) -> list[np.ndarray]:
    """``session.run``, with onnxruntime's errors raised as :class:`InferenceError`.

    ``indices`` are the positions of the batch's rows in the list the pipeline was
    given; the error names them, the model and the ONNX file, with the input shapes
    and onnxruntime's message (the original exception is chained as the cause).
    """
    try:
        outputs: list[np.ndarray] = session.run(
            None if output_names is None else list(output_names), dict(feeds)
        )
    except EmbedPluginsError:
        raise
    except Exception as exc:  # onnxruntime's InvalidArgument, Fail, RuntimeException, ...
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in feeds.items())
        detail = f"{type(exc).__name__}: {_first_line(exc)} (inputs: {shapes})"
        raise InferenceError(model, str(onnx_file), tuple(indices), detail) from exc
    return outputs


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:500] if lines else ""


def _as_ort(provider: Provider) -> str | tuple[str, dict[str, Any]]:
    if isinstance(provider, str):
        return provider
    return (provider[0], dict(provider[1]))


_ORT_INPUT_TYPES = {
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(bool)": np.bool_,
}


@dataclass(frozen=True)
class GraphIO:
    """The names and integer dtypes a graph declares, read once after loading."""

    inputs: tuple[str, ...]
    input_dtypes: Mapping[str, Any]
    outputs: tuple[str, ...]
    #: The last dimension of each output where the graph fixes it (``None``: symbolic).
    output_widths: Mapping[str, int | None] = field(default_factory=dict)

    @classmethod
    def of(cls, session: ort.InferenceSession) -> GraphIO:
        ins = session.get_inputs()
        outs = session.get_outputs()
        return cls(
            inputs=tuple(i.name for i in ins),
            input_dtypes={i.name: _ORT_INPUT_TYPES.get(i.type) for i in ins},
            outputs=tuple(o.name for o in outs),
            output_widths={o.name: _last_static(o.shape) for o in outs},
        )

    def check_width(self, output: str, dim: int, model: str) -> None:
        """Refuse a spec whose ``dim`` is not the width the graph declares for ``output``
        (a store sized from the spec would reject every vector)."""
        width = self.output_widths.get(output)
        if width is not None and width != dim:
            raise ModelLoadError(
                f"{model}: the spec says dim={dim}, but the ONNX output {output!r} has width "
                f"{width}; give dim={width} (or the output that has {dim} values)"
            )

    def pick_output(self, name: str | None, model: str) -> str:
        if name is None:
            return self.outputs[0]
        if name not in self.outputs:
            raise ModelLoadError(
                f"{model}: the ONNX graph has no output {name!r} (outputs: {list(self.outputs)})"
            )
        return name

    def select_feeds(
        self, available: Mapping[str, np.ndarray], model: str
    ) -> dict[str, np.ndarray]:
        """Only the inputs the graph declares, cast to the graph's dtypes."""
        feeds: dict[str, np.ndarray] = {}
        for name in self.inputs:
            if name not in available:
                raise ModelLoadError(
                    f"{model}: the ONNX graph needs input {name!r}, which this family does not "
                    f"provide (it provides {sorted(available)})"
                )
            value = available[name]
            dtype = self.input_dtypes[name]
            feeds[name] = value if dtype is None or value.dtype == dtype else value.astype(dtype)
        return feeds


def _last_static(shape: Sequence[Any] | None) -> int | None:
    if not shape:
        return None
    last = shape[-1]
    return last if isinstance(last, int) and last > 0 else None


def default_threads() -> int:
    """Cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return max(1, os.cpu_count() or 1)


def as_provider_tuple(providers: Sequence[Provider] | None) -> tuple[Provider, ...] | None:
    if providers is None:
        return None
    if isinstance(providers, (str, bytes)):
        raise ArgumentTypeError(
            "providers must be a list of provider names or (name, options) tuples"
        )
    return tuple(p if isinstance(p, str) else (str(p[0]), dict(p[1])) for p in providers)
