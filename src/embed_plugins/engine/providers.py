"""Execution providers: what to ask ONNX Runtime for, and whether it took effect.

A request for an accelerator (``device="cuda"``, ``cuda=True``, ``device="tensorrt"``, or
``providers=[...]`` whose first entry is not the CPU) is checked twice: before the
session is built (is the provider in this onnxruntime build at all?) and after (did ONNX
Runtime activate it, or did it quietly put the graph on the CPU?).  If the model would
end up on the CPU, :class:`~embed_plugins.errors.ProviderError` says which provider, why
and how to install it, unless the user opted into ``allow_cpu_fallback=True``: then a
:class:`ProviderFallbackWarning` says the same and the model runs on the CPU.  TensorRT
that does not take effect while CUDA does is a warning (the model still runs on the GPU).

:func:`available_providers` and :func:`active_providers` are the one place where ONNX
Runtime reports providers; tests stub them there and nowhere else.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

from ..errors import ArgumentTypeError, ProviderError
from .ort_install import gpu_fix, libraries_fix, runtime_report

#: A provider as onnxruntime accepts it: a name, or ``(name, options)``.
Provider = str | tuple[str, Mapping[str, Any]]

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
#: Providers that run on an NVIDIA GPU (I/O binding and the GPU batch budget apply there).
NVIDIA = (TENSORRT, CUDA)

DEVICE_PROVIDERS = {
    "cpu": CPU,
    "cuda": CUDA,
    "tensorrt": TENSORRT,
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}
_LABELS = {
    CUDA: "CUDA",
    TENSORRT: "TensorRT",
    "CoreMLExecutionProvider": "CoreML",
    "DmlExecutionProvider": "DirectML",
    "OpenVINOExecutionProvider": "OpenVINO",
}
#: What an NVIDIA provider needs beside the onnxruntime-gpu wheel.
_LIBRARIES = {
    CUDA: "the CUDA runtime, cuBLAS and cuDNN 9 it was built for",
    TENSORRT: "TensorRT's libraries (libnvinfer) and the CUDA runtime, cuBLAS and cuDNN 9",
}


class ProviderFallbackWarning(RuntimeWarning):
    """A requested execution provider is not the one ONNX Runtime actually uses."""


# -- the one seam where ONNX Runtime reports providers --------------------------------------
def available_providers() -> list[str]:
    """The execution providers this onnxruntime build has."""
    return list(ort.get_available_providers())


def active_providers(session: ort.InferenceSession) -> list[str]:
    """The providers a built session actually uses, in priority order."""
    return list(session.get_providers())


# -- names and options ----------------------------------------------------------------------
def provider_name(provider: Provider) -> str:
    return provider if isinstance(provider, str) else provider[0]


def label(name: str) -> str:
    """``CUDA (CUDAExecutionProvider)``: the provider as a person calls it, and its name."""
    short = _LABELS.get(name)
    return f"{short} ({name})" if short else name


def as_ort(provider: Provider) -> str | tuple[str, dict[str, Any]]:
    if isinstance(provider, str):
        return provider
    return (provider[0], dict(provider[1]))


def with_device(provider: Provider, index: int, *, force: bool = False) -> Provider:
    """A GPU provider with ``device_id`` set (kept if it has one, unless ``force``); the
    CPU provider unchanged."""
    name = provider_name(provider)
    if name == CPU:
        return provider
    options = {} if isinstance(provider, str) else dict(provider[1])
    if force:
        options["device_id"] = index
    else:
        options.setdefault("device_id", index)
    return (name, options)


def device_providers(device: str) -> list[Provider]:
    """The provider list of the ``device=`` shorthand: ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
    ``"tensorrt"`` (:func:`tensorrt_providers`), ``"coreml"``, ``"directml"``, ``"openvino"``.

    The CPU provider ends every accelerator's list: ONNX Runtime places there the nodes
    the accelerator has no kernel for.  Whether the model may run *wholly* on the CPU when
    the accelerator is missing is ``allow_cpu_fallback``'s business, not this list's.
    """
    name, _, index = device.partition(":")
    key = name.strip().lower()
    if key not in DEVICE_PROVIDERS:
        raise ProviderError(
            f"unknown device {device!r}; use one of {sorted(DEVICE_PROVIDERS)} "
            "(optionally with ':<id>'), or pass providers=[...]"
        )
    provider = DEVICE_PROVIDERS[key]
    if provider == CPU:
        return [CPU]
    if index and not index.isdigit():
        raise ProviderError(f"device {device!r}: the device index must be a number")
    device_id = int(index) if index else None
    if provider == TENSORRT:
        return tensorrt_providers(device_id)
    return [provider if device_id is None else (provider, {"device_id": device_id}), CPU]


def tensorrt_providers(
    device_id: int | None = None,
    *,
    fp16: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[Provider]:
    """TensorRT, then CUDA on the same GPU, then the CPU (for nodes neither runs), with the
    provider options as ONNX Runtime takes them.

    Built engines are cached in ``cache_dir`` (default: ``tensorrt/`` under the project's
    cache, ``$EMBED_PLUGINS_CACHE_DIR`` or ``~/.cache/embed_plugins``), so the minutes
    TensorRT spends building an engine are spent once per model and GPU.  ``fp16=True``
    lets TensorRT run layers in half precision (faster; results differ from fp32 in about
    the third decimal).  ``device="tensorrt"`` is ``tensorrt_providers()``; pass
    ``providers=tensorrt_providers(fp16=True)`` for the rest.
    """
    if device_id is not None and (
        isinstance(device_id, bool) or not isinstance(device_id, int) or device_id < 0
    ):
        raise ArgumentTypeError(f"device_id must be a device number, got {device_id!r}")
    if not isinstance(fp16, bool):
        raise ArgumentTypeError(f"fp16 must be a bool, got {fp16!r}")
    if cache_dir is None:
        from .optimize import cache_root

        folder = cache_root() / "tensorrt"
    else:
        folder = Path(cache_dir).expanduser()
    trt: dict[str, Any] = {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(folder),
        "trt_fp16_enable": fp16,
    }
    cuda: dict[str, Any] = {}
    if device_id is not None:
        trt["device_id"] = cuda["device_id"] = device_id
    return [(TENSORRT, trt), (CUDA, cuda) if cuda else CUDA, CPU]


def prepare_provider_folders(providers: Sequence[Provider]) -> None:
    """Create TensorRT's engine cache folder (an unwritable one is left to TensorRT, which
    then builds its engines without caching them)."""
    for provider in providers:
        if provider_name(provider) == TENSORRT and not isinstance(provider, str):
            folder = provider[1].get("trt_engine_cache_path")
            if folder and provider[1].get("trt_engine_cache_enable"):
                with contextlib.suppress(OSError):
                    Path(str(folder)).mkdir(parents=True, exist_ok=True)


# -- before and after the session is built -------------------------------------------------
def usable_providers(
    providers: Sequence[Provider], *, allow_cpu_fallback: bool, model_file: str
) -> tuple[list[Provider], str | None]:
    """The providers to hand ONNX Runtime, and why the first requested one is missing
    from this build (``None`` if it is there).

    Raises :class:`ProviderError` when the model would run on the CPU without the user's
    leave (``allow_cpu_fallback``), or when nothing requested can run at all.
    """
    names = [provider_name(p) for p in providers]
    wanted = names[0]
    if wanted in NVIDIA:
        preload_gpu_libraries()
    available = available_providers()
    usable = [p for p in providers if provider_name(p) in available]
    if allow_cpu_fallback and CPU in available and CPU not in names:
        usable.append(CPU)
    missing = None if wanted in available else not_built_reason(wanted, available)
    # Another accelerator of the list (CUDA after TensorRT) still keeps the model off the CPU.
    other = any(n not in (CPU, wanted) and n in available for n in names)
    if missing is not None and wanted != CPU and not allow_cpu_fallback and not other:
        fix = _fix_for(wanted, built=False)
        raise ProviderError(unavailable_message(wanted, model_file, missing, fix))
    if not usable:
        raise ProviderError(
            f"none of the requested providers {names} is available in this onnxruntime "
            f"build (available: {sorted(available)}); "
            + (missing or "install the matching onnxruntime package")
        )
    return usable, missing


def check_active(
    session: ort.InferenceSession,
    requested: Sequence[str],
    *,
    allow_cpu_fallback: bool,
    model_file: str,
    missing: str | None,
) -> None:
    """After the session is built: raise or warn when the first requested provider is not
    the one running (see the module docstring).  ``missing``: why it is not in the build."""
    wanted = requested[0]
    active = active_providers(session)
    running = active[0] if active else CPU
    if running == wanted:
        return
    why = missing or not_active_reason(wanted)
    fix = _fix_for(wanted, built=missing is None)
    backup = [n for n in requested[1:] if n in NVIDIA and n != running]
    if running == CPU and missing and backup and backup[0] in available_providers():
        # TensorRT is not in the build, and CUDA, next in the list, did not activate either.
        why += f"; and {not_active_reason(backup[0])}"
        fix += " " + _fix_for(backup[0], built=True)
    if running == CPU and wanted != CPU and not allow_cpu_fallback:
        raise ProviderError(unavailable_message(wanted, model_file, why, fix, running=active))
    where = "the CPU (allow_cpu_fallback=True)" if running == CPU else label(running)
    warnings.warn(
        f"{label(wanted)} is not in use for {model_file}: {why}. Running on {where}; "
        f"session providers: {active}. {fix}",
        ProviderFallbackWarning,
        stacklevel=4,
    )


def unavailable_message(
    wanted: str, model_file: str, why: str, fix: str, *, running: Sequence[str] | None = None
) -> str:
    got = f" (the session got {list(running)})" if running is not None else ""
    return (
        f"{label(wanted)} was requested for {model_file} but cannot be used{got}: {why}. "
        f"{fix} Or pass allow_cpu_fallback=True to run on the CPU, with a "
        "ProviderFallbackWarning, when the accelerator is missing."
    )


def _fix_for(wanted: str, *, built: bool) -> str:
    """What to install: the GPU build of onnxruntime, or (``built``: the build has the
    provider) the NVIDIA libraries it loads."""
    if wanted in NVIDIA:
        return libraries_fix(tensorrt=wanted == TENSORRT) if built else gpu_fix()
    return (
        f"Install the onnxruntime package built with {label(wanted)} (one onnxruntime "
        "package per environment: uninstall the others first)."
    )


def not_built_reason(wanted: str, available: Sequence[str]) -> str:
    """Why ``wanted`` is not in this build: the CPU wheel, or the two-wheel clobber."""
    report = runtime_report()
    if report.clobbered:
        return report.clobber_text()
    return (
        f"this onnxruntime ({report.describe_build()}) has no {label(wanted)}; it has "
        f"{sorted(available)}"
    )


def not_active_reason(wanted: str) -> str:
    """Why a provider the build has did not take effect."""
    report = runtime_report()
    text = f"this onnxruntime ({report.describe_build()}) has {wanted} but did not activate it"
    if wanted not in NVIDIA:
        return text + " (onnxruntime's log above says why)"
    text += (
        f": {_LIBRARIES[wanted]} did not load, or no GPU is visible (onnxruntime's log above "
        "names the library; `nvidia-smi` lists the GPUs)"
    )
    if _PRELOAD_LOG:
        text += "; onnxruntime.preload_dlls() said: " + " | ".join(_PRELOAD_LOG.splitlines())
    return text


# -- CUDA libraries installed as pip packages ----------------------------------------------
_PRELOAD_LOCK = threading.Lock()
_PRELOADED = False
_PRELOAD_LOG = ""


def preload_gpu_libraries() -> None:
    """Once per process, in GPU builds of onnxruntime that have it: ``preload_dlls()``,
    which loads the CUDA and cuDNN libraries installed as ``nvidia-*`` pip packages (which
    the system loader does not search).  What it prints is kept for the error message."""
    global _PRELOADED, _PRELOAD_LOG
    with _PRELOAD_LOCK:
        if _PRELOADED:
            return
        _PRELOADED = True
        preload = getattr(ort, "preload_dlls", None)
        if preload is None or not getattr(ort, "cuda_version", ""):
            return
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                preload()
        except Exception as exc:  # a broken install: the session check reports it
            printed.write(f"{type(exc).__name__}: {exc}")
        _PRELOAD_LOG = printed.getvalue().strip()[:2000]
