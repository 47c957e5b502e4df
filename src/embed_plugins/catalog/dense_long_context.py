"""Long-context dense models (8192 tokens): Jina v2, nomic v1 / v1.5-Q, IBM Granite r2.

Part of ``DENSE_MODELS`` (see :mod:`embed_plugins.catalog.dense`, whose comment
conventions these entries follow).  "fastembed" is qdrant/fastembed 0.9.1 as installed
in the development venv: ``fastembed/text/pooled_normalized_embedding.py``
(attention-masked mean of the first output, then L2), ``pooled_embedding.py`` (the same
mean, no L2) and ``builtin_sentence_embedding.py`` (``BuiltinSentenceEmbedding``: the
graph's second output, ``sentence_embedding``, returned as it is).

8192 tokens is each model's own limit; attention memory grows with the square of the
length, so callers embedding long texts may want a lower ``max_length``
(``spec.replace(max_length=...)`` or the constructor's ``max_length=``).
"""

from __future__ import annotations

from embed_plugins.catalog.dense_common import LAST_HIDDEN as _LAST_HIDDEN
from embed_plugins.catalog.dense_common import SENTENCE_EMBEDDING
from embed_plugins.catalog.spec import DenseSpec

_POOLED = "qdrant/fastembed fastembed/text/pooled_embedding.py"
_POOLED_NORMALIZED = "qdrant/fastembed fastembed/text/pooled_normalized_embedding.py"
_BUILTIN = "qdrant/fastembed fastembed/text/builtin_sentence_embedding.py"

# The Jina v2 bilingual "base" models below share one set of facts:
# - repo/file/size: fastembed pooled_normalized_embedding.py (hf jinaai/<model>, the official
#   repository, onnx/model.onnx, no additional files, 0.64 GB each: fastembed's figure).
# - output: the graph's first output, as fastembed reads.  It holds token states: fastembed
#   mean-pools it with the attention mask, which a pooled (batch, dim) output could not go
#   through (the masked mean needs a sequence axis); its name was not read.
# - dim 768, mean pooling + L2, no prefixes, 8192 tokens (JinaBERT with ALiBi), licence
#   apache-2.0: the model cards (https://huggingface.co/jinaai/<model>: mean_pooling then
#   F.normalize, "sequence length of 8192") and fastembed (mean + normalize, "8192 input
#   tokens truncation", "Prefixes for queries/documents: not necessary").

