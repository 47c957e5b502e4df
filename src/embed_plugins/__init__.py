"""embed_plugins: local, fast, exact retrieval models for LangChain and LlamaIndex.

The public API keeps fastembed's names and call shapes::

    from embed_plugins import TextEmbedding

    model = TextEmbedding("BAAI/bge-small-en-v1.5")
    vectors = list(model.passage_embed(["a document", "another one"]))
"""

from __future__ import annotations

from .catalog.image import ImageSpec
from .catalog.late_interaction import ColbertSpec
from .catalog.multimodal import MultimodalSpec
from .catalog.rerank import CrossEncoderSpec
from .catalog.sparse import Bm25Spec, Bm42Spec, SparseSpec, SpladeSpec
from .catalog.spec import DenseSpec, ModelSpec
from .compat import ModelSource, PoolingType
from .engine.session import ProviderFallbackWarning
from .errors import (
    ArgumentTypeError,
    EmbedPluginsError,
    InferenceError,
    InputTypeError,
    InvalidArgumentError,
    InvalidInputError,
    ModelLoadError,
    ModelNotFoundError,
    ProviderError,
    UnsafeModelPathError,
    WorkerError,
)
from .families.late_interaction import maxsim
from .models.cross_encoder import TextCrossEncoder
from .models.image_embedding import ImageEmbedding
from .models.late_interaction import LateInteractionTextEmbedding
from .models.multimodal import LateInteractionMultimodalEmbedding
from .models.sparse_embedding import SparseTextEmbedding
from .models.text_embedding import TextEmbedding
from .muvera import Muvera
from .results import RerankResult, SparseEmbedding, SparseVector

__version__ = "0.1.0"

__all__ = [
    "ArgumentTypeError",
    "Bm25Spec",
    "Bm42Spec",
    "ColbertSpec",
    "CrossEncoderSpec",
    "DenseSpec",
    "EmbedPluginsError",
    "ImageEmbedding",
    "ImageSpec",
    "InferenceError",
    "InputTypeError",
    "InvalidArgumentError",
    "InvalidInputError",
    "LateInteractionMultimodalEmbedding",
    "LateInteractionTextEmbedding",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelSource",
    "ModelSpec",
    "MultimodalSpec",
    "Muvera",
    "PoolingType",
    "ProviderError",
    "ProviderFallbackWarning",
    "RerankResult",
    "SparseEmbedding",
    "SparseSpec",
    "SparseTextEmbedding",
    "SparseVector",
    "SpladeSpec",
    "TextCrossEncoder",
    "TextEmbedding",
    "UnsafeModelPathError",
    "WorkerError",
    "__version__",
    "maxsim",
]
