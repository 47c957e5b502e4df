"""The supported dense text-embedding models, as data.

One frozen :class:`DenseSpec` per model.  ``DENSE_MODELS[0]`` is the default
model (``BAAI/bge-small-en-v1.5``, as in fastembed).

The entries are split over several modules (each under 400 lines) and
``DENSE_MODELS`` is their concatenation, in this order:

* this module: BGE v1.5 (English), sentence-transformers MiniLM, multilingual E5,
  nomic-embed-text-v1.5;
* ``catalog/dense_english.py``: Snowflake Arctic-embed v1, mixedbread, GTE, BGE v1;
* ``catalog/dense_long_context.py``: Jina v2, nomic v1 / v1.5-Q, IBM Granite r2
  (8192-token models);
* ``catalog/dense_multilingual.py``: BGE small zh v1.5, paraphrase-multilingual-mpnet,
  EmbeddingGemma, Qwen3-Embedding;
* ``catalog/dense_constella.py``: Qdrant's Constella query encoders and their Stella
  document tower;
* ``catalog/dense_multitask.py``: jina-embeddings-v3 (task adapters chosen by ``task_id``);
* ``catalog/dense_static.py``: model2vec static models (``kind="static"``, no ONNX graph);
* ``catalog/dense_towers.py``: the text towers of the image models.

Every one of those modules imports only ``catalog/spec.py`` and
``catalog/dense_common.py`` (the shared constants), so there is no import cycle.

Conventions used in the comments above each entry:

* "listing" means the Hugging Face file listing of the repository
  (``https://huggingface.co/<repo>/tree/main[/onnx]``), read through the stored
  copies of those pages; file sizes are the ones those listings show and are
  what ``size_gb`` records (decimal GB, ONNX graph plus external data only).
* "fastembed" means qdrant/fastembed's own catalogue, files
  ``fastembed/text/onnx_embedding.py`` (CLS + L2 models),
  ``fastembed/text/pooled_normalized_embedding.py`` (mean + L2) and
  ``fastembed/text/pooled_embedding.py`` (mean, no L2).  It is cited for
  cross-checking only; where it disagrees with the model card the card wins
  and the comment says so.
* ``output_name="last_hidden_state"`` is the name every exporter used for
  these repositories writes for a BERT-style encoder (optimum's
  feature-extraction export, Transformers.js exports, sentence-transformers'
  ONNX backend).  It was read from the graph itself only for
  sentence-transformers/all-MiniLM-L6-v2 (the copy in ../shared/models); for the
  others it is the exporter convention, not a read of the graph.
* ``output_name=None`` means "the graph's first output", the one fastembed
  reads; the newer modules use it wherever the output's name was neither read
  nor fixed by a documented exporter convention, so the spec cannot name an
  output the graph lacks.  A graph whose first output has another width or rank
  than the spec says is refused at load, not silently misread.
* ``max_length`` is the truncation length the model's own configuration asks
  for (``sentence_bert_config.json`` for sentence-transformers repositories,
  otherwise the model card).
* Sizes marked "fastembed's figure" are ``size_in_GB`` of fastembed 0.9.1's
  entry for the same repository and file, where no listing was read.
"""

from __future__ import annotations

from embed_plugins.catalog.dense_common import LAST_HIDDEN as _LAST_HIDDEN
from embed_plugins.catalog.dense_common import RETRIEVAL_QUERY_INSTRUCTION
from embed_plugins.catalog.dense_constella import CONSTELLA_MODELS
from embed_plugins.catalog.dense_english import ENGLISH_MODELS
from embed_plugins.catalog.dense_long_context import LONG_CONTEXT_MODELS
from embed_plugins.catalog.dense_multilingual import MULTILINGUAL_MODELS
from embed_plugins.catalog.dense_multitask import MULTITASK_MODELS
from embed_plugins.catalog.dense_static import STATIC_MODELS
from embed_plugins.catalog.dense_towers import TEXT_TOWERS
from embed_plugins.catalog.spec import DenseSpec

__all__ = ["DENSE_MODELS", "RETRIEVAL_QUERY_INSTRUCTION"]

