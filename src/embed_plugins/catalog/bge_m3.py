"""BGE-M3 (``BAAI/bge-m3``), as data: one encoder pass, three outputs.

BGE-M3 is an XLM-RoBERTa encoder with two small linear heads.  From one forward
pass FlagEmbedding's ``BGEM3FlagModel`` gives (the formulas, read in
FlagOpen/FlagEmbedding ``FlagEmbedding/finetune/embedder/encoder_only/m3/modeling.py``,
``EncoderOnlyEmbedderM3Model._dense_embedding`` / ``_sparse_embedding`` /
``_colbert_embedding`` and ``EncoderOnlyEmbedderM3ModelForInference.forward``, and
``FlagEmbedding/inference/embedder/encoder_only/m3.py``, ``M3Embedder.encode_single_device``
with its ``_process_token_weights`` and ``_process_colbert_vecs``):

* **dense**: the ``[CLS]`` (``<s>``) row of the last hidden state, L2-normalised;
* **lexical weights** (sparse): ``relu(sparse_linear(hidden))``, one weight per token;
  per text, the largest weight of each token id, leaving out the ids of the
  tokenizer's ``cls``, ``eos``, ``pad`` and ``unk`` tokens and weights ``<= 0``;
* **ColBERT**: ``colbert_linear(hidden[:, 1:])`` (every token but ``[CLS]``),
  L2-normalised, the padding rows dropped (the ``</s>`` row is kept).

The weights.  ``BAAI/bge-m3`` ships the encoder as an ONNX graph
(``onnx/model.onnx`` with its external data ``onnx/model.onnx_data`` and
``onnx/Constant_7_attr__value``; its first output is the last hidden state) and the
two heads as PyTorch state dicts at the repository root, ``sparse_linear.pt``
(``Linear(1024, 1)``) and ``colbert_linear.pt`` (``Linear(1024, 1024)``), which
FlagEmbedding's ``EncoderOnlyEmbedderM3Runner.get_model`` (``.../m3/runner.py``)
loads into ``torch.nn.Linear`` layers.  We read the graph with ONNX Runtime and the
two ``.pt`` files with :mod:`embed_plugins.families.bge_m3_heads` (a reader of
PyTorch's zip format that needs no torch and runs no pickled code), and apply the
heads in numpy.  Sources for the files: Anush008/fastembed-rs
``src/models/text_embedding.rs`` and ``src/models/sparse.rs`` (``BAAI/bge-m3``,
``onnx/model.onnx`` + ``onnx/model.onnx_data`` + ``onnx/Constant_7_attr__value``;
``src/sparse_text_embedding/impl.rs`` ``post_process_bgem3`` reads the first output
as hidden states and applies ``sparse_linear`` converted from ``sparse_linear.pt``);
the repository's file list (colbert_linear.pt 2.10 MB, sparse_linear.pt 3.52 kB,
model.onnx_data 2.27 GB) as third-party download logs record it.

Exports that hold the heads inside the graph exist and were not chosen:
``gpahal/bge-m3-onnx-int8`` (fastembed-rs ``Bgem3Embedding``: INT8-quantised,
outputs dense [batch, 1024], sparse [batch, seq, 1] and ColBERT [batch, seq - 1, 1024]),
``aapot/bge-m3-onnx`` (linked from FlagOpen/FlagEmbedding issue #432) and
yuniko-software/bge-m3-onnx (``bge-m3-to-onnx.ipynb``: ``dense_embeddings``,
``sparse_weights``, ``colbert_vectors``, files named ``bge_m3_model.onnx``).  The
authors' own repository is full precision, and one download serves
``TextEmbedding``, ``SparseTextEmbedding``, ``LateInteractionTextEmbedding`` and
:class:`~embed_plugins.BgeM3Embedding` alike.

Each public class reads the model through its own spec type: a plain
:class:`~embed_plugins.DenseSpec` (``cls`` pooling, normalised) for dense,
:class:`BgeM3SparseSpec`, :class:`BgeM3ColbertSpec`, and :class:`BgeM3Spec` for all
three at once.  The catalogue lists each under its family
(:data:`BGE_M3_MODELS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ArgumentTypeError, InvalidArgumentError
from .late_interaction import ColbertSpec, Token
from .sparse import SparseSpec
from .spec import DenseSpec, ModelSpec, check_positive_int, relative_file_parts

#: The encoder graph of BAAI/bge-m3 and the files its external data lives in.
GRAPH = "onnx/model.onnx"
GRAPH_DATA = ("onnx/model.onnx_data", "onnx/Constant_7_attr__value")
#: The heads, PyTorch state dicts with ``weight`` and ``bias``.
SPARSE_HEAD = "sparse_linear.pt"
COLBERT_HEAD = "colbert_linear.pt"
#: Tokens whose ids never get a lexical weight: the tokenizer's cls, eos, pad and unk
#: tokens (``_process_token_weights``), which are these four for XLM-RoBERTa.
UNUSED_TOKENS: tuple[Token, ...] = ("<s>", "</s>", "<pad>", "<unk>")
HIDDEN = 1024
MAX_LENGTH = 8192


def _with_file(spec: ModelSpec, name: str, what: str) -> None:
    """Make ``name`` (a head file) one of the files the model needs, so the download and
    the folder checks (``hub.py``) never take a folder without it as complete."""
    relative_file_parts(name, f"{spec.model}: {what}")
    if name not in spec.additional_files:
        object.__setattr__(spec, "additional_files", (*spec.additional_files, name))


def _check_tokens(tokens: Any) -> None:
    if isinstance(tokens, (str, int)) or not all(
        isinstance(t, (str, int)) and not isinstance(t, bool) for t in tokens
    ):
        raise ArgumentTypeError(
            f"unused_tokens must be a tuple of token strings or ids, got {tokens!r}"
        )


@dataclass(frozen=True, kw_only=True)
class BgeM3Spec(ModelSpec):
    """BGE-M3 with all three outputs (:class:`~embed_plugins.BgeM3Embedding`).

    Attributes:
        dim: Width of the hidden states and of the dense vector.
        colbert_dim: Width of the ColBERT vectors (``colbert_linear``'s outputs).
        output_name: ONNX output holding the last hidden state; ``None``: the first.
        sparse_head / colbert_head: The head files (PyTorch state dicts); each is
            added to ``additional_files``.
        unused_tokens: Tokens (text or id) that get no lexical weight.
        normalize: L2-normalise the dense and ColBERT vectors (FlagEmbedding's
            ``normalize_embeddings=True``).
        max_length: Truncation length in tokens (special tokens included);
            ``None`` reads it from the model's files.
    """

    dim: int = HIDDEN
    colbert_dim: int = HIDDEN
    output_name: str | None = None
    sparse_head: str = SPARSE_HEAD
    colbert_head: str = COLBERT_HEAD
    unused_tokens: tuple[Token, ...] = UNUSED_TOKENS
    normalize: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int(self.dim, "dim")
        check_positive_int(self.colbert_dim, "colbert_dim")
        _check_tokens(self.unused_tokens)
        _with_file(self, self.sparse_head, "sparse_head")
        _with_file(self, self.colbert_head, "colbert_head")

    @property
    def family(self) -> str:
        return "bge_m3"


@dataclass(frozen=True, kw_only=True)
class BgeM3SparseSpec(SparseSpec):
    """BGE-M3's lexical weights (``SparseTextEmbedding``): indices are token ids.

    Attributes:
        output_name: ONNX output holding the last hidden state; ``None``: the first.
        sparse_head: The ``sparse_linear`` file; added to ``additional_files``.
        unused_tokens: Tokens (text or id) that get no weight.
    """

    output_name: str | None = None
    sparse_head: str = SPARSE_HEAD
    unused_tokens: tuple[Token, ...] = UNUSED_TOKENS

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_tokens(self.unused_tokens)
        _with_file(self, self.sparse_head, "sparse_head")

    @property
    def kind(self) -> str:
        return "bge_m3"


@dataclass(frozen=True, kw_only=True)
class BgeM3ColbertSpec(ColbertSpec):
    """BGE-M3's ColBERT vectors (``LateInteractionTextEmbedding``).

    A ColBERT model without markers, query expansion or skip-list, whose
    projection (``colbert_head``) is applied in numpy to the hidden states
    (``output_name``) and whose first token (``[CLS]``) gives no vector; queries
    and documents are encoded alike, queries truncated at ``query_length``.
    """

    colbert_head: str = COLBERT_HEAD
    query_marker: Token | None = None
    document_marker: Token | None = None
    mask_token: Token = "<mask>"
    query_length: int = MAX_LENGTH
    query_expansion: bool = False
    skiplist: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if (
            self.query_marker is not None
            or self.document_marker is not None
            or self.query_expansion
            or self.skiplist
        ):
            raise InvalidArgumentError(
                f"{self.model}: BGE-M3's ColBERT head takes no markers, query expansion or "
                "skip-list (use a ColbertSpec for a model that has them)"
            )
        _with_file(self, self.colbert_head, "colbert_head")


_REPO = "BAAI/bge-m3"
_LICENSE = "mit"
_SIZE_GB = 2.27
_SOURCE = (
    "FlagOpen/FlagEmbedding FlagEmbedding/finetune/embedder/encoder_only/m3/modeling.py, "
    "runner.py, FlagEmbedding/inference/embedder/encoder_only/m3.py, research/BGE_M3/"
    "README.md; Anush008/fastembed-rs src/models/text_embedding.rs, src/models/sparse.rs; "
    "https://huggingface.co/BAAI/bge-m3"
)
_WHAT = "BGE-M3: multilingual (100+ languages), 8192 tokens"

#: BAAI/bge-m3 under every family it serves (catalog/__init__.py lists each under its own).
#: - dim 1024, 8192 tokens, 100+ languages, "no longer requires adding instructions to the
#:   queries": FlagEmbedding research/BGE_M3/README.md (Specs, FAQ 2).
#: - licence: MIT, as FlagEmbedding's repository (the model card's metadata was not read).
#: - size: onnx/model.onnx_data, 2.27 GB (the heads add 2.1 MB).
BGE_M3_MODELS: tuple[ModelSpec, ...] = (
    DenseSpec(
        model=_REPO,
        hf_repo=_REPO,
        model_file=GRAPH,
        additional_files=GRAPH_DATA,
        dim=HIDDEN,
        pooling="cls",
        normalize=True,
        max_length=MAX_LENGTH,
        license=_LICENSE,
        size_gb=_SIZE_GB,
        description=f"{_WHAT}; dense: [CLS] vector, 1024-d, normalised.",
        source=_SOURCE,
    ),
    BgeM3SparseSpec(
        model=_REPO,
        hf_repo=_REPO,
        model_file=GRAPH,
        additional_files=GRAPH_DATA,
        vocab_size=250002,
        max_length=MAX_LENGTH,
        license=_LICENSE,
        size_gb=_SIZE_GB,
        description=f"{_WHAT}; lexical weights (sparse_linear head), token-id indices.",
        source=_SOURCE,
    ),
    BgeM3ColbertSpec(
        model=_REPO,
        hf_repo=_REPO,
        model_file=GRAPH,
        additional_files=GRAPH_DATA,
        dim=HIDDEN,
        max_length=MAX_LENGTH,
        license=_LICENSE,
        size_gb=_SIZE_GB,
        description=f"{_WHAT}; ColBERT vectors (colbert_linear head), 1024-d per token.",
        source=_SOURCE,
    ),
    BgeM3Spec(
        model=_REPO,
        hf_repo=_REPO,
        model_file=GRAPH,
        additional_files=GRAPH_DATA,
        max_length=MAX_LENGTH,
        license=_LICENSE,
        size_gb=_SIZE_GB,
        description=f"{_WHAT}; dense, lexical weights and ColBERT vectors from one pass.",
        source=_SOURCE,
    ),
)
