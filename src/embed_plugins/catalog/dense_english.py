"""English dense models: Snowflake Arctic-embed v1, mixedbread, GTE and BGE v1.

Part of ``DENSE_MODELS`` (see :mod:`embed_plugins.catalog.dense`, whose comment
conventions these entries follow).  Every model here is a BERT-style encoder whose
graph outputs token states: CLS or mean pooling, then L2, as
:func:`embed_plugins.families.dense.pool` does.  "fastembed" is qdrant/fastembed
0.9.1 as installed in the development venv: ``fastembed/text/onnx_embedding.py``
(``OnnxTextEmbedding``: a 3-D first output's first token, then L2) and
``fastembed/text/pooled_normalized_embedding.py`` (``PooledNormalizedEmbedding``:
attention-masked mean, then L2).
"""

from __future__ import annotations

from embed_plugins.catalog.dense_common import LAST_HIDDEN as _LAST_HIDDEN
from embed_plugins.catalog.dense_common import RETRIEVAL_QUERY_INSTRUCTION
from embed_plugins.catalog.spec import DenseSpec

_ONNX_EMBEDDING = "qdrant/fastembed fastembed/text/onnx_embedding.py"
_POOLED_NORMALIZED = "qdrant/fastembed fastembed/text/pooled_normalized_embedding.py"

