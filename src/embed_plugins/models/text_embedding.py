"""``TextEmbedding``: dense text embeddings with fastembed's call shapes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..catalog.spec import DenseSpec
from ..compat import dense_spec
from ..engine.quantize import Quantization
from ..engine.session import Provider
from ..errors import ArgumentTypeError, InvalidArgumentError
from ..families.dense import build_dense, spec_from_folder
from ..families.static import warn_ignored_session_options
from .base import ModelBase, reject_unknown

FloatArray = npt.NDArray[np.float32]

DEFAULT_BATCH_SIZE = 256


def _check_truncate_dim(truncate_dim: int | None) -> int | None:
    if truncate_dim is None:
        return None
    if isinstance(truncate_dim, bool) or not isinstance(truncate_dim, int) or truncate_dim < 1:
        raise InvalidArgumentError(f"truncate_dim must be a positive int, got {truncate_dim!r}")
    return truncate_dim


class TextEmbedding(ModelBase):
    """Dense text embeddings from an ONNX model.

    ``embed`` applies no prefix; ``query_embed`` and ``passage_embed`` apply the
    model's query / passage prefixes (E5's ``"query: "``, BGE's retrieval
    instruction, nomic's ``"search_query: "``...).

    Example::

        model = TextEmbedding("sentence-transformers/all-MiniLM-L6-v2")
        vectors = list(model.embed(["hello world", "bonjour"]))
    """

    family: ClassVar[str] = "dense"
    default_model: ClassVar[str] = "BAAI/bge-small-en-v1.5"
    spec_type: ClassVar[type[DenseSpec]] = DenseSpec
    build_pipeline = staticmethod(build_dense)
    spec: DenseSpec
    keyword_spec = staticmethod(dense_spec)

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
        spec: DenseSpec | None = None,
        max_length: int | None = None,
        truncate_dim: int | None = None,
        prefixes: bool = True,
        graph_optimization: str = "all",
        optimize: bool = False,
        device_id: int | None = None,
        enable_cpu_mem_arena: bool = True,
        allow_cpu_fallback: bool = False,
        quantize: str | Quantization | None = None,
        **kwargs: Any,
    ) -> None:
        reject_unknown("TextEmbedding()", kwargs, [*self._init_kwargs()])
        if not isinstance(prefixes, bool):
            raise ArgumentTypeError(f"prefixes must be a bool, got {prefixes!r}")
        if spec is not None and model_name in (None, self.default_model):
            model_name = spec.model
        super().__init__(
            model_name,
            cache_dir,
            threads,
            providers,
            cuda,
            device_ids,
            lazy_load=True,
            device=device,
            model_path=model_path,
            specific_model_path=specific_model_path,
            local_files_only=local_files_only,
            spec=spec,
            max_length=max_length,
            graph_optimization=graph_optimization,
            optimize=optimize,
            options={"truncate_dim": _check_truncate_dim(truncate_dim)},
            device_id=device_id,
            enable_cpu_mem_arena=enable_cpu_mem_arena,
            allow_cpu_fallback=allow_cpu_fallback,
            quantize=quantize,
        )
        if not prefixes:
            self._drop_prefixes()
        if truncate_dim is not None and truncate_dim > self.spec.dim:
            raise InvalidArgumentError(
                f"truncate_dim={truncate_dim} exceeds {self.model_name}'s dimension {self.spec.dim}"
            )
        if self.spec.kind == "static":  # no ONNX session: say which options do nothing
            warn_ignored_session_options(self.model_name, self._recipe.session)
        self._load_now(lazy_load)

    @staticmethod
    def _init_kwargs() -> tuple[str, ...]:
        from .base import COMMON_INIT_KWARGS

        return (*COMMON_INIT_KWARGS, "truncate_dim", "prefixes")

    def _drop_prefixes(self) -> None:
        """``prefixes=False``: ``query_embed`` / ``passage_embed`` add nothing, as
        fastembed's do, so vectors match a collection fastembed built."""
        spec = self.spec.replace(query_prefix="", passage_prefix="")
        assert isinstance(spec, DenseSpec)
        self._use_spec(spec)

    @property
    def prefixes(self) -> dict[str, str]:
        """The prefixes ``query_embed`` and ``passage_embed`` apply (empty with
        ``prefixes=False``)."""
        return {"query": self.spec.query_prefix, "passage": self.spec.passage_prefix}

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> DenseSpec:
        return spec_from_folder(folder, name)

    @property
    def embedding_size(self) -> int:
        """Length of the returned vectors (``truncate_dim`` when set)."""
        cut = self._recipe.options.get("truncate_dim")
        return min(cut, self.spec.dim) if cut else self.spec.dim

    # -- embedding ---------------------------------------------------------------
    def embed(
        self,
        documents: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """One float32 vector per document, in input order, with no prefix applied."""
        return self._embed_texts("embed", "document", documents, batch_size, parallel, kwargs)

    def query_embed(
        self,
        query: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """Like :meth:`embed`, with the model's query prefix applied."""
        return self._embed_texts("query_embed", "query", query, batch_size, parallel, kwargs)

    def passage_embed(
        self,
        texts: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """Like :meth:`embed`, with the model's passage prefix applied."""
        return self._embed_texts("passage_embed", "passage", texts, batch_size, parallel, kwargs)

    def token_count(self, texts: str | Iterable[str], batch_size: int = 1024, **kwargs: Any) -> int:
        """Tokens the model sees for ``texts`` (after truncation, special tokens included)."""
        return self._count_tokens(texts, batch_size, kwargs)
