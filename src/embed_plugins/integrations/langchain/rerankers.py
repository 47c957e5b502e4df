"""LangChain rerankers over :class:`~embed_plugins.TextCrossEncoder` and ColBERT MaxSim.

* :class:`EmbedPluginsCrossEncoder`: a ``langchain_core`` ``BaseCrossEncoder``
  (``score(pairs) -> list[float]``), the one method LangChain's
  ``CrossEncoderReranker`` calls.
* :class:`EmbedPluginsRerank`: a ``BaseDocumentCompressor`` that reranks with a
  cross-encoder, keeps the best ``top_n`` and writes each score to
  ``metadata["relevance_score"]``.
* :class:`EmbedPluginsColbertRerank`: the same with ColBERT late interaction
  (:class:`~embed_plugins.LateInteractionTextEmbedding` MaxSim).

Compressors return new ``Document`` objects (the retrieved ones are not
modified), best first; async methods run in a worker thread.  All three take
``TextCrossEncoder``'s (or ``LateInteractionTextEmbedding``'s) constructor
options under fastembed's names (``specific_model_path`` too), and pickle and
deep-copy by rebuilding the model from the fields on the other side.  Use them in a
``ContextualCompressionRetriever``::

    from langchain_classic.retrievers import ContextualCompressionRetriever

    retriever = ContextualCompressionRetriever(
        base_compressor=EmbedPluginsRerank(top_n=3), base_retriever=store.as_retriever(k=20)
    )
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

from ...catalog.late_interaction import ColbertSpec
from ...catalog.rerank import CrossEncoderSpec
from ...models.cross_encoder import DEFAULT_BATCH_SIZE as CROSS_ENCODER_BATCH_SIZE
from ...models.cross_encoder import TextCrossEncoder
from ...models.late_interaction import DEFAULT_BATCH_SIZE as COLBERT_BATCH_SIZE
from ...models.late_interaction import LateInteractionTextEmbedding
from ...results import RerankResult
from .._common import check_objects, check_text, missing_extra

try:
    from langchain_core.callbacks import Callbacks
    from langchain_core.cross_encoders import BaseCrossEncoder
    from langchain_core.documents import BaseDocumentCompressor, Document
    from pydantic import ConfigDict, Field, PrivateAttr

    from .._adapter import AdapterBase
    from .._fields import EngineFields
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("langchain", "langchain-core") from exc

Activation = Literal["none", "sigmoid"]
RELEVANCE_SCORE = "relevance_score"


class EmbedPluginsCrossEncoder(AdapterBase, EngineFields, BaseCrossEncoder):
    """A local ONNX cross-encoder as LangChain's ``BaseCrossEncoder``.

    Example::

        from langchain_classic.retrievers.document_compressors import CrossEncoderReranker

        reranker = CrossEncoderReranker(model=EmbedPluginsCrossEncoder(), top_n=3)
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_name: str = Field(
        default=TextCrossEncoder.default_model,
        description="A supported cross-encoder (TextCrossEncoder.list_supported_models()).",
    )
    batch_size: int = Field(default=CROSS_ENCODER_BATCH_SIZE, gt=0, description="Pairs per call.")
    parallel: int | None = Field(default=None, ge=0, description="Worker processes, or None.")
    activation: Activation | None = Field(
        default=None,
        description="'none': raw logits; 'sigmoid': (0, 1); None: the model's default.",
    )
    spec: CrossEncoderSpec | None = Field(default=None, description="A custom model description.")

    _model: TextCrossEncoder = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._model = TextCrossEncoder(
            self.chosen_name(), spec=self.spec, activation=self.activation, **self.engine_kwargs()
        )
        self.model_name = self._model.model_name

    @property
    def model(self) -> TextCrossEncoder:
        """The underlying :class:`~embed_plugins.TextCrossEncoder`."""
        return self._model

    def score(self, text_pairs: list[tuple[str, str]]) -> list[float]:
        """One score per ``(query, document)`` pair, in input order."""
        if isinstance(text_pairs, tuple):
            text_pairs = [text_pairs]
        scores = self._model.rerank_pairs(
            text_pairs, batch_size=self.batch_size, parallel=self.parallel
        )
        return [float(s) for s in scores]

    def close(self) -> None:
        """Stop the worker pool, if ``parallel`` started one."""
        self._model.close()


