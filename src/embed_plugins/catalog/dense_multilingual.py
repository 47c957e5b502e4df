"""Multilingual dense models: BGE small zh, paraphrase-multilingual-mpnet, EmbeddingGemma,
Qwen3-Embedding.

Part of ``DENSE_MODELS`` (see :mod:`embed_plugins.catalog.dense`, whose comment
conventions these entries follow).  "fastembed" is qdrant/fastembed 0.9.1 as installed
in the development venv: ``fastembed/text/onnx_embedding.py`` (first token of a 3-D
first output, then L2), ``pooled_embedding.py`` (attention-masked mean, no L2),
``builtin_sentence_embedding.py`` (the graph's second output, ``sentence_embedding``,
returned as it is) and ``last_token_normalized_embedding.py`` (the last token the
attention mask marks, whichever side is padded, then L2).

Where fastembed and the model's own reference (model card, sentence-transformers
configuration) differ, the entry follows the reference and says so: fastembed applies
no query or document prompt to any of these models.
"""

from __future__ import annotations

from embed_plugins.catalog.dense_common import LAST_HIDDEN, SENTENCE_EMBEDDING
from embed_plugins.catalog.spec import DenseSpec

_FASTEMBED = "qdrant/fastembed fastembed/text/"

#: Qwen3-Embedding's query prompt: the "query" entry of config_sentence_transformers.json
#: (https://huggingface.co/Qwen/Qwen3-Embedding-0.6B/blob/main/config_sentence_transformers.json),
#: which is the card's ``get_detailed_instruct(task, query) = f"Instruct: {task}\nQuery:{query}"``
#: with the card's web-search task.  Documents get no prompt.  No space after "Query:".
QWEN3_QUERY_PROMPT = (
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"
)