LONG_CONTEXT_MODELS: tuple[DenseSpec, ...] = (
    # jinaai/jina-embeddings-v2-small-en.
    # - repo/file: the official repo's root model.onnx was re-uploaded as "add onnx weight with mean
    #   pooling" (commit history
    #   https://huggingface.co/jinaai/jina-embeddings-v2-small-en/commits/4d0c105/model.onnx), i.e.
    #   a graph that already pools, with an output name we could not read.  We use the known
    #   Transformers.js export instead, as fastembed does: Xenova/jina-embeddings-v2-small-en
    #   onnx/model.onnx, 130 MB (listing
    #   https://huggingface.co/Xenova/jina-embeddings-v2-small-en/tree/main/onnx), which outputs
    #   token states.  That repo has no sentence-transformers files.
    # - dim 512, mean pooling + L2, no prefixes, 8192 tokens (ALiBi; trained at 512): model card
    #   (https://huggingface.co/jinaai/jina-embeddings-v2-small-en) and fastembed
    #   pooled_normalized_embedding.py ("8192 input tokens truncation"). Callers may want a
    #   practical lower cap for memory.  Licence apache-2.0.
    DenseSpec(
        model="jinaai/jina-embeddings-v2-small-en",
        hf_repo="Xenova/jina-embeddings-v2-small-en",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=512,
        pooling="mean",
        normalize=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.13,
        description=(
            "Jina embeddings v2 small English: 512-d, mean pooling, 8192 tokens, no prefixes."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-embeddings-v2-small-en (card); "
            "https://huggingface.co/Xenova/jina-embeddings-v2-small-en "
            "(tree/main/onnx); "
            "qdrant/fastembed fastembed/text/pooled_normalized_embedding.py"
        ),
        sentence_transformers_files=False,
    ),
    # jinaai/jina-embeddings-v2-base-en.
    # - repo/file/size: Transformers.js export Xenova/jina-embeddings-v2-base-en onnx/model.onnx,
    #   as fastembed uses (pooled_normalized_embedding.py, 0.52 GB: fastembed's figure), for the
    #   reason given for -small-en above; output last_hidden_state by that exporter's convention.
    # - dim 768, mean + L2, no prefixes, 8192 tokens, apache-2.0: model card
    #   (https://huggingface.co/jinaai/jina-embeddings-v2-base-en) and fastembed.
    DenseSpec(
        model="jinaai/jina-embeddings-v2-base-en",
        hf_repo="Xenova/jina-embeddings-v2-base-en",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=768,
        pooling="mean",
        normalize=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.52,
        description=(
            "Jina embeddings v2 base English: 768-d, mean pooling, 8192 tokens, no prefixes."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-embeddings-v2-base-en (card); "
            "https://huggingface.co/Xenova/jina-embeddings-v2-base-en; " + _POOLED_NORMALIZED
        ),
    ),
    # jinaai/jina-embeddings-v2-base-de: German-English bilingual (card).  Shared facts above.
    DenseSpec(
        model="jinaai/jina-embeddings-v2-base-de",
        hf_repo="jinaai/jina-embeddings-v2-base-de",
        model_file="onnx/model.onnx",
        dim=768,
        pooling="mean",
        normalize=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.64,
        description=(
            "Jina embeddings v2 base German-English: 768-d, mean pooling, 8192 tokens, no prefixes."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-embeddings-v2-base-de (card); " + _POOLED_NORMALIZED
        ),
    ),
    # jinaai/jina-embeddings-v2-base-code: English and 30 programming languages (card,
    # fastembed).  Shared facts above.
    DenseSpec(
        model="jinaai/jina-embeddings-v2-base-code",
        hf_repo="jinaai/jina-embeddings-v2-base-code",
        model_file="onnx/model.onnx",
        dim=768,
        pooling="mean",
        normalize=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.64,
        description=(
            "Jina embeddings v2 base code: English and 30 programming languages, 768-d, mean "
            "pooling, 8192 tokens."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-embeddings-v2-base-code (card); "
            + _POOLED_NORMALIZED
        ),
    ),
    # jinaai/jina-embeddings-v2-base-zh: Chinese-English bilingual (card).  Shared facts above.
    DenseSpec(
        model="jinaai/jina-embeddings-v2-base-zh",
        hf_repo="jinaai/jina-embeddings-v2-base-zh",
        model_file="onnx/model.onnx",
        dim=768,
        pooling="mean",
        normalize=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.64,
        description=(
            "Jina embeddings v2 base Chinese-English: 768-d, mean pooling, 8192 tokens, "
            "no prefixes."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-embeddings-v2-base-zh (card); " + _POOLED_NORMALIZED
        ),
    ),
    # jinaai/jina-embeddings-v2-base-es: Spanish-English bilingual (card).  Shared facts above.
    DenseSpec(
        model="jinaai/jina-embeddings-v2-base-es",
        hf_repo="jinaai/jina-embeddings-v2-base-es",
        model_file="onnx/model.onnx",
        dim=768,
        pooling="mean",
        normalize=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.64,
        description=(
            "Jina embeddings v2 base Spanish-English: 768-d, mean pooling, 8192 tokens, "
            "no prefixes."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-embeddings-v2-base-es (card); " + _POOLED_NORMALIZED
        ),
    ),
    # nomic-ai/nomic-embed-text-v1.
    # - repo/file/size: fastembed pooled_embedding.py (hf nomic-ai/nomic-embed-text-v1, the
    #   official repository, onnx/model.onnx, 0.52 GB: fastembed's figure).  Its
    #   sentence-transformers files came with tomaarsen's PR (discussions/1 of that repository).
    # - dim 768, mean pooling + L2, "search_query: " / "search_document: ", 8192 tokens,
    #   apache-2.0: model card (https://huggingface.co/nomic-ai/nomic-embed-text-v1: mean_pooling
    #   then F.normalize).  No Matryoshka training (that came with v1.5).  fastembed does not
    #   normalise this model; the card does, so we do (as for v1.5).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="nomic-ai/nomic-embed-text-v1",
        hf_repo="nomic-ai/nomic-embed-text-v1",
        model_file="onnx/model.onnx",
        dim=768,
        pooling="mean",
        normalize=True,
        query_prefix="search_query: ",
        passage_prefix="search_document: ",
        max_length=8192,
        license="apache-2.0",
        size_gb=0.52,
        description=(
            "nomic-embed-text-v1: 768-d, mean pooling, 8192 tokens, search_query:/search_document:."
        ),
        source="https://huggingface.co/nomic-ai/nomic-embed-text-v1 (card); " + _POOLED,
        sentence_transformers_files=True,
    ),
    # nomic-ai/nomic-embed-text-v1.5-Q (fastembed's name for the quantised graph).
    # - repo/file: nomic-ai/nomic-embed-text-v1.5 onnx/model_quantized.onnx, 138 MB, uploaded
    #   with onnx/model.onnx by the same Xenova PR (#3) cited for v1.5 in catalog/dense.py;
    #   fastembed pooled_embedding.py uses the same repo and file (0.13 GB).
    # - everything else as nomic-embed-text-v1.5 in catalog/dense.py (card: mean + L2, prefixes,
    #   Matryoshka with its layer norm, 8192 tokens, apache-2.0); int8 weights, so vectors
    #   differ slightly from the full-precision graph's.  fastembed does not normalise; the card
    #   does, so we do.
    DenseSpec(
        model="nomic-ai/nomic-embed-text-v1.5-Q",
        hf_repo="nomic-ai/nomic-embed-text-v1.5",
        model_file="onnx/model_quantized.onnx",
        output_name=_LAST_HIDDEN,
        dim=768,
        pooling="mean",
        normalize=True,
        query_prefix="search_query: ",
        passage_prefix="search_document: ",
        matryoshka_dims=(768, 512, 256, 128, 64),
        matryoshka_layer_norm=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.138,
        description=(
            "nomic-embed-text-v1.5, int8-quantised graph: 768-d Matryoshka (to 64), 8192 tokens, "
            "search_query:/search_document:."
        ),
        source=("https://huggingface.co/nomic-ai/nomic-embed-text-v1.5 (card, onnx/); " + _POOLED),
        sentence_transformers_files=True,
    ),
    # ibm-granite/granite-embedding-small-english-r2.
    # - repo/files/size: fastembed builtin_sentence_embedding.py (hf
    #   onnx-community/granite-embedding-small-english-r2-ONNX, onnx/model.onnx +
    #   onnx/model.onnx_data, 0.18 GB: fastembed's figure).
    # - output sentence_embedding: fastembed reads the graph's second output and returns it as it
    #   is; sentence_embedding is the name onnx-community's sentence-transformers exports give
    #   that output (the whole pipeline: here CLS pooling; see catalog/dense_common.py).  A graph
    #   without it is refused at load.
    # - dim 384, no prefixes, 8192 tokens (ModernBERT), apache-2.0: model card
    #   (https://huggingface.co/ibm-granite/granite-embedding-small-english-r2: 47M parameters,
    #   "embedding vectors of size 384 based on context length of upto 8192 tokens", compared
    #   with cosine similarity) and fastembed.  CLS pooling: the Granite Embedding R2 report
    #   (arXiv 2508.21085, bi-encoders embed with the [CLS] token); it happens inside the graph,
    #   so the spec does not depend on it.
    # - normalize False: fastembed "embeddings are not normalized" (it returns the graph's output
    #   unchanged); cosine similarity, which the card uses, is unaffected.
    DenseSpec(
        model="ibm-granite/granite-embedding-small-english-r2",
        hf_repo="onnx-community/granite-embedding-small-english-r2-ONNX",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data",),
        output_name=SENTENCE_EMBEDDING,
        dim=384,
        pooling="none",
        normalize=False,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.18,
        description=(
            "IBM Granite embedding small English r2 (ModernBERT): 384-d, CLS pooling in the "
            "graph, 8192 tokens, not normalised."
        ),
        source=(
            "https://huggingface.co/ibm-granite/granite-embedding-small-english-r2 (card); "
            "https://huggingface.co/onnx-community/granite-embedding-small-english-r2-ONNX; "
            + _BUILTIN
        ),
    ),
)
