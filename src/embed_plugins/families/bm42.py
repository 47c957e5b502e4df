"""BM42: a transformer's [CLS] attention as BM25-style term weights.

The rules, as qdrant/fastembed 0.9.1 applies them (``fastembed/sparse/bm42.py``;
read, not copied), with our few deliberate differences marked *(ours)*:

Documents (``embed``, ``passage_embed``)
----------------------------------------

1. **Token weights.**  The model's last-layer attention probabilities
   ``A[batch, head, query, key]`` (ONNX output ``attention_6`` for MiniLM-L6):
   the row of the ``[CLS]`` query (position 0), averaged over heads (float32),
   times the attention mask: ``w[t] = mean_h A[h, 0, t] * mask[t]``.
2. **Words.**  The WordPiece tokens of the (truncated) text, in order, special
   tokens (``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]``, ``[MASK]``: every added
   token marked special, and every token of ``special_tokens_map.json``)
   skipped without ending a word.  A token starting with the tokenizer's
   continuing-subword prefix (``##``) is appended, prefix removed, to the word
   being built; any other token starts a new word.  A word's weight is the sum
   of its pieces' weights (float64).
3. **Filters.**  A word is dropped if it is in the stopword list of the
   spec's language (the lists BM25 uses: ``families/data/stopwords``) or if it
   is a single punctuation character: one of Python's ``string.punctuation``
   (fastembed's rule) *(ours: or any one character of Unicode category P*,
   such as ``—``, ``“`` or ``。``, which fastembed keeps as terms)*.
   *(ours: the word is lower-cased first; BERT-uncased tokens already are.)*
4. **Stemming.**  Snowball (``py_rust_stemmers``, the stemmer of BM25 and of
   fastembed) in the spec's language.  An empty stem is dropped *(ours)*.
5. **Per stem**, the largest weight among the words with that stem.
6. **Value** ``log(1 + weight) ** alpha`` (float64, alpha 0.5 by default),
   stored as float32.
7. **Index** ``abs(signed MurmurHash3_x86_32(stem, seed 0))``, exactly BM25's
   (:func:`embed_plugins.families.bm25.token_id`), in ``[0, 2**31]``.  Two
   stems with one index keep the larger value *(ours: fastembed keeps the
   later one in text order)*.

Queries (``query_embed``)
-------------------------

No model run: the query is tokenised (same truncation), rules 2-4 give its
stems, and each distinct index gets the value 1.0.  Documents carry the
attention part of the score and Qdrant's IDF modifier the rest.

Blank text (empty or whitespace only) is the empty vector (no model run), as
for every sparse model (:mod:`embed_plugins.families.sparse_common`).
"""

from __future__ import annotations

import json
import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from py_rust_stemmers import SnowballStemmer
from tokenizers import Encoding

from ..catalog.sparse import Bm42Spec
from ..engine.pipeline import OnnxTextPipeline, PipelineRecipe, Task
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..results import SPARSE_INDEX_DTYPE, SPARSE_VALUE_DTYPE, SparseVector
from ..text.tokenizer import TextTokenizer
from .bm25 import load_stopwords, token_id
from .sparse_common import blank_aware_process, frozen_vector

FloatArray = npt.NDArray[np.float64]

#: fastembed's punctuation set: one ASCII punctuation character.
ASCII_PUNCTUATION = frozenset(string.punctuation)

#: A word with the positions of its pieces in the token sequence.
Word = tuple[str, list[int]]


# --------------------------------------------------------------------------- pure maths


def cls_attention(
    attentions: npt.NDArray[np.float32], attention_mask: npt.NDArray[np.int64]
) -> FloatArray:
    """Rule 1: ``mean over heads of attentions[:, :, 0, :]``, masked, as float64 ``(batch, seq)``.

    The mean is taken in float32, like fastembed (the model's own precision).
    """
    if attentions.ndim != 4:
        raise ModelLoadError(
            f"BM42 expects attentions [batch, heads, seq, seq], got shape {attentions.shape}"
        )
    pooled = attentions[:, :, 0, :].mean(axis=1)
    weights: FloatArray = pooled.astype(np.float64) * attention_mask
    return weights


def merge_word_pieces(tokens: Iterable[str | None], prefix: str = "##") -> list[Word]:
    """Rule 2: word pieces -> ``(word, piece positions)``; ``None`` marks a special token.

    fastembed's state machine: a continuation piece extends the current word
    (or starts one, if there is none yet); any other piece closes a non-empty
    current word and starts the next; special tokens are skipped.
    """
    words: list[Word] = []
    current = ""
    positions: list[int] = []
    cut = len(prefix)
    for position, token in enumerate(tokens):
        if token is None:
            continue
        if prefix and token.startswith(prefix):
            current += token[cut:]
            positions.append(position)
            continue
        if current:
            words.append((current, positions))
            positions = []
        current = token
        positions.append(position)
    if current:
        words.append((current, positions))
    return words


def bm42_values(weights: npt.ArrayLike, alpha: float) -> npt.NDArray[np.float32]:
    """Rule 6: ``log(1 + w) ** alpha`` (float64 maths, float32 result)."""
    w = np.asarray(weights, dtype=np.float64)
    return (np.log(1.0 + w) ** alpha).astype(SPARSE_VALUE_DTYPE)


def is_punctuation(word: str) -> bool:
    """Rule 3's punctuation test: one ASCII punctuation or Unicode ``P*`` character."""
    return len(word) == 1 and (
        word in ASCII_PUNCTUATION or unicodedata.category(word).startswith("P")
    )


