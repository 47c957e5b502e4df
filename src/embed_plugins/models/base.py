"""What every public model class shares: argument checking, resolution, the runner.

A public class (``TextEmbedding``, ...) states its family, its spec type and
how to build its pipeline; this base turns the fastembed-shaped constructor
arguments into a :class:`~embed_plugins.engine.pipeline.PipelineRecipe` and
holds one :class:`~embed_plugins.engine.runner.ModelRunner`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .. import catalog
from ..catalog.spec import ModelSpec
from ..engine.batching import validated_windows
from ..engine.pipeline import Pipeline, PipelineRecipe, Task
from ..engine.runner import ModelRunner, as_items, check_batch_size, check_text
from ..engine.session import Provider, SessionConfig, as_provider_tuple
from ..errors import ModelNotFoundError
from ..hub import check_repo_id, models_dirs, resolve_model_dir
from ..vision.load import as_images, check_image, image_cost

_M = TypeVar("_M", bound="ModelBase")

#: Constructor keywords every model class accepts (fastembed's, plus ours).
COMMON_INIT_KWARGS = (
    "model_name",
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
)


def reject_unknown(where: str, given: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise ``TypeError`` naming the unknown keywords, the valid ones and near misses."""
    if not given:
        return
    valid = sorted(valid)
    hints = []
    for key in given:
        close = difflib.get_close_matches(key, valid, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise TypeError(
        f"{where} got unexpected keyword argument(s) {', '.join(hints)}; valid: {', '.join(valid)}"
    )


def session_config(
    threads: int | None,
    providers: Sequence[Provider] | None,
    cuda: bool,
    device_ids: Sequence[int] | None,
    device: str | None,
    graph_optimization: str,
    optimize: bool = False,
) -> SessionConfig:
    if device_ids is not None and not cuda:
        raise ValueError("device_ids only applies with cuda=True")
    if device_ids is not None and len(device_ids) > 1:
        raise ValueError(
            f"device_ids={list(device_ids)}: one device per model for now "
            "(one worker per GPU is not implemented yet)"
        )
    if cuda and (device is not None or providers is not None):
        raise ValueError("pass cuda=True, device= or providers=, not several of them")
    if cuda:
        device = f"cuda:{device_ids[0]}" if device_ids else "cuda"
    return SessionConfig(
        providers=as_provider_tuple(providers),
        device=device,
        threads=threads,
        graph_optimization=graph_optimization,
        optimize=optimize,
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
    ) -> None:
        if spec is not None and not isinstance(spec, self.spec_type):
            raise TypeError(f"spec must be a {self.spec_type.__name__}, got {type(spec).__name__}")
        path = model_path if model_path is not None else specific_model_path
        name = (
            model_name if model_name is not None else (spec.model if spec else self.default_model)
        )
        if not isinstance(name, str):
            raise TypeError(f"model_name must be a str, got {type(name).__name__}")
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
                raise ValueError(f"max_length must be a positive int, got {max_length!r}")
            resolved_spec = resolved_spec.replace(max_length=max_length)
        self.model_name = resolved_spec.model
        self.spec = resolved_spec
        model_dir = self._resolve_dir(resolved_spec, path, cache_dir, local_files_only)
        self._recipe = PipelineRecipe(
            build=type(self).build_pipeline,
            spec=resolved_spec,
            model_dir=model_dir,
            session=session_config(
                threads, providers, cuda, device_ids, device, graph_optimization, optimize
            ),
            options=dict(options or {}),
        )
        self._runner: ModelRunner[Any] = ModelRunner(self._recipe, lazy=lazy_load)

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
        supported = ", ".join(s.model for s in catalog.list_specs(self.family))
        raise ModelNotFoundError(
            f"{name!r} is not a supported {self.family} model and no spec was given. "
            f"Supported: {supported}. For another model pass spec={self.spec_type.__name__}(...) "
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
        reject_unknown(f"{type(self).__name__}.{method}()", kwargs, ("batch_size", "parallel"))
        items = as_items(texts, what="queries" if task == "query" else "documents")
        return self._runner.run(
            items, batch_size=batch_size, task=task, validate=check_text, parallel=parallel
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
        """Every supported model of this family as a plain dict (fastembed's shape, and more)."""
        return [spec.describe() for spec in catalog.list_specs(cls.family)]

    @classmethod
    def add_custom_model(cls, spec: ModelSpec) -> None:
        """Register a custom model so ``cls(spec.model)`` finds it (in workers too)."""
        if not isinstance(spec, cls.spec_type):
            raise TypeError(f"spec must be a {cls.spec_type.__name__}, got {type(spec).__name__}")
        catalog.register(spec)

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
VISION_INIT_KWARGS = tuple(k for k in COMMON_INIT_KWARGS if k not in ("max_length", "optimize"))


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
        super().__init__(
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
        )

    def _embed_images(
        self, method: str, images: Any, batch_size: int, parallel: int | None, kwargs: Any
    ) -> Iterator[Any]:
        """``embed`` / ``embed_image``: checks, then the runner (task ``document``)."""
        reject_unknown(f"{type(self).__name__}.{method}()", kwargs, ("batch_size", "parallel"))
        return self._runner.run(
            as_images(images),
            batch_size=batch_size,
            task="document",
            validate=check_image,
            parallel=parallel,
            size_hint=image_cost,
        )
