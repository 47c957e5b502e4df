"""BM25 core (embed_plugins.families.bm25): rules, formula, hash, languages, fastembed parity."""

from __future__ import annotations

import glob
import re
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins.errors import InvalidInputError
from embed_plugins.families import bm25 as bm25_module
from embed_plugins.families import bm25_scan
from embed_plugins.families.bm25 import (
    SUPPORTED_LANGUAGES,
    Bm25,
    bm25_weights,
    load_stopwords,
    murmurhash3_32,
    murmurhash3_32_many,
    token_id,
    token_ids_many,
)
from embed_plugins.results import SparseVector

STOPWORD_DIR = Path(bm25_module.__file__).parent / "data" / "stopwords"

# Tricky texts: punctuation, digits, underscores, scripts, case rules, combining marks.
TRICKY = [
    "",
    "   \n\t  ",
    "!!! ... --- ??? “” «»",
    "the and of it is",
    "Hello, world! It's an e-mail: 3.14 snake_case __init__ _ x_y.",
    "Room 101, 2024-01-05 at 10:30pm; v2.0.1-rc1 (build #77).",
    "Hello Привет 世界 café İstanbul ΟΔΟΣ ΑΣ.Β ΑΣ'Β ΣΑΣ. naïve cafe\u0301",
    "தமிழ் மொழி, हिन्दी भाषा! ذَهَبَ الطَّالِبُ",
    "http://example.com/a_b/c?x=1&y=2 user@example.org C++ C# .NET",
    "Ⅻ ½ ² ٣ ௫ 𝟘𝟙 ＡＢＣ ﬁne ß ẞ Ǆ",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "kitchens kitchen's KITCHENS",
    "THE Quick Brown FOX jumps over THE lazy dog's back -- twice!",
    "zero\u200bwidth soft\u00adhyphen non\u00a0breaking tab\tand\u2028line",
]


def reference_document(model: Bm25, text: str) -> dict[int, float]:
    """Rules 4-6 written plainly on top of ``tokenize`` (collisions merged by index)."""
    stems = model.tokenize(text)
    counts = Counter(token_id(stem) for stem in stems)
    length = len(stems)
    k, b, avg_len = model.k, model.b, model.avg_len
    return {
        index: float(np.float32(tf * (k + 1) / (tf + k * (1 - b + b * length / avg_len))))
        for index, tf in counts.items()
    }


def assert_vector(vector: SparseVector) -> None:
    assert vector.indices.dtype == np.int64
    assert vector.values.dtype == np.float32
    assert not vector.indices.flags.writeable and not vector.values.flags.writeable
    assert vector == SparseVector.create(vector.indices, vector.values)  # sorted, unique
    assert np.all(vector.indices >= 0) and np.all(vector.indices <= 2**31)


# --------------------------------------------------------------------------- formula


def test_formula_hand_computed() -> None:
    # "hello world hello": 3 tokens; k*(1 - b + b*3/256) = 1.2 * 0.2587890625 = 0.310546875
    (vector,) = Bm25().embed_documents(["hello world hello"])
    assert vector.as_dict() == pytest.approx(
        {
            613153351: 4.4 / 2.310546875,  # hello: tf 2 -> 1.904311...
            74040069: 2.2 / 1.310546875,  # world: |mmh3| = 74040069 -> 1.678688...
        },
        rel=1e-6,
    )


def test_formula_counts_only_kept_tokens() -> None:
    # Stopwords (the, on, with) do not count: len = 4 (cat, sat, mat, cat).
    # k*(1 - b + b*4/256) = 0.3140625; cat: 4.4/2.3140625 = 1.901418; sat, mat: 2.2/1.3140625
    model = Bm25()
    (vector,) = model.embed_documents(["the cat sat on the mat with the cat"])
    assert vector.as_dict() == pytest.approx(
        {
            token_id("cat"): 4.4 / 2.3140625,
            token_id("sat"): 2.2 / 1.3140625,
            token_id("mat"): 2.2 / 1.3140625,
        },
        rel=1e-6,
    )


