"""What every public model class shares: argument checking, resolution, the runner.

A public class (``TextEmbedding``, ...) states its family, its spec type and
how to build its pipeline; this base turns the fastembed-shaped constructor
arguments into a :class:`~embed_plugins.engine.pipeline.PipelineRecipe` and
holds one :class:`~embed_plugins.engine.runner.ModelRunner`.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .. import catalog
from ..catalog.spec import ModelSpec
from ..engine.batching import validated_windows
from ..engine.pipeline import Pipeline, PipelineRecipe, Task, TaskAdapter
from ..engine.progress import progress_for
from ..engine.quantize import Quantization, as_quantization
from ..engine.quantize_files import check_quantizable, published_int8
from ..engine.runner import ModelRunner, as_items, check_batch_size, check_text
from ..engine.session import Provider, SessionConfig, as_provider_tuple, with_device
from ..errors import ArgumentTypeError, InvalidArgumentError, ModelNotFoundError
from ..hub import check_repo_id, models_dirs, resolve_model_dir
from ..vision.load import as_images, check_image, image_cost

_M = TypeVar("_M", bound="ModelBase")

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


class ModelBase:
    """Constructor, catalogue and runner plumbing shared by the public classes."""

    family: ClassVar[str]
    default_model: ClassVar[str]
    spec_type: ClassVar[type[ModelSpec]]

    @staticmethod
    def build_pipeline(recipe: PipelineRecipe) -> Pipeline[Any, Any]:
        """Build the family's pipeline from a recipe (a module-level function, so it pickles)."""
        raise NotImplementedError

    def __init__(
        self,
        model_name: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        providers: Sequence[Provider] | None = None,
        cuda: bool = False,
        device_ids: Sequence[int] | None = None,
        lazy_load: bool = False,
        *,
        device: str | None = None,
        model_path: str | os.PathLike[str] | None = None,
        specific_model_path: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        spec: ModelSpec | None = None,
        max_length: int | None = None,
        graph_optimization: str = "all",
        optimize: bool = False,
        options: Mapping[str, Any] | None = None,
        device_id: int | None = None,
        enable_cpu_mem_arena: bool = True,
        allow_cpu_fallback: bool = False,
        quantize: str | Quantization | None = None,
    ) -> None:
        quantization = as_quantization(quantize)
        if spec is not None and not isinstance(spec, self.spec_type):
            raise ArgumentTypeError(
                f"spec must be a {self.spec_type.__name__}, got {type(spec).__name__}"
            )
        path = model_path if model_path is not None else specific_model_path
        name = (
            model_name if model_name is not None else (spec.model if spec else self.default_model)
        )
        if not isinstance(name, str):
            raise ArgumentTypeError(f"model_name must be a str, got {type(name).__name__}")
        if path is not None and not Path(path).expanduser().is_dir():
            raise ModelNotFoundError(f"model_path {str(path)!r} is not a folder")
        if spec is None and model_name is None and path is not None:
            # A folder and no name: describe the folder itself, never the default model.
            folder = Path(path).expanduser()
            resolved_spec = self.spec_from_folder(folder, folder.name)
        else:
            resolved_spec = spec or self._find_spec(name, path)
        if max_length is not None:
            if not isinstance(max_length, int) or max_length < 1:
                raise InvalidArgumentError(f"max_length must be a positive int, got {max_length!r}")
            resolved_spec = resolved_spec.replace(max_length=max_length)
        self.model_name = resolved_spec.model
        if quantization is not None:
            check_quantizable(resolved_spec, f"{type(self).__name__}()")
        # quantize="int8" on a model that publishes an int8 graph: that graph, when it can be
        # had; else (and for Quantization(...)) the fp32 graph is quantised here.
        published = published_int8(resolved_spec) if isinstance(quantize, str) else None
        model_dir = None
        if published is not None:
            with contextlib.suppress(ModelNotFoundError):
                model_dir = self._resolve_dir(published, path, cache_dir, local_files_only)
                resolved_spec = published
        self.spec = resolved_spec
        if model_dir is None:
            model_dir = self._resolve_dir(resolved_spec, path, cache_dir, local_files_only)
        self._recipe = PipelineRecipe(
            build=type(self).build_pipeline,
            spec=resolved_spec,
            model_dir=model_dir,
            session=session_config(
                threads,
                providers,
                cuda,
                device_ids,
                device,
                graph_optimization,
                optimize,
                device_id=device_id,
                cpu_mem_arena=enable_cpu_mem_arena,
                allow_cpu_fallback=allow_cpu_fallback,
                quantize=quantization,
            ),
            options=dict(options or {}),
        )
        # With several GPUs the workers hold the models: this process loads none up front.
        self._runner: ModelRunner[Any] = ModelRunner(
            self._recipe, lazy=lazy_load or self._multi_device
        )

    @property
    def _multi_device(self) -> bool:
        return len(self._recipe.session.device_ids) > 1

    def _load_now(self, lazy_load: bool) -> None:
        """Build the in-process pipeline unless loading is lazy (or left to GPU workers)."""
        if not lazy_load and not self._multi_device:
            self._runner.pipeline()

    # -- resolution ----------------------------------------------------------
    def _resolve_dir(
        self,
        spec: ModelSpec,
        path: str | os.PathLike[str] | None,
        cache_dir: str | os.PathLike[str] | None,
        local_files_only: bool,
    ) -> Path | None:
        return resolve_model_dir(
            spec, model_path=path, cache_dir=cache_dir, local_files_only=local_files_only
        )

    def _find_spec(self, name: str, path: str | os.PathLike[str] | None) -> ModelSpec:
        found = catalog.find(self.family, name)
        if found is not None:
            return found
        folder = Path(path).expanduser() if path is not None else self._offline_folder(name)
        if folder is not None:
            return self.spec_from_folder(folder, name)
        raise self._unknown(name)

    @classmethod
    def _unknown(cls, name: str) -> ModelNotFoundError:
        supported = ", ".join(s.model for s in catalog.list_specs(cls.family))
        return ModelNotFoundError(
            f"{name!r} is not a supported {cls.family} model and no spec was given. "
            f"Supported: {supported}. For another model pass spec={cls.spec_type.__name__}(...) "
            "or register one with add_custom_model()."
        )

    @staticmethod
    def _offline_folder(name: str) -> Path | None:
        check_repo_id(name)
        for base in models_dirs():
            if (base / name).is_dir():
                return base / name
        return None

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> ModelSpec:
        raise ModelNotFoundError(
            f"{name!r}: {cls.__name__} cannot infer a spec from {folder}; pass spec=..."
        )

    # -- shared bodies of the text families' public methods -----------------------
    def _embed_texts(
        self,
        method: str,
        task: Task,
        texts: Any,
        batch_size: int,
        parallel: int | None,
        kwargs: Mapping[str, Any],
    ) -> Iterator[Any]:
        """``embed`` / ``query_embed`` / ``passage_embed``: checks, then the runner."""
        where = f"{type(self).__name__}.{method}()"
        task = check_call_options(where, self.spec, kwargs, task)
        items = as_items(texts, what="queries" if task == "query" else "documents")
        progress = progress_for(kwargs.get("show_progress"), items, where, unit="text", desc=method)
        return self._runner.run(
            items,
            batch_size=batch_size,
            task=task,
            validate=check_text,
            parallel=parallel,
            progress=progress,
        )

    def _count_tokens(
        self, texts: Any, batch_size: int, kwargs: Mapping[str, Any], task: Task = "document"
    ) -> int:
        """``token_count``: tokens the pipeline reads for ``texts``, in batches."""
        reject_unknown(f"{type(self).__name__}.token_count()", kwargs, ("batch_size",))
        check_batch_size(batch_size)
        pipeline: Any = self._runner.pipeline()
        return sum(
            int(pipeline.token_count(window, task))
            for window in validated_windows(as_items(texts), batch_size, check_text)
        )

    # -- catalogue -------------------------------------------------------------
    @classmethod
    def list_supported_models(cls) -> list[dict[str, Any]]:
        """Every supported model of this family as a plain dict: fastembed's keys
        (``model``, ``dim``, ``description``, ``license``, ``size_in_GB``, ``sources``,
        ``model_file``, ``additional_files``, ``tasks``...) and ours (the spec's fields)."""
        return [spec.describe() for spec in catalog.list_specs(cls.family)]

    @classmethod
    def get_embedding_size(cls, model_name: str) -> int:
        """The length of the vectors ``model_name`` returns (fastembed's class method;
        an instance's ``embedding_size`` also counts ``truncate_dim``)."""
        if not isinstance(model_name, str):
            raise ArgumentTypeError(f"model_name must be a str, got {type(model_name).__name__}")
        spec = catalog.find(cls.family, model_name)
        if spec is None:
            raise cls._unknown(model_name)
        dim = getattr(spec, "dim", None)
        if not isinstance(dim, int):
            raise InvalidArgumentError(
                f"{spec.model!r} is a {cls.family} model: its results have no fixed embedding size"
            )
        return dim

    @classmethod
    def add_custom_model(cls, *args: Any, **kwargs: Any) -> None:
        """Register a custom model so ``cls(name)`` finds it (in workers too).

        Two forms: a spec (``add_custom_model(DenseSpec(...))``), or fastembed's keyword
        form (``add_custom_model(model=..., pooling=PoolingType.MEAN, normalization=True,
        sources=ModelSource(hf=...), dim=...)``; see :mod:`embed_plugins.compat`).  A name
        that is already registered, built in or custom, raises ``ValueError``.
        """
        if len(args) == 1 and not kwargs and isinstance(args[0], ModelSpec):
            spec = args[0]
        elif not args and set(kwargs) == {"spec"}:
            spec = kwargs["spec"]
        else:
            spec = cls._spec_from_keywords(args, kwargs)
        if not isinstance(spec, cls.spec_type):
            raise ArgumentTypeError(
                f"spec must be a {cls.spec_type.__name__}, got {type(spec).__name__}"
            )
        cls._check_custom(spec)
        catalog.register(spec)

    #: fastembed's keyword form of ``add_custom_model`` for this class (``None``: specs only).
    keyword_spec: ClassVar[Callable[..., ModelSpec] | None] = None

    @classmethod
    def _spec_from_keywords(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ModelSpec:
        build = cls.keyword_spec
        where = f"{cls.__name__}.add_custom_model()"
        if build is None:
            raise ArgumentTypeError(
                f"{where} takes a {cls.spec_type.__name__}: "
                f"{cls.__name__}.add_custom_model({cls.spec_type.__name__}(model=..., ...))"
            )
        signature = inspect.signature(build)
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ArgumentTypeError(
                f"{where}: {exc}; it takes a {cls.spec_type.__name__}, or fastembed's keywords: "
                f"{', '.join(signature.parameters)}"
            ) from None
        return build(*args, **kwargs)

    @classmethod
    def _check_custom(cls, spec: ModelSpec) -> None:
        """Family checks on a custom spec before it is registered (none by default)."""

    # -- lazy loading --------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The loaded in-process pipeline, or ``None`` until first use with ``lazy_load=True``
        (as fastembed users check it; with workers, this process may never load one)."""
        return self._runner.loaded

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        """Stop worker processes, if any were started."""
        self._runner.close()

    def __enter__(self: _M) -> _M:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_name={self.model_name!r})"


#: Constructor keywords of the classes that take images (no text-only options).
VISION_INIT_KWARGS = tuple(
    k for k in COMMON_INIT_KWARGS if k not in ("max_length", "optimize", "quantize")
)


class VisionModelBase(ModelBase):
    """The constructor and image call of the classes that embed images.

    fastembed's constructor arguments, less the text-only ``max_length`` and
    ``optimize``; images are checked in this process (:func:`check_image`) and
    balanced across workers by their decoding cost.
    """

    def __init__(
        self,
        model_name: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        providers: Sequence[Provider] | None = None,
        cuda: bool = False,
        device_ids: Sequence[int] | None = None,
        lazy_load: bool = False,
        *,
        device: str | None = None,
        model_path: str | os.PathLike[str] | None = None,
        specific_model_path: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        spec: ModelSpec | None = None,
        graph_optimization: str = "all",
        **kwargs: Any,
    ) -> None:
        reject_unknown(f"{type(self).__name__}()", kwargs, VISION_INIT_KWARGS)
        super().__init__(  # kwargs: device_id, enable_cpu_mem_arena (checked above)
            model_name,
            cache_dir,
            threads,
            providers,
            cuda,
            device_ids,
            lazy_load,
            device=device,
            model_path=model_path,
            specific_model_path=specific_model_path,
            local_files_only=local_files_only,
            spec=spec,
            graph_optimization=graph_optimization,
            **kwargs,
        )

    def _embed_images(
        self, method: str, images: Any, batch_size: int, parallel: int | None, kwargs: Any
    ) -> Iterator[Any]:
        """``embed`` / ``embed_image``: checks, then the runner (task ``document``)."""
        where = f"{type(self).__name__}.{method}()"
        check_call_options(where, self.spec, kwargs)
        items = as_images(images)
        return self._runner.run(
            items,
            batch_size=batch_size,
            task="document",
            validate=check_image,
            parallel=parallel,
            size_hint=image_cost,
            progress=progress_for(
                kwargs.get("show_progress"), items, where, unit="image", desc=method
            ),
        )
