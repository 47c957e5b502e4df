"""Pair encoding for cross-encoders: longest-first truncation and the long-side pre-cut.

``TextTokenizer.encode_pairs`` tokenises a very long side of a pair from a
prefix; these tests pin that the ids are exactly those of tokenising the whole
pair (the reference here is ``tokenizers`` itself with plain truncation, which
the tiny fixture's reference shows equals transformers' ids).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from embed_plugins.text.tokenizer import TextTokenizer

FIXTURE = Path(__file__).parent / "fixtures" / "models" / "tiny-cross-encoder"

WORDS = [
    "the", "capital", "of", "france", "paris", "query", "document", "token", "model",
    "late", "interaction", "vector", "unknownish", "zzzqx", "running", "über", "naïve",
    "中", "文", "Привет", "мир", "😀", "a", "I", "search", "x1y2",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\n", "\t", "\x0c", ", ", ". ", "-", ""]


def tokenizers(max_length: int) -> tuple[TextTokenizer, Tokenizer]:
    ours = TextTokenizer(Tokenizer.from_file(str(FIXTURE / "tokenizer.json")), max_length, 0)
    reference = Tokenizer.from_file(str(FIXTURE / "tokenizer.json"))
    reference.no_padding()
    reference.enable_truncation(max_length=max_length)  # longest_first, right
    return ours, reference


def text(rng: random.Random, n_chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < n_chars:
        part = rng.choice(WORDS) + rng.choice(SEPARATORS)
        parts.append(part)
        size += len(part)
    return "".join(parts)[:n_chars]


def assert_same(ours: TextTokenizer, reference: Tokenizer, pairs: list[tuple[str, str]]) -> None:
    got = ours.encode_pairs(pairs)
    want = reference.encode_batch(pairs)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.ids == w.ids, f"pair {i}: ids differ"
        assert g.type_ids == w.type_ids, f"pair {i}: type ids differ"
        assert g.attention_mask == w.attention_mask


@pytest.mark.parametrize("max_length", [7, 8, 32])
def test_precut_pairs_match_whole_text_truncation(max_length: int) -> None:
    """Random pairs on both sides of the cut threshold (max_length * 24 characters).

    Odd and even budgets (max_length - 3) matter: longest-first gives the extra
    token of an odd split to the longer side.
    """
    ours, reference = tokenizers(max_length)
    limit = max_length * 24
    rng = random.Random(max_length)
    # Kept small: the reference (tokenizers' own pair truncation of the whole texts)
    # builds overflow windows for every combination of the two sides' windows.
    lengths = [0, 1, 5, limit // 2, limit - 1, limit, limit + 1, 2 * limit]
    pairs = [(text(rng, rng.choice(lengths)), text(rng, rng.choice(lengths))) for _ in range(60)]
    pairs += [("what is the capital of france", text(rng, 40 * limit)) for _ in range(3)]
    pairs += [(text(rng, 40 * limit), "a short document") for _ in range(3)]
    assert_same(ours, reference, pairs)


def test_long_side_of_few_tokens_and_no_whitespace() -> None:
    """Long texts that never reach the token threshold, or cannot be cut, are kept whole."""
    ours, reference = tokenizers(8)
    pairs = [
        ("query", " " * 1000 + "end"),  # 1000 characters, 1 token
        ("query", "x" * 1000),  # one long word: no whitespace to cut at
        ("\x0c".join(["word"] * 400), "doc"),  # form feeds join words (BERT normaliser)
        ("中" * 150, "a " * 300),  # the short side is the longer in tokens
        ("a " * 300, "中" * 150),
        (text(random.Random(1), 400), text(random.Random(2), 500)),  # both long
        (text(random.Random(2), 500), text(random.Random(1), 400)),
    ]
    assert_same(ours, reference, pairs)


def test_lone_surrogates_in_a_long_pair() -> None:
    ours, reference = tokenizers(8)
    long_doc = "start \ud800 " + "the model " * 200
    got = ours.encode_pairs([("q \udfff", long_doc)])
    want = reference.encode_batch([("q \ufffd", "start \ufffd " + "the model " * 200)])
    assert got[0].ids == want[0].ids
    assert got[0].type_ids == want[0].type_ids


def test_one_megabyte_document_is_cut_quickly() -> None:
    ours, reference = tokenizers(32)
    doc = text(random.Random(3), 1 << 20)
    ours.encode_pairs([("warm up", "the tokenizer")])
    start = time.perf_counter()
    got = ours.encode_pairs([("what is late interaction", doc)])
    elapsed = time.perf_counter() - start
    want = reference.encode_batch([("what is late interaction", doc)])
    assert got[0].ids == want[0].ids
    assert got[0].type_ids == want[0].type_ids
    # Tokenising the whole megabyte takes about a second here; the prefix takes ~1 ms.
    assert elapsed < 0.3, f"a 1 MB pair took {elapsed:.2f}s"


def test_single_text_long_path_is_unchanged() -> None:
    """``encode_texts`` shares the prefix search; it must still equal whole-text encoding."""
    rng = random.Random(5)
    for max_length in (8, 32):
        ours, _ = tokenizers(max_length)
        single = Tokenizer.from_file(str(FIXTURE / "tokenizer.json"))
        single.no_padding()
        single.enable_truncation(max_length=max_length)
        texts = [text(rng, n) for n in (0, 10, max_length * 24 + 1, 5000, 20000)]
        for g, w in zip(ours.encode_texts(texts), single.encode_batch(texts), strict=True):
            assert g.ids == w.ids
