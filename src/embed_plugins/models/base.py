"""What every public model class shares: argument checking, resolution, the runner.

A public class (``TextEmbedding``, ...) states its family, its spec type and
how to build its pipeline; this base turns the fastembed-shaped constructor
arguments into a :class:`~embed_plugins.engine.pipeline.PipelineRecipe` and
holds one :class:`~embed_plugins.engine.runner.ModelRunner`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .. import catalog
from ..catalog.spec import ModelSpec
from ..engine.batching import validated_windows
from ..engine.pipeline import Pipeline, PipelineRecipe, Task
from ..engine.progress import progress_for
from ..engine.quantize import Quantization, as_quantization
from ..engine.quantize_files import check_quantizable, published_int8
from ..engine.runner import ModelRunner, as_items, check_batch_size, check_text
from ..engine.session import Provider
from ..errors import ArgumentTypeError, InvalidArgumentError, ModelNotFoundError
from ..hub import check_repo_id, models_dirs, resolve_model_dir
from ..vision.load import as_images, check_image, image_cost
from .arguments import COMMON_INIT_KWARGS, check_call_options, reject_unknown, session_config

_M = TypeVar("_M", bound="ModelBase")

__all__ = [
    "COMMON_INIT_KWARGS",
    "VISION_INIT_KWARGS",
    "ModelBase",
    "VisionModelBase",
    "check_call_options",
    "reject_unknown",
    "session_config",
]


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

    def _use_spec(self, spec: ModelSpec) -> None:
        """Swap in a refined spec (a constructor option that changes it) before anything
        is loaded: the recipe and the still-lazy runner follow it."""
        self.spec = spec
        self._recipe = dataclasses.replace(self._recipe, spec=spec)
        self._runner = ModelRunner(self._recipe, lazy=True)

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
