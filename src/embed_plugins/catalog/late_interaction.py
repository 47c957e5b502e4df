"""The supported late-interaction (ColBERT) text models, as data.

A :class:`ColbertSpec` holds every convention the ColBERT family varies on:
the query and document marker tokens inserted after ``[CLS]``, the fixed query
length that queries are padded to with ``[MASK]`` ("query augmentation"),
whether those ``[MASK]`` tokens are attended to, the punctuation skip-list of
documents, per-token L2 normalisation and the document truncation length.

Where the conventions come from (read through the stored copies of the sources):

* stanford-futuredata/ColBERT (the reference implementation):
  ``colbert/infra/config/settings.py`` (defaults: ``query_token_id="[unused0]"``,
  ``doc_token_id="[unused1]"``, ``query_maxlen=32``, ``attend_to_mask_tokens=False``,
  ``doc_maxlen=220``, ``dim=128``, ``mask_punctuation=True``);
  ``colbert/modeling/tokenization/query_tokenization.py`` (``". " + query``, truncate
  and pad to ``query_maxlen``, replace position 1 by the query marker and every
  pad id by ``[MASK]``; the attention mask stays 0 on those ``[MASK]`` unless
  ``attend_to_mask_tokens``); ``doc_tokenization.py`` (``". " + doc``, truncate at
  ``doc_maxlen``, position 1 becomes the document marker); ``colbert/modeling/colbert.py``
  (``linear`` projection without bias, skip-list = for each ``string.punctuation``
  symbol the symbol and the first id of its encoding without special tokens; query
  vectors all kept and L2-normalised; document vectors zeroed on skip-list and pad
  ids, L2-normalised, then dropped; score = sum over query tokens of the max dot
  product over document tokens).
* lightonai/PyLate ``pylate/models/colbert.py``: the same rules written as "truncate
  at length - 1, insert the marker id after the first token" (``insert_prefix_token``),
  queries padded to ``query_length`` with the mask token, ``attend_to_expansion_tokens``
  (read from the Stanford checkpoint's ``artifact.metadata`` ``attend_to_mask_tokens``),
  all query tokens kept, documents masked by ``skiplist & attention_mask``, then
  L2-normalised.
* qdrant/fastembed ``fastembed/late_interaction/colbert.py`` and ``jina_colbert.py``:
  catalogue entries (repositories, ONNX file names, sizes, licences), the marker ids
  1/2 (BERT ``[unused0]``/``[unused1]``) and 250002/250003 (jina), and jina-colbert-v2's
  "attention mask is always 1 in queries".  fastembed differs from the reference in two
  ways we do not copy: queries longer than 32 tokens are not truncated to 32, and
  documents are truncated at the tokenizer's limit (512) instead of ``doc_maxlen``.
* Query expansion off (``query_expansion=False``, lightonai's LateOn / mLateOn):
  PyLate ``pylate/models/colbert.py`` with ``do_query_expansion=False`` tokenises
  queries without ``padding="max_length"`` (``tokenize``: padded to the longest
  query of the batch only), forces ``attend_to_expansion_tokens`` off, and in
  ``encode`` keeps the query vectors where ``attention_mask`` is 1 ("We only keep
  the original tokens and prune padding tokens"; no skip-list for queries), then
  L2-normalises them; documents are unchanged.  fastembed 0.9.1
  ``fastembed/late_interaction/lateon.py`` does the same (``MIN_QUERY_LENGTH = None``,
  ``keep = output.attention_mask == 1``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from embed_plugins.catalog.spec import ModelSpec, check_positive_int

from ..errors import ArgumentTypeError, InvalidArgumentError

#: A special token given by its text (looked up in the vocabulary) or by its id.
Token = str | int

#: The symbols whose token ids documents drop (``string.punctuation``, as in the reference).
PUNCTUATION: tuple[str, ...] = tuple(string.punctuation)


@dataclass(frozen=True, kw_only=True)
class ColbertSpec(ModelSpec):
    """A late-interaction text model: one L2-normalised vector per token.

    Attributes:
        dim: Output dimension of the projection (the vectors' length).
        output_name: ONNX output holding the projected token vectors
            ``(batch, sequence, dim)``; ``None`` means the graph's first output.
        query_marker / document_marker: Token (text or id) inserted right after
            the first token (``[CLS]``); ``None`` inserts nothing.
        mask_token: Token (text or id) queries are padded with.
        query_length: Every query becomes exactly this many tokens: truncated to
            it (markers and ``[CLS]``/``[SEP]`` included), then padded with
            ``mask_token``.  All of them produce vectors.
        attend_to_mask_tokens: Whether the padding ``[MASK]`` tokens get
            attention mask 1 (jina-colbert-v2) or 0 (ColBERTv2's default: they
            still produce vectors, but no other token attends to them).
        query_expansion: ``True`` (ColBERT's query augmentation): queries are
            padded to ``query_length`` with ``mask_token`` and every position gives
            a vector.  ``False`` (PyLate's ``do_query_expansion=False``): queries
            are only truncated at ``query_length``, padded to the longest query of
            their batch with attention 0, and give one vector per real token
            (``[CLS]``, marker, text, ``[SEP]``); ``mask_token`` is then unused and
            ``attend_to_mask_tokens`` must stay ``False``.
        skiplist: Symbols whose token ids are dropped from document vectors
            (each symbol maps to the first id of its encoding without special
            tokens, as the reference does).  Queries keep every token.
        normalize: L2-normalise every token vector.
        max_length: Document truncation length in tokens, ``[CLS]``, marker and
            ``[SEP]`` included; ``None`` reads the limit from the model's files.
        matryoshka_dims: Dimensions the model was trained to be cut to
            (informational).
    """

    dim: int
    output_name: str | None = None
    query_marker: Token | None = "[unused0]"
    document_marker: Token | None = "[unused1]"
    mask_token: Token = "[MASK]"
    query_length: int = 32
    attend_to_mask_tokens: bool = False
    query_expansion: bool = True
    skiplist: tuple[str, ...] = PUNCTUATION
    normalize: bool = True
    matryoshka_dims: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int(self.dim, "dim")
        minimum = 2 + (self.query_marker is not None)
        if (
            isinstance(self.query_length, bool)
            or not isinstance(self.query_length, int)
            or self.query_length < minimum + 1
        ):
            raise InvalidArgumentError(
                f"query_length must be an int >= {minimum + 1} ([CLS], marker, [SEP] and at "
                f"least one token), got {self.query_length!r}"
            )
        doc_minimum = 2 + (self.document_marker is not None)
        if self.max_length is not None and (
            isinstance(self.max_length, bool)
            or not isinstance(self.max_length, int)
            or self.max_length < doc_minimum
        ):
            raise InvalidArgumentError(
                f"max_length must be None or an int >= {doc_minimum}, got {self.max_length!r}"
            )
        if not isinstance(self.query_expansion, bool):
            raise ArgumentTypeError(f"query_expansion must be a bool, got {self.query_expansion!r}")
        if self.attend_to_mask_tokens and not self.query_expansion:
            raise InvalidArgumentError(
                "attend_to_mask_tokens=True needs query_expansion=True: without query "
                "expansion there are no [MASK] tokens to attend to"
            )
        if isinstance(self.skiplist, str):
            raise ArgumentTypeError("skiplist must be a tuple of symbols, not one string")
        for name in ("query_marker", "document_marker", "mask_token"):
            value = getattr(self, name)
            if value is None and name != "mask_token":
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise ArgumentTypeError(f"{name} must be a token string or an id, got {value!r}")

    @property
    def family(self) -> str:
        return "late_interaction"


LATE_INTERACTION_MODELS: tuple[ColbertSpec, ...] = (
    # colbert-ir/colbertv2.0 (default model).
    # - repo/file/size/licence: fastembed colbert.py (hf "colbert-ir/colbertv2.0", model_file
    #   "model.onnx", 0.44 GB, "mit").  The graph's output name was not read: first output.
    # - dim 128, BERT-base uncased WordPiece, markers [unused0] (id 1) / [unused1] (id 2), [MASK]:
    #   stanford-futuredata/ColBERT settings.py defaults; fastembed QUERY/DOCUMENT_MARKER_TOKEN_ID
    #   1 / 2 and MASK_TOKEN "[MASK]".
    # - query_maxlen 32, attend_to_mask_tokens false, doc_maxlen 180, mask_punctuation true: the
    #   checkpoint's artifact.metadata as mirrored by third-party test fixtures of that file (not
    #   read directly); 32 / false / true are also the library defaults.  PyLate reads the same
    #   file when loading this checkpoint.  fastembed truncates documents at 512 instead; pass
    #   max_length=512 for fastembed's behaviour.
    ColbertSpec(
        model="colbert-ir/colbertv2.0",
        hf_repo="colbert-ir/colbertv2.0",
        model_file="model.onnx",
        dim=128,
        query_marker="[unused0]",
        document_marker="[unused1]",
        mask_token="[MASK]",
        query_length=32,
        attend_to_mask_tokens=False,
        max_length=180,
        license="mit",
        size_gb=0.44,
        description=(
            "ColBERTv2 (default): 128-d per token, queries padded to 32 with [MASK], "
            "documents truncated at 180 tokens, punctuation skipped."
        ),
        source=(
            "stanford-futuredata/ColBERT colbert/infra/config/settings.py, "
            "colbert/modeling/colbert.py, colbert/modeling/tokenization/*.py; "
            "https://huggingface.co/colbert-ir/colbertv2.0 (artifact.metadata); "
            "qdrant/fastembed fastembed/late_interaction/colbert.py"
        ),
    ),
    # answerdotai/answerai-colbert-small-v1.
    # - repo/file/size/licence/dim: fastembed colbert.py (hf
    #   "answerdotai/answerai-colbert-small-v1", model_file "vespa_colbert.onnx", 0.13 GB,
    #   "apache-2.0", dim 96, "512 input tokens truncation"); model card (https://huggingface.co/answerdotai/answerai-colbert-small-v1:
    #   33M parameters, MiniLM-sized BERT, tags ColBERT / RAGatouille, trained with the
    #   JaColBERTv2.5 recipe on the Stanford ColBERT library).
    # - markers / [MASK] / query length 32 / attend false: the ColBERT library defaults the model
    #   was trained with, and fastembed's Colbert class which serves it; its own artifact.metadata
    #   was not read.  Document length: its files (tokenizer_config 512), as fastembed does.
    # - Whether vespa_colbert.onnx already normalises is unknown; normalising a unit vector again
    #   changes nothing.
    ColbertSpec(
        model="answerdotai/answerai-colbert-small-v1",
        hf_repo="answerdotai/answerai-colbert-small-v1",
        model_file="vespa_colbert.onnx",
        dim=96,
        query_marker="[unused0]",
        document_marker="[unused1]",
        mask_token="[MASK]",
        query_length=32,
        attend_to_mask_tokens=False,
        max_length=None,
        license="apache-2.0",
        size_gb=0.13,
        description=(
            "answerai-colbert-small-v1: 33M parameters, 96-d per token, English, "
            "512-token documents."
        ),
        source=(
            "https://huggingface.co/answerdotai/answerai-colbert-small-v1 (card); "
            "qdrant/fastembed fastembed/late_interaction/colbert.py"
        ),
    ),
    # jinaai/jina-colbert-v2.
    # - repo/files/size/licence: fastembed jina_colbert.py (hf "jinaai/jina-colbert-v2",
    #   onnx/model.onnx + onnx/model.onnx_data, 2.24 GB, "cc-by-nc-4.0").
    # - XLM-RoBERTa tokenizer: markers are added tokens with ids 250002 (query) / 250003
    #   (document), padding token "<mask>"; queries are attended in full ("the attention mask for
    #   jina-colbert-v2 is always 1 in queries"): fastembed jina_colbert.py
    #   (QUERY_MARKER_TOKEN_ID, DOCUMENT_MARKER_TOKEN_ID, MASK_TOKEN, _preprocess_onnx_input).
    # - dim 128 (Matryoshka 128 / 96 / 64), max query length 32, max document length 8192: Jina's
    #   release post (https://jina.ai/news/jina-colbert-v2-multilingual-late-interaction-retriever-
    #   for-embedding-and-reranking, "Technical Summary" table).
    ColbertSpec(
        model="jinaai/jina-colbert-v2",
        hf_repo="jinaai/jina-colbert-v2",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data",),
        dim=128,
        query_marker=250002,
        document_marker=250003,
        mask_token="<mask>",
        query_length=32,
        attend_to_mask_tokens=True,
        matryoshka_dims=(128, 96, 64),
        max_length=8192,
        license="cc-by-nc-4.0",
        size_gb=2.24,
        description=(
            "jina-colbert-v2: multilingual (89 languages), 128-d per token, 8192-token "
            "documents, queries attend to their [MASK] padding."
        ),
        source=(
            "qdrant/fastembed fastembed/late_interaction/jina_colbert.py; "
            "https://jina.ai/news/jina-colbert-v2-multilingual-late-interaction-retriever-"
            "for-embedding-and-reranking"
        ),
    ),
    # lightonai/LateOn.
    # - repo/file/size/licence/dim: fastembed 0.9.1 fastembed/late_interaction/lateon.py
    #   (supported_lateon_models: hf "lightonai/LateOn", model_file "model.onnx", 0.616 GB,
    #   "apache-2.0", dim 128, "English, 300 input tokens truncation").
    # - markers 50368 / 50369 and "[MASK]", punctuation skip-list (inherited from fastembed's
    #   Colbert): lateon.py LateOn.QUERY/DOCUMENT_MARKER_TOKEN_ID, MASK_TOKEN.
    # - Query expansion off: "exported with `do_query_expansion=false`" (MIN_QUERY_LENGTH =
    #   None): queries keep only their real tokens (see query_expansion above).
    # - Lengths: "PyLate writes `model_max_length` with the [Q]/[D] marker already taken off"
    #   (RESERVED_MARKER_TOKENS = 0), so fastembed cuts documents and queries at
    #   model_max_length and then inserts the marker: 300 tokens in all, as written here.
    #   PyLate cuts queries at the checkpoint's own query_length (its config was not read).
    ColbertSpec(
        model="lightonai/LateOn",
        hf_repo="lightonai/LateOn",
        model_file="model.onnx",
        dim=128,
        query_marker=50368,
        document_marker=50369,
        mask_token="[MASK]",
        query_length=300,
        query_expansion=False,
        max_length=300,
        license="apache-2.0",
        size_gb=0.616,
        description=(
            "LateOn: English ColBERT, 128-d per token, no query expansion (queries keep "
            "their own tokens only), 300-token documents, punctuation skipped."
        ),
        source="qdrant/fastembed 0.9.1 fastembed/late_interaction/lateon.py; "
        "lightonai/PyLate pylate/models/colbert.py (do_query_expansion)",
    ),
    # lightonai/mLateOn.
    # - repo/file/size/licence/dim: fastembed 0.9.1 lateon.py (supported_mlateon_models: hf
    #   "lightonai/mLateOn", model_file "model.onnx", 1.25 GB, "apache-2.0", dim 128,
    #   "Multilingual and code, 8192 input tokens truncation").
    # - markers 256000 / 256001, "<mask>"; "trained with an empty skiplist, punctuation is a
    #   part of a document": lateon.py MLateOn.  Query expansion off and lengths as LateOn.
    ColbertSpec(
        model="lightonai/mLateOn",
        hf_repo="lightonai/mLateOn",
        model_file="model.onnx",
        dim=128,
        query_marker=256000,
        document_marker=256001,
        mask_token="<mask>",
        query_length=8192,
        query_expansion=False,
        skiplist=(),
        max_length=8192,
        license="apache-2.0",
        size_gb=1.25,
        description=(
            "mLateOn: multilingual and code ColBERT, 128-d per token, no query expansion, "
            "8192-token documents, punctuation kept."
        ),
        source="qdrant/fastembed 0.9.1 fastembed/late_interaction/lateon.py; "
        "lightonai/PyLate pylate/models/colbert.py (do_query_expansion)",
    ),
)
