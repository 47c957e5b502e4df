"""miniCOIL (Qdrant/minicoil-v1): the pure functions, a hand-computed vector, and parity on the
tiny miniCOIL folder with the builder's step-by-step reference (tests/fixtures/_build_minicoil.py,
PyTorch token states) and with fastembed 0.9.1's MiniCOIL on the same folder."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import MiniCoilSpec, ModelLoadError, SparseTextEmbedding, SparseVector
from embed_plugins.families.minicoil import (
    MiniCoilVocab,
    TfParameters,
    WordRules,
    bm25_tf,
    fallback_index,
    fallback_shift,
    minicoil_vector,
    unit_length,
    word_meanings,
)
from embed_plugins.hub import MODELS_DIR_ENV

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-minicoil"
NAME = "Qdrant/minicoil-v1"
ATOL = 1e-5
SPEC = MiniCoilSpec(model="tiny-minicoil")


def _reference() -> tuple[dict[str, list[SparseVector]], list[str]]:
    arrays = dict(np.load(FIXTURES / "reference" / "tiny-minicoil.npz"))
    meta = json.loads((FIXTURES / "reference" / "tiny-minicoil.json").read_text("utf-8"))
    out = {}
    for kind in ("documents", "queries"):
        offsets = arrays[f"{kind}_offsets"]
        out[kind] = [
            SparseVector.create(arrays[f"{kind}_indices"][a:b], arrays[f"{kind}_values"][a:b])
            for a, b in itertools.pairwise(offsets)
        ]
    return out, meta["texts"]


def _fastembed(folder: Path, cache: Path, **kwargs: Any) -> Any:
    try:
        from fastembed.sparse.minicoil import MiniCOIL
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install fastembed 0.9.1 (see .ci/run)")
        pytest.skip("fastembed is not installed")
    return MiniCOIL(NAME, specific_model_path=str(folder), cache_dir=str(cache), **kwargs)


def _assert_same(ours: list[SparseVector], theirs: list[Any], what: str) -> float:
    """Same indices, values within ATOL; fastembed's vectors are in word order, int32."""
    worst = 0.0
    for i, (mine, their) in enumerate(zip(ours, theirs, strict=True)):
        order = np.argsort(their.indices, kind="stable")
        assert mine.indices.tolist() == their.indices[order].tolist(), f"{what} {i}"
        if len(mine):
            worst = max(worst, float(np.abs(mine.values - their.values[order]).max()))
    assert worst <= ATOL, f"{what}: {worst}"
    return worst


@pytest.fixture(scope="module")
def tiny() -> SparseTextEmbedding:
    return SparseTextEmbedding(spec=SPEC, model_path=TINY)


# --------------------------------------------------------------------------- pure functions


def test_bm25_tf_and_fallback_indices() -> None:
    assert bm25_tf(2, 10, 1.2, 0.75, 150.0) == pytest.approx(2 * 2.2 / (2 + 1.2 * (0.25 + 0.05)))
    assert bm25_tf(3, 7, 1.2, 0.0, 150.0) == pytest.approx(3 * 2.2 / 4.2)
    # Qdrant/minicoil-v1: 19125 ids (the card's vectors: "bat" at 18832..18835 = 4708 * 4 + j)
    shift = fallback_shift(19125, 4)
    assert shift == 128000 > 19124 * 4 + 3
    import mmh3

    expected = shift + abs(mmh3.hash("basebal")) % (2**31 - 1 - shift)
    assert fallback_index("basebal", shift) == expected
    assert shift <= fallback_index("ad1u66pi", shift) < 2**31 - 1  # |hash| = 2**31 fits


def test_word_meanings_average_every_token_of_a_word() -> None:
    rng = np.random.default_rng(0)
    states = rng.normal(size=(6, 5)).astype(np.float32)
    weights = rng.normal(size=(4, 5, 3)).astype(np.float32)
    ids = np.array([0, 2, 2, 3, 0, 2])  # id 2 three tokens, id 3 one, 0 = no word
    got_ids, meanings = word_meanings(states, ids, weights)
    assert got_ids.tolist() == [2, 3] and meanings.shape == (2, 3)
    np.testing.assert_allclose(meanings[0], np.tanh(states[[1, 2, 5]].mean(0) @ weights[2]), 1e-6)
    np.testing.assert_allclose(meanings[1], np.tanh(states[3] @ weights[3]), rtol=1e-6)
    assert word_meanings(states, np.zeros(6, dtype=np.int64), weights)[0].size == 0


def test_unit_length_leaves_a_null_vector_alone() -> None:
    np.testing.assert_allclose(unit_length(np.array([3.0, 4.0])), [0.6, 0.8])
    assert unit_length(np.array([1e-9, 0.0])).tolist() == [1e-9, 0.0]