def test_formula_parameters() -> None:
    # b = 0: no length normalisation; tf 1 -> (k+1)/(1+k) = 1, tf 2 -> 2*2.2/3.2 = 1.375
    (vector,) = Bm25(b=0.0).embed_documents(["apple apple pear " + "filler " * 50])
    values = vector.as_dict()
    assert values[token_id("appl")] == pytest.approx(1.375)
    assert values[token_id("pear")] == pytest.approx(1.0)
    # b = 1 and avg_len = len: denominator tf + k
    (vector,) = Bm25(k=2.0, b=1.0, avg_len=3.0).embed_documents(["pear pear plum"])
    assert vector.as_dict() == pytest.approx(
        {token_id("pear"): 2 * 3.0 / (2 + 2.0), token_id("plum"): 3.0 / (1 + 2.0)}
    )
    # k = 0: every present term weighs 1
    (vector,) = Bm25(k=0.0).embed_documents(["pear pear plum"])
    assert vector.values.tolist() == [1.0, 1.0]


def test_bm25_weights_function() -> None:
    tf = np.array([1, 2, 5])
    expected = tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * 10 / 256.0))
    np.testing.assert_array_equal(bm25_weights(tf, 10), expected)
    assert bm25_weights([3], 7, k=1.0, b=0.0)[0] == pytest.approx(1.5)


# --------------------------------------------------------------------------- rules


def test_tokenize_punctuation_digits_underscore() -> None:
    raw = Bm25(disable_stemmer=True)  # no stemming and no stopwords: the rule-1 tokens
    assert raw.tokenize("Hello, world! It's an e-mail: 3.14 snake_case __init__ _ x_y.") == [
        "hello",
        "world",
        "it",
        "s",
        "an",
        "e",
        "mail",
        "3",
        "14",
        "snake_case",
        "__init__",  # "_" alone is punctuation (category Pc) and is dropped
        "x_y",
    ]
    assert raw.tokenize("Room 101, 2024-01-05 at 10:30pm; v2.0.1") == [
        "room",
        "101",
        "2024",
        "01",
        "05",
        "at",
        "10",
        "30pm",
        "v2",
        "0",
        "1",
    ]


def test_tokenize_mixed_scripts() -> None:
    raw = Bm25(disable_stemmer=True)
    assert (
        raw.tokenize("Hello Привет 世界 café İstanbul ΟΔΟΣ cafe\u0301")
        == [
            "hello",
            "привет",
            "世界",  # no spaces in CJK: one run is one token
            "café",
            "i",  # "İ".lower() is "i" + U+0307, a combining mark, which splits
            "stanbul",
            "οδος"[:-1] + "ς",  # final sigma
            "cafe",  # a decomposed accent is a combining mark: dropped, and it splits
        ]
    )
    # fastembed 0.9.1 splits words at combining marks (vowel signs, harakat)
    assert raw.tokenize("தமிழ்") == ["தம", "ழ"]
    # Punctuation is blanked before lower-casing: Σ before a blank is final
    assert raw.tokenize("ΑΣ.Β ΑΣ'Β ΑΣΒ") == ["ας", "β", "ας", "β", "ασβ"]


def test_unicode_assumptions_of_the_fast_paths() -> None:
    """The shortcuts in Bm25 rely on these facts about the running Python's Unicode tables."""
    word = re.compile(r"\w")
    assert not any(word.match(c) for c in bm25_module._EDGE_PUNCTUATION)
    lower_adds_non_word = {
        chr(i)
        for i in range(0x110000)
        if word.match(chr(i)) and not all(word.match(c) for c in chr(i).lower())
    }
    assert lower_adds_non_word == set(bm25_module._LOWER_ADDS_NON_WORD)


def test_stopwords_and_case() -> None:
    model = Bm25()
    assert model.tokenize("THE Quick Brown FOX is a test sentence.") == [
        "quick",
        "brown",
        "fox",
        "test",
        "sentenc",
    ]
    assert Bm25(disable_stemmer=True).tokenize("THE fox") == ["the", "fox"]  # no stopwords


def test_token_max_length() -> None:
    forty, forty_one = "a" * 40, "b" * 41
    assert Bm25(disable_stemmer=True).tokenize(f"{forty} {forty_one}") == [forty]
    assert Bm25(disable_stemmer=True, token_max_length=3).tokenize("abc abcd ab") == ["abc", "ab"]


@pytest.mark.parametrize(
    "text", ["", "   \n\t ", "!!! ... --- ???", "the and of it is", "_ _ \u0301 ·", "I'm"]
)
def test_texts_without_terms_are_empty(text: str) -> None:
    model = Bm25()
    assert model.embed_documents([text]) == [SparseVector.empty()]
    assert model.embed_queries([text]) == [SparseVector.empty()]


