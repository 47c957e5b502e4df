"""Argument handling shared by the public classes: the constructor keywords they take,
unknown-keyword errors that name the valid ones, fastembed's call-time keywords, and
fastembed's device arguments (``cuda``, ``device_id``, ``device_ids``) folded into one
:class:`~embed_plugins.engine.session.SessionConfig`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..catalog.spec import ModelSpec
from ..engine.pipeline import Task, TaskAdapter
from ..engine.quantize import Quantization
from ..engine.session import Provider, SessionConfig, as_provider_tuple, with_device
from ..errors import ArgumentTypeError, InvalidArgumentError

#: Constructor keywords every model class accepts (fastembed's, plus ours).
COMMON_INIT_KWARGS = (
    "model_name",
    "device_id",
    "enable_cpu_mem_arena",
    "cache_dir",
    "threads",
    "providers",
    "cuda",
    "device_ids",
    "lazy_load",
    "device",
    "model_path",
    "specific_model_path",
    "local_files_only",
    "spec",
    "max_length",
    "graph_optimization",
    "optimize",
    "quantize",
    "allow_cpu_fallback",
)


def reject_unknown(where: str, given: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise ``TypeError`` naming the keywords of ``given`` not in ``valid``, the valid
    ones and near misses."""
    valid = sorted(valid)
    given = {k: v for k, v in given.items() if k not in valid}
    if not given:
        return
    hints = []
    for key in given:
        close = difflib.get_close_matches(key, valid, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ArgumentTypeError(
        f"{where} got unexpected keyword argument(s) {', '.join(hints)}; valid: {', '.join(valid)}"
    )


#: Keywords fastembed's ``embed`` methods pass through to the model, and what we do with them,
#: plus ``show_progress`` (a bar, or a ``(done, total)`` callback: engine/progress.py).
CALL_OPTIONS = ("task_id", "show_progress")


def check_call_options(
    where: str, spec: ModelSpec, kwargs: Mapping[str, Any], task: Task = "document"
) -> Task:
    """fastembed's call-time keywords, and the task the call runs with.

    ``task_id`` picks a multitask model's task adapter for ``embed`` (a name or an id of
    ``spec.tasks``; ``None`` keeps the method's task); it is refused, with the reason, for
    models without tasks and for ``query_embed`` / ``passage_embed``, whose task is fixed.
    Anything else is a typo, named with the valid keywords.
    """
    extra = {k: v for k, v in kwargs.items() if k not in CALL_OPTIONS}
    reject_unknown(where, extra, ("batch_size", "parallel", *CALL_OPTIONS))
    task_id = kwargs.get("task_id")
    if task_id is None:
        return task
    if not getattr(spec, "tasks", None):
        raise InvalidArgumentError(
            f"{where}: task_id={task_id!r}, but {spec.model!r} is not a multitask model "
            "(task_id selects the task adapter of models such as jina-embeddings-v3)"
        )
    if task != "document":
        raise InvalidArgumentError(
            f"{where}: task_id={task_id!r}: {where.rsplit('.', 1)[-1]} always runs "
            f"{spec.model!r}'s {task} task ({getattr(spec, f'{task}_task', None)!r}); use "
            "embed(..., task_id=...) to choose another"
        )
    return TaskAdapter(spec.task_number(task_id))  # type: ignore[attr-defined]


def session_config(
    threads: int | None,
    providers: Sequence[Provider] | None,
    cuda: bool,
    device_ids: Sequence[int] | None,
    device: str | None,
    graph_optimization: str,
    optimize: bool = False,
    *,
    device_id: int | None = None,
    cpu_mem_arena: bool = True,
    allow_cpu_fallback: bool = False,
    quantize: Quantization | None = None,
) -> SessionConfig:
    """fastembed's device arguments (``cuda``, ``device_id``, ``device_ids``) and ours
    (``device``, ``providers``, ``allow_cpu_fallback``) as one :class:`SessionConfig`."""
    if not isinstance(cuda, bool):
        raise ArgumentTypeError(f"cuda must be a bool, got {cuda!r}")
    if not isinstance(cpu_mem_arena, bool):
        raise ArgumentTypeError(f"enable_cpu_mem_arena must be a bool, got {cpu_mem_arena!r}")
    if device_ids is not None:
        if isinstance(device_ids, (str, bytes)) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in device_ids
        ):
            raise ArgumentTypeError(
                f"device_ids must be a list of device numbers, got {device_ids!r}"
            )
        if not device_ids:
            raise InvalidArgumentError("device_ids is empty: give at least one device number")
    if device_id is not None and (
        isinstance(device_id, bool) or not isinstance(device_id, int) or device_id < 0
    ):
        raise ArgumentTypeError(f"device_id must be a device number, got {device_id!r}")
    if (device_ids is not None or device_id is not None) and not (
        cuda
        or (device is not None and device.lower().startswith(("cuda", "tensorrt")))
        or providers is not None
    ):
        raise InvalidArgumentError(
            "device_id / device_ids choose GPUs: use them with cuda=True (or device='cuda')"
        )
    if cuda and (device is not None or providers is not None):
        raise InvalidArgumentError("pass cuda=True, device= or providers=, not several of them")
    index = device_id if device_id is not None else (device_ids[0] if device_ids else None)
    if cuda:
        device = "cuda" if index is None else f"cuda:{index}"
    elif device is not None and index is not None:
        name, _, given = device.partition(":")
        if given and given != str(index):
            raise InvalidArgumentError(
                f"device={device!r} and device_id={index} name different devices"
            )
        device = f"{name}:{index}"
    elif providers is not None and index is not None:
        providers = [with_device(p, index) for p in providers]
    return SessionConfig(
        providers=as_provider_tuple(providers),
        device=device,
        threads=threads,
        graph_optimization=graph_optimization,
        optimize=optimize,
        quantize=quantize,
        cpu_mem_arena=cpu_mem_arena,
        device_ids=tuple(device_ids) if device_ids and len(device_ids) > 1 else (),
        allow_cpu_fallback=allow_cpu_fallback,
    )