ENGLISH_MODELS: tuple[DenseSpec, ...] = (
    # Snowflake/snowflake-arctic-embed-s.
    # - repo/file: official onnx/ added by "Upload ONNX weights (#4)" (commit history
    #   https://huggingface.co/Snowflake/snowflake-arctic-embed-s/commits/<rev>/onnx; blob
    #   onnx/model_quantized.onnx 34 MB seen).  onnx/model.onnx itself was not seen in a listing:
    #   its path is the one fastembed uses for this repo (onnx_embedding.py, 0.13 GB) and the one
    #   the same Xenova upload produced for arctic-embed-m/-l; size_gb 0.13 is fastembed's figure.
    # - CLS pooling (1_Pooling/config.json pooling_mode_cls_token=true), L2 (modules.json lists
    #   2_Normalize): commit "Sentence Transformers integration (#2)" and blob modules.json.
    # - dim 384, query instruction, no passage prefix, 512 tokens: model card
    #   (https://huggingface.co/Snowflake/snowflake-arctic-embed-s, query_prefix = 'Represent this
    #   sentence for searching relevant passages: ', [:, 0] then normalize).  Licence apache-2.0.
    DenseSpec(
        model="Snowflake/snowflake-arctic-embed-s",
        hf_repo="Snowflake/snowflake-arctic-embed-s",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=384,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="apache-2.0",
        size_gb=0.13,
        int8_files={"any": "onnx/model_quantized.onnx"},  # the blob seen (see above)
        description=(
            "Snowflake arctic-embed-s: 384-d, CLS pooling, 512 tokens, query instruction."
        ),
        source=(
            "https://huggingface.co/Snowflake/snowflake-arctic-embed-s (card, "
            "modules.json, "
            "1_Pooling/config.json, onnx/); qdrant/fastembed "
            "fastembed/text/onnx_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # Snowflake/snowflake-arctic-embed-m.
    # - repo/file: official onnx/model.onnx, 436 MB, "Upload new ONNX weights (#9)" (listing
    #   https://huggingface.co/Snowflake/snowflake-arctic-embed-m/tree/main/onnx). fastembed: same.
    # - dim 768, CLS + L2, query instruction, 512: model card
    #   (https://huggingface.co/Snowflake/snowflake-arctic-embed-m, commit b30c8a2 shows the
    #   query_prefix) and fastembed onnx_embedding.py (CLS + normalize).  Its ST files are assumed
    #   to match arctic-embed-s (same "Sentence Transformers integration" PR series; not read).
    DenseSpec(
        model="Snowflake/snowflake-arctic-embed-m",
        hf_repo="Snowflake/snowflake-arctic-embed-m",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=768,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="apache-2.0",
        size_gb=0.436,
        description=(
            "Snowflake arctic-embed-m: 768-d, CLS pooling, 512 tokens, query instruction."
        ),
        source=(
            "https://huggingface.co/Snowflake/snowflake-arctic-embed-m (card, "
            "tree/main/onnx); "
            "qdrant/fastembed fastembed/text/onnx_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # mixedbread-ai/mxbai-embed-large-v1.
    # - repo/file: official onnx/model.onnx, 1.34 GB, "Upload ONNX weights + add transformers.js
    #   code/tags (#2)" (listing
    #   https://huggingface.co/mixedbread-ai/mxbai-embed-large-v1/tree/main/onnx); 1_Pooling/,
    #   modules.json (229 B), sentence_bert_config.json (53 B) present (listing tree/ab621ab).
    #   fastembed: same repo and file (onnx_embedding.py: CLS + normalize).
    # - dim 1024, CLS pooling, query instruction, no passage prefix, 512: model card
    #   (https://huggingface.co/mixedbread-ai/mxbai-embed-large-v1); the query prompt is also built
    #   into config_sentence_transformers.json (refs/pr/19 "Build in query prompt").
    # - normalize: modules.json is the 229 B Transformer+Pooling list (no 2_Normalize), so raw
    #   sentence-transformers output is NOT unit length; the card compares with cos_sim and
    #   fastembed L2-normalises.  We normalise (fastembed parity; cosine rankings unchanged).
    # - The card advertises Matryoshka truncation (example uses 512) but declares no fixed list, so
    #   matryoshka_dims is left empty.  Licence apache-2.0.
    DenseSpec(
        model="mixedbread-ai/mxbai-embed-large-v1",
        hf_repo="mixedbread-ai/mxbai-embed-large-v1",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=1024,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="apache-2.0",
        size_gb=1.34,
        description="mxbai-embed-large-v1: 1024-d, CLS pooling, 512 tokens, query instruction.",
        source=(
            "https://huggingface.co/mixedbread-ai/mxbai-embed-large-v1 (card, "
            "tree/main, onnx/); "
            "qdrant/fastembed fastembed/text/onnx_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # thenlper/gte-base.
    # - repo/file: official onnx/model.onnx, "Adding ONNX file of this model (#2)" (commit
    #   https://huggingface.co/thenlper/gte-base/commit/5b7a05d8...; onnx/ also holds a tokenizer
    #   copy and config.json); 1_Pooling/, modules.json (385 B), sentence_bert_config.json (57 B)
    #   present (listing tree/main).  Size 0.44 GB is fastembed's figure (same repo and file,
    #   pooled_normalized_embedding.py); Xenova/gte-base's fp32 export is 436 MB.
    # - dim 768 (onnx/config.json hidden_size), mean pooling + L2 (card: average_pool then
    #   F.normalize; fastembed mean + normalize), no prefixes, 512 (max_position_embeddings 512;
    #   fastembed "512 input tokens truncation").  Licence MIT (card metadata).
    DenseSpec(
        model="thenlper/gte-base",
        hf_repo="thenlper/gte-base",
        model_file="onnx/model.onnx",
        output_name=_LAST_HIDDEN,
        dim=768,
        pooling="mean",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=0.44,
        description="GTE base: 768-d English, mean pooling, 512 tokens, no prefixes.",
        source=(
            "https://huggingface.co/thenlper/gte-base (card, tree/main, onnx/); "
            "qdrant/fastembed fastembed/text/pooled_normalized_embedding.py"
        ),
        sentence_transformers_files=True,
    ),
    # Snowflake/snowflake-arctic-embed-xs.
    # - repo/file/size: fastembed onnx_embedding.py (model "snowflake/snowflake-arctic-embed-xs",
    #   hf Snowflake/snowflake-arctic-embed-xs, onnx/model.onnx, 0.09 GB: fastembed's figure; no
    #   listing read).  Same "Upload ONNX weights" series as arctic-s/-m above.
    # - dim 384 (fastembed; card: 22M parameters, based on all-MiniLM-L6-v2), CLS + L2, query
    #   instruction, no passage prefix, 512 tokens: model card
    #   (https://huggingface.co/Snowflake/snowflake-arctic-embed-xs: query_prefix, [:, 0] then
    #   normalize, the same usage as every arctic-embed v1 card) and fastembed (CLS + normalize,
    #   "512 input tokens truncation").  Licence apache-2.0 (card; fastembed agrees).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="Snowflake/snowflake-arctic-embed-xs",
        hf_repo="Snowflake/snowflake-arctic-embed-xs",
        model_file="onnx/model.onnx",
        dim=384,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="apache-2.0",
        size_gb=0.09,
        description=(
            "Snowflake arctic-embed-xs: 384-d, 22M parameters, CLS pooling, 512 tokens, "
            "query instruction."
        ),
        source=(
            "https://huggingface.co/Snowflake/snowflake-arctic-embed-xs (card); " + _ONNX_EMBEDDING
        ),
        sentence_transformers_files=True,
    ),
    # Snowflake/snowflake-arctic-embed-m-long.
    # - repo/file/size: fastembed onnx_embedding.py (hf Snowflake/snowflake-arctic-embed-m-long,
    #   onnx/model.onnx, 0.54 GB: fastembed's figure).
    # - dim 768, CLS + L2, query instruction: model card
    #   (https://huggingface.co/Snowflake/snowflake-arctic-embed-m-long; 137M parameters, based
    #   on nomic-embed-text-v1-unsupervised) and fastembed (CLS + normalize).
    # - max_length 2048: the card's context "up to 2048 tokens without RPE" (8192 only with
    #   rotary scaling switched on in the PyTorch code, which an exported graph does not
    #   offer); fastembed "2048 input tokens truncation".  Licence apache-2.0 (card).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="Snowflake/snowflake-arctic-embed-m-long",
        hf_repo="Snowflake/snowflake-arctic-embed-m-long",
        model_file="onnx/model.onnx",
        dim=768,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=2048,
        license="apache-2.0",
        size_gb=0.54,
        description=(
            "Snowflake arctic-embed-m-long: 768-d, CLS pooling, 2048 tokens, query instruction."
        ),
        source=(
            "https://huggingface.co/Snowflake/snowflake-arctic-embed-m-long (card); "
            + _ONNX_EMBEDDING
        ),
        sentence_transformers_files=True,
    ),
    # Snowflake/snowflake-arctic-embed-l.
    # - repo/file/size: fastembed onnx_embedding.py (hf Snowflake/snowflake-arctic-embed-l,
    #   onnx/model.onnx, 1.02 GB: fastembed's figure).
    # - dim 1024, CLS + L2, query instruction, 512 tokens: model card
    #   (https://huggingface.co/Snowflake/snowflake-arctic-embed-l; 335M parameters) and
    #   fastembed.  Licence apache-2.0 (card).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="Snowflake/snowflake-arctic-embed-l",
        hf_repo="Snowflake/snowflake-arctic-embed-l",
        model_file="onnx/model.onnx",
        dim=1024,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="apache-2.0",
        size_gb=1.02,
        description=(
            "Snowflake arctic-embed-l: 1024-d, CLS pooling, 512 tokens, query instruction."
        ),
        source=(
            "https://huggingface.co/Snowflake/snowflake-arctic-embed-l (card); " + _ONNX_EMBEDDING
        ),
        sentence_transformers_files=True,
    ),
    # thenlper/gte-large.
    # - repo/file/size: fastembed pooled_normalized_embedding.py (hf Qdrant/gte-large-onnx,
    #   model.onnx, 1.20 GB: fastembed's figure), Qdrant's export; it carries no
    #   sentence-transformers files.
    # - dim 1024, mean pooling + L2, no prefixes, 512 tokens: model card
    #   (https://huggingface.co/thenlper/gte-large: average_pool then F.normalize, max_length
    #   512, as for gte-base above) and fastembed (mean + normalize, "512 input tokens
    #   truncation").  Licence MIT (card; fastembed agrees).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="thenlper/gte-large",
        hf_repo="Qdrant/gte-large-onnx",
        model_file="model.onnx",
        dim=1024,
        pooling="mean",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=1.2,
        description="GTE large: 1024-d English, mean pooling, 512 tokens, no prefixes.",
        source=(
            "https://huggingface.co/thenlper/gte-large (card); "
            "https://huggingface.co/Qdrant/gte-large-onnx; " + _POOLED_NORMALIZED
        ),
    ),
    # BAAI/bge-base-en (v1).
    # - repo/file/size: fastembed onnx_embedding.py (hf Qdrant/fast-bge-base-en,
    #   model_optimized.onnx, 0.42 GB: fastembed's figure), Qdrant's optimised export; no
    #   official ONNX graph of the v1 repo is known here.
    # - dim 768, CLS + L2, 512 tokens: BGE model card (https://huggingface.co/BAAI/bge-base-en:
    #   "model_output[0][:, 0]" then normalize) and fastembed (CLS + normalize).
    # - query instruction: the BGE model list gives the same English instruction for v1 as for
    #   v1.5; for v1 it matters more (fastembed: "Prefixes for queries/documents: necessary";
    #   v1.5 was released "to alleviate the issue of the similarity distribution, and enhance
    #   its retrieval ability without instruction").  Licence MIT (card).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="BAAI/bge-base-en",
        hf_repo="Qdrant/fast-bge-base-en",
        model_file="model_optimized.onnx",
        dim=768,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="mit",
        size_gb=0.42,
        description="BGE base English v1: 768-d, CLS pooling, 512 tokens, query instruction.",
        source=(
            "https://huggingface.co/BAAI/bge-base-en (card); "
            "https://huggingface.co/Qdrant/fast-bge-base-en; " + _ONNX_EMBEDDING
        ),
    ),
    # BAAI/bge-small-en (v1).
    # - repo/file/size: fastembed onnx_embedding.py (hf Qdrant/bge-small-en,
    #   model_optimized.onnx, 0.13 GB: fastembed's figure), Qdrant's optimised export.
    # - dim 384, CLS + L2, query instruction, 512 tokens, MIT: as bge-base-en above (BGE model
    #   card, https://huggingface.co/BAAI/bge-small-en; fastembed).
    # - output: the graph's first output, as fastembed reads (name not read).
    DenseSpec(
        model="BAAI/bge-small-en",
        hf_repo="Qdrant/bge-small-en",
        model_file="model_optimized.onnx",
        dim=384,
        pooling="cls",
        normalize=True,
        query_prefix=RETRIEVAL_QUERY_INSTRUCTION,
        max_length=512,
        license="mit",
        size_gb=0.13,
        description="BGE small English v1: 384-d, CLS pooling, 512 tokens, query instruction.",
        source=(
            "https://huggingface.co/BAAI/bge-small-en (card); "
            "https://huggingface.co/Qdrant/bge-small-en; " + _ONNX_EMBEDDING
        ),
    ),
)