def test_empty_input_list() -> None:
    assert Bm25().embed_documents([]) == []
    assert Bm25().embed_queries(()) == []
    assert Bm25().token_count([]) == 0


def test_queries_are_unique_ones() -> None:
    model = Bm25()
    (query,) = model.embed_queries(["hello world hello HELLO, world!"])
    assert query.indices.tolist() == sorted([token_id("hello"), token_id("world")])
    assert query.values.tolist() == [1.0, 1.0]
    assert_vector(query)


def test_token_count_is_before_filters() -> None:
    model = Bm25()
    # hello, world, it, s, the, _ : stopwords and "_" still count
    assert model.token_count(["Hello, world! It's the _", "", "snake_case"]) == 7


@pytest.mark.parametrize("text", TRICKY)
def test_documents_and_queries_follow_tokenize(text: str) -> None:
    """The cached, batched path agrees with the plain rules on every tricky text."""
    for model in (Bm25(), Bm25(disable_stemmer=True), Bm25(language="greek")):
        (document,) = model.embed_documents([text])
        (query,) = model.embed_queries([text])
        assert_vector(document)
        assert_vector(query)
        assert document.as_dict() == reference_document(model, text)
        assert query.indices.tolist() == sorted({token_id(s) for s in model.tokenize(text)})


def test_batch_path_follows_tokenize() -> None:
    """Calls with more than a few texts take the numpy path; it agrees with the rules too."""
    texts = TRICKY * 3
    assert len(texts) > bm25_module._SMALL_CALL
    for model in (Bm25(), Bm25(disable_stemmer=True)):
        for document, text in zip(model.embed_documents(texts), texts, strict=True):
            assert_vector(document)
            assert document.as_dict() == reference_document(model, text)
        for query, text in zip(model.embed_queries(texts), texts, strict=True):
            assert_vector(query)
            assert query.indices.tolist() == sorted({token_id(s) for s in model.tokenize(text)})


def test_batches_equal_single_calls() -> None:
    texts = [TRICKY[i % len(TRICKY)] + f" doc{i} v{i}.{i}" for i in range(1300)]
    model = Bm25()
    together = model.embed_documents(texts)  # several internal batches
    one_by_one = [Bm25().embed_documents([text])[0] for text in texts[:80]]
    assert together[:80] == one_by_one
    assert model.embed_documents(texts) == together  # warm cache: same result
    assert len(together) == len(texts)


def test_cache_generations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bm25_module, "_MAX_CACHED_CHUNKS", 8)
    monkeypatch.setattr(bm25_module, "_MAX_CACHED_TOKENS", 8)
    monkeypatch.setattr(bm25_module, "_BATCH_DOCS", 3)
    texts = [f"alpha beta-{i} 3.{i} gamma{i % 4} e-mail x.y.z the" for i in range(40)] + TRICKY
    model = Bm25()
    first = model.embed_documents(texts)
    second = model.embed_documents(texts[::-1])[::-1]
    assert first == second
    assert all(
        v.as_dict() == reference_document(model, t) for v, t in zip(first, texts, strict=True)
    )
    assert len(model._codes) <= 8 + 3 * 40  # one batch past the bound at most


def all_words(keyed: bm25_scan.Keyed) -> np.ndarray:
    return keyed.words(np.arange(keyed.keys.size))


def test_scan_batch_runs() -> None:
    """ASCII tokens and short non-ASCII runs are keyed by their bytes, the rest come back as
    original strings, long ASCII runs past the limit are dropped."""
    long_word = "Überweisungsempfängerkontonummern"  # 35 bytes in UTF-8
    texts = [
        "Hello, World_x 3.14",
        "",
        "Café naïve OK",
        "a" * 40 + " " + "b" * 50 + " " + "c" * 33,
        "\ud800lone sur",
        long_word,
    ]
    scan = bm25_scan.scan_batch(texts, token_max_length=40)
    tokens = bm25_scan.strings_of_words(all_words(scan.tokens), ascii_only=True)
    assert list(zip(tokens, scan.tokens.texts.tolist(), strict=True)) == [
        ("hello", 0),
        ("world_x", 0),
        ("3", 0),
        ("14", 0),
        ("ok", 2),
        ("sur", 4),
    ]
    runs = bm25_scan.strings_of_words(all_words(scan.runs), ascii_only=False)
    assert list(zip(runs, scan.runs.texts.tolist(), strict=True)) == [
        ("Café", 2),  # original bytes: case mapping is the Unicode rules' job
        ("naïve", 2),
        ("\ud800lone", 4),  # a lone surrogate survives the byte round trip
    ]
    assert list(zip(scan.chunks, scan.chunk_texts.tolist(), strict=True)) == [
        ("a" * 40, 3),  # longer than a key, not over the limit
        ("c" * 33, 3),
        (long_word, 5),  # non-ASCII, longer than a key
    ]
    # the 50 b's are over the limit: dropped.  Keys of runs over 8 bytes are a mix.
    short = bm25_scan.scan_batch(["abcdefghij abc"], token_max_length=10)
    assert bm25_scan.strings_of_words(all_words(short.tokens), ascii_only=True) == [
        "abcdefghij",
        "abc",
    ]
    assert short.tokens.keys[1] == int.from_bytes(b"abc", "little")
    assert short.tokens.keys[0] == bm25_scan.mix_words(all_words(short.tokens)[:1])[0]
    assert bm25_scan.scan_batch(["abcdefghij"], token_max_length=9).chunks == []


