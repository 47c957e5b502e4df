"""miniCOIL: BM25 whose matched words also carry a few values of meaning.

Method: Qdrant, "miniCOIL: on the Road to Usable Sparse Neural Retrieval"
(https://qdrant.tech/articles/minicoil/, May 2025) and the model card of
``Qdrant/minicoil-v1``: a small encoder reads the text; for each word of a
fixed vocabulary found in it, a per-word linear map turns the word's contextual
state into ``dim`` (4) values of "meaning", which are scaled by the word's
BM25 term-frequency weight; words outside the vocabulary fall back to plain
BM25.  The vectors hold no IDF: index them with Qdrant's ``modifier=idf``.
The exact rules and constants are those of qdrant/fastembed 0.9.1
(``fastembed/sparse/minicoil.py`` and ``sparse/utils/minicoil_encoder.py``,
``vocab_resolver.py``, ``sparse_vectors_converter.py``; read, not copied):

1. **Words.**  The (truncated) WordPiece tokens, special tokens skipped, are
   joined into words: a ``##`` piece continues the word before it
   (:func:`~.bm42.merge_word_pieces`).
2. **Vocabulary id** of a word ``w`` (``vocab_file``: word ``i`` of the list has
   id ``i + 1``): none if ``w`` is a stopword (``stopwords_file``); else its own
   id if ``w`` is a vocabulary word; else the id of ``stem_mapping[w]``; else
   that of ``stem_mapping[stem(w)]`` (Snowball in the spec's language); else none.
3. **Meaning** of each vocabulary id found: the mean of the token states (the
   graph's output) over *every token* of every word with that id, ``@`` the
   id's ``[hidden, dim]`` matrix of ``weights_file``, ``tanh``, then scaled to
   unit length (left as is when its norm is below ``1e-8``).
4. **Fallback words** (no id): dropped when they are a stopword, one Unicode
   punctuation character (category ``P*``) or ``[CLS]``, ``[SEP]``, ``[PAD]``,
   ``[UNK]``, ``[MASK]``; otherwise every non-word character (``[^\\w\\s]``) is
   a space, and each part is stemmed; a stem is kept unless it is longer than
   40 characters or is itself a dropped word.  Equal stems add their counts
   (and a stem equal to a vocabulary word adds its count to that word).
5. **Term frequency** ``tf = n (k + 1) / (n + k (1 - b + b L / avg_len))``,
   ``n`` the count of a vocabulary id (its words) or of a stem, ``L`` the sum of
   all the counts of steps 3-4; ``k=1.2, b=0.75, avg_len=150`` by default.
6. **Vector.**  Vocabulary id ``i``: indices ``i * dim + j``, values
   ``meaning[j] * tf`` (may be negative).  Fallback stem ``s``: one index
   ``shift + abs(murmur3_32(s)) % (2**31 - 1 - shift)`` with
   ``shift = ((words + 1) * dim // 32000 + 2) * 32000`` (above every vocabulary
   index), value ``tf``.  Queries: the same with ``tf = 1``.

Ours, on purpose: two stems whose indices collide keep the larger value
(fastembed emits the index twice); indices are int64 and ascending (fastembed:
int32, in word order); blank text is the empty vector without a model run (as
for every sparse model); queries are read in length-sorted batches.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from py_rust_stemmers import SnowballStemmer

from ..catalog.sparse_neural import MiniCoilSpec
from ..engine.pipeline import OnnxTextPipeline, PipelineRecipe, Task
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..results import SPARSE_INDEX_DTYPE, SPARSE_VALUE_DTYPE, SparseVector
from ..text.tokenizer import TextTokenizer
from .bm42 import PieceTable, Word, merge_word_pieces
from .murmur3 import token_id
from .sparse_common import blank_aware_process, frozen_vector

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
V = TypeVar("V")

TOKEN_MAX_LENGTH = 40
SPECIAL_WORDS = frozenset({"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"})
_GAP = 32000
_INT32_MAX = 2**31 - 1
_NON_WORD = re.compile(r"[^\w\s]")


# --------------------------------------------------------------------------- pure maths


def bm25_tf(count: int, length: int, k: float, b: float, avg_len: float) -> float:
    """Step 5: BM25's term-frequency saturation (float64)."""
    return count * (k + 1) / (count + k * (1 - b + b * length / avg_len))