class StemRules:
    """Rules 3, 4 and 7 for one language: word -> ``(stem, index)`` or ``None``, cached."""

    def __init__(self, language: str) -> None:
        self.language = language.strip().lower()
        self.stopwords = load_stopwords(self.language)
        self._stemmer = SnowballStemmer(self.language)
        self._cache: dict[str, tuple[str, int] | None] = {}

    def term(self, word: str) -> tuple[str, int] | None:
        if word in self._cache:
            return self._cache[word]
        lowered = word.lower()
        result: tuple[str, int] | None = None
        if lowered not in self.stopwords and not is_punctuation(lowered):
            stem = self._stemmer.stem_word(lowered)
            if stem:
                result = (stem, token_id(stem))
        if len(self._cache) > 1 << 17:
            self._cache.clear()
        self._cache[word] = result
        return result


def document_vector(
    words: Sequence[Word], weights: Sequence[float] | FloatArray, rules: StemRules, alpha: float
) -> SparseVector:
    """Rules 2-7 for one document: merged words and per-position weights -> vector."""
    best: dict[int, float] = {}
    for word, positions in words:
        term = rules.term(word)
        if term is None:
            continue
        weight = 0.0
        for p in positions:
            weight += float(weights[p])
        index = term[1]
        if weight > best.get(index, -1.0):
            best[index] = weight
    if not best:
        return SparseVector.empty()
    indices = np.fromiter(sorted(best), dtype=SPARSE_INDEX_DTYPE, count=len(best))
    values = bm42_values([best[i] for i in indices.tolist()], alpha)
    return frozen_vector(indices, values)


def query_vector(words: Sequence[Word], rules: StemRules) -> SparseVector:
    """Query side: each distinct index of the words' stems once, value 1.0."""
    indices = sorted({term[1] for word, _ in words if (term := rules.term(word)) is not None})
    return frozen_vector(
        np.asarray(indices, dtype=SPARSE_INDEX_DTYPE),
        np.ones(len(indices), dtype=SPARSE_VALUE_DTYPE),
    )


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class PieceTable:
    """Token id -> piece string, ``None`` for special tokens; and the continuation prefix."""

    pieces: tuple[str | None, ...]
    prefix: str

    def tokens(self, ids: Iterable[int]) -> list[str | None]:
        pieces = self.pieces
        return [pieces[i] if 0 <= i < len(pieces) else None for i in ids]

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, model_dir: Path) -> PieceTable:
        """Read a ``tokenizers.Tokenizer``: vocabulary, special tokens, WordPiece prefix."""
        prefix = getattr(tokenizer.model, "continuing_subword_prefix", None)
        if not isinstance(prefix, str):
            raise ModelLoadError(
                f"{model_dir}: BM42 needs a WordPiece tokenizer (with a continuing-subword "
                f"prefix such as '##'); this one is {type(tokenizer.model).__name__}"
            )
        vocab: dict[str, int] = tokenizer.get_vocab(with_added_tokens=True)
        pieces: list[str | None] = [None] * (max(vocab.values(), default=-1) + 1)
        for token, index in vocab.items():
            pieces[index] = token
        special = {t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special}
        special |= _special_tokens_map(model_dir)
        for token in special:
            if token in vocab:
                pieces[vocab[token]] = None
        return cls(tuple(pieces), prefix)


def _special_tokens_map(model_dir: Path) -> set[str]:
    path = model_file_path(model_dir, "special_tokens_map.json")
    if not path.is_file():
        return set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    found: set[str] = set()
    for value in data.values() if isinstance(data, dict) else []:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                found.add(item)
            elif isinstance(item, dict) and isinstance(item.get("content"), str):
                found.add(item["content"])
    return found


# --------------------------------------------------------------------------- pipeline


class Bm42Pipeline(OnnxTextPipeline[SparseVector]):
    """Documents: attention-weighted words; queries: words only (no model run)."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, Bm42Spec) or recipe.model_dir is None:
            raise TypeError("Bm42Pipeline needs a Bm42Spec and a model folder")
        self.spec = spec
        tokenizer = TextTokenizer.from_dir(recipe.model_dir, spec.max_length)
        self.table = PieceTable.from_tokenizer(tokenizer.tokenizer, recipe.model_dir)
        self.rules = StemRules(spec.language)
        super().__init__(
            spec.model,
            tokenizer,
            model_file_path(recipe.model_dir, spec.model_file),
            recipe.session,
            [spec.output_name],
            # attentions are heads * seq * seq floats per text: keep batches modest.
            recipe.options.get("token_budget", 4096),
            model_dir=recipe.model_dir,
        )

    def words(self, ids: Iterable[int]) -> list[Word]:
        return merge_word_pieces(self.table.tokens(ids), self.table.prefix)

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[SparseVector]:
        mask = feeds["attention_mask"]
        weights = cls_attention(outputs[0], mask)
        vectors: list[SparseVector] = []
        lengths = mask.sum(axis=1).tolist()
        for ids, row, length in zip(feeds["input_ids"], weights, lengths, strict=True):
            words = self.words(ids[: int(length)].tolist())
            vectors.append(document_vector(words, row, self.rules, self.spec.alpha))
        return vectors

    def _queries(self, items: Sequence[str]) -> list[SparseVector]:
        encodings: list[Encoding] = self.encode(items, "query")
        return [query_vector(self.words(e.ids), self.rules) for e in encodings]

    def process(self, items: Sequence[str], batch_size: int, task: Task) -> list[SparseVector]:
        if task == "query":
            return blank_aware_process(lambda x, _b, _t: self._queries(x), items, batch_size, task)
        return blank_aware_process(super().process, items, batch_size, task)


def build_bm42(recipe: PipelineRecipe) -> Bm42Pipeline:
    return Bm42Pipeline(recipe)
