"""Qdrant's Constella models: two query encoders and the Stella document tower they share.

An asymmetric dual encoder: documents are embedded once with
``Qdrant/stella-en-400M-v5-doc-onnx`` (NovaSearch/stella_en_400M_v5's document path),
and queries with either ``Qdrant/constella-nano`` (a 34.5M-parameter transformer, fastembed says) or
``Qdrant/constella-zero`` (a lookup table, no transformer).  The three only make sense
together: a query vector of either query encoder is compared with document vectors of
the Stella tower, never with vectors of its own kind.  All three are English,
1024-dimensional, unit length, truncate at 512 tokens and take no prefix.

Part of ``DENSE_MODELS`` (see :mod:`embed_plugins.catalog.dense`, whose comment
conventions these entries follow).  Sources:

* "fastembed" is qdrant/fastembed 0.9.1 as installed in the development venv: zero and
  the document tower in ``fastembed/text/onnx_embedding.py`` (``OnnxTextEmbedding``: a
  2-D first output is taken as it is, then L2), nano in
  ``fastembed/text/pooled_normalized_embedding.py`` (attention-masked mean, then L2).
* "the release repository" is github.com/Dylancouzon/asymmetric-dual-encoders, where the
  three were built and published (first under DylanCouzon/ on Hugging Face, then moved to
  Qdrant/ with the same files): the cards ``m11/release/MODEL_CARD.md`` (zero),
  ``m11/release/MODEL_CARD_DOC.md`` (document tower) and ``m14/MODEL_CARD.md`` (nano), and
  ``m14/FINDINGS.md`` ("constella-zero and stella-en-400M-v5-doc-onnx emit already-pooled,
  normalized two-dimensional vectors from their graphs ... Nano alone emits per-token
  vectors and therefore needs FastEmbed's masked-mean-plus-normalization family").
"""

from __future__ import annotations

from embed_plugins.catalog.spec import DenseSpec

_RELEASE = "https://github.com/Dylancouzon/asymmetric-dual-encoders"
_ONNX_EMBEDDING = "qdrant/fastembed fastembed/text/onnx_embedding.py"
_POOLED_NORMALIZED = "qdrant/fastembed fastembed/text/pooled_normalized_embedding.py"

CONSTELLA_MODELS: tuple[DenseSpec, ...] = (
    # Qdrant/constella-nano (query encoder).
    # - repo/file/size: fastembed pooled_normalized_embedding.py (hf Qdrant/constella-nano,
    #   model.onnx, 0.14 GB: fastembed's figure; the card's cost table gives 132.3 MiB of model
    #   assets).  Licence MIT (card, fastembed).
    # - output: token embeddings (the release's m14/FINDINGS.md: "Nano's frozen graph
    #   intentionally emits token_embeddings"), the graph's first output, which fastembed reads;
    #   "the serving layer" applies attention-masked mean pooling then L2 (nano card, "How it
    #   works").  bge-small-en-v1.5 backbone with a three-layer feature tap and a linear head
    #   into the 1024-d Stella document space (card).
    # - no prefix ("Nano needs no query prefix"), right-truncated at 512 tokens, English: card.
    DenseSpec(
        model="Qdrant/constella-nano",
        hf_repo="Qdrant/constella-nano",
        model_file="model.onnx",
        dim=1024,
        pooling="mean",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=0.14,
        description=(
            "Constella nano: query encoder (34.5M parameters) into the document space of "
            "Qdrant/stella-en-400M-v5-doc-onnx; 1024-d, mean pooling, 512 tokens."
        ),
        source=(
            "https://huggingface.co/Qdrant/constella-nano (card: "
            + _RELEASE
            + " m14/MODEL_CARD.md, "
            "m14/FINDINGS.md); " + _POOLED_NORMALIZED
        ),
    ),
    # Qdrant/constella-zero (query encoder).
    # - repo/file/size: fastembed onnx_embedding.py (hf Qdrant/constella-zero, model.onnx,
    #   0.03 GB); the card's file table: model.onnx 31 MB, "pooled normalized (batch, 1024)
    #   output" (the repository also holds model_tokens.onnx with token-level output and
    #   model.npz, not fetched).  Licence MIT (card, fastembed).
    # - pooling "none": "Pooling and L2 normalization happen inside the graph" (card): a 30,522 x
    #   1024 int8 table of the bge-small WordPiece vocabulary, a token seen c times weighted
    #   sqrt(c), summed, divided by the weights, L2-normalised.  fastembed passes a 2-D output
    #   through and normalises it again (no change); so do we.
    # - no prefix, special tokens on, truncation at 512 tokens, English: card ("How it works",
    #   provenance "prefix="" · special tokens · max_length=512").
    DenseSpec(
        model="Qdrant/constella-zero",
        hf_repo="Qdrant/constella-zero",
        model_file="model.onnx",
        dim=1024,
        pooling="none",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=0.03,
        description=(
            "Constella zero: query encoder with no transformer (a token lookup table) into the "
            "document space of Qdrant/stella-en-400M-v5-doc-onnx; 1024-d, 512 tokens."
        ),
        source=(
            "https://huggingface.co/Qdrant/constella-zero (card: " + _RELEASE + " "
            "m11/release/MODEL_CARD.md); " + _ONNX_EMBEDDING
        ),
    ),
    # Qdrant/stella-en-400M-v5-doc-onnx (document tower).
    # - repo/file/size: fastembed onnx_embedding.py (hf Qdrant/stella-en-400M-v5-doc-onnx,
    #   model.onnx, 1.75 GB); the card: fp32 model.onnx "about 1.75 GB", no external data,
    #   inputs input_ids and attention_mask (no token_type_ids), output "(batch, 1024)"
    #   normalised.  ONNX conversion of NovaSearch/stella_en_400M_v5 at ffeb2b7; licence MIT.
    # - pooling "none": the graph computes "masked mean over last_hidden_state -> 2_Dense_1024 ->
    #   L2 normalization" (card); fastembed takes the 2-D output as it is and normalises again.
    # - no prefixes: "this artifact is for documents only" and "does not apply Stella's query
    #   prompt" (card); queries go to constella-nano or constella-zero.  Using it for queries
    #   as a plain Stella encoder would need Stella's s2p_query prompt, which the card says not
    #   to rely on here, so none is set.  512 tokens: card ("Inputs are truncated at 512").
    DenseSpec(
        model="Qdrant/stella-en-400M-v5-doc-onnx",
        hf_repo="Qdrant/stella-en-400M-v5-doc-onnx",
        model_file="model.onnx",
        dim=1024,
        pooling="none",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=1.75,
        description=(
            "stella_en_400M_v5 document tower (documents only) for the Constella query "
            "encoders; 1024-d, pooled in the graph, 512 tokens."
        ),
        source=(
            "https://huggingface.co/Qdrant/stella-en-400M-v5-doc-onnx (card: " + _RELEASE + " "
            "m11/release/MODEL_CARD_DOC.md); " + _ONNX_EMBEDDING
        ),
    ),
)
