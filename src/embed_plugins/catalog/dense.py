"""The supported dense text-embedding models, as data.

One frozen :class:`DenseSpec` per model.  ``DENSE_MODELS[0]`` is the default
model (``BAAI/bge-small-en-v1.5``, as in fastembed).

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
* ``max_length`` is the truncation length the model's own configuration asks
  for (``sentence_bert_config.json`` for sentence-transformers repositories,
  otherwise the model card).
"""

from __future__ import annotations

from embed_plugins.catalog.spec import DenseSpec

#: The retrieval instruction BGE v1.5 (English), Snowflake Arctic-embed v1 and
#: mixedbread mxbai-embed-large-v1 prepend to queries (not to passages).
RETRIEVAL_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "

_LAST_HIDDEN = "last_hidden_state"

DENSE_MODELS: tuple[DenseSpec, ...] = (
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
    # - repo/file: official onnx/model.onnx, 548 MB (also model_quantized.onnx 138 MB), "Upload ONNX
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
)

# The text towers of the image models (CLIP, jina-clip, SigLIP 2) live in their own module,
# catalog/dense_towers.py, which imports only catalog.spec (no import cycle); they come after
# the text models above, so DENSE_MODELS[0] stays the default model.
from embed_plugins.catalog.dense_towers import TEXT_TOWERS  # noqa: E402

DENSE_MODELS = (*DENSE_MODELS, *TEXT_TOWERS)
