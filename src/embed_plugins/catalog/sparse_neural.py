"""Learned sparse models with rules of their own: inference-free SPLADE and miniCOIL.

Part of the sparse catalogue (:data:`embed_plugins.catalog.sparse.SPARSE_MODELS`
ends with :data:`NEURAL_SPARSE_MODELS`); kept apart so each file stays short.

* Inference-free SPLADE is a :class:`~.sparse.SpladeSpec` with three fields set
  (``activation``, ``drop_special_tokens``, ``query_idf_file``): documents go
  through the model, queries through an IDF table (``families/if_splade.py``).
* :class:`MiniCoilSpec` -- an encoder whose token states, averaged per
  vocabulary word and projected by that word's matrix, give a few meaning
  values per word, scaled by BM25's term frequency; other words are hashed and
  weighted as in BM25 (``families/minicoil.py``).

"fastembed" means qdrant/fastembed 0.9.1, ``fastembed/sparse/if_splade.py`` and
``minicoil.py``.  The Hugging Face Hub is unreachable from where these entries were
written: the cards were read in copies, and every file fact is fastembed's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sparse import SparseSpec, SpladeSpec, _add_files, _check_language, _check_tf_parameters

__all__ = ["NEURAL_SPARSE_MODELS", "MiniCoilSpec"]


@dataclass(frozen=True, kw_only=True)
class MiniCoilSpec(SparseSpec):
    """miniCOIL: per-word meaning vectors of an encoder, scaled by BM25's tf
    (the rules: ``families/minicoil.py``).  The three files are added to
    ``additional_files``.

    Attributes:
        model_file: The encoder graph; ``onnx/model.onnx`` as in Qdrant/minicoil-v1.
        output_name: ONNX output of token states ``[batch, seq, hidden]``;
            ``None`` means the graph's first output (what fastembed reads).
        weights_file: ``.npy`` array ``[words + 1, hidden, dim]``: per word, the
            projection of its mean token state to ``dim`` meaning values (row 0 unused).
        vocab_file: JSON ``{"vocab": [word, ...], "stem_mapping": {stem: word}}``;
            word ``i`` of the list has id ``i + 1``.
        stopwords_file: Words to drop, one a line; ``None`` for none.
        language: Snowball stemmer (as BM25's).
        k, b, avg_len: BM25 term-frequency parameters (fastembed's MiniCOIL defaults).
    """

    model_file: str = "onnx/model.onnx"
    output_name: str | None = None
    weights_file: str = "minicoil.triplet.model.npy"
    vocab_file: str = "minicoil.triplet.model.vocab"
    stopwords_file: str | None = "stopwords.txt"
    language: str = "english"
    k: float = 1.2
    b: float = 0.75
    avg_len: float = 150.0

    def __post_init__(self) -> None:
        super().__post_init__()
        where = f"miniCOIL model {self.model!r}"
        _check_language(self.language, where)
        _check_tf_parameters(where, self.k, self.b, self.avg_len)
        files = (self.stopwords_file, self.weights_file, self.vocab_file)
        _add_files(self, files, "miniCOIL file")

    @property
    def kind(self) -> str:
        return "minicoil"


NEURAL_SPARSE_MODELS: tuple[SparseSpec, ...] = (
    # opensearch-neural-sparse-encoding-doc-v3-gte (inference-free SPLADE, GTE, 133M, BEIR
    # NDCG@10 0.546; card: apache-2.0).  Files, vocab 30522, size 0.55 GB: fastembed
    # if_splade.py (Qdrant's ONNX export; graph's first output = logits, idf.json).  Rules:
    # the card's get_sparse_vector (v3 double log, special tokens zeroed) and its IDF query
    # lookup, read in copies of the card (the Hub is unreachable here) and in fastembed.
    # requires_idf False: the query side already holds the IDF (fastembed: None).
    SpladeSpec(
        model="opensearch-project/opensearch-neural-sparse-encoding-doc-v3-gte",
        hf_repo="Qdrant/opensearch-neural-sparse-encoding-doc-v3-gte",
        model_file="model.onnx",
        additional_files=("idf.json",),
        query_idf_file="idf.json",
        activation="log1p_log1p_relu",
        drop_special_tokens=True,
        vocab_size=30522,
        license="apache-2.0",
        size_gb=0.55,
        description=(
            "Inference-free SPLADE (OpenSearch v3, GTE): documents through the model, "
            "queries through an IDF lookup table only."
        ),
        source=(
            "https://huggingface.co/opensearch-project/opensearch-neural-sparse-encoding-doc-v3-gte"
            " (card); qdrant/fastembed fastembed/sparse/if_splade.py"
        ),
    ),
    # Qdrant/minicoil-v1 (card: 4 meaning values per word stem, BM25-weighted, use with
    # Modifier.IDF; jina-embeddings-v2-small-en tokens).  Files (in fastembed's order), vocab
    # 19125, size 0.09 GB, apache-2.0, requires_idf, English, k 1.2, b 0.75, avg_len 150:
    # fastembed minicoil.py.  Method: https://qdrant.tech/articles/minicoil/ (May 2025).
    MiniCoilSpec(
        model="Qdrant/minicoil-v1",
        hf_repo="Qdrant/minicoil-v1",
        model_file="onnx/model.onnx",
        additional_files=(
            "stopwords.txt",
            "minicoil.triplet.model.npy",
            "minicoil.triplet.model.vocab",
        ),
        requires_idf=True,
        vocab_size=19125,
        license="apache-2.0",
        size_gb=0.09,
        description=(
            "miniCOIL: 4 meaning values per vocabulary word, scaled by BM25's tf; other words "
            "as BM25; use with Qdrant's IDF modifier."
        ),
        source=(
            "https://huggingface.co/Qdrant/minicoil-v1 (card); "
            "https://qdrant.tech/articles/minicoil/; qdrant/fastembed fastembed/sparse/minicoil.py"
        ),
    ),
)