@pytest.mark.parametrize("language", ["english", "russian"])
@pytest.mark.parametrize(
    "forced",
    [b"\x05", b"abc", "ЖЖ".encode()],
    ids=["no-run-has-it", "short-ascii-run", "short-cyrillic-run"],
)
def test_key_collisions_are_never_merged(
    monkeypatch: pytest.MonkeyPatch, language: str, forced: bytes
) -> None:
    """Runs of 9-32 bytes are keyed by a hash of their bytes.  With that hash forced to one
    value -- also the key of a real short run, so long and short runs meet in both orders --
    every clash is caught (within a batch and against the key tables) and those runs take
    the string path: the vectors do not change."""
    texts = [
        "internationalisation documentation configuration Documentation abc",
        "configurations documentation dependencies dependency x ЖЖ",
        "abc approximately approximate documentations",
        "справочной страницы СПРАВОЧНОЙ описание описании ключевого ЖЖ abc",
    ] * 4
    expected = Bm25(language).embed_documents(texts)
    key = int.from_bytes(forced, "little")

    def one_key(words: np.ndarray) -> np.ndarray:
        return np.full(words.shape[0], key, dtype=np.uint64)

    monkeypatch.setattr(bm25_scan, "mix_words", one_key)
    model = Bm25(language)
    first = model.embed_documents(texts)
    second = model.embed_documents(texts[::-1])[::-1]  # the tables now hold the key: clashes
    assert first == expected
    assert second == expected
    for vector, text in zip(first, texts, strict=True):
        assert vector.as_dict() == reference_document(model, text)
    for table in (model._keyed_tokens, model._keyed_runs):
        assert int(np.count_nonzero(table.keys == key)) == 1


