"""``BgeM3Embedding``: BGE-M3's dense, sparse and ColBERT outputs from one pass."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..catalog.bge_m3 import COLBERT_HEAD, SPARSE_HEAD, BgeM3Spec
from ..engine.session import Provider
from ..errors import ModelLoadError
from ..families.bge_m3 import BgeM3Output, build_bge_m3
from ..hub import find_onnx_file, model_file_path
from .base import COMMON_INIT_KWARGS, ModelBase, reject_unknown

DEFAULT_BATCH_SIZE = 256


class BgeM3Embedding(ModelBase):
    """BGE-M3: a dense vector, lexical weights and ColBERT vectors per text, one pass.

    Each result is a :class:`BgeM3Output` with ``.dense`` (float32 ``(1024,)``,
    normalised), ``.sparse`` (:class:`~embed_plugins.SparseVector`, token-id
    indices) and ``.colbert`` (float32 ``(n_tokens - 1, 1024)``, normalised),
    computed as FlagEmbedding's ``BGEM3FlagModel.encode(..., return_dense=True,
    return_sparse=True, return_colbert_vecs=True)`` does.  ``TextEmbedding``,
    ``SparseTextEmbedding`` and ``LateInteractionTextEmbedding`` give one of the three
    each for the same name; this class runs the encoder once for all of them.

    BGE-M3 needs no query instruction: ``query_embed`` and ``passage_embed`` are
    ``embed`` (kept for the shapes of the other classes).

    Example::

        model = BgeM3Embedding("BAAI/bge-m3")
        out = next(iter(model.embed(["BGE M3 supports dense, sparse and multi-vector"])))
        out.dense.shape, len(out.sparse), out.colbert.shape
        # ranking: out_q.dense @ out_d.dense, sparse dot product, maxsim(q.colbert, [d.colbert])
    """

    family: ClassVar[str] = "bge_m3"
    default_model: ClassVar[str] = "BAAI/bge-m3"
    spec_type: ClassVar[type[BgeM3Spec]] = BgeM3Spec
    build_pipeline = staticmethod(build_bge_m3)
    spec: BgeM3Spec

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
        spec: BgeM3Spec | None = None,
        max_length: int | None = None,
        graph_optimization: str = "all",
        optimize: bool = False,
        **kwargs: Any,
    ) -> None:
        reject_unknown("BgeM3Embedding()", kwargs, COMMON_INIT_KWARGS)
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
            max_length=max_length,
            graph_optimization=graph_optimization,
            optimize=optimize,
            **kwargs,  # device_id, enable_cpu_mem_arena (checked above)
        )

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> BgeM3Spec:
        """A spec for a local BGE-M3 folder: its ONNX encoder and both head files."""
        missing = [
            h for h in (SPARSE_HEAD, COLBERT_HEAD) if not model_file_path(folder, h).is_file()
        ]
        if missing:
            raise ModelLoadError(
                f"{folder}: no {' or '.join(missing)}; a BGE-M3 folder holds the encoder graph "
                "and both heads (or pass spec=BgeM3Spec(...))"
            )
        return BgeM3Spec(
            model=name,
            model_file=find_onnx_file(folder, "BgeM3Spec"),
            description=f"local BGE-M3 model at {folder}",
        )

    @property
    def embedding_size(self) -> int:
        """Length of the dense vectors."""
        return self.spec.dim

    def embed(
        self,
        documents: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[BgeM3Output]:
        """One :class:`BgeM3Output` per text, in input order."""
        return self._embed_texts("embed", "document", documents, batch_size, parallel, kwargs)

    def query_embed(
        self,
        query: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[BgeM3Output]:
        """The same as :meth:`embed` (BGE-M3 uses no query instruction)."""
        return self._embed_texts("query_embed", "query", query, batch_size, parallel, kwargs)

    def passage_embed(
        self,
        texts: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[BgeM3Output]:
        """The same as :meth:`embed`."""
        return self._embed_texts("passage_embed", "passage", texts, batch_size, parallel, kwargs)

    def token_count(self, texts: str | Iterable[str], batch_size: int = 1024, **kwargs: Any) -> int:
        """Tokens the model reads for ``texts`` (truncated, ``<s>`` and ``</s>`` included)."""
        return self._count_tokens(texts, batch_size, kwargs)