class _RerankCompressor(AdapterBase, EngineFields, BaseDocumentCompressor):
    """Shared by the rerankers: ranking, ``top_n``, metadata, async."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    top_n: int | None = Field(
        default=3, gt=0, description="Documents to keep, best first; None keeps them all."
    )
    parallel: int | None = Field(default=None, ge=0, description="Worker processes, or None.")

    @abstractmethod
    def _rank(self, query: str, texts: list[str]) -> list[RerankResult]:
        """Results sorted best first, at most ``top_n``."""

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The best ``top_n`` documents for ``query``, best first, each with its score
        in ``metadata["relevance_score"]``."""
        where = f"{type(self).__name__}.compress_documents()"
        q = check_text(query, where, "the query")
        docs = check_objects(documents, Document, where, "documents")
        if not docs:
            return []
        results = self._rank(q, [doc.page_content for doc in docs])
        return [
            docs[r.index].model_copy(
                update={"metadata": {**docs[r.index].metadata, RELEVANCE_SCORE: float(r.score)}}
            )
            for r in results
        ]

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """:meth:`compress_documents` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.compress_documents, documents, query, callbacks)


class EmbedPluginsRerank(_RerankCompressor):
    """Rerank retrieved documents with a local ONNX cross-encoder."""

    model_name: str = Field(
        default=TextCrossEncoder.default_model,
        description="A supported cross-encoder (TextCrossEncoder.list_supported_models()).",
    )
    batch_size: int = Field(default=CROSS_ENCODER_BATCH_SIZE, gt=0, description="Pairs per call.")
    activation: Activation | None = Field(
        default=None,
        description="'none': raw logits; 'sigmoid': (0, 1); None: the model's default.",
    )
    spec: CrossEncoderSpec | None = Field(default=None, description="A custom model description.")

    _model: TextCrossEncoder = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._model = TextCrossEncoder(
            self.chosen_name(), spec=self.spec, activation=self.activation, **self.engine_kwargs()
        )
        self.model_name = self._model.model_name

    @property
    def model(self) -> TextCrossEncoder:
        """The underlying :class:`~embed_plugins.TextCrossEncoder`."""
        return self._model

    def _rank(self, query: str, texts: list[str]) -> list[RerankResult]:
        return self._model.rank(
            query, texts, top_k=self.top_n, batch_size=self.batch_size, parallel=self.parallel
        )


class EmbedPluginsColbertRerank(_RerankCompressor):
    """Rerank retrieved documents by ColBERT MaxSim (late interaction)."""

    model_name: str = Field(
        default=LateInteractionTextEmbedding.default_model,
        description="A supported ColBERT model (LateInteractionTextEmbedding's list).",
    )
    batch_size: int = Field(default=COLBERT_BATCH_SIZE, gt=0, description="Texts per call.")
    spec: ColbertSpec | None = Field(default=None, description="A custom model description.")

    _model: LateInteractionTextEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._model = LateInteractionTextEmbedding(
            self.chosen_name(), spec=self.spec, **self.engine_kwargs()
        )
        self.model_name = self._model.model_name

    @property
    def model(self) -> LateInteractionTextEmbedding:
        """The underlying :class:`~embed_plugins.LateInteractionTextEmbedding`."""
        return self._model

    def _rank(self, query: str, texts: list[str]) -> list[RerankResult]:
        return self._model.rank(
            query, texts, top_k=self.top_n, batch_size=self.batch_size, parallel=self.parallel
        )