def test_key_table_and_batch_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full key tables start afresh; batches are cut by characters too: same vectors."""
    texts = [f"word{i} tokenisation{i % 7} the Quick-{i} café{i % 3} Ωμέγα{i}" for i in range(60)]
    texts += ["x" * 5000, *TRICKY]
    expected = [Bm25().embed_documents([text])[0] for text in texts]  # the plain-Python path
    monkeypatch.setattr(bm25_module, "_MAX_KEYED", 5)
    monkeypatch.setattr(bm25_module, "_BATCH_CHARS", 300)
    model = Bm25()
    seen: list[int] = []
    real_batch_codes = model._batch_codes

    def batch_codes(batch: list[str]) -> tuple[np.ndarray, np.ndarray]:
        seen.append(len(batch))
        return real_batch_codes(batch)

    monkeypatch.setattr(model, "_batch_codes", batch_codes)
    assert model.embed_documents(texts) == expected
    assert model.embed_documents(texts) == expected
    assert len(seen) > 2 * 3 and 1 in seen  # many batches; the 5,000-character text alone
    assert len(model._keyed_tokens) <= 5 + 300  # one batch past the bound at most
    assert len(model._keyed_runs) <= 5 + 300


def random_runs_texts() -> list[str]:
    """Seeded random words of 1-45 characters, ASCII or not, cased, glued by separators:
    tokens (<= 32 bytes), chunks (33-40), dropped runs (> 40), short and long non-ASCII
    runs, words repeated across batches and calls."""
    rng = np.random.default_rng(11)
    letters = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
    accented = list("éüßçñøΣσςİıЖжЯя中文ä")
    separators = [" ", " ", " ", ", ", ".", "-", "'", "\n", "\u00a0", "—", "…", "\t"]
    vocabulary = []
    for _ in range(400):
        size = int(rng.integers(1, 46))
        pool = letters if rng.random() < 0.8 else letters + accented
        vocabulary.append("".join(rng.choice(pool, size=size)))
    return [
        "".join(
            str(rng.choice(vocabulary)) + str(rng.choice(separators))
            for _ in range(int(rng.integers(0, 40)))
        )
        for _ in range(300)
    ]


def test_batch_path_on_random_runs_of_every_kind() -> None:
    """The batch path agrees with the rules on runs of every kind the scanner tells apart."""
    texts = random_runs_texts()
    model = Bm25()
    for vectors in (model.embed_documents(texts), model.embed_documents(texts[::-1])[::-1]):
        for vector, text in zip(vectors, texts, strict=True):
            assert vector.as_dict() == reference_document(model, text), text
    for query, text in zip(model.embed_queries(texts), texts, strict=True):
        assert query.indices.tolist() == sorted({token_id(s) for s in model.tokenize(text)})


def test_surrogates_and_controls_in_batches() -> None:
    texts = ["a\ud800b c\udfffd", "\x00nul\x00byte \x1cfile\x1dsep", "\ud83d\ude00 smile"] * 4
    model = Bm25()
    for vector, text in zip(model.embed_documents(texts), texts, strict=True):
        assert vector.as_dict() == reference_document(model, text)


# --------------------------------------------------------------------------- index / hash

# MurmurHash3_x86_32 reference vectors (Appleby's SMHasher algorithm; widely published).
MURMUR_VECTORS = [
    (b"", 0, 0x00000000),
    (b"", 1, 0x514E28B7),
    (b"", 0xFFFFFFFF, 0x81F16F39),
    (b"\x00\x00\x00\x00", 0, 0x2362F9DE),
    (b"\xff\xff\xff\xff", 0, 0x76293B50),
    (b"\x21\x43\x65\x87", 0, 0xF55B516B),
    (b"\x21\x43\x65\x87", 0x5082EDEE, 0x2362F9DE),
    (b"\x21\x43\x65", 0, 0x7E4A8634),
    (b"\x21\x43", 0, 0xA0F7B07A),
    (b"\x21", 0, 0x72661CF4),
    (b"\x00\x00\x00", 0, 0x85F0B427),
    (b"\x00\x00", 0, 0x30F4C306),
    (b"\x00", 0, 0x514E28B7),
    (b"aaaa", 0x9747B28C, 0x5A97808A),
    (b"aaa", 0x9747B28C, 0x283E0130),
    (b"aa", 0x9747B28C, 0x5D211726),
    (b"a", 0x9747B28C, 0x7FA09EA6),
    (b"abcd", 0x9747B28C, 0xF0478627),
    (b"abc", 0x9747B28C, 0xC84A62DD),
    (b"ab", 0x9747B28C, 0x74875592),
    (b"Hello, world!", 0x9747B28C, 0x24884CBA),
    (b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
]


@pytest.mark.parametrize(("data", "seed", "expected"), MURMUR_VECTORS)
def test_murmurhash3_reference_vectors(data: bytes, seed: int, expected: int) -> None:
    assert murmurhash3_32(data, seed) == expected
    assert int(murmurhash3_32_many([data], seed)[0]) == expected


def test_murmurhash3_many_takes_bytes_like_items_only() -> None:
    items = [bytearray(b"A"), memoryview(b"abcdef"), b"xyz"]
    assert murmurhash3_32_many(items).tolist() == [murmurhash3_32(bytes(i)) for i in items]
    for bad in (["ab"], [5], [b"x", None]):
        with pytest.raises(TypeError, match="bytes-like"):
            murmurhash3_32_many(bad)  # type: ignore[arg-type]


def test_murmurhash3_many_matches_scalar() -> None:
    rng = np.random.default_rng(0)
    items = [
        rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        for n in rng.choice([0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 255, 256, 257, 1000], size=600)
    ]
    for seed in (0, 0x9747B28C):
        many = murmurhash3_32_many(items, seed)
        assert many.dtype == np.uint32
        assert many.tolist() == [murmurhash3_32(item, seed) for item in items]
    assert murmurhash3_32_many([]).shape == (0,)


def test_murmurhash3_against_mmh3() -> None:
    mmh3 = pytest.importorskip("mmh3")
    words = ["hello", "world", "sentenc", "привет", "世界", "ας", "", "x" * 77]
    words += [f"w{i}" * (i % 9) for i in range(500)]
    assert [token_id(w) for w in words] == [abs(mmh3.hash(w)) for w in words]
    assert token_ids_many(words).tolist() == [abs(mmh3.hash(w)) for w in words]


def test_token_ids_known_values() -> None:
    # abs() of the signed 32-bit hash, seed 0, UTF-8 bytes
    assert token_id("hello") == 613153351  # mmh3.hash("hello") == 613153351
    assert token_id("world") == 74040069  # mmh3.hash("world") == -74040069
    assert token_id("世界") == 1974475094


def test_hash_of_minus_two_to_the_31() -> None:
    # mmh3.hash("ad1u66pi") == -2**31: its absolute value does not fit an int32.
    assert murmurhash3_32(b"ad1u66pi") == 2**31
    assert token_id("ad1u66pi") == 2**31
    for model in (Bm25(disable_stemmer=True), Bm25()):
        assert model.tokenize("AD1U66PI") == ["ad1u66pi"]
        (document,) = model.embed_documents(["(ad1u66pi)! hello"])
        (query,) = model.embed_queries(["ad1u66pi AD1U66PI"])
        assert document.indices.dtype == np.int64
        assert document.indices.tolist() == [token_id("hello"), 2**31]
        assert query.indices.tolist() == [2**31]
        assert query.values.tolist() == [1.0]


def test_hash_collision_counts_as_one_term() -> None:
    # mmh3.hash("kitchens") == 358434922 == -mmh3.hash("prostaglandins").  fastembed 0.9.1
    # keeps the weight of the stem seen first-last (order-dependent); we count both (module doc).
    model = Bm25(disable_stemmer=True)
    a, b = model.embed_documents(
        ["kitchens kitchens prostaglandins", "prostaglandins kitchens kitchens"]
    )
    assert a == b
    assert a.indices.tolist() == [358434922]
    assert a.values[0] == pytest.approx(3 * 2.2 / (3 + 1.2 * (0.25 + 0.75 * 3 / 256)))


# --------------------------------------------------------------------------- languages

SAMPLES = {
    "arabic": ("ذهب الطالب إلى المدرسة في الصباح", "في"),
    "danish": ("Jeg har en stor hund og den løber hurtigt", "og"),
    "dutch": ("De kinderen spelen in de tuin met een bal", "de"),
    "english": ("The children are playing in the garden with a ball", "the"),
    "finnish": ("Lapset leikkivät puutarhassa ja heillä on pallo", "ja"),
    "french": ("Les enfants jouent dans le jardin avec un ballon", "les"),
    "german": ("Die Kinder spielen im Garten mit einem Ball", "die"),
    "greek": ("Τα παιδιά παίζουν στον κήπο με μια μπάλα", "με"),
    "hungarian": ("A gyerekek a kertben játszanak egy labdával", "a"),
    "italian": ("I bambini giocano nel giardino con una palla", "con"),
    "norwegian": ("Barna leker i hagen med en ball", "med"),
    "portuguese": ("As crianças brincam no jardim com uma bola", "com"),
    "romanian": ("Copiii se joacă în grădină cu o minge", "cu"),
    "russian": ("Дети играют в саду с мячом", "в"),
    "spanish": ("Los niños juegan en el jardín con una pelota", "los"),
    "swedish": ("Barnen leker i trädgården med en boll", "med"),
    "tamil": ("குழந்தைகள் தோட்டத்தில் பந்து விளையாடுகிறார்கள்", None),
    "turkish": ("Çocuklar bahçede bir top ile oynuyor ve gülüyor", "ve"),
}


def test_supported_languages_match_data_files() -> None:
    assert sorted(p.stem for p in STOPWORD_DIR.glob("*.txt")) == sorted(SUPPORTED_LANGUAGES)
    assert sorted(SAMPLES) == sorted(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_language_embeds(language: str) -> None:
    text, stopword = SAMPLES[language]
    model = Bm25(language=language)
    (document,) = model.embed_documents([text])
    (query,) = model.embed_queries([text])
    assert len(document) > 2 and len(query) == len(document)
    assert_vector(document)
    stems = model.tokenize(text)
    if stopword is not None:
        assert stopword in model.stopwords
        assert stopword not in stems
    assert Bm25(language=language.upper()).tokenize(text) == stems


def test_stopword_lists() -> None:
    english = load_stopwords("english")
    assert len(english) == 179  # NLTK's English list, as in fastembed's Qdrant/bm25
    assert {"the", "and", "don", "don't", "wouldn", "mustn't"} <= english
    assert load_stopwords("tamil") == frozenset()  # Qdrant/bm25 ships no Tamil list
    sizes = {lang: len(load_stopwords(lang)) for lang in SUPPORTED_LANGUAGES}
    assert sizes["german"] == 232 and sizes["russian"] == 151 and sizes["arabic"] == 701


def test_unknown_language_lists_supported() -> None:
    with pytest.raises(InvalidInputError) as raised:
        Bm25(language="klingon")
    message = str(raised.value)
    assert "klingon" in message
    assert all(language in message for language in SUPPORTED_LANGUAGES)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(InvalidInputError, match="supported"):
        load_stopwords("polish")
    with pytest.raises(InvalidInputError):
        Bm25(language=None)  # type: ignore[arg-type]
    # Without a stemmer the language is unused, as in fastembed.
    assert Bm25(language="polish", disable_stemmer=True).tokenize("Kotami") == ["kotami"]


# --------------------------------------------------------------------------- input checks


def test_non_str_items_name_the_index() -> None:
    model = Bm25()
    with pytest.raises(InvalidInputError, match=r"texts\[2\] is int"):
        model.embed_documents(["a", "b", 3])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"texts\[0\] is NoneType"):
        model.embed_queries([None])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"texts\[1\] is bytes"):
        model.token_count(["a", b"b"])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="single str"):
        model.embed_documents("hello")
    with pytest.raises(InvalidInputError):
        model.embed_documents(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        model.tokenize(b"hello")  # type: ignore[arg-type]
    assert model.embed_documents(t for t in ["a cat"])[0] == model.embed_documents(["a cat"])[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"k": -1.0},
        {"k": float("inf")},
        {"b": 1.5},
        {"b": -0.1},
        {"avg_len": 0.0},
        {"avg_len": float("nan")},
        {"token_max_length": 0},
        {"token_max_length": 2.5},
        {"token_max_length": True},
    ],
)
def test_bad_parameters(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        Bm25(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- size


def test_one_megabyte_text() -> None:
    words = "The quick brown fox, jumps over 12 lazy dogs; e-mail me at fox@example.org. "
    text = "".join(f"{words}word{i} " for i in range(12000))[: 1 << 20]
    model = Bm25()
    start = time.perf_counter()
    (document,) = model.embed_documents([text])
    elapsed = time.perf_counter() - start
    assert elapsed < 20  # about 1 s on a slow shared core; fastembed takes a few
    assert document.as_dict() == reference_document(model, text)
    everything = Bm25(disable_stemmer=True, token_max_length=1 << 30)  # keeps every token
    assert model.token_count([text]) == len(everything.tokenize(text))
    # 1 MB without whitespace: one run of letters (too long: dropped), or dots and letters
    assert model.embed_documents(["x" * (1 << 20)]) == [SparseVector.empty()]
    (dotted,) = model.embed_queries(["ab." * 350_000])
    assert dotted.indices.tolist() == [token_id("ab")]


# --------------------------------------------------------------------------- fastembed parity


def english_sentences(limit: int = 500) -> list[str]:
    """Real English sentences from the licence texts every Debian system ships."""
    sentences: list[str] = []
    seen: set[str] = set()
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        text = " ".join(Path(path).read_text(encoding="utf-8", errors="replace").split())
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if len(sentence.split()) >= 3 and sentence not in seen:
                seen.add(sentence)
                sentences.append(sentence)
    return sentences[:limit]


def fastembed_bm25(tmp_path: Path, language: str, **kwargs: Any) -> Any:
    """fastembed 0.9.1's Bm25, fully offline: a local folder holding our stopword file."""
    from fastembed.sparse.bm25 import Bm25 as FastembedBm25

    folder = tmp_path / f"bm25-{language}"
    folder.mkdir()
    if load_stopwords(language):  # like Qdrant/bm25: no file for Tamil
        shutil.copy(STOPWORD_DIR / f"{language}.txt", folder / f"{language}.txt")
    return FastembedBm25(
        "Qdrant/bm25",
        cache_dir=str(tmp_path / "cache"),
        specific_model_path=str(folder),  # returned as the model dir; nothing is downloaded
        local_files_only=True,
        language=language,
        **kwargs,
    )


