"""ONNX Runtime sessions: providers, threads, graph optimisation, in one place.

Every family builds its sessions through :func:`create_session`, so provider
choice, thread limits and the "did the provider I asked for take effect?" check
exist once.
"""

from __future__ import annotations

import dataclasses
import os
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
)
from .progress import rows_done
from .providers import (
    CPU,
    NVIDIA,
    Provider,
    ProviderFallbackWarning,
    as_ort,
    check_active,
    device_providers,
    prepare_provider_folders,
    provider_name,
    usable_providers,
    with_device,
)
from .quantize import Quantization, quantized_model_path

__all__ = ["Provider", "ProviderFallbackWarning", "provider_name", "with_device"]

#: ``EMBED_PLUGINS_IO_BINDING``: ``0`` runs every session with ``session.run``; ``1`` binds
#: inputs and outputs on the CPU too (a check of the binding path); unset: GPU sessions only.
IO_BINDING_ENV = "EMBED_PLUGINS_IO_BINDING"

_GRAPH_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


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
        quantize: Run an int8 copy of the graph, built once, checked against the fp32
            graph and cached (see :mod:`embed_plugins.engine.quantize`); ``None``: fp32.
        device_ids: GPUs for worker processes (fastembed's ``device_ids``): worker ``i``
            runs on ``device_ids[i % len(device_ids)]`` (:meth:`for_worker`); this
            process uses the first.
        cpu_mem_arena: onnxruntime's CPU memory arena (fastembed's
            ``enable_cpu_mem_arena``): off, memory goes back to the system after each
            batch, at some cost in speed.
        allow_cpu_fallback: When the accelerator asked for (``device``, or a first
            provider other than the CPU) is missing or does not take effect, run on the
            CPU with a :class:`ProviderFallbackWarning` instead of raising
            :class:`~embed_plugins.errors.ProviderError`.
    """

    providers: tuple[Provider, ...] | None = None
    device: str | None = None
    threads: int | None = None
    graph_optimization: str = "all"
    extra_session_options: Mapping[str, str] = field(default_factory=dict)
    optimize: bool = False
    quantize: Quantization | None = None
    cpu_mem_arena: bool = True
    device_ids: tuple[int, ...] = ()
    allow_cpu_fallback: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.allow_cpu_fallback, bool):
            raise ArgumentTypeError(
                f"allow_cpu_fallback must be a bool, got {self.allow_cpu_fallback!r}"
            )
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
        """The provider list to hand to onnxruntime: ``providers`` as given, else the
        ``device`` shorthand's (:func:`~embed_plugins.engine.providers.device_providers`)."""
        if self.providers:
            return list(self.providers)
        if self.device is None:
            return [CPU]
        return device_providers(self.device)


def create_session(
    model_path: Path, config: SessionConfig, *, model_dir: Path | None = None
) -> ort.InferenceSession:
    """Build an ``InferenceSession`` on the providers asked for, or raise.

    An accelerator that is missing or does not take effect raises
    :class:`~embed_plugins.errors.ProviderError` with the reason and the install command,
    or, with ``config.allow_cpu_fallback``, warns and runs on the CPU
    (:mod:`embed_plugins.engine.providers`).  ``model_dir``, the model folder, is where
    ``optimize=True`` reads config.json.
    """
    if not model_path.is_file():
        raise ModelLoadError(f"ONNX file not found: {model_path}")
    if config.quantize is not None:  # quantises the fused graph with optimize=True
        model_path = quantized_model_path(
            model_path, model_dir, config.quantize, optimize=config.optimize
        )
    elif config.optimize:
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
    requested = [provider_name(p) for p in providers]
    fallback = config.allow_cpu_fallback
    usable, missing = usable_providers(
        providers, allow_cpu_fallback=fallback, model_file=str(model_path)
    )
    prepare_provider_folders(usable)
    try:
        session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=[as_ort(p) for p in usable]
        )
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelLoadError(f"cannot load ONNX model {model_path}: {exc}") from exc
    check_active(
        session,
        requested,
        allow_cpu_fallback=fallback,
        model_file=str(model_path),
        missing=missing,
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
    """``session.run`` (on a GPU: :func:`run_bound`), with onnxruntime's errors raised as
    :class:`InferenceError`.

    ``indices`` are the positions of the batch's rows in the list the pipeline was
    given; the error names them, the model and the ONNX file, with the input shapes
    and onnxruntime's message (the original exception is chained as the cause).
    """
    device = binding_device(session)
    try:
        if device is None:
            outputs: list[np.ndarray] = session.run(
                None if output_names is None else list(output_names), dict(feeds)
            )
        else:
            outputs = run_bound(session, output_names, feeds, device)
    except EmbedPluginsError:
        raise
    except Exception as exc:  # onnxruntime's InvalidArgument, Fail, RuntimeException, ...
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in feeds.items())
        detail = f"{type(exc).__name__}: {_first_line(exc)} (inputs: {shapes})"
        raise InferenceError(model, str(onnx_file), tuple(indices), detail) from exc
    rows_done(len(indices))  # progress of the call, when it shows any
    return outputs


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:500] if lines else ""


def binding_device(session: ort.InferenceSession) -> tuple[str, int] | None:
    """Where :func:`run_session` binds outputs: ``("cuda", id)`` for a session running on
    an NVIDIA provider, ``None`` (plain ``session.run``) on the CPU; see
    :data:`IO_BINDING_ENV` for the override."""
    choice = os.environ.get(IO_BINDING_ENV, "")
    if choice == "0":
        return None
    if runs_on_gpu(session):
        name = session.get_providers()[0]
        options = session.get_provider_options().get(name, {})
        return ("cuda", int(options.get("device_id", 0) or 0))
    return ("cpu", 0) if choice == "1" else None


def runs_on_gpu(session: ort.InferenceSession) -> bool:
    """The session's first provider is CUDA or TensorRT (what the session really runs on);
    ``False`` for an object with ``run`` alone (a stand-in session)."""
    providers = getattr(session, "get_providers", None)
    active = providers() if providers is not None else []
    return bool(active) and active[0] in NVIDIA


def run_bound(
    session: ort.InferenceSession,
    output_names: Sequence[str] | None,
    feeds: Mapping[str, np.ndarray],
    device: tuple[str, int],
) -> list[np.ndarray]:
    """One run through onnxruntime's I/O binding: each input is copied to the device once,
    outputs stay where the graph computed them (``device``) until one copy into the numpy
    arrays returned, and outputs the caller did not name are never copied back."""
    binding = session.io_binding()
    for name, value in feeds.items():
        binding.bind_cpu_input(name, np.ascontiguousarray(value))
    if output_names is None:
        output_names = [o.name for o in session.get_outputs()]
    kind, device_id = device
    for name in output_names:
        binding.bind_output(name, kind, device_id)
    session.run_with_iobinding(binding)
    outputs: list[np.ndarray] = binding.copy_outputs_to_cpu()
    return outputs


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