def _rules() -> WordRules:
    vocab = MiniCoilVocab.from_json(
        {
            "vocab": ["bank", "river", "rank", "ranking"],
            "stem_mapping": {"bank": "bank", "river": "river", "rank": "rank"},
        },
        "vocab",
    )
    return WordRules(vocab, frozenset({"the", "of"}), "english")


def test_word_rules() -> None:
    rules = _rules()
    assert [rules.word_id(w) for w in ("bank", "banks", "banking", "ranking", "ranks")] == [
        1, 1, 1, 4, 3,
    ]  # fmt: skip
    assert rules.word_id("the") == 0 and rules.word_id("cave") == 0
    assert rules.fallback_stems("caves") == ("cave",)
    assert rules.fallback_stems("9°9") == ("9", "9")  # split on non-word characters
    for dropped in ("the", ",", "—", "[CLS]", "[UNK]", "x" * 41 + "s"):
        assert rules.fallback_stems(dropped) == (), dropped


def test_a_vector_by_hand() -> None:
    """'the bank banks river cave caves': two words on id 1, one on id 2, 'cave' twice."""
    rules = _rules()
    rng = np.random.default_rng(3)
    states = rng.normal(size=(7, 5)).astype(np.float32)
    weights = (0.3 * rng.normal(size=(5, 5, 4))).astype(np.float32)
    words = [("the", [0]), ("bank", [1]), ("banks", [2, 3]), ("river", [4]), ("cave", [5]),
             ("caves", [6])]  # fmt: skip
    tf = TfParameters(1.2, 0.75, 150.0)
    vec = minicoil_vector(words, states, rules, weights, tf)
    length = 2 + 1 + 2  # bank x2, river x1, cave x2; "the" is a stopword

    def meaning(rows: list[int], word: int) -> np.ndarray:
        v = np.tanh(states[rows].astype(np.float64).mean(0) @ weights[word])
        return v / np.linalg.norm(v)

    shift = fallback_shift(5, 4)
    expected = {
        **{4 + j: meaning([1, 2, 3], 1)[j] * bm25_tf(2, length, 1.2, 0.75, 150) for j in range(4)},
        **{8 + j: meaning([4], 2)[j] * bm25_tf(1, length, 1.2, 0.75, 150) for j in range(4)},
        fallback_index("cave", shift): bm25_tf(2, length, 1.2, 0.75, 150),
    }
    assert vec.indices.tolist() == sorted(expected)
    np.testing.assert_allclose(vec.values, [expected[i] for i in sorted(expected)], rtol=1e-5)
    query = minicoil_vector(words, states, rules, weights, None)
    assert query.indices.tolist() == sorted(expected)
    assert query.values[-1] == 1.0
    np.testing.assert_allclose(query.values[:4], meaning([1, 2, 3], 1), rtol=1e-5)


def test_bad_vocabulary_files() -> None:
    for bad, match in (
        ([], "expected"),
        ({"vocab": "bank", "stem_mapping": {}}, "list of words"),
        ({"vocab": ["bank"], "stem_mapping": {"ban": "banana"}}, "stem_mapping"),
        ({"vocab": ["bank"]}, "stem_mapping"),
    ):
        with pytest.raises(ModelLoadError, match=match):
            MiniCoilVocab.from_json(bad, "vocab")


# --------------------------------------------------------------------------- spec