def assert_same_as_fastembed(ours: Bm25, theirs: Any, texts: list[str]) -> None:
    documents = ours.embed_documents(texts)
    expected = theirs.embed(texts)
    for text, mine, reference in zip(texts, documents, expected, strict=True):
        reference_dict = reference.as_dict()
        order = sorted(reference_dict)
        assert mine.indices.tolist() == order, text
        reference_values = np.array([reference_dict[i] for i in order], dtype=np.float64)
        np.testing.assert_allclose(mine.values, reference_values, rtol=0, atol=1e-6)
        # Exactly fastembed's float64 value rounded to float32:
        np.testing.assert_array_equal(mine.values, reference_values.astype(np.float32))
    queries = ours.embed_queries(texts)
    for mine, reference in zip(queries, theirs.query_embed(texts), strict=True):
        assert mine.indices.tolist() == sorted(reference.indices.tolist())
        assert set(mine.values.tolist()) <= {1.0}
    assert ours.token_count(texts) == theirs.token_count(texts)


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.usefixtures("offline")
def test_parity_with_fastembed_english(tmp_path: Path) -> None:
    pytest.importorskip("fastembed")
    sentences = english_sentences()
    if len(sentences) < 200:
        pytest.skip("needs /usr/share/common-licenses for real English sentences")
    texts = sentences + TRICKY
    assert_same_as_fastembed(Bm25(), fastembed_bm25(tmp_path, "english"), texts)


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize("language", ["german", "russian", "greek", "arabic", "tamil"])
def test_parity_with_fastembed_other_languages(tmp_path: Path, language: str) -> None:
    pytest.importorskip("fastembed")
    texts = [SAMPLES[language][0], SAMPLES[language][0].upper(), *TRICKY]
    assert_same_as_fastembed(Bm25(language=language), fastembed_bm25(tmp_path, language), texts)


