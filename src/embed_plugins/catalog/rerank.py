"""Cross-encoder rerankers: the spec type and the supported models, as data.

One frozen :class:`CrossEncoderSpec` per model.  ``RERANK_MODELS[0]`` is the
default model (``Xenova/ms-marco-MiniLM-L-6-v2``, the first entry of fastembed's
rerank catalogue).

Conventions used in the comments above each entry:

* "listing" means the Hugging Face file listing of the repository
  (``https://huggingface.co/<repo>/tree/<rev>[/onnx]``), read through the
  stored copies of those pages; ``size_gb`` is the ONNX graph's size as the
  listing shows it (decimal GB).
* "fastembed" means qdrant/fastembed's rerank catalogue,
  ``fastembed/rerank/cross_encoder/onnx_text_cross_encoder.py``
  (``supported_onnx_models``), cited for cross-checking.  It uses the same
  repository and ``onnx/model.onnx`` for the first six models below; the two
  bge-reranker-v2-m3 entries come from onnx-community's export, as in fastembed.
* Every model here is a ``*ForSequenceClassification`` head with one label:
  the graph's first output is ``logits`` ``[batch, 1]``.  The name ``logits``
  is the exporters' convention (optimum / Transformers.js); the spec leaves
  ``output_name`` unset so the first output is read whatever its name.
* ``activation="none"``: scores are the raw logits, as fastembed returns them
  and as every card's ``compute_score`` / ``AutoModelForSequenceClassification``
  example returns them by default.  Callers who want a probability-like
  ``[0, 1]`` score (sentence-transformers' ``CrossEncoder`` default for one
  label, FlagEmbedding's ``normalize=True``) pass ``activation="sigmoid"``;
  the ordering is the same either way.
* ``max_length`` is the model's own limit (model card, or the position limit
  of ``config.json``).  It counts the whole pair, special tokens included;
  pairs longer than that are cut longest-first, as transformers does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from embed_plugins.catalog.spec import ModelSpec

from ..errors import InvalidArgumentError

Activation = Literal["none", "sigmoid"]
ACTIVATIONS: tuple[str, ...] = ("none", "sigmoid")


@dataclass(frozen=True, kw_only=True)
class CrossEncoderSpec(ModelSpec):
    """A cross-encoder: one relevance score per (query, document) pair.

    Attributes:
        output_name: ONNX output holding the logits (``[batch]`` or
            ``[batch, 1]``); ``None`` means the graph's first output.
        activation: What is applied to the logit by default: ``"none"``
            (raw logits, fastembed's behaviour) or ``"sigmoid"`` (for models
            trained with a binary cross-entropy objective whose users expect
            a score in ``[0, 1]``).  Callers can override it per model or
            per call.
    """

    output_name: str | None = None
    activation: Activation = "none"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.activation not in ACTIVATIONS:
            raise InvalidArgumentError(
                f"activation must be one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if self.max_length is not None and (
            isinstance(self.max_length, bool)
            or not isinstance(self.max_length, int)
            or self.max_length < 1
        ):
            raise InvalidArgumentError(
                f"max_length must be a positive int or None, got {self.max_length!r}"
            )

    @property
    def family(self) -> str:
        return "rerank"


_FASTEMBED = "qdrant/fastembed fastembed/rerank/cross_encoder/onnx_text_cross_encoder.py"

RERANK_MODELS: tuple[CrossEncoderSpec, ...] = (
    # Xenova/ms-marco-MiniLM-L-6-v2 (default model).
    # - repo/file: Transformers.js export of cross-encoder/ms-marco-MiniLM-L-6-v2; onnx/model.onnx
    #   91 MB, "Upload folder using huggingface_hub" (listing
    #   https://huggingface.co/Xenova/ms-marco-MiniLM-L-6-v2/tree/fec3517/onnx; the root holds
    #   config.json, tokenizer.json 711 kB, tokenizer_config.json, vocab.txt: listing tree/e746e4a).
    #   Base model set to cross-encoder/ms-marco-MiniLM-L-6-v2 by commit 801ca48 ("[Automated]
    #   Update base model metadata", commits/main).  fastembed: same repo and file, 0.08 GB.
    # - max_length 512: tokenizer_config.json model_max_length 512 of the cross-encoder repo
    #   (copy of "cross-encoder/ms-marco-MiniLM-L-6-v2" at
    #   https://huggingface.co/sabaimran/ms-marco-MiniLM-L-6-v2/blob/refs%2Fpr%2F1/
    #   tokenizer_config.json); BERT position limit 512.
    # - licence apache-2.0: cross-encoder/ms-marco-MiniLM-L-6-v2 card metadata; fastembed agrees.
    CrossEncoderSpec(
        model="Xenova/ms-marco-MiniLM-L-6-v2",
        hf_repo="Xenova/ms-marco-MiniLM-L-6-v2",
        model_file="onnx/model.onnx",
        max_length=512,
        license="apache-2.0",
        size_gb=0.091,
        description="MS MARCO MiniLM-L-6-v2 cross-encoder (English, 512 tokens), default model.",
        # Listing tree/fec3517/onnx: model_quantized.onnx 23.1 MB beside model.onnx.
        int8_files={"any": "onnx/model_quantized.onnx"},
        source=(
            "https://huggingface.co/Xenova/ms-marco-MiniLM-L-6-v2 (tree/main/onnx, commits); "
            "https://huggingface.co/cross-encoder/ms-marco-MiniLM-L-6-v2 (card); " + _FASTEMBED
        ),
    ),
    # Xenova/ms-marco-MiniLM-L-12-v2.
    # - repo/file: onnx/model.onnx 134 MB (listing
    #   https://huggingface.co/Xenova/ms-marco-MiniLM-L-12-v2/tree/main/onnx, "Upload folder using
    #   huggingface_hub").  fastembed: same repo and file, 0.12 GB.
    # - max_length 512: cross-encoder/ms-marco-MiniLM-L-12-v2 tokenizer_config.json
    #   model_max_length 512 (copy at https://huggingface.co/navteca/ms-marco-MiniLM-L-12-v2/blob/
    #   67d0e3a/tokenizer_config.json; M-Chimiste/MiniLM-L-12-StackOverflow's copy agrees).
    # - licence apache-2.0: cross-encoder/ms-marco-MiniLM-L-12-v2 card metadata.
    CrossEncoderSpec(
        model="Xenova/ms-marco-MiniLM-L-12-v2",
        hf_repo="Xenova/ms-marco-MiniLM-L-12-v2",
        model_file="onnx/model.onnx",
        max_length=512,
        license="apache-2.0",
        size_gb=0.134,
        description="MS MARCO MiniLM-L-12-v2 cross-encoder (English, 512 tokens).",
        # Same listing: model_quantized.onnx 34.2 MB beside model.onnx.
        int8_files={"any": "onnx/model_quantized.onnx"},
        source=(
            "https://huggingface.co/Xenova/ms-marco-MiniLM-L-12-v2 (tree/main/onnx); "
            "https://huggingface.co/cross-encoder/ms-marco-MiniLM-L-12-v2 (card); " + _FASTEMBED
        ),
    ),
    # BAAI/bge-reranker-base.
    # - repo/file: official onnx/model.onnx 1.11 GB, "add onnx files and readme for usage with onnx
    #   (#14)" (listing https://huggingface.co/BAAI/bge-reranker-base/tree/main/onnx); the root
    #   holds tokenizer.json 17.1 MB ("Add fast tokenizer (#5)"), config.json, tokenizer_config.json
    #   (listing tree/5804651).  fastembed: same repo and file, but size_in_GB 1.04; we record
    #   the listing's 1.11 GB.
    # - XLM-RoBERTa (config.json model_type xlm-roberta, max_position_embeddings 514, pad 1,
    #   type_vocab_size 1: copies of the config at ttkhang202/bge-reranker-base and
    #   Kitajiang/bge-finetune), so 512 tokens and no token_type_ids input.
    # - licence mit: card metadata ("License: mit" on every listing).
    CrossEncoderSpec(
        model="BAAI/bge-reranker-base",
        hf_repo="BAAI/bge-reranker-base",
        model_file="onnx/model.onnx",
        max_length=512,
        license="mit",
        size_gb=1.11,
        description="BGE reranker base (English and Chinese, XLM-R, 512 tokens).",
        source=(
            "https://huggingface.co/BAAI/bge-reranker-base (card, tree/main, tree/main/onnx); "
            + _FASTEMBED
        ),
    ),
    # jinaai/jina-reranker-v1-tiny-en.
    # - repo/file: onnx/model.onnx 132 MB, "chore: restruct onnx file" (listing
    #   https://huggingface.co/jinaai/jina-reranker-v1-tiny-en/tree/main/onnx); root tokenizer.json
    #   2.03 MB (listing tree/eb9c945).  fastembed: same repo and file, 0.13 GB.
    # - JinaBERT with ALiBi, 4 layers, hidden 384: model card table; 8,192 tokens: card ("up to
    #   an impressive 8,192 tokens", the same JinaBERT text as -turbo) and fastembed ("8K context
    #   length").  The turbo repo's tokenizer_config.json asks for less (its open PR
    #   discussions/8: "Tokenizer max length should be 8192 to match model description"); this
    #   repo's was not read.  We follow the card.  Callers may want a practical lower cap
    #   (max_length=) for memory: attention is quadratic in the pair length.
    # - licence apache-2.0: card metadata.
    CrossEncoderSpec(
        model="jinaai/jina-reranker-v1-tiny-en",
        hf_repo="jinaai/jina-reranker-v1-tiny-en",
        model_file="onnx/model.onnx",
        max_length=8192,
        license="apache-2.0",
        size_gb=0.132,
        description="Jina reranker v1 tiny (English, JinaBERT/ALiBi, 8192 tokens, 4 layers).",
        source=(
            "https://huggingface.co/jinaai/jina-reranker-v1-tiny-en (card, tree/main/onnx); "
            + _FASTEMBED
        ),
    ),
    # jinaai/jina-reranker-v1-turbo-en.
    # - repo/file: onnx/model.onnx 151 MB, "chore: restruct onnx file" (listing
    #   https://huggingface.co/jinaai/jina-reranker-v1-turbo-en/tree/main/onnx); root tokenizer.json
    #   2.03 MB (listing tree/7884ec1).  fastembed: same repo and file, 0.15 GB.
    # - 6 layers, hidden 384, 37.8 M parameters, "up to an impressive 8,192 tokens": model card
    #   (https://huggingface.co/jinaai/jina-reranker-v1-turbo-en); config.json
    #   max_position_embeddings 8192, position_embedding_type alibi (copy at
    #   corto-ai/jina-reranker-v1-turbo-en-onnx).  Same tokenizer_config and memory notes as -tiny.
    # - licence apache-2.0: card metadata.
    CrossEncoderSpec(
        model="jinaai/jina-reranker-v1-turbo-en",
        hf_repo="jinaai/jina-reranker-v1-turbo-en",
        model_file="onnx/model.onnx",
        max_length=8192,
        license="apache-2.0",
        size_gb=0.151,
        description="Jina reranker v1 turbo (English, JinaBERT/ALiBi, 8192 tokens, 6 layers).",
        source=(
            "https://huggingface.co/jinaai/jina-reranker-v1-turbo-en (card, tree/main/onnx, "
            "discussions/8); " + _FASTEMBED
        ),
    ),
    # jinaai/jina-reranker-v2-base-multilingual.
    # - repo/file: onnx/model.onnx 1.11 GB, "Upload ONNX weights (+ Transformers.js integration)
    #   (#9)" by Xenova (listing
    #   https://huggingface.co/jinaai/jina-reranker-v2-base-multilingual/tree/main/onnx).
    #   fastembed: same repo and file, 1.11 GB.
    # - 1024 tokens: model card ("context length of up to 1024 tokens"); config.json
    #   max_position_embeddings 1026 with pad_token_id 1 (XLM-R numbering: 1024 usable),
    #   type_vocab_size 1, num_labels 1 (blob 8bb94e2/config.json).  The card's compute_score
    #   splits longer documents into 1024-token windows ("sliding window approach"); like
    #   fastembed, we truncate at 1024 instead.
    # - licence cc-by-nc-4.0 (NON-COMMERCIAL): card metadata; fastembed agrees.
    CrossEncoderSpec(
        model="jinaai/jina-reranker-v2-base-multilingual",
        hf_repo="jinaai/jina-reranker-v2-base-multilingual",
        model_file="onnx/model.onnx",
        max_length=1024,
        license="cc-by-nc-4.0",
        size_gb=1.11,
        description=(
            "Jina reranker v2 base multilingual (XLM-R, 1024 tokens); licence cc-by-nc-4.0, "
            "non-commercial use only."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-reranker-v2-base-multilingual (card, config.json, "
            "tree/main/onnx); " + _FASTEMBED
        ),
    ),
    # BAAI/bge-reranker-v2-m3.
    # - repo/files/size: fastembed (hf onnx-community/bge-reranker-v2-m3-ONNX, onnx/model.onnx +
    #   onnx/model.onnx_data, 2.27 GB: fastembed's figure; no listing read).  The official
    #   repository holds no ONNX graph known here.
    # - XLM-RoBERTa cross-encoder initialised from BGE-M3, 568M parameters, one logit
    #   (XLMRobertaForSequenceClassification): model card
    #   (https://huggingface.co/BAAI/bge-reranker-v2-m3: "Lightweight reranker model, possesses
    #   strong multilingual capabilities"; scores are logits, mapped to [0, 1] by a sigmoid only
    #   with normalize=True), so activation "none", as fastembed returns them.
    # - max_length 512: every usage of the card truncates pairs there (the transformers example
    #   tokenizes with max_length=512; FlagReranker's default max_length is 512).  fastembed
    #   truncates at the tokenizer's limit instead (BGE-M3's positions allow 8192); pass
    #   max_length= for longer pairs.
    # - licence apache-2.0: card metadata; fastembed agrees.
    CrossEncoderSpec(
        model="BAAI/bge-reranker-v2-m3",
        hf_repo="onnx-community/bge-reranker-v2-m3-ONNX",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data",),
        max_length=512,
        license="apache-2.0",
        size_gb=2.27,
        description="BGE reranker v2 m3 (multilingual, XLM-R from BGE-M3, 512 tokens).",
        int8_files={"any": "onnx/model_int8.onnx"},  # the -int8 entry's graph
        source=(
            "https://huggingface.co/BAAI/bge-reranker-v2-m3 (card); "
            "https://huggingface.co/onnx-community/bge-reranker-v2-m3-ONNX; " + _FASTEMBED
        ),
    ),
    # BAAI/bge-reranker-v2-m3-int8 (fastembed's name for the int8 graph of the same export).
    # - repo/file/size: fastembed (same repository, onnx/model_int8.onnx, no additional files,
    #   0.57 GB: fastembed's figure).  Dynamically quantised weights, so scores differ slightly
    #   from the full-precision graph's.
    # - everything else as BAAI/bge-reranker-v2-m3 above.
    CrossEncoderSpec(
        model="BAAI/bge-reranker-v2-m3-int8",
        hf_repo="onnx-community/bge-reranker-v2-m3-ONNX",
        model_file="onnx/model_int8.onnx",
        max_length=512,
        license="apache-2.0",
        size_gb=0.57,
        description="BGE reranker v2 m3, int8 graph (multilingual, XLM-R, 512 tokens).",
        source=(
            "https://huggingface.co/BAAI/bge-reranker-v2-m3 (card); "
            "https://huggingface.co/onnx-community/bge-reranker-v2-m3-ONNX; " + _FASTEMBED
        ),
    ),
)
