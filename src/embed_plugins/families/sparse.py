"""The sparse family's entry points: one picklable builder for every sparse kind.

:func:`build_sparse` is the ``build`` of every sparse
:class:`~embed_plugins.engine.pipeline.PipelineRecipe`; it picks the pipeline
by the spec's type, so worker processes rebuild the right one for catalogue
and custom specs alike.  The maths lives in :mod:`.splade` (with
:mod:`.if_splade`), :mod:`.bm25`, :mod:`.bm42` and :mod:`.minicoil`;
:class:`Bm25Pipeline` only adapts :class:`~.bm25.Bm25` to the engine's
``process(items, batch_size, task)`` seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..catalog.sparse import Bm25Spec, Bm42Spec, MiniCoilSpec, SpladeSpec
from ..engine.pipeline import Pipeline, PipelineRecipe, Task
from ..errors import ModelLoadError
from ..hub import find_onnx_file, model_file_path
from ..results import SparseVector
from ..text.config import read_json
from .sparse_common import blank_aware_process


class Bm25Pipeline:
    """Texts -> BM25 vectors: documents for ``document``/``passage``, queries for ``query``."""

    def __init__(self, spec: Bm25Spec) -> None:
        from .bm25 import Bm25  # imported here: the stemmer loads only for BM25 users

        self.spec = spec
        self.bm25 = Bm25(
            language=spec.language,
            k=spec.k,
            b=spec.b,
            avg_len=spec.avg_len,
            token_max_length=spec.token_max_length,
            disable_stemmer=spec.disable_stemmer,
            stemmer=spec.stemmer,
            stopwords=spec.stopwords,
        )

    def process(self, items: Sequence[str], batch_size: int, task: Task) -> list[SparseVector]:
        if task == "query":
            return blank_aware_process(
                lambda texts, _b, _t: self.bm25.embed_queries(texts), items, batch_size, task
            )
        return blank_aware_process(
            lambda texts, _b, _t: self.bm25.embed_documents(texts), items, batch_size, task
        )

    def token_count(self, items: Sequence[str], task: Task) -> int:
        """Words before any filter, as fastembed's BM25 counts them."""
        return self.bm25.token_count(items)


def build_sparse(recipe: PipelineRecipe) -> Pipeline[Any, SparseVector]:
    """The pipeline for ``recipe.spec``: SPLADE, BM25, BM42, miniCOIL or BGE-M3's lexical
    weights."""
    spec = recipe.spec
    if isinstance(spec, Bm25Spec):
        return Bm25Pipeline(spec)
    if isinstance(spec, SpladeSpec):
        from .splade import SpladePipeline

        return SpladePipeline(recipe)
    if isinstance(spec, Bm42Spec):
        from .bm42 import Bm42Pipeline

        return Bm42Pipeline(recipe)
    if isinstance(spec, MiniCoilSpec):
        from .minicoil import MiniCoilPipeline

        return MiniCoilPipeline(recipe)
    from ..catalog.bge_m3 import BgeM3SparseSpec

    if isinstance(spec, BgeM3SparseSpec):
        from .bge_m3 import BgeM3Pipeline

        return BgeM3Pipeline(recipe)
    raise TypeError(
        f"no sparse pipeline for {type(spec).__name__}; use SpladeSpec, Bm25Spec, Bm42Spec, "
        "MiniCoilSpec or BgeM3SparseSpec"
    )


def spec_from_folder(folder: Path, name: str) -> SpladeSpec:
    """A SPLADE spec for a local folder whose ``config.json`` names a ``*ForMaskedLM`` model.

    Anything else (an encoder with attention outputs for BM42, ...) needs an
    explicit spec: the folder alone does not say how to read it.
    """
    config_path = model_file_path(folder, "config.json")
    config = read_json(config_path) if config_path.is_file() else {}
    architectures = config.get("architectures") or []
    if not any(str(a).endswith("ForMaskedLM") for a in architectures):
        raise ModelLoadError(
            f"{folder}: cannot tell which sparse model this is (config.json architectures "
            f"{architectures or 'missing'}; only *ForMaskedLM folders are read as SPLADE). "
            "Pass spec=SpladeSpec(...) or spec=Bm42Spec(...)"
        )
    vocab = config.get("vocab_size")
    return SpladeSpec(
        model=name,
        model_file=find_onnx_file(folder, "SpladeSpec"),
        vocab_size=int(vocab) if isinstance(vocab, int) else None,
        description=f"local SPLADE model at {folder}",
    )