@pytest.mark.usefixtures("offline")
def test_parity_with_fastembed_options(tmp_path: Path) -> None:
    pytest.importorskip("fastembed")
    texts = english_sentences(150) + TRICKY
    assert_same_as_fastembed(
        Bm25(disable_stemmer=True, k=0.9, b=0.4, avg_len=30.0, token_max_length=12),
        fastembed_bm25(
            tmp_path,
            "english",
            disable_stemmer=True,
            k=0.9,
            b=0.4,
            avg_len=30.0,
            token_max_length=12,
        ),
        texts,
    )


@pytest.mark.usefixtures("offline")
def test_parity_with_fastembed_random_text(tmp_path: Path) -> None:
    """Seeded random strings over a nasty alphabet: punctuation, spaces, marks, cases, scripts."""
    pytest.importorskip("fastembed")
    alphabet = (
        "abcXYZ019_.,;:'\"-!?()[]/@#&*+=~` \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000"
        "ΣΑσςİıIŞßẞǅﬁ½²٣ⅫÉé\u0301\u0307\u064e\u0651ذهبதமிழ்हि世界😀\u200b\u00ad’“«—…·"
    )
    rng = np.random.default_rng(7)
    texts = [
        "".join(rng.choice(list(alphabet), size=int(rng.integers(0, 50)))) for _ in range(1500)
    ]
    words = ["the", "The", "ΑΣ", "ΑΣ.", "Σ", "ΣΑΣ.Β", "İ", "İİ.", "don't", "a_b", "_", "3.14"]
    texts += [" ".join(rng.choice(words, size=int(rng.integers(0, 9)))) for _ in range(500)]
    assert_same_as_fastembed(Bm25(), fastembed_bm25(tmp_path, "english"), texts)


@pytest.mark.usefixtures("offline")
def test_parity_with_fastembed_random_runs(tmp_path: Path) -> None:
    pytest.importorskip("fastembed")
    assert_same_as_fastembed(Bm25(), fastembed_bm25(tmp_path, "english"), random_runs_texts())


@pytest.mark.usefixtures("offline")
def test_tokenize_matches_fastembed(tmp_path: Path) -> None:
    pytest.importorskip("fastembed")
    from fastembed.common.utils import remove_non_alphanumeric
    from fastembed.sparse.utils.tokenizer import SimpleTokenizer

    theirs = fastembed_bm25(tmp_path, "english")
    ours = Bm25()
    for text in english_sentences(100) + TRICKY:
        tokens = SimpleTokenizer.tokenize(remove_non_alphanumeric(text))
        assert ours.tokenize(text) == theirs._stem(tokens), text