_CORE_MODELS: tuple[DenseSpec, ...] = (
    # BAAI/bge-small-en-v1.5 (default model).
    # - repo/file: official repo has onnx/model.onnx, 133 MB, added by "onnx support (#9)" (listing
    #   https://huggingface.co/BAAI/bge-small-en-v1.5/tree/main/onnx); the repo also has
    #   modules.json, sentence_bert_config.json and 1_Pooling/ (listing of tree/main). fastembed
    #   uses a quantised export instead (qdrant/bge-small-en-v1.5-onnx-q, model_optimized.onnx,
    #   0.067 GB); we prefer the official full-precision graph.
    # - dim 384, CLS pooling + L2, 512 tokens: fastembed onnx_embedding.py (CLS then normalize); BGE
    #   model card (https://huggingface.co/BAAI/bge-small-en-v1.5) "model_output[0][:, 0]" then
    #   normalize; max_seq_length 512 from sentence_bert_config.json.
    # - query instruction / no passage prefix: BGE model card (v1.5 English instruction).
    # - licence MIT: model card metadata.
    DenseSpec(
        model="BAAI/bge-small-en-v1.5",
        hf_repo="BAAI/bge-small-en-v1.5",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=384,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="mit",
        size_gb=0.133,
        description=(
            "BGE small English v1.5: 384-d, CLS pooling, 512 tokens, query instruction (default)."
        ),
        source=(
            "https://huggingface.co/BAAI/bge-small-en-v1.5 (card, tree/main/onnx); "
            "qdrant/fastembed fastembed/text/onnx_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # BAAI/bge-base-en-v1.5.
    # - repo/file: official onnx/model.onnx, 436 MB, "Onnx Support (#6)" (listing
    #   https://huggingface.co/BAAI/bge-base-en-v1.5/tree/main and .../tree/<rev>/onnx);
    #   modules.json, sentence_bert_config.json, 1_Pooling/ present (listing tree/main). fastembed
    #   uses qdrant/bge-base-en-v1.5-onnx-q model_optimized.onnx (quantised, 0.21 GB).
    # - dim 768, CLS + L2, 512: fastembed onnx_embedding.py; BGE model card.
    # - prefixes and licence as bge-small (same model card family, MIT).
    DenseSpec(
        model="BAAI/bge-base-en-v1.5",
        hf_repo="BAAI/bge-base-en-v1.5",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=768,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="mit",
        size_gb=0.436,
        description="BGE base English v1.5: 768-d, CLS pooling, 512 tokens, query instruction.",
        source=(
            "https://huggingface.co/BAAI/bge-base-en-v1.5 (card, tree/main, onnx/); "
            "qdrant/fastembed fastembed/text/onnx_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # BAAI/bge-large-en-v1.5.
    # - repo/file: official onnx/model.onnx, 1.34 GB, "Onnx support (#13)" (listing
    #   https://huggingface.co/BAAI/bge-large-en-v1.5/tree/main/onnx); modules.json,
    #   sentence_bert_config.json, 1_Pooling/ present (listing tree/<rev> 5f9c186). fastembed uses
    #   qdrant/bge-large-en-v1.5-onnx model.onnx (1.20 GB).
    # - dim 1024, CLS + L2, 512: fastembed onnx_embedding.py; BGE model card. MIT.
    DenseSpec(
        model="BAAI/bge-large-en-v1.5",
        hf_repo="BAAI/bge-large-en-v1.5",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=1024,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="mit",
        size_gb=1.34,
        description="BGE large English v1.5: 1024-d, CLS pooling, 512 tokens, query instruction.",
        source=(
            "https://huggingface.co/BAAI/bge-large-en-v1.5 (card, tree/main/onnx); "
            "qdrant/fastembed fastembed/text/onnx_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # sentence-transformers/all-MiniLM-L6-v2.
    # - repo/file: official onnx/model.onnx, 90.4 MB, "Add new SentenceTransformer model with an
    #   onnx backend (#83)" (listing https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2
    #   /tree/main/onnx). fastembed uses qdrant/all-MiniLM-L6-v2-onnx model.onnx instead.
    # - output last_hidden_state [batch, seq, 384], inputs input_ids/attention_mask/token_type_ids:
    #   read from the graph of the copy in ../shared/models (see its README.md).
    # - mean pooling (1_Pooling/config.json pooling_mode_mean_tokens=true), L2 (modules.json lists
    #   2_Normalize), max_seq_length 256 (sentence_bert_config.json): files of the same copy.
    # - no prefixes; licence apache-2.0: model card; fastembed pooled_normalized_embedding.py agrees
    #   (mean + L2, "256 input tokens truncation").
    # - int8_files: tomaarsen's "Add exported ONNX model 'model_qint8_avx512_vnni.onnx'" commits
    #   (sentence-transformers' export_dynamic_quantized_onnx_model presets); a copy of the
    #   repository's onnx/ lists model_qint8_arm64, model_qint8_avx512, model_qint8_avx512_vnni
    #   and model_quint8_avx2 (.onnx, 23 MB each) beside model.onnx and model_O1..O4.
    DenseSpec(
        model="sentence-transformers/all-MiniLM-L6-v2",
        hf_repo="sentence-transformers/all-MiniLM-L6-v2",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=384,
        pooling="mean",
        normalize=True,
        max_length=256,
        license="apache-2.0",
        size_gb=0.09,
        description="all-MiniLM-L6-v2: 384-d, mean pooling, 256 tokens, no prefixes.",
        int8_files={
            "avx512_vnni": "onnx/model_qint8_avx512_vnni.onnx",
            "avx512": "onnx/model_qint8_avx512.onnx",
            "avx2": "onnx/model_quint8_avx2.onnx",
            "arm64": "onnx/model_qint8_arm64.onnx",
        },
        source=(
            "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2 (card, "
            "tree/main/onnx, "
            "modules.json, sentence_bert_config.json, 1_Pooling/config.json); "
            "qdrant/fastembed fastembed/text/pooled_normalized_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2.
    # - repo/file: official onnx/model.onnx, 470 MB, "Add new SentenceTransformer model with an onnx
    #   backend" (listing of tree/f16484b/onnx in
    #   https://huggingface.co/sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2;
    #   tree/main shows onnx/, 1_Pooling/, modules.json 229 B, sentence_bert_config.json 53 B).
    #   Known alternative export: Xenova/paraphrase-multilingual-MiniLM-L12-v2 onnx/model.onnx (470
    #   MB).  fastembed uses qdrant/paraphrase-multilingual-MiniLM-L12-v2-onnx-Q.
    # - dim 384 (config.json hidden_size 384), mean pooling, NO L2: modules.json is 229 B, the size
    #   of a Transformer+Pooling list (the 3-module lists with 2_Normalize are 349 B), and fastembed
    #   puts it in pooled_embedding.py (mean, no normalize).
    # - max_length 128: value of sentence_bert_config.json as shown in the model card's architecture
    #   line; UNVERIFIED by a direct read of the file here.  fastembed's description says "512 input
    #   tokens truncation" (the tokenizer's limit, not the model's training length).
    # - no prefixes; licence apache-2.0: model card metadata.
    DenseSpec(
        model="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        hf_repo="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=384,
        pooling="mean",
        normalize=False,
        max_length=128,
        license="apache-2.0",
        size_gb=0.47,
        description=(
            "paraphrase-multilingual-MiniLM-L12-v2: 384-d, ~50 languages, mean pooling, no L2."
        ),
        source=(
            "https://huggingface.co/sentence-transformers/"
            "paraphrase-multilingual-MiniLM-L12-v2 "
            "(card, tree/main, onnx/); qdrant/fastembed "
            "fastembed/text/pooled_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # intfloat/multilingual-e5-small.
    # - repo/file: official onnx/model.onnx, 470 MB, "Adding ONNX file of this model (#4)" (listing
    #   https://huggingface.co/intfloat/multilingual-e5-small/tree/main/onnx); onnx/ also carries
    #   its own tokenizer copy; 1_Pooling/config.json present (listing tree/main/1_Pooling).
    # - dim 384, mean pooling + L2, "query: " / "passage: ", 512 tokens: E5 model card
    #   (https://huggingface.co/intfloat/multilingual-e5-small, average_pool then F.normalize,
    #   max_length=512); the intfloat e5 sentence-transformers configs list Pooling(mean) and
    #   2_Normalize with max_seq_length 512 (seen for e5-small/e5-base/e5-large-v2 commits; the
    #   multilingual repos' modules.json not read directly).
    # - licence MIT: model card metadata.
    DenseSpec(
        model="intfloat/multilingual-e5-small",
        hf_repo="intfloat/multilingual-e5-small",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=384,
        pooling="mean",
        normalize=True,
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_length=512,
        license="mit",
        size_gb=0.47,
        description=(
            "multilingual-e5-small: 384-d, ~100 languages, mean pooling, query:/passage: prefixes."
        ),
        source="https://huggingface.co/intfloat/multilingual-e5-small (card, tree/main/onnx)",
        sentence_transformers_files=True,
    ),
    # intfloat/multilingual-e5-base.
    # - repo/file: official onnx/model.onnx, 1.11 GB, "Adding ONNX file of this model (#11)"
    #   (listing https://huggingface.co/intfloat/multilingual-e5-base/tree/main/onnx).
    # - dim 768 (XLM-R base), mean + L2, prefixes, 512: E5 model card as for -small. MIT.
    DenseSpec(
        model="intfloat/multilingual-e5-base",
        hf_repo="intfloat/multilingual-e5-base",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=768,
        pooling="mean",
        normalize=True,
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_length=512,
        license="mit",
        size_gb=1.11,
        description=(
            "multilingual-e5-base: 768-d, ~100 languages, mean pooling, query:/passage: prefixes."
        ),
        source="https://huggingface.co/intfloat/multilingual-e5-base (card, tree/main/onnx)",
        sentence_transformers_files=True,
    ),
    # intfloat/multilingual-e5-large.
    # - repo/files: official onnx/model.onnx is only the 546 kB graph; the weights are the external
    #   data file onnx/model.onnx_data, 2.24 GB (listing
    #   https://huggingface.co/intfloat/multilingual-e5-large/tree/main/onnx, "Adding ONNX file of
    #   this model (#2)").  fastembed uses qdrant/multilingual-e5-large-onnx with model.onnx +
    #   model.onnx_data (same split).
    # - dim 1024, mean + L2, prefixes, 512: E5 model card.  fastembed lists it among the mean pooled
    #   models WITHOUT L2 (pooled_embedding.py); the card normalises, so we do.  MIT.
    DenseSpec(
        model="intfloat/multilingual-e5-large",
        hf_repo="intfloat/multilingual-e5-large",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data",),
        output_name=_LAST_HIDDEN,
        dim=1024,
        pooling="mean",
        normalize=True,
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_length=512,
        license="mit",
        size_gb=2.24,
        description=(
            "multilingual-e5-large: 1024-d, ~100 languages, mean pooling, query:/passage: prefixes."
        ),
        source=(
            "https://huggingface.co/intfloat/multilingual-e5-large (card, "
            "tree/main/onnx); "
            "qdrant/fastembed fastembed/text/pooled_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # nomic-ai/nomic-embed-text-v1.5.
    # - repo/file: official onnx/model.onnx, 548 MB (also model_quantized.onnx 138 MB, int8_files
    #   and the -Q entry), "Upload ONNX
    #   weights (#3)" by Xenova (listing
    #   https://huggingface.co/nomic-ai/nomic-embed-text-v1.5/tree/refs%2Fpr%2F11/onnx; PR
    #   https://huggingface.co/nomic-ai/nomic-embed-text-v1.5/discussions/3). fastembed: same repo
    #   and file (pooled_embedding.py).
    # - dim 768, mean pooling, L2, "search_query: " / "search_document: ", Matryoshka dims
    #   768/512/256/128/64 (MTEB table), 8192-token context: model card
    #   (https://huggingface.co/nomic-ai/nomic-embed-text-v1.5).  fastembed does not normalise this
    #   model; the card does (F.normalize), so we do.
    # - The card's Matryoshka recipe is layer_norm -> truncate -> L2, not truncate -> L2: a spec
    #   field for that step is missing (see docs/models.md).
    # - max_length 8192 is the card's maximum; trained at 2048 and "natively supports scaling past
    #   2048" per the card.  Callers may want a practical lower cap for memory.
    # - sentence-transformers files: repo is tagged sentence-transformers and v1 got modules.json /
    #   1_Pooling (mean) via tomaarsen's PR (nomic-ai/nomic-embed-text-v1 discussions/1); the v1.5
    #   listing of those files was not read directly.  Licence apache-2.0 (card).
    DenseSpec(
        model="nomic-ai/nomic-embed-text-v1.5",
        hf_repo="nomic-ai/nomic-embed-text-v1.5",
        model_file="onnx/model.onnx",
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
        size_gb=0.548,
        int8_files={"any": "onnx/model_quantized.onnx"},
        description=(
            "nomic-embed-text-v1.5: 768-d Matryoshka (to 64), 8192 tokens, "
            "search_query:/search_document:."
        ),
        source=(
            "https://huggingface.co/nomic-ai/nomic-embed-text-v1.5 (card, onnx/); "
            "qdrant/fastembed fastembed/text/pooled_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
)

# The other groups live in their own modules (see the module docstring); the text towers of
# the image models (CLIP, jina-clip, SigLIP 2) come last, so DENSE_MODELS[0] stays the default.
DENSE_MODELS: tuple[DenseSpec, ...] = (
    *_CORE_MODELS,
    *ENGLISH_MODELS,
    *LONG_CONTEXT_MODELS,
    *MULTILINGUAL_MODELS,
    *CONSTELLA_MODELS,
    *MULTITASK_MODELS,
    *STATIC_MODELS,
    *TEXT_TOWERS,
)
