"""embed_plugins: local, fast, exact retrieval models for LangChain and LlamaIndex.

The public API keeps fastembed's names and call shapes::

    from embed_plugins import TextEmbedding

    model = TextEmbedding("BAAI/bge-small-en-v1.5")
    vectors = list(model.passage_embed(["a document", "another one"]))
"""

from __future__ import annotations

from .catalog.bge_m3 import BgeM3ColbertSpec, BgeM3SparseSpec, BgeM3Spec
from .catalog.image import ImageSpec
from .catalog.late_interaction import ColbertSpec
from .catalog.multimodal import MultimodalSpec
from .catalog.rerank import CrossEncoderSpec
from .catalog.sparse import Bm25Spec, Bm42Spec, MiniCoilSpec, SparseSpec, SpladeSpec
from .catalog.spec import DenseSpec, ModelSpec
from .compat import ModelSource, PoolingType
from .engine.ort_install import GpuStatus, gpu_status
from .engine.providers import tensorrt_providers
from .engine.quantize import Quantization
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
from .families.bge_m3 import BgeM3Output
from .families.late_interaction import maxsim
from .models.bge_m3 import BgeM3Embedding
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
    "BgeM3ColbertSpec",
    "BgeM3Embedding",
    "BgeM3Output",
    "BgeM3SparseSpec",
    "BgeM3Spec",
    "Bm25Spec",
    "Bm42Spec",
    "ColbertSpec",
    "CrossEncoderSpec",
    "DenseSpec",
    "EmbedPluginsError",
    "GpuStatus",
    "ImageEmbedding",
    "ImageSpec",
    "InferenceError",
    "InputTypeError",
    "InvalidArgumentError",
    "InvalidInputError",
    "LateInteractionMultimodalEmbedding",
    "LateInteractionTextEmbedding",
    "MiniCoilSpec",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelSource",
    "ModelSpec",
    "MultimodalSpec",
    "Muvera",
    "PoolingType",
    "ProviderError",
    "ProviderFallbackWarning",
    "Quantization",
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
    "gpu_status",
    "maxsim",
    "tensorrt_providers",
]