def fallback_shift(vocab_size: int, dim: int) -> int:
    """Step 6: the first index of fallback words (``vocab_size`` counts id 0)."""
    return (vocab_size * dim // _GAP + 2) * _GAP


def fallback_index(stem: str, shift: int) -> int:
    """Step 6: a fallback stem's index, in ``[shift, 2**31 - 1)``."""
    return shift + token_id(stem) % (_INT32_MAX - shift)


def word_meanings(
    states: FloatArray, position_ids: IntArray, weights: npt.NDArray[np.floating]
) -> tuple[IntArray, FloatArray]:
    """Step 3 before unit length: ``(ids, tanh(mean state of each id @ weights[id]))``.

    ``states`` is ``(tokens, hidden)``, ``position_ids`` the vocabulary id of each
    token (0: none); ``ids`` come out ascending, ``meanings`` ``(len(ids), dim)``.
    """
    found = position_ids > 0
    ids, inverse = np.unique(position_ids[found], return_inverse=True)
    sums = np.zeros((ids.size, states.shape[1]), dtype=np.float32)
    np.add.at(sums, inverse, states[found])
    means = sums / np.bincount(inverse, minlength=ids.size).astype(np.float32)[:, None]
    matrices = np.asarray(weights[ids], dtype=np.float32)
    meanings: FloatArray = np.tanh(np.einsum("nh,nhd->nd", means, matrices))
    return ids.astype(SPARSE_INDEX_DTYPE), meanings


def unit_length(vector: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Step 3: ``vector / |vector|`` in float64, unchanged when the norm is below 1e-8."""
    v = np.asarray(vector, dtype=np.float64)
    norm = float(np.sqrt(v @ v))
    return v / norm if norm >= 1e-8 else v


# --------------------------------------------------------------------------- words


@dataclass(frozen=True)
class MiniCoilVocab:
    """The word list (word ``i`` has id ``i + 1``) and the stem -> word map."""

    words: tuple[str, ...]
    ids: Mapping[str, int]
    stem_to_word: Mapping[str, str]

    @property
    def size(self) -> int:
        """Ids in use, 0 (no word) included: ``len(words) + 1``."""
        return len(self.words) + 1

    @classmethod
    def from_json(cls, data: object, where: str) -> MiniCoilVocab:
        if not isinstance(data, dict):
            raise ModelLoadError(f"{where}: expected {{'vocab': [...], 'stem_mapping': {{...}}}}")
        words, mapping = data.get("vocab"), data.get("stem_mapping")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ModelLoadError(f"{where}: 'vocab' must be a list of words")
        ids = {word: i + 1 for i, word in enumerate(words)}
        if not isinstance(mapping, dict) or not all(
            isinstance(s, str) and w in ids for s, w in mapping.items()
        ):
            raise ModelLoadError(f"{where}: 'stem_mapping' must map stems to words of 'vocab'")
        return cls(tuple(words), ids, dict(mapping))


class WordRules:
    """Steps 2 and 4 for one vocabulary, stopword list and language, cached per word."""

    def __init__(self, vocab: MiniCoilVocab, stopwords: frozenset[str], language: str) -> None:
        self.vocab = vocab
        self.stopwords = stopwords
        self._stemmer = SnowballStemmer(language.strip().lower())
        self._ids: dict[str, int] = {}
        self._stems: dict[str, tuple[str, ...]] = {}

    def dropped(self, word: str) -> bool:
        """Step 4's dropped words: stopwords, one punctuation character, BERT's specials."""
        return (
            word in self.stopwords
            or word in SPECIAL_WORDS
            or (len(word) == 1 and unicodedata.category(word).startswith("P"))
        )

    def word_id(self, word: str) -> int:
        """Step 2: the vocabulary id of ``word``, 0 for none."""
        found = self._ids.get(word)
        if found is None:
            found = 0
            if word not in self.stopwords:
                ids, mapping = self.vocab.ids, self.vocab.stem_to_word
                target = word if word in ids else mapping.get(word)
                if target is None:
                    target = mapping.get(self._stemmer.stem_word(word))
                found = ids[target] if target is not None else 0
            self._remember(self._ids, word, found)
        return found

    def fallback_stems(self, word: str) -> tuple[str, ...]:
        """Step 4: the stems a word without an id contributes (one per part, repeats kept)."""
        found = self._stems.get(word)
        if found is None:
            found = ()
            if not self.dropped(word):
                stems = (self._stemmer.stem_word(p) for p in _NON_WORD.sub(" ", word).split())
                found = tuple(
                    s for s in stems if len(s) <= TOKEN_MAX_LENGTH and not self.dropped(s)
                )
            self._remember(self._stems, word, found)
        return found

    @staticmethod
    def _remember(cache: dict[str, V], key: str, value: V) -> None:
        if len(cache) > 1 << 17:
            cache.clear()
        cache[key] = value


@dataclass(frozen=True)
class TfParameters:
    k: float
    b: float
    avg_len: float


def minicoil_vector(
    words: Sequence[Word],
    states: FloatArray,
    rules: WordRules,
    weights: npt.NDArray[np.floating],
    tf: TfParameters | None,
) -> SparseVector:
    """Steps 2-6 for one text; ``states`` ``(tokens, hidden)`` are its token states,
    ``tf=None`` for a query (every weight 1)."""
    position_ids = np.zeros(states.shape[0], dtype=SPARSE_INDEX_DTYPE)
    counts: dict[int, int] = {}
    others: dict[str, int] = {}
    for word, positions in words:
        index = rules.word_id(word)
        if index:
            position_ids[positions] = index
            counts[index] = counts.get(index, 0) + 1
        else:
            others[word] = others.get(word, 0) + 1
    ids, meanings = word_meanings(states, position_ids, weights)
    # One table by name, vocabulary words first (fastembed's order: a word without an id
    # that is spelt like a vocabulary word replaces it, a stem equal to one adds to it).
    named: dict[str, list[int]] = {rules.vocab.words[i - 1]: [i, counts[i]] for i in ids.tolist()}
    named.update((word, [0, count]) for word, count in others.items())
    terms: dict[str, list[int]] = {}
    for name, (index, count) in named.items():
        if index:
            terms[name] = [index, count]
            continue
        for stem in rules.fallback_stems(name):
            terms.setdefault(stem, [0, 0])[1] += count
    length = sum(count for _, count in terms.values())
    meaning_of = dict(zip(ids.tolist(), meanings, strict=True))
    dim = weights.shape[2]
    shift = fallback_shift(rules.vocab.size, dim)
    out: dict[int, float] = {}
    for name, (index, count) in terms.items():
        weight = 1.0 if tf is None else bm25_tf(count, length, tf.k, tf.b, tf.avg_len)
        if index:
            for j, value in enumerate(unit_length(meaning_of[index])):
                out[index * dim + j] = float(value) * weight
        else:
            key = fallback_index(name, shift)
            out[key] = max(out.get(key, weight), weight)
    indices = np.fromiter(sorted(out), dtype=SPARSE_INDEX_DTYPE, count=len(out))
    values = np.asarray([out[i] for i in indices.tolist()], dtype=SPARSE_VALUE_DTYPE)
    return frozen_vector(indices, values)


# --------------------------------------------------------------------------- files


def read_vocab(path: Path) -> MiniCoilVocab:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the miniCOIL vocabulary {path}: {exc}") from exc
    return MiniCoilVocab.from_json(data, str(path))


def read_stopwords(path: Path | None) -> frozenset[str]:
    """One word a line, taken as written (fastembed's reading); no file, no stopwords."""
    if path is None:
        return frozenset()
    try:
        return frozenset(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read the stopwords {path}: {exc}") from exc


def read_weights(path: Path, vocab: MiniCoilVocab) -> npt.NDArray[np.floating]:
    """The ``[words + 1, hidden, dim]`` matrices, memory-mapped (shared by worker processes)."""
    try:
        weights: npt.NDArray[np.floating] = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the miniCOIL weights {path}: {exc}") from exc
    if weights.ndim != 3 or weights.dtype.kind != "f" or weights.shape[0] < vocab.size:
        raise ModelLoadError(
            f"{path}: expected a float array [words + 1 = {vocab.size}, hidden, dim], "
            f"got {weights.dtype} {list(weights.shape)}"
        )
    return weights


# --------------------------------------------------------------------------- pipeline


class MiniCoilPipeline(OnnxTextPipeline[SparseVector]):
    """Texts -> miniCOIL vectors; documents and queries both run the model."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        folder = recipe.model_dir
        if not isinstance(spec, MiniCoilSpec) or folder is None:
            raise TypeError("MiniCoilPipeline needs a MiniCoilSpec and a model folder")
        self.spec = spec
        tokenizer = TextTokenizer.from_dir(folder, spec.max_length)
        self.table = PieceTable.from_tokenizer(tokenizer.tokenizer, folder)
        vocab = read_vocab(model_file_path(folder, spec.vocab_file))
        stop = spec.stopwords_file
        stopwords = read_stopwords(None if stop is None else model_file_path(folder, stop))
        self.rules = WordRules(vocab, stopwords, spec.language)
        self.weights = read_weights(model_file_path(folder, spec.weights_file), vocab)
        self.tf = TfParameters(spec.k, spec.b, spec.avg_len)
        super().__init__(
            spec.model,
            tokenizer,
            model_file_path(folder, spec.model_file),
            recipe.session,
            [spec.output_name],
            recipe.options.get("token_budget") or 4096,
            model_dir=folder,
        )
        self._check_hidden(self.io.output_widths.get(self.output_names[0]))

    def _check_hidden(self, width: int | None) -> None:
        if width is not None and width != self.weights.shape[1]:
            raise ModelLoadError(
                f"{self.spec.model}: the ONNX output {self.output_names[0]!r} has {width} "
                f"values per token, but {self.spec.weights_file} maps {self.weights.shape[1]}"
            )

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[SparseVector]:
        states = outputs[0]
        if states.ndim != 3:
            raise ModelLoadError(
                f"miniCOIL expects token states [batch, seq, hidden], got {states.shape}"
            )
        self._check_hidden(states.shape[2])
        tf = None if task == "query" else self.tf
        lengths = feeds["attention_mask"].sum(axis=1).tolist()
        vectors: list[SparseVector] = []
        for ids, row, length in zip(feeds["input_ids"], states, lengths, strict=True):
            n = int(length)
            words = merge_word_pieces(self.table.tokens(ids[:n].tolist()), self.table.prefix)
            vectors.append(minicoil_vector(words, row[:n], self.rules, self.weights, tf))
        return vectors

    def process(self, items: Sequence[str], batch_size: int, task: Task) -> list[SparseVector]:
        return blank_aware_process(super().process, items, batch_size, task)


def build_minicoil(recipe: PipelineRecipe) -> MiniCoilPipeline:
    return MiniCoilPipeline(recipe)
