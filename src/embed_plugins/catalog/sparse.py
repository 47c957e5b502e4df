"""The supported sparse text-embedding models, as data.

Three kinds of sparse model share one public class
(:class:`~embed_plugins.SparseTextEmbedding`) and one result type
(:class:`~embed_plugins.SparseVector`, int64 indices, float32 values):

* :class:`SpladeSpec` -- a masked-LM ONNX graph whose ``logits`` become
  vocabulary-sized weights (``log(1 + relu(logits))``, max over tokens);
  indices are vocabulary ids.
* :class:`Bm25Spec` -- no model files at all: BM25 term-frequency weights of
  Snowball-stemmed words, indices are MurmurHash3 hashes of the stems.
* :class:`Bm42Spec` -- an encoder ONNX graph that also outputs its last layer's
  attention; the [CLS] row of it weights the words, hashed like BM25.

The BM25 and BM42 vectors carry no IDF: they are meant for a Qdrant sparse
index with ``modifier=idf`` (``requires_idf=True`` says so).  Inference-free
SPLADE (a ``SpladeSpec`` with ``query_idf_file``) and miniCOIL
(:class:`MiniCoilSpec`) are in :mod:`.sparse_neural`, appended to
:data:`SPARSE_MODELS`.

Sources for the entries are cited above each one.  "fastembed" means
qdrant/fastembed 0.9.1 (the version installed in the development venv):
``fastembed/sparse/splade_pp.py``, ``bm25.py`` and ``bm42.py``; "listing"
means the Hugging Face file listing ``https://huggingface.co/<repo>/tree/main``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

from ..errors import InvalidArgumentError
from ..families.bm25_options import Stemmer, check_stemmer, stopword_set
from .spec import ModelSpec, relative_file_parts

__all__ = ["SPARSE_MODELS", "Bm25Spec", "Bm42Spec", "MiniCoilSpec", "SparseSpec", "SpladeSpec"]

#: ``log1p_relu``: SPLADE's log(1 + relu(x)); ``log1p_log1p_relu``: log(1 + log(1 + relu(x))),
#: OpenSearch's v3 sparse models (families/if_splade.py cites the card).
SPLADE_ACTIVATIONS = ("log1p_relu", "log1p_log1p_relu")

#: Languages BM25 and BM42 can stem and filter stopwords for (see ``families/bm25.py``).
_BM25_LANGUAGES = (
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "greek",
    "hungarian", "italian", "norwegian", "portuguese", "romanian", "russian", "spanish",
    "swedish", "tamil", "turkish",
)  # fmt: skip


def _number(value: object) -> TypeGuard[float]:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _check_tf_parameters(where: str, k: object, b: object, avg_len: object) -> None:
    """BM25's term-frequency parameters (BM25 and miniCOIL), with fastembed's bounds."""
    if not (_number(k) and math.isfinite(k) and k >= 0):
        raise InvalidArgumentError(f"{where}: k must be a finite number >= 0, got {k!r}")
    if not (_number(b) and 0 <= b <= 1):
        raise InvalidArgumentError(f"{where}: b must be a number in [0, 1], got {b!r}")
    if not (_number(avg_len) and math.isfinite(avg_len) and avg_len > 0):
        raise InvalidArgumentError(f"{where}: avg_len must be a finite number > 0, got {avg_len!r}")


def _check_language(language: object, where: str) -> None:
    # Kept in step with embed_plugins.families.bm25.SUPPORTED_LANGUAGES (a test pins it);
    # not imported from there so that reading the catalogue loads no stemmer.
    if not isinstance(language, str) or language.strip().lower() not in _BM25_LANGUAGES:
        raise InvalidArgumentError(
            f"{where}: no Snowball stemmer and stopword list for language {language!r}; "
            f"supported: {', '.join(_BM25_LANGUAGES)}"
        )


@dataclass(frozen=True, kw_only=True)
class SparseSpec(ModelSpec):
    """Fields every sparse model shares.

    Attributes:
        requires_idf: The vectors hold term weights without inverse document
            frequency; index them in Qdrant with ``modifier=idf``.
        vocab_size: Number of possible indices for vocabulary-indexed models
            (SPLADE); ``None`` for hashed ones (indices up to ``2**31``).
    """

    requires_idf: bool = False
    vocab_size: int | None = None

    @property
    def family(self) -> str:
        return "sparse"

    @property
    def kind(self) -> str:
        """``splade``, ``bm25`` or ``bm42``: which family module runs the model."""
        return "sparse"

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["kind"] = self.kind
        return out


@dataclass(frozen=True, kw_only=True)
class SpladeSpec(SparseSpec):
    """A SPLADE model: masked-LM logits -> ``max_t log(1 + relu(logits[t]))``.

    Attributes:
        output_name: ONNX output holding ``logits`` ``[batch, seq, vocab]``;
            ``None`` means the graph's first output (what fastembed reads).
        activation: One of :data:`SPLADE_ACTIVATIONS`, applied to the max over tokens.
        drop_special_tokens: Zero the special tokens' columns of document vectors
            (and leave them out of IDF queries), as OpenSearch's models do.
        query_idf_file: Inference-free SPLADE: a JSON ``{token: weight}`` file of the
            folder; queries then skip the model and weight each distinct token of
            the query by it (``families/if_splade.py``).  Added to ``additional_files``.
    """

    output_name: str | None = None
    activation: str = "log1p_relu"
    drop_special_tokens: bool = False
    query_idf_file: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.activation not in SPLADE_ACTIVATIONS:
            raise InvalidArgumentError(
                f"SPLADE model {self.model!r}: activation must be one of {SPLADE_ACTIVATIONS}, "
                f"got {self.activation!r}"
            )
        _add_files(self, (self.query_idf_file,), "query_idf_file")

    @property
    def kind(self) -> str:
        return "splade"


def _add_files(spec: ModelSpec, names: tuple[str | None, ...], field: str) -> None:
    """Append the files a spec field names to its ``additional_files`` (fetched with it)."""
    for name in names:
        if name is not None:
            relative_file_parts(name, f"{spec.model}: {field}")
            if name not in spec.additional_files:
                object.__setattr__(spec, "additional_files", (*spec.additional_files, name))


@dataclass(frozen=True, kw_only=True)
class Bm25Spec(SparseSpec):
    """BM25 with fastembed's rules; needs no files (``hf_repo`` stays ``None``).

    The fields are fastembed 0.9.1's ``Bm25`` arguments, with its errors (see
    ``families/bm25_options.py``).

    Attributes:
        language: Snowball stemmer and stopword list (case-insensitive).  Any
            string with ``disable_stemmer`` or a custom ``stemmer`` (stopwords
            then only if the language has a list).
        k, b, avg_len: BM25 parameters of the term-frequency saturation
            ``tf*(k+1)/(tf + k*(1 - b + b*len/avg_len))``.
        token_max_length: Longer words are dropped.
        disable_stemmer: Keep lower-cased words as they are, and use no stopword
            list (``stopwords`` still apply); not with ``stemmer``.
        stemmer: A custom stemmer instead of Snowball: an object with
            ``stem_word(word) -> str`` (an empty stem drops the word), a pure
            function of the word.  It must pickle (specs travel to worker
            processes pickled): checked here, with the reason named.
        stopwords: Words to drop instead of the language's list, kept
            lower-cased as a frozenset; an empty set drops none.
    """

    language: str = "english"
    k: float = 1.2
    b: float = 0.75
    avg_len: float = 256.0
    token_max_length: int = 40
    disable_stemmer: bool = False
    stemmer: Stemmer | None = None
    stopwords: frozenset[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        where = f"BM25 model {self.model!r}"
        if self.hf_repo is not None:
            raise InvalidArgumentError(f"{where}: BM25 needs no model files; leave hf_repo=None")
        if self.disable_stemmer and self.stemmer is not None:
            raise InvalidArgumentError(
                f"{where}: stemmer cannot be supplied with disable_stemmer=True"
            )
        if not self.disable_stemmer and self.stemmer is None:
            try:
                _check_language(self.language, where)
            except ValueError as error:
                raise InvalidArgumentError(
                    f"{error} (or pass a custom stemmer=..., or disable_stemmer=True)"
                ) from None
        elif not isinstance(self.language, str):
            raise InvalidArgumentError(f"{where}: language must be a str, got {self.language!r}")
        # In-process use needs no pickling (as in fastembed); parallel=N checks it then.
        check_stemmer(self.stemmer, where, picklable=False)
        object.__setattr__(self, "stopwords", stopword_set(self.stopwords, where))
        _check_tf_parameters(where, self.k, self.b, self.avg_len)
        if (
            isinstance(self.token_max_length, bool)
            or not isinstance(self.token_max_length, int)
            or self.token_max_length < 1
        ):
            raise InvalidArgumentError(
                f"{where}: token_max_length must be an int >= 1, got {self.token_max_length!r}"
            )

    @property
    def kind(self) -> str:
        return "bm25"

    def files(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, kw_only=True)
class Bm42Spec(SparseSpec):
    """BM42: [CLS] attention of the last layer weights the words of a document.

    Attributes:
        output_name: ONNX output with the last layer's attention probabilities
            ``[batch, heads, seq, seq]``.
        alpha: Exponent of the value ``log(1 + weight) ** alpha``.
        language: Snowball stemmer and stopword list (the same as BM25's).
    """

    output_name: str = "attention_6"
    alpha: float = 0.5
    language: str = "english"

    def __post_init__(self) -> None:
        super().__post_init__()
        where = f"BM42 model {self.model!r}"
        _check_language(self.language, where)
        if (
            isinstance(self.alpha, bool)
            or not isinstance(self.alpha, (int, float))
            or not (math.isfinite(self.alpha) and self.alpha > 0)
        ):
            raise InvalidArgumentError(
                f"{where}: alpha must be a finite number > 0, got {self.alpha!r}"
            )

    @property
    def kind(self) -> str:
        return "bm42"


SPARSE_MODELS: tuple[SparseSpec, ...] = (
    # prithivida/Splade_PP_en_v1 (SPLADE++, BERT-base, English; the default sparse model).
    # - repo/file: fastembed reads model.onnx from Qdrant/Splade_PP_en_v1 (splade_pp.py,
    #   supported_splade_models, size_in_GB 0.532, vocab_size 30522, licence apache-2.0); the
    #   listing https://huggingface.co/Qdrant/Splade_PP_en_v1/tree/main shows model.onnx 532 MB
    #   at the root beside config.json, tokenizer.json, tokenizer_config.json,
    #   special_tokens_map.json and vocab.txt ("Upload 7 files").  The original repo
    #   https://huggingface.co/prithivida/Splade_PP_en_v1 (card: apache-2.0, arXiv 2205.04733)
    #   carries the same 532 MB model.onnx ("added ONNX model").
    # - output: fastembed takes the graph's first output as logits [batch, seq, vocab]; so do we
    #   (output_name=None).  The output name itself was not read from the graph.
    # - max_length: left to the files (tokenizer_config.json model_max_length, capped by the
    #   512 positions of BERT), as fastembed does.
    # - alias "prithvida/Splade_PP_en_v1": fastembed 0.9.1 lists that misspelling as its own
    #   entry (splade_pp.py, same repo and file) and maps it to this name with a
    #   DeprecationWarning (sparse_text_embedding.py, SparseTextEmbedding.__init__); here it
    #   finds this spec (catalog.find), without the warning.
    SpladeSpec(
        model="prithivida/Splade_PP_en_v1",
        aliases=("prithvida/Splade_PP_en_v1",),
        hf_repo="Qdrant/Splade_PP_en_v1",
        model_file="model.onnx",
        vocab_size=30522,
        license="apache-2.0",
        size_gb=0.532,
        description="SPLADE++ English (BERT-base): vocabulary-indexed sparse vectors, 30522 terms.",
        source=(
            "https://huggingface.co/Qdrant/Splade_PP_en_v1 (tree/main); "
            "https://huggingface.co/prithivida/Splade_PP_en_v1 (card); "
            "qdrant/fastembed fastembed/sparse/splade_pp.py"
        ),
    ),
    # Qdrant/bm25.
    # - No model at all: fastembed's repo Qdrant/bm25 holds only stopword lists, which ship
    #   inside this package (families/data/stopwords/, see families/bm25.py for their source and
    #   licence), so nothing is downloaded.  Parameters k=1.2, b=0.75, avg_len=256,
    #   token_max_length=40, language "english": fastembed bm25.py (Bm25.__init__ defaults).
    # - requires_idf: fastembed's description (requires_idf=True); licence apache-2.0 (same).
    Bm25Spec(
        model="Qdrant/bm25",
        requires_idf=True,
        license="apache-2.0",
        size_gb=0.0,
        description=(
            "BM25 term weights of Snowball-stemmed words, MurmurHash3 indices; "
            "no download; use with Qdrant's IDF modifier."
        ),
        source="qdrant/fastembed fastembed/sparse/bm25.py; families/bm25.py here",
    ),
    # Qdrant/bm42-all-minilm-l6-v2-attentions.
    # - repo/file: fastembed bm42.py (supported_bm42_models): hf
    #   Qdrant/all_miniLM_L6_v2_with_attentions, model_file model.onnx, additional file
    #   stopwords.txt, size 0.09 GB, vocab 30522, apache-2.0, requires_idf=True,
    #   ONNX_OUTPUT_NAMES ["attention_6"], alpha 0.5, language english.  Listing https://huggingface.co/Qdrant/all_miniLM_L6_v2_with_attentions/tree/main:
    #   model.onnx 91 MB, stopwords.txt 936 B, tokenizer files, config.json.
    # - stopwords: the repo's stopwords.txt (936 bytes) is not fetched: the English list shipped
    #   with this package for BM25 (NLTK's English list, 179 words, also 936 bytes) is used, so
    #   BM25 and BM42 drop the same words.  That the two files are byte-identical is inferred from
    #   their equal size and common origin (Qdrant's bm25 lists), not read.
    # - The output attention_6 [batch, heads, seq, seq] was read from the graph of the copy in
    #   ../shared/models/Qdrant/all_miniLM_L6_v2_with_attentions (same weights, re-exported).
    Bm42Spec(
        model="Qdrant/bm42-all-minilm-l6-v2-attentions",
        hf_repo="Qdrant/all_miniLM_L6_v2_with_attentions",
        model_file="model.onnx",
        output_name="attention_6",
        alpha=0.5,
        language="english",
        requires_idf=True,
        license="apache-2.0",
        size_gb=0.09,
        description=(
            "BM42: all-MiniLM-L6-v2 [CLS] attention as word weights, stemmed and hashed like "
            "BM25; use with Qdrant's IDF modifier."
        ),
        source=(
            "https://huggingface.co/Qdrant/all_miniLM_L6_v2_with_attentions (tree/main, card); "
            "qdrant/fastembed fastembed/sparse/bm42.py"
        ),
    ),
)

# The learned sparse models with their own rules (inference-free SPLADE, miniCOIL) live in
# catalog/sparse_neural.py, which builds on the classes above: imported here, after them.
from .sparse_neural import NEURAL_SPARSE_MODELS, MiniCoilSpec  # noqa: E402

SPARSE_MODELS = (*SPARSE_MODELS, *NEURAL_SPARSE_MODELS)
