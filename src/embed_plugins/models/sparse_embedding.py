"""``SparseTextEmbedding``: SPLADE, BM25, BM42 and miniCOIL with fastembed's call shapes.

Every model returns :class:`~embed_plugins.SparseVector` (int64 indices, float32
values, indices unique and ascending).  Which rules apply is the spec's type:
:class:`~embed_plugins.SpladeSpec` (indices are vocabulary ids),
:class:`~embed_plugins.Bm25Spec` and :class:`~embed_plugins.Bm42Spec` (indices
are MurmurHash3 hashes of word stems, in ``[0, 2**31]``).

Input rules (the same for every sparse model)
---------------------------------------------

* An item that is not a ``str`` (``None``, ``bytes``, a number, ...) raises
  :class:`~embed_plugins.InputTypeError` (a ``TypeError`` and a ``ValueError``)
  naming its index, before anything of its window is embedded; a bare ``str``
  is one document, ``None`` or a non-iterable argument raises at the call.
* An empty or whitespace-only string gives the empty vector (no model run).
* Any other string is embedded by the model's rules.  Text that keeps no term
  (punctuation only, stopwords only) gives the empty vector for BM25 and BM42;
  SPLADE returns what the model expands it to.
* Long text: SPLADE and BM42 read the first ``max_length`` tokens (512 for the
  catalogue models; a 1 MB string costs what a short prefix does); BM25 reads
  every word.

``embed`` and ``passage_embed`` give document vectors; ``query_embed`` gives
query vectors: the same as documents for SPLADE, and for BM25 and BM42 each
distinct stem once with the value 1.0 (no model run for BM42).  Inference-free
SPLADE (``SpladeSpec.query_idf_file``) weights each distinct query token by its
IDF table, with no model run; miniCOIL runs the model for queries too and gives
every term the weight 1 (meaning values for vocabulary words).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..catalog.sparse import Bm25Spec, Bm42Spec, MiniCoilSpec, SparseSpec, SpladeSpec
from ..catalog.spec import ModelSpec
from ..compat import splade_spec
from ..engine.session import Provider
from ..errors import ArgumentTypeError, InvalidArgumentError
from ..families.sparse import build_sparse, spec_from_folder
from ..results import SparseVector
from .base import COMMON_INIT_KWARGS, ModelBase, reject_unknown

DEFAULT_BATCH_SIZE = 256

#: Constructor options that only BM25 models accept (fastembed 0.9.1's ``Bm25`` arguments).
BM25_OPTIONS = (
    "k",
    "b",
    "avg_len",
    "language",
    "token_max_length",
    "disable_stemmer",
    "stemmer",
    "stopwords",
)
#: Constructor options that only BM42 models accept (fastembed's ``Bm42`` arguments).
BM42_OPTIONS = ("alpha",)
#: BM25 options that miniCOIL models accept too (fastembed's ``MiniCOIL`` arguments).
MINICOIL_OPTIONS = ("k", "b", "avg_len")


class SparseTextEmbedding(ModelBase):
    """Sparse text embeddings: SPLADE, BM25 (no download) and BM42.

    Example::

        bm25 = SparseTextEmbedding("Qdrant/bm25")
        docs = list(bm25.embed(["a document", "another one"]))
        query = next(iter(bm25.query_embed("document")))

    BM25 options -- fastembed 0.9.1's ``Bm25`` arguments ``k``, ``b``,
    ``avg_len``, ``language``, ``token_max_length``, ``disable_stemmer``,
    ``stemmer`` and ``stopwords`` -- are accepted for BM25 models only, by
    keyword, with fastembed's meaning and errors: ``stemmer`` (an object with
    ``stem_word(word) -> str``) replaces Snowball and cannot be combined with
    ``disable_stemmer=True``; ``stopwords`` (a set of words, lower-cased)
    replace the language's list, also without a stemmer; a language with no
    Snowball stemmer needs ``stemmer`` or ``disable_stemmer=True``; each is a
    ``ValueError``.  A custom stemmer must pickle (it goes to the worker
    processes of ``parallel=N``): one that does not raises at construction,
    naming the reason.  The options are folded into the spec (``model.spec``);
    with ``spec=Bm25Spec(...)`` they override its fields, all at once.
    ``alpha`` is for BM42 models only; miniCOIL models take ``k``, ``b`` and
    ``avg_len`` (fastembed's ``MiniCOIL`` arguments); anything else raises ``TypeError``.
    BM25 reads no files, so ``model_path``, ``cache_dir`` and session
    settings do not apply to it.
    """

    family: ClassVar[str] = "sparse"
    default_model: ClassVar[str] = "prithivida/Splade_PP_en_v1"
    spec_type: ClassVar[type[SparseSpec]] = SparseSpec
    # build_sparse, with every Bm25Spec field (custom stemmer and stopwords too) in force.
    build_pipeline = staticmethod(build_sparse)
    spec: SparseSpec
    keyword_spec = staticmethod(splade_spec)

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
        spec: SparseSpec | None = None,
        max_length: int | None = None,
        graph_optimization: str = "all",
        optimize: bool = False,
        **kwargs: Any,
    ) -> None:
        family_options = {k: kwargs.pop(k) for k in (*BM25_OPTIONS, *BM42_OPTIONS) if k in kwargs}
        reject_unknown("SparseTextEmbedding()", kwargs, self._init_kwargs())
        if spec is not None:
            _check_runnable(spec)
            if model_name in (None, self.default_model):
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
            **kwargs,  # device_id, enable_cpu_mem_arena (checked above)
        )
        if family_options:
            self._apply_family_options(family_options)
        if optimize and isinstance(self.spec, Bm42Spec):
            # The transformer fusions replace the attention block, whose probabilities
            # (attention_6) BM42 reads: the fused graph no longer has that output.
            raise InvalidArgumentError(
                f"optimize=True is not supported for the BM42 model {self.model_name!r}: the "
                "fused graph has no attention output to read"
            )
        self._load_now(lazy_load)

    @staticmethod
    def _init_kwargs() -> tuple[str, ...]:
        return (*COMMON_INIT_KWARGS, *BM25_OPTIONS, *BM42_OPTIONS)

    def _apply_family_options(self, options: Mapping[str, Any]) -> None:
        """Check BM25/BM42 options against the model's kind, then fold them into the spec."""
        allowed: tuple[str, ...] = ()
        if isinstance(self.spec, Bm25Spec):
            allowed = BM25_OPTIONS
        elif isinstance(self.spec, Bm42Spec):
            allowed = BM42_OPTIONS
        elif isinstance(self.spec, MiniCoilSpec):
            allowed = MINICOIL_OPTIONS
        wrong = [k for k in options if k not in allowed]
        if wrong:
            owners = ", ".join(
                f"{k!r} is a {'BM25' if k in BM25_OPTIONS else 'BM42'} option" for k in wrong
            )
            raise ArgumentTypeError(
                f"SparseTextEmbedding(): {owners}, but {self.model_name!r} is a "
                f"{self.spec.kind.upper()} model"
                + (f" (its options: {', '.join(allowed)})" if allowed else " (it takes none)")
            )
        new_spec = self.spec.replace(**options)
        assert isinstance(new_spec, SparseSpec)
        self._use_spec(new_spec)

    # -- resolution ----------------------------------------------------------
    def _resolve_dir(
        self,
        spec: ModelSpec,
        path: str | os.PathLike[str] | None,
        cache_dir: str | os.PathLike[str] | None,
        local_files_only: bool,
    ) -> Path | None:
        if isinstance(spec, Bm25Spec):
            return None  # BM25 reads no files: works offline with no models dir
        return super()._resolve_dir(spec, path, cache_dir, local_files_only)

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> SpladeSpec:
        return spec_from_folder(folder, name)

    @classmethod
    def _check_custom(cls, spec: ModelSpec) -> None:
        """Only a ``SpladeSpec``, ``Bm25Spec`` or ``Bm42Spec`` can run."""
        if isinstance(spec, SparseSpec):
            _check_runnable(spec)

    # -- embedding ---------------------------------------------------------------
    def embed(
        self,
        documents: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[SparseVector]:
        """One document vector per text, in input order."""
        return self._embed_texts("embed", "document", documents, batch_size, parallel, kwargs)

    def query_embed(
        self,
        query: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[SparseVector]:
        """Query vectors: BM25/BM42 mark each query stem with 1.0; SPLADE is as ``embed``."""
        return self._embed_texts("query_embed", "query", query, batch_size, parallel, kwargs)

    def passage_embed(
        self,
        texts: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[SparseVector]:
        """The same as :meth:`embed` (sparse models use no passage prefix)."""
        return self._embed_texts("passage_embed", "passage", texts, batch_size, parallel, kwargs)

    def token_count(self, texts: str | Iterable[str], batch_size: int = 1024, **kwargs: Any) -> int:
        """Tokens the model reads: truncated word pieces with special tokens (SPLADE, BM42),
        or words before any filter (BM25, as fastembed counts them)."""
        return self._count_tokens(texts, batch_size, kwargs)


def _check_runnable(spec: SparseSpec) -> None:
    from ..catalog.bge_m3 import BgeM3SparseSpec

    if not isinstance(spec, (SpladeSpec, Bm25Spec, Bm42Spec, MiniCoilSpec, BgeM3SparseSpec)):
        raise ArgumentTypeError(
            "spec must be a SpladeSpec, Bm25Spec, Bm42Spec, MiniCoilSpec or BgeM3SparseSpec, got "
            f"{type(spec).__name__}"
        )
