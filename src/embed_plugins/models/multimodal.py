"""``LateInteractionMultimodalEmbedding``: ColPali page images and queries, fastembed's shapes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..catalog.multimodal import MultimodalSpec
from ..engine.progress import progress_for
from ..engine.runner import as_items, check_text
from ..families.late_interaction import check_top_k, rank_documents
from ..families.multimodal import build_multimodal, spec_from_folder
from ..results import RerankResult
from ..vision.load import as_images
from .base import VisionModelBase, reject_unknown
from .image_embedding import DEFAULT_BATCH_SIZE as IMAGE_BATCH_SIZE
from .image_embedding import ImageInput
from .late_interaction import check_query, maxsim_scores

FloatArray = npt.NDArray[np.float32]

TEXT_BATCH_SIZE = 64
_CALL_KWARGS = ("batch_size", "parallel", "show_progress")


class LateInteractionMultimodalEmbedding(VisionModelBase):
    """ColPali-style retrieval over page images: one vector per token, for images and queries.

    ``embed_image`` (alias ``embed``) gives one float32 ``(image tokens + prompt
    tokens, dim)`` array per image; ``embed_text`` (alias ``query_embed``) one
    ``(query tokens, dim)`` array per query, with no padding rows.  Score with
    :func:`embed_plugins.maxsim`, or :meth:`rank` / :meth:`rerank` (the shapes of
    :class:`LateInteractionTextEmbedding`).

    Example::

        model = LateInteractionMultimodalEmbedding("Qdrant/colpali-v1.3-fp16")
        pages = list(model.embed_image(["page1.png", "page2.png"]))
        (query,) = model.embed_text("what is the revenue in 2023?")
        scores = maxsim(query, pages)
    """

    family: ClassVar[str] = "multimodal"
    default_model: ClassVar[str] = "Qdrant/colpali-v1.3-fp16"
    spec_type: ClassVar[type[MultimodalSpec]] = MultimodalSpec
    build_pipeline = staticmethod(build_multimodal)
    spec: MultimodalSpec

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> MultimodalSpec:
        return spec_from_folder(folder, name)

    @property
    def embedding_size(self) -> int:
        """Length of every token vector."""
        return self.spec.dim

    # -- embedding -------------------------------------------------------------
    def embed_image(
        self,
        images: ImageInput,
        batch_size: int = IMAGE_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """One float32 ``(tokens, dim)`` array per image, in input order."""
        return self._embed_images("embed_image", images, batch_size, parallel, kwargs)

    def embed_text(
        self,
        documents: str | Iterable[str],
        batch_size: int = TEXT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """One float32 ``(tokens, dim)`` array per query (prompted as ColPali queries)."""
        where = f"{type(self).__name__}.embed_text()"
        reject_unknown(where, kwargs, _CALL_KWARGS)
        items = as_items(documents, what="queries")
        return self._runner.run(
            items,
            batch_size=batch_size,
            task="query",
            validate=check_text,
            parallel=parallel,
            progress=progress_for(
                kwargs.get("show_progress"), items, where, unit="text", desc="embed_text"
            ),
        )

    def embed(
        self,
        images: ImageInput,
        batch_size: int = IMAGE_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """Same as :meth:`embed_image` (documents are page images)."""
        return self.embed_image(images, batch_size, parallel, **kwargs)

    def query_embed(
        self,
        query: str | Iterable[str],
        batch_size: int = TEXT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """Same as :meth:`embed_text`."""
        return self.embed_text(query, batch_size, parallel, **kwargs)

    # -- scoring -----------------------------------------------------------------
    def rerank(
        self,
        query: str,
        images: ImageInput,
        batch_size: int = IMAGE_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[float]:
        """One MaxSim score per image, in input order, lazily (use :meth:`rank` for sorted)."""
        reject_unknown(f"{type(self).__name__}.rerank()", kwargs, _CALL_KWARGS)
        q = check_query(query)
        pages = self.embed_image(
            images,
            batch_size=batch_size,
            parallel=parallel,
            show_progress=kwargs.get("show_progress"),
        )
        return self._scores(q, pages, parallel)

    def _scores(
        self, query: str, pages: Iterator[FloatArray], parallel: int | None
    ) -> Iterator[float]:
        (query_vectors,) = self.embed_text([query], parallel=parallel)
        yield from maxsim_scores(query_vectors, pages)

    def rank(
        self,
        query: str,
        images: ImageInput,
        top_k: int | None = None,
        *,
        batch_size: int = IMAGE_BATCH_SIZE,
        parallel: int | None = None,
        return_documents: bool = False,
        **kwargs: Any,
    ) -> list[RerankResult]:
        """Images sorted by MaxSim score, best first; ``return_documents`` puts each input
        (as given) in ``RerankResult.document``."""
        reject_unknown(
            f"{type(self).__name__}.rank()", kwargs, (*_CALL_KWARGS, "top_k", "return_documents")
        )
        k = check_top_k(top_k)
        q = check_query(query)
        pages = list(as_images(images))
        scores = self.rerank(
            q, pages, batch_size, parallel, show_progress=kwargs.get("show_progress")
        )
        return rank_documents(scores, pages, k, return_documents)

    def token_count(self, texts: str | Iterable[str], batch_size: int = 1024, **kwargs: Any) -> int:
        """Tokens the model reads for ``texts`` as queries (prompt and augmentation included)."""
        return self._count_tokens(texts, batch_size, kwargs, task="query")
