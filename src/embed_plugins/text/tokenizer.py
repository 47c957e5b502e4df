"""Tokenisation for every text family: ``tokenizer.json`` in, padded int arrays out.

The tokenizer's own padding and truncation settings are ignored (some repos
ship ``Fixed(128)`` padding); truncation is set from the model's real limit
(:func:`embed_plugins.text.config.truncation_length`) and batches are padded
here, to the longest row, on the right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from ..errors import ModelLoadError
from ..hub import model_file_path
from .config import pad_token_id, read_json, truncation_length

IntArray = npt.NDArray[np.int64]

_SURROGATES = re.compile("[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s")
#: Texts longer than ``max_length * _CUT_FACTOR`` characters are tokenised from a
#: prefix first (see :meth:`TextTokenizer._encode_long`).
_CUT_FACTOR = 24


def clean_surrogates(text: str) -> str:
    """Join valid surrogate pairs, replace lone surrogates with U+FFFD.

    Lone surrogates cannot be encoded as UTF-8 and make ``tokenizers`` raise; a
    user who got such a string from a lossy decoder expects it embedded, not a crash.
    """
    if not _SURROGATES.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


@dataclass(frozen=True)
class TextBatch:
    """One padded batch: ``(rows, seq)`` int64 arrays, right-padded."""

    input_ids: IntArray
    attention_mask: IntArray
    token_type_ids: IntArray

    @property
    def lengths(self) -> IntArray:
        return np.asarray(self.attention_mask.sum(axis=1), dtype=np.int64)

    def feeds(self) -> dict[str, IntArray]:
        return {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
        }


class TextTokenizer:
    """A ``tokenizers.Tokenizer`` with the model's truncation and our padding."""

    def __init__(self, tokenizer: Tokenizer, max_length: int, pad_id: int) -> None:
        if max_length <= 0:
            raise ValueError(f"max_length must be positive, got {max_length}")
        self.max_length = max_length
        self.pad_id = pad_id
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer = tokenizer
        self._encode_batch = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
        self._untruncated: Tokenizer | None = None

    @classmethod
    def from_dir(cls, model_dir: Path, max_length: int | None = None) -> TextTokenizer:
        path = model_file_path(model_dir, "tokenizer.json")
        if not path.is_file():
            raise ModelLoadError(f"{model_dir}: no tokenizer.json")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises plain Exception subclasses
            raise ModelLoadError(f"cannot load {path}: {exc}") from exc
        raw = read_json(path)
        return cls(
            tokenizer, truncation_length(model_dir, max_length), pad_token_id(model_dir, raw)
        )

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        """Token ids this tokenizer can produce (added tokens included)."""
        return int(self._tokenizer.get_vocab_size(with_added_tokens=True))

    def token_to_id(self, token: str) -> int | None:
        value = self._tokenizer.token_to_id(token)
        return None if value is None else int(value)

    # -- encoding -----------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[Encoding]:
        """Truncated, unpadded encodings (special tokens added), one per text."""
        if len(texts) == 1:  # the short-query path: no batch thread pool
            try:
                return [self._tokenizer.encode(texts[0])]
            except TypeError:
                return [self._tokenizer.encode(clean_surrogates(texts[0]))]
        try:
            encodings: list[Encoding] = self._encode_batch(list(texts))
        except TypeError:
            encodings = self._encode_batch([clean_surrogates(t) for t in texts])
        return encodings

    def encode_texts(self, texts: Sequence[str]) -> list[Encoding]:
        """Like :meth:`encode`, but very long texts are tokenised from a prefix.

        A prefix cut at whitespace that already holds more than ``max_length``
        tokens truncates to exactly what the whole text truncates to, so a 1 MB
        string costs what a 10 KB one does.
        """
        limit = self.max_length * _CUT_FACTOR
        if all(len(t) <= limit for t in texts):
            return self.encode(texts)
        short = [t if len(t) <= limit else "" for t in texts]
        encodings = self.encode(short)
        for i, text in enumerate(texts):
            if len(text) > limit:
                encodings[i] = self._encode_long(text, limit)
        return encodings

    def _encode_long(self, text: str, limit: int) -> Encoding:
        text = clean_surrogates(text)
        prefix = self._settled_prefix(text, limit, self.max_length)
        return self._tokenizer.encode(text if prefix is None else prefix)

    def _untruncated_tokenizer(self) -> Tokenizer:
        if self._untruncated is None:
            self._untruncated = Tokenizer.from_str(self._tokenizer.to_str())
            self._untruncated.no_truncation()
            self._untruncated.no_padding()
        return self._untruncated

    def _settled_prefix(self, text: str, limit: int, min_tokens: int) -> str | None:
        """A prefix of ``text``, cut at whitespace, whose settled tokens exceed ``min_tokens``.

        ``None`` when no such prefix exists (the whole text must be tokenised).
        """
        untruncated = self._untruncated_tokenizer()
        cut = limit
        while cut < len(text):
            space = _WHITESPACE.search(text, cut)
            if space is None:
                break
            prefix = text[: space.start()]
            # The text after the cut may still join the prefix's last word (BERT's
            # normaliser deletes form feeds and other control "whitespace"), so only
            # the tokens before that word are settled; they alone must pass min_tokens.
            word_ids = untruncated.encode(prefix, add_special_tokens=False).word_ids
            last_word = word_ids[-1] if word_ids else None
            settled = sum(1 for w in word_ids if w != last_word)
            if settled > min_tokens:
                return prefix
            cut *= 4
        return None

    def _count(self, text: str) -> int:
        return len(self._untruncated_tokenizer().encode(text, add_special_tokens=False).ids)

    def _precut_pair(self, a: str, b: str, limit: int) -> tuple[str, str]:
        """Replace the very long side(s) of a pair by prefixes that truncate the same.

        Longest-first truncation (tokenizers' algorithm, as transformers uses it)
        keeps a prefix of each side; the kept lengths depend only on the shorter
        side's length ``n``, on which side is longer, and on the budget
        ``T = max_length - special tokens``: the longer side keeps at most
        ``max(n, T)`` tokens, and when both sides exceed ``T`` they keep ``T // 2``
        and ``T - T // 2``, the longer side taking the odd token.

        * One long side: a prefix whose settled tokens exceed ``max(n, max_length)``
          is still the longer side and holds every token that survives.
        * Both long: each side is cut past ``max_length`` settled tokens, the side
          that must stay the longer one past the other's length.  Only an odd
          budget needs to know which full side is longer; that costs one untruncated
          count of each side (linear), never tokenizers' pair truncation of both
          whole texts, which builds an overflow window for every combination of the
          two sides' windows (quadratic).

        A side that cannot be cut (no whitespace past the threshold, too few
        tokens) is kept whole: exact, just slower.
        """
        long_a, long_b = len(a) > limit, len(b) > limit
        if not (long_a or long_b):
            return a, b
        a, b = clean_surrogates(a), clean_surrogates(b)
        if long_a != long_b:
            short, long_ = (b, a) if long_a else (a, b)
            prefix = self._settled_prefix(long_, limit, max(self._count(short), self.max_length))
            if prefix is None:
                return a, b
            return (prefix, b) if long_a else (a, prefix)
        budget = self.max_length - self._tokenizer.num_special_tokens_to_add(True)
        a_longer = budget % 2 == 1 and self._count(a) > self._count(b)
        first, second = (b, a) if a_longer else (a, b)
        cut_first = self._settled_prefix(first, limit, self.max_length)
        if cut_first is None:
            return a, b
        threshold = max(self._count(cut_first), self.max_length)
        cut_second = self._settled_prefix(second, limit, threshold)
        if cut_second is None:
            return a, b
        return (cut_second, cut_first) if a_longer else (cut_first, cut_second)

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Encoding]:
        """Truncated (longest-first), unpadded pair encodings with segment ids.

        As :meth:`encode_texts` does for single texts, a very long side of a pair
        is tokenised from a prefix that gives exactly the same truncated ids, so a
        1 MB document costs what a short one does (see :meth:`_precut_pair`).
        """
        items = [(a, b) for a, b in pairs]
        limit = self.max_length * _CUT_FACTOR
        if any(len(a) > limit or len(b) > limit for a, b in items):
            items = [self._precut_pair(a, b, limit) for a, b in items]
        try:
            encodings: list[Encoding] = self._encode_batch(items)
        except TypeError:
            cleaned = [(clean_surrogates(a), clean_surrogates(b)) for a, b in items]
            encodings = self._encode_batch(cleaned)
        return encodings

    def pad(self, encodings: Sequence[Encoding], width: int | None = None) -> TextBatch:
        """Right-pad to the longest encoding (or to ``width``, when it is longer)."""
        if len(encodings) == 1 and (width is None or width <= len(encodings[0].ids)):
            enc = encodings[0]
            return TextBatch(
                np.asarray([enc.ids], dtype=np.int64),
                np.asarray([enc.attention_mask], dtype=np.int64),
                np.asarray([enc.type_ids], dtype=np.int64),
            )
        rows = len(encodings)
        width = max([len(e.ids) for e in encodings] + [width or 0])
        input_ids = np.full((rows, width), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((rows, width), dtype=np.int64)
        token_type_ids = np.zeros((rows, width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            input_ids[row, :n] = enc.ids
            attention_mask[row, :n] = enc.attention_mask
            token_type_ids[row, :n] = enc.type_ids
        return TextBatch(input_ids, attention_mask, token_type_ids)

    def count(self, texts: Sequence[str]) -> int:
        """Tokens the model sees for these texts (truncated, special tokens included)."""
        return sum(len(e.ids) for e in self.encode_texts(texts))
