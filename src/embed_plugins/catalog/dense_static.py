"""Static (model2vec) dense models: a token table averaged, no transformer graph.

Part of ``DENSE_MODELS`` (see :mod:`embed_plugins.catalog.dense`, whose comment
conventions these entries follow).  ``kind="static"``: ``model_file`` is the
safetensors token table and :mod:`embed_plugins.families.static` averages its rows
(model2vec's rules, cited there); pooling and the ONNX session options do not apply.

Facts shared by the three potion models:

- repository and files: fastembed 0.9.1 ``fastembed/text/static_embedding.py``
  (``supported_static_models``: hf ``minishlab/<model>``, ``model.safetensors``, no
  additional files) and model2vec 0.10.0's own folder layout
  (``model2vec/persistence/datamodels.py`` ``FOLDER_LAYOUTS``: ``model.safetensors``,
  ``tokenizer.json``, ``config.json``), which ``ModelSpec.files()`` fetches.
- dimension, licence (MIT), size (fastembed's figures: the float32 table), "512 input
  tokens truncation", "Prefixes for queries/documents: not necessary": fastembed's entries.
- max_length 512: model2vec's ``DEFAULT_MAX_LENGTH`` (``model2vec/model.py``), used when
  config.json names no ``max_length``; fastembed's ``MAX_LENGTH`` is the same.
- normalize true: model2vec's distillation writes ``"normalize": True`` into config.json
  (``model2vec/distill/distillation.py``) and fastembed normalises every static model.
  The repositories' config.json files were not read here (the Hub is unreachable from
  this machine): UNVERIFIED.  A folder loaded without a spec takes ``normalize`` from its
  own config.json (``families/static.py`` ``static_spec_from_folder``).
"""

from __future__ import annotations

from embed_plugins.catalog.spec import DenseSpec

_FASTEMBED = "qdrant/fastembed fastembed/text/static_embedding.py"
_MODEL2VEC = "MinishLab/model2vec model2vec/model.py, model2vec/persistence/datamodels.py"

STATIC_MODELS: tuple[DenseSpec, ...] = (
    # minishlab/potion-base-8M: English; 256-d, MIT, 0.030 GB.
    DenseSpec(
        model="minishlab/potion-base-8M",
        hf_repo="minishlab/potion-base-8M",
        model_file="model.safetensors",
        kind="static",
        dim=256,
        pooling="mean",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=0.030,
        description="model2vec potion-base-8M: 256-d static English embeddings, 512 tokens.",
        source=(
            f"https://huggingface.co/minishlab/potion-base-8M (card); {_FASTEMBED}; {_MODEL2VEC}"
        ),
    ),
    # minishlab/potion-retrieval-32M: English, trained for retrieval; 512-d, MIT, 0.129 GB.
    DenseSpec(
        model="minishlab/potion-retrieval-32M",
        hf_repo="minishlab/potion-retrieval-32M",
        model_file="model.safetensors",
        kind="static",
        dim=512,
        pooling="mean",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=0.129,
        description="model2vec potion-retrieval-32M: 512-d static English retrieval embeddings.",
        source=(
            f"https://huggingface.co/minishlab/potion-retrieval-32M (card); {_FASTEMBED}; "
            f"{_MODEL2VEC}"
        ),
    ),
    # minishlab/potion-multilingual-128M: multilingual; 256-d, MIT, 0.512 GB.
    DenseSpec(
        model="minishlab/potion-multilingual-128M",
        hf_repo="minishlab/potion-multilingual-128M",
        model_file="model.safetensors",
        kind="static",
        dim=256,
        pooling="mean",
        normalize=True,
        max_length=512,
        license="mit",
        size_gb=0.512,
        description="model2vec potion-multilingual-128M: 256-d static multilingual embeddings.",
        source=(
            f"https://huggingface.co/minishlab/potion-multilingual-128M (card); {_FASTEMBED}; "
            f"{_MODEL2VEC}"
        ),
    ),
)