MULTILINGUAL_MODELS: tuple[DenseSpec, ...] = (
    # BAAI/bge-small-zh-v1.5.
    # - repo/file/size: fastembed onnx_embedding.py (hf Qdrant/bge-small-zh-v1.5,
    #   model_optimized.onnx, 0.09 GB: fastembed's figure), Qdrant's optimised export; no
    #   official ONNX graph of this repository is known here.
    # - dim 512 (fastembed; the BGE model list: bge-small-zh-v1.5 is 512-d), CLS + L2, 512
    #   tokens: BGE model card (https://huggingface.co/BAAI/bge-small-zh-v1.5) and fastembed.
    # - query instruction "为这个句子生成表示以用于检索相关文章：" (full-width colon), none for
    #   passages: the BGE model list's instruction for the Chinese models, as for the English
    #   v1.5 models (fastembed: "not so necessary"; it applies none).  Licence MIT (card).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="BAAI/bge-small-zh-v1.5",
        hf_repo="Qdrant/bge-small-zh-v1.5",
        model_file="model_optimized.onnx",
        dim=512,
        pooling="cls",
        normalize=True,
        query_prefix="为这个句子生成表示以用于检索相关文章：",
        max_length=512,
        license="mit",
        size_gb=0.09,
        description=(
            "BGE small Chinese v1.5: 512-d, CLS pooling, 512 tokens, Chinese query instruction."
        ),
        source=(
            "https://huggingface.co/BAAI/bge-small-zh-v1.5 (card); "
            "https://huggingface.co/Qdrant/bge-small-zh-v1.5; " + _FASTEMBED + "onnx_embedding.py"
        ),
    ),
    # sentence-transformers/paraphrase-multilingual-mpnet-base-v2.
    # - repo/file/size: Transformers.js export Xenova/paraphrase-multilingual-mpnet-base-v2
    #   onnx/model.onnx, as fastembed uses (pooled_embedding.py, 1.00 GB: fastembed's figure);
    #   output last_hidden_state by that exporter's convention.  It carries no
    #   sentence-transformers files.
    # - dim 768 (XLM-R base), mean pooling, NO L2, no prefixes: the model card's architecture
    #   (Transformer + Pooling(mean), no Normalize module) and fastembed (mean, no normalize).
    # - max_length 128: max_seq_length of the card's architecture line (as for
    #   paraphrase-multilingual-MiniLM-L12-v2 in catalog/dense.py); UNVERIFIED by a direct read
    #   of sentence_bert_config.json.  fastembed says "512 input tokens truncation" (the
    #   tokenizer's limit); we follow the model's configuration.  Licence apache-2.0 (card).
    DenseSpec(
        model="sentence-transformers/paraphrase-multilingual-mpnet-base-v2",
        hf_repo="Xenova/paraphrase-multilingual-mpnet-base-v2",
        model_file="onnx/model.onnx",
        output_name=LAST_HIDDEN,
        dim=768,
        pooling="mean",
        normalize=False,
        max_length=128,
        license="apache-2.0",
        size_gb=1.0,
        description=(
            "paraphrase-multilingual-mpnet-base-v2: 768-d, ~50 languages, mean pooling, no L2."
        ),
        source=(
            "https://huggingface.co/sentence-transformers/paraphrase-multilingual-mpnet-base-v2 "
            "(card); https://huggingface.co/Xenova/paraphrase-multilingual-mpnet-base-v2; "
            + _FASTEMBED
            + "pooled_embedding.py"
        ),
    ),
    # google/embeddinggemma-300m.
    # - repo/files/size: fastembed builtin_sentence_embedding.py (hf
    #   onnx-community/embeddinggemma-300m-ONNX, onnx/model.onnx + onnx/model.onnx_data,
    #   1.24 GB: fastembed's figure); the repository's first commit (75a84c7, co-authored by
    #   Xenova and Google) lists those files beside fp16/q4/quantized variants and the tokenizer.
    # - output sentence_embedding, pooled inside the graph: fastembed reads the graph's second
    #   output and returns it unchanged; the export carries the whole sentence-transformers
    #   pipeline, which is Transformer (max_seq_length 2048) -> Pooling(mean, include_prompt) ->
    #   Dense 768->3072 -> Dense 3072->768 -> Normalize() (printed in Google's "Gemma explained:
    #   EmbeddingGemma Architecture and Recipe", developers.googleblog.com, 2025-09-29).  So the
    #   vector is already unit length; normalize=True changes nothing and makes truncate_dim
    #   re-normalise, as the card's Matryoshka recipe asks.
    # - prompts: query "task: search result | query: ", document "title: none | text: " (model
    #   card, https://huggingface.co/google/embeddinggemma-300m: encode_query / encode_document
    #   prompts for retrieval, "none" when there is no title).  fastembed's description names
    #   them but applies neither; we follow the card.
    # - dim 768, Matryoshka 512/256/128 ("truncate ... then re-normalize"), 2048 tokens: card.
    #   The card also says the model does not support float16 activations: this is the fp32
    #   graph.  Licence: Gemma terms of use ("gemma", as fastembed says).
    DenseSpec(
        model="google/embeddinggemma-300m",
        hf_repo="onnx-community/embeddinggemma-300m-ONNX",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data",),
        output_name=SENTENCE_EMBEDDING,
        dim=768,
        pooling="none",
        normalize=True,
        query_prefix="task: search result | query: ",
        passage_prefix="title: none | text: ",
        matryoshka_dims=(768, 512, 256, 128),
        max_length=2048,
        license="gemma",
        size_gb=1.24,
        description=(
            "EmbeddingGemma 300M: 768-d Matryoshka (to 128), 100+ languages, 2048 tokens, "
            "card prompts for queries and documents."
        ),
        source=(
            "https://huggingface.co/google/embeddinggemma-300m (card); "
            "https://huggingface.co/onnx-community/embeddinggemma-300m-ONNX; "
            "https://developers.googleblog.com/en/gemma-explained-embeddinggemma-architecture-"
            "and-recipe/; " + _FASTEMBED + "builtin_sentence_embedding.py"
        ),
    ),
    # Qwen/Qwen3-Embedding-0.6B.
    # - repo/files/size: fastembed last_token_normalized_embedding.py (hf
    #   Qdrant/Qwen3-Embedding-0.6B-onnx, onnx/model.onnx + onnx/model.onnx_data, 2.38 GB:
    #   fastembed's figure).  fastembed feeds it input_ids and attention_mask only.
    # - output: the graph's first output (token states), as fastembed reads; name not read.
    # - last-token pooling then L2, dim 1024, 32K context: model card
    #   (https://huggingface.co/Qwen/Qwen3-Embedding-0.6B: last_token_pool then F.normalize;
    #   "Context Length: 32k") and fastembed ("32768 input tokens truncation").  We pad on the
    #   right; the last real token of a causal model sees no padding after it, and the pooling
    #   finds it from the attention mask (as fastembed's does, for either side).
    # - query prompt QWEN3_QUERY_PROMPT (above), no document prompt: the card and its
    #   sentence-transformers configuration.  fastembed names the format in its description but
    #   applies no prompt; we follow the card.  Other tasks: spec.replace(query_prefix=...).
    # - The card's MRL allows any output size from 32 to 1024 (truncate_dim re-normalises); it
    #   names no fixed list, so matryoshka_dims stays empty.  Licence apache-2.0 (card).
    DenseSpec(
        model="Qwen/Qwen3-Embedding-0.6B",
        hf_repo="Qdrant/Qwen3-Embedding-0.6B-onnx",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data",),
        dim=1024,
        pooling="last_token",
        normalize=True,
        query_prefix=QWEN3_QUERY_PROMPT,
        max_length=32768,
        license="apache-2.0",
        size_gb=2.38,
        int8_files={"any": "onnx/model_quantized.onnx"},  # the -Q entry's graph
        description=(
            "Qwen3-Embedding-0.6B: 1024-d, 100+ languages, last-token pooling, 32768 tokens, "
            "web-search query instruction."
        ),
        source=(
            "https://huggingface.co/Qwen/Qwen3-Embedding-0.6B (card, "
            "config_sentence_transformers.json); "
            "https://huggingface.co/Qdrant/Qwen3-Embedding-0.6B-onnx; "
            + _FASTEMBED
            + "last_token_normalized_embedding.py"
        ),
    ),
    # Qwen/Qwen3-Embedding-0.6B-Q (fastembed's name for the int8 graph).
    # - repo/file/size: fastembed last_token_normalized_embedding.py (same repository,
    #   onnx/model_quantized.onnx, no additional files, 1.12 GB: fastembed's figure).  Its int8
    #   weights are 8-bit MatMulNBits, which onnxruntime implements since 1.23 (fastembed's
    #   note; older versions fail to load it with "nbits_ == 4 was false").
    # - everything else as Qwen3-Embedding-0.6B above; vectors differ slightly from the
    #   full-precision graph's.
    DenseSpec(
        model="Qwen/Qwen3-Embedding-0.6B-Q",
        hf_repo="Qdrant/Qwen3-Embedding-0.6B-onnx",
        model_file="onnx/model_quantized.onnx",
        dim=1024,
        pooling="last_token",
        normalize=True,
        query_prefix=QWEN3_QUERY_PROMPT,
        max_length=32768,
        license="apache-2.0",
        size_gb=1.12,
        description=(
            "Qwen3-Embedding-0.6B, int8 graph (needs onnxruntime>=1.23): 1024-d, last-token "
            "pooling, 32768 tokens, web-search query instruction."
        ),
        source=(
            "https://huggingface.co/Qwen/Qwen3-Embedding-0.6B (card); "
            "https://huggingface.co/Qdrant/Qwen3-Embedding-0.6B-onnx; "
            + _FASTEMBED
            + "last_token_normalized_embedding.py"
        ),
    ),
)