def test_spec_and_catalogue_entry() -> None:
    assert SPEC.model_file == "onnx/model.onnx" and SPEC.additional_files == (
        "stopwords.txt",
        "minicoil.triplet.model.npy",
        "minicoil.triplet.model.vocab",
    )
    entry = {m["model"]: m for m in SparseTextEmbedding.list_supported_models()}[NAME]
    assert entry["kind"] == "minicoil" and entry["requires_idf"] is True
    assert (entry["sources"]["hf"], entry["model_file"]) == (NAME, "onnx/model.onnx")
    assert (entry["k"], entry["b"], entry["avg_len"], entry["language"]) == (
        1.2,
        0.75,
        150.0,
        "english",
    )
    assert (entry["vocab_size"], entry["size_in_GB"], entry["license"]) == (
        19125,
        0.09,
        "apache-2.0",
    )
    assert MiniCoilSpec(model="x/y", stopwords_file=None).additional_files == (
        "minicoil.triplet.model.npy",
        "minicoil.triplet.model.vocab",
    )


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("k", -1.0, "k must be"),
        ("b", 1.5, "b must be"),
        ("avg_len", 0, "avg_len must be"),
        ("avg_len", True, "avg_len must be"),
        ("language", "klingon", "no Snowball stemmer"),
        ("weights_file", "../w.npy", "leads out of the model folder"),
    ],
)
def test_bad_spec_fields(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MiniCoilSpec(model="x/y", **{field: value})


# --------------------------------------------------------------------------- tiny fixture


def test_matches_the_step_by_step_reference(tiny: SparseTextEmbedding) -> None:
    reference, texts = _reference()
    for kind, vectors in (
        ("documents", tiny.embed(texts, batch_size=4)),
        ("queries", tiny.query_embed(texts, batch_size=4)),
    ):
        worst = 0.0
        for text, ref, vec in zip(texts, reference[kind], vectors, strict=True):
            assert vec.indices.tolist() == ref.indices.tolist(), (kind, text)
            if len(vec):
                worst = max(worst, float(np.abs(vec.values - ref.values).max()))
        assert worst <= ATOL, (kind, worst)
    assert sum(len(v) for v in reference["documents"]) > 200  # the texts exercise the rules


def test_same_as_fastembed(tiny: SparseTextEmbedding, tmp_path: Path) -> None:
    _, texts = _reference()
    theirs = _fastembed(TINY, tmp_path)
    _assert_same(list(tiny.embed(texts, 4)), list(theirs.embed(texts, 4)), "documents")
    _assert_same(list(tiny.query_embed(texts)), list(theirs.query_embed(texts)), "queries")


def test_bm25_options_as_fastembed(tmp_path: Path) -> None:
    _, texts = _reference()
    options = {"k": 2.0, "b": 0.3, "avg_len": 20.0}
    ours = SparseTextEmbedding(spec=SPEC, model_path=TINY, **options)
    assert (ours.spec.k, ours.spec.b, ours.spec.avg_len) == (2.0, 0.3, 20.0)  # type: ignore[attr-defined]
    theirs = _fastembed(TINY, tmp_path, **options)
    _assert_same(list(ours.embed(texts)), list(theirs.embed(texts)), "documents")
    with pytest.raises(TypeError, match="'alpha' is a BM42 option"):
        SparseTextEmbedding(spec=SPEC, model_path=TINY, alpha=0.5)


def test_parallel_equals_in_process(tiny: SparseTextEmbedding) -> None:
    _, texts = _reference()
    texts = texts * 2
    model = SparseTextEmbedding(spec=SPEC, model_path=TINY)
    try:
        docs = list(model.embed(texts, batch_size=3, parallel=2))
        queries = list(model.query_embed(texts, batch_size=3, parallel=2))
    finally:
        model.close()
    for remote, local in ((docs, tiny.embed(texts, 3)), (queries, tiny.query_embed(texts, 3))):
        for a, b in zip(remote, local, strict=True):
            np.testing.assert_array_equal(a.indices, b.indices)
            np.testing.assert_allclose(a.values, b.values, atol=1e-6)


def test_the_catalogue_name_loads_its_folder(
    tiny: SparseTextEmbedding, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(TINY, tmp_path / NAME)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    model = SparseTextEmbedding(NAME)
    texts = ["fruit bat", "baseball bat", "bank river bank account"]
    assert list(model.embed(texts)) == list(tiny.embed(texts))
    assert list(model.query_embed(texts)) == list(tiny.query_embed(texts))


def test_broken_files_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(TINY, folder)
    weights = np.load(folder / "minicoil.triplet.model.npy")
    np.save(folder / "minicoil.triplet.model.npy", weights[:, :16])  # hidden 16, graph has 32
    with pytest.raises(ModelLoadError, match="has 32 values per token"):
        SparseTextEmbedding(spec=SPEC, model_path=folder)
    np.save(folder / "minicoil.triplet.model.npy", weights[:10])  # fewer rows than words
    with pytest.raises(ModelLoadError, match=r"minicoil\.triplet\.model\.npy"):
        SparseTextEmbedding(spec=SPEC, model_path=folder)
    np.save(folder / "minicoil.triplet.model.npy", weights)
    (folder / "minicoil.triplet.model.vocab").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"minicoil\.triplet\.model\.vocab"):
        SparseTextEmbedding(spec=SPEC, model_path=folder)
    (folder / "minicoil.triplet.model.vocab").unlink()
    with pytest.raises(ValueError, match=r"minicoil\.triplet\.model\.vocab"):
        SparseTextEmbedding(spec=SPEC, model_path=folder)


def test_inputs_follow_the_sparse_rules(tiny: SparseTextEmbedding) -> None:
    assert [len(v) for v in tiny.embed(["", "  ", "the of and"])] == [0, 0, 0]
    with pytest.raises(TypeError, match="input 1"):
        list(tiny.embed(["fox", None]))  # type: ignore[list-item]
