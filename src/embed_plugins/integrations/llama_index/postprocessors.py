"""LlamaIndex rerankers: ``BaseNodePostprocessor``s over a cross-encoder, ColBERT and ColPali.

:class:`EmbedPluginsColPaliRerank` reranks *image* nodes (``ImageNode``: page
screenshots, figures) by ColPali MaxSim against the query text: retrieve with a
fast dense model (CLIP, or text embeddings of captions), rerank pages with ColPali.

Both keep the best ``top_n`` nodes, best first, with ``node.score`` set to the
reranker's score (and, with ``keep_retrieval_score``, the retriever's score kept
in ``metadata["retrieval_score"]``).  The nodes handed in are not modified: the
results are new ``NodeWithScore`` objects (over copies of the nodes when
metadata changes).  Like LlamaIndex's own rerankers they fire the
``CBEventType.RERANKING`` callback event and the ``ReRankStartEvent`` /
``ReRankEndEvent`` instrumentation events; ``apostprocess_nodes`` runs in a
worker thread.  Pickling, ``copy.deepcopy`` and ``model_validate(model_dump())``
rebuild the model from the fields::

    query_engine = index.as_query_engine(
        similarity_top_k=10, node_postprocessors=[EmbedPluginsRerank(top_n=3)]
    )
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Literal

from ...catalog.late_interaction import ColbertSpec
from ...catalog.multimodal import MultimodalSpec
from ...catalog.rerank import CrossEncoderSpec
from ...models.cross_encoder import DEFAULT_BATCH_SIZE as CROSS_ENCODER_BATCH_SIZE
from ...models.cross_encoder import TextCrossEncoder
from ...models.image_embedding import DEFAULT_BATCH_SIZE as IMAGE_BATCH_SIZE
from ...models.late_interaction import DEFAULT_BATCH_SIZE as COLBERT_BATCH_SIZE
from ...models.late_interaction import LateInteractionTextEmbedding
from ...models.multimodal import LateInteractionMultimodalEmbedding
from ...results import RerankResult
from .._common import check_objects, check_text, missing_extra

try:
    from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
    from llama_index.core.callbacks import CBEventType, EventPayload
    from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import ImageNode, MetadataMode, NodeWithScore, QueryBundle
    from llama_index_instrumentation import get_dispatcher

    from .._adapter import LlamaIndexAdapterBase
    from .._fields import EngineFields
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("llama-index", "llama-index-core") from exc

dispatcher = get_dispatcher(__name__)

Activation = Literal["none", "sigmoid"]
RETRIEVAL_SCORE = "retrieval_score"


class _RerankPostprocessor(LlamaIndexAdapterBase, BaseNodePostprocessor, EngineFields):
    """Shared by the rerankers: events, ``top_n``, scores, ``keep_retrieval_score``."""

    model_config = ConfigDict(
        extra="forbid", protected_namespaces=("pydantic_model_",), arbitrary_types_allowed=True
    )

    model_name: str
    top_n: int | None = Field(
        default=2, gt=0, description="Nodes to keep, best first; None keeps them all."
    )
    keep_retrieval_score: bool = Field(
        default=False, description="Keep the retriever's score in metadata['retrieval_score']."
    )
    parallel: int | None = Field(default=None, ge=0, description="Worker processes, or None.")

    @abstractmethod
    def _rank(self, query: str, documents: list[Any]) -> list[RerankResult]:
        """Results sorted best first, at most ``top_n``."""

    def _documents(self, nodes: list[NodeWithScore]) -> list[Any]:
        """What the model scores for each node: its text with embed-mode metadata."""
        return [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError(
                f"{type(self).__name__} needs the query: pass query_str= or query_bundle="
            )
        query = check_text(query_bundle.query_str, f"{type(self).__name__}", "the query")
        nodes = check_objects(nodes, NodeWithScore, type(self).__name__, "nodes")
        dispatcher.event(
            ReRankStartEvent(
                query=query_bundle,
                nodes=nodes,
                top_n=self.top_n if self.top_n is not None else len(nodes),
                model_name=self.model_name,
            )
        )
        if not nodes:
            dispatcher.event(ReRankEndEvent(nodes=[]))
            return []
        documents = self._documents(nodes)
        with self.callback_manager.event(
            CBEventType.RERANKING,
            payload={
                EventPayload.NODES: nodes,
                EventPayload.MODEL_NAME: self.model_name,
                EventPayload.QUERY_STR: query,
                EventPayload.TOP_K: self.top_n,
            },
        ) as event:
            ranked = self._rank(query, documents)
            reranked = [self._scored(nodes[r.index], r.score) for r in ranked]
            event.on_end(payload={EventPayload.NODES: reranked})
        dispatcher.event(ReRankEndEvent(nodes=reranked))
        return reranked

    def _scored(self, original: NodeWithScore, score: float) -> NodeWithScore:
        node = original.node
        if self.keep_retrieval_score:
            node = node.model_copy()
            node.metadata = {**original.node.metadata, RETRIEVAL_SCORE: original.score}
        return NodeWithScore(node=node, score=float(score))


class EmbedPluginsRerank(_RerankPostprocessor):
    """Rerank nodes with a local ONNX cross-encoder (``SentenceTransformerRerank``'s fields)."""

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
        super().model_post_init(context)
        self._model = TextCrossEncoder(
            self.chosen_name(), spec=self.spec, activation=self.activation, **self.engine_kwargs()
        )
        self.model_name = self._model.model_name

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsRerank"

    @property
    def model(self) -> TextCrossEncoder:
        """The underlying :class:`~embed_plugins.TextCrossEncoder`."""
        return self._model

    def _rank(self, query: str, documents: list[Any]) -> list[RerankResult]:
        return self._model.rank(
            query, documents, top_k=self.top_n, batch_size=self.batch_size, parallel=self.parallel
        )


class EmbedPluginsColbertRerank(_RerankPostprocessor):
    """Rerank nodes by ColBERT MaxSim (``ColbertRerank``'s fields, ``top_n`` 5)."""

    model_name: str = Field(
        default=LateInteractionTextEmbedding.default_model,
        description="A supported ColBERT model (LateInteractionTextEmbedding's list).",
    )
    top_n: int | None = Field(
        default=5, gt=0, description="Nodes to keep, best first; None keeps them all."
    )
    batch_size: int = Field(default=COLBERT_BATCH_SIZE, gt=0, description="Texts per call.")
    spec: ColbertSpec | None = Field(default=None, description="A custom model description.")

    _model: LateInteractionTextEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._model = LateInteractionTextEmbedding(
            self.chosen_name(), spec=self.spec, **self.engine_kwargs()
        )
        self.model_name = self._model.model_name

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsColbertRerank"

    @property
    def model(self) -> LateInteractionTextEmbedding:
        """The underlying :class:`~embed_plugins.LateInteractionTextEmbedding`."""
        return self._model

    def _rank(self, query: str, documents: list[Any]) -> list[RerankResult]:
        return self._model.rank(
            query, documents, top_k=self.top_n, batch_size=self.batch_size, parallel=self.parallel
        )


class EmbedPluginsColPaliRerank(_RerankPostprocessor):
    """Rerank image nodes by ColPali MaxSim between the query and each node's image.

    Every node must be an ``ImageNode`` with an image (``image``, ``image_path`` or
    ``image_url``: what ``resolve_image()`` reads); a text node is an error naming it.
    """

    model_name: str = Field(
        default=LateInteractionMultimodalEmbedding.default_model,
        description="A supported ColPali model (LateInteractionMultimodalEmbedding's list).",
    )
    top_n: int | None = Field(
        default=5, gt=0, description="Nodes to keep, best first; None keeps them all."
    )
    batch_size: int = Field(default=IMAGE_BATCH_SIZE, gt=0, description="Images per call.")
    spec: MultimodalSpec | None = Field(default=None, description="A custom model description.")

    _model: LateInteractionMultimodalEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._model = LateInteractionMultimodalEmbedding(
            self.chosen_name(), spec=self.spec, **self.vision_engine_kwargs()
        )
        self.model_name = self._model.model_name

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsColPaliRerank"

    @property
    def model(self) -> LateInteractionMultimodalEmbedding:
        """The underlying :class:`~embed_plugins.LateInteractionMultimodalEmbedding`."""
        return self._model

    def _documents(self, nodes: list[NodeWithScore]) -> list[Any]:
        images = []
        for i, scored in enumerate(nodes):
            node = scored.node
            if not isinstance(node, ImageNode) or not (
                node.image or node.image_path or node.image_url
            ):
                raise ValueError(
                    f"EmbedPluginsColPaliRerank: node {i} ({node.node_id}) has no image; "
                    "it reranks ImageNodes (page images) only"
                )
            images.append(node.resolve_image())
        return images

    def _rank(self, query: str, documents: list[Any]) -> list[RerankResult]:
        return self._model.rank(
            query, documents, top_k=self.top_n, batch_size=self.batch_size, parallel=self.parallel
        )
