"""BM42: the pure rules, and parity with an independent PyTorch + plain-Python reference."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import Bm42Spec, ModelLoadError, SparseTextEmbedding
from embed_plugins.families.bm25 import token_id
from embed_plugins.families.bm42 import (
    StemRules,
    bm42_values,
    cls_attention,
    document_vector,
    is_punctuation,
    merge_word_pieces,
    query_vector,
)

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-bert-attentions"
REFS = FIXTURES / "reference"
BM42 = "Qdrant/bm42-all-minilm-l6-v2-attentions"
ATOL = 1e-5


def _reference(name: str) -> tuple[dict[str, np.ndarray], list[str]]:
    arrays = dict(np.load(REFS / f"{name}.npz"))
    texts = json.loads((REFS / f"{name}.json").read_text(encoding="utf-8"))["texts"]
    return arrays, texts


def _unflat(arrays: dict[str, np.ndarray], prefix: str) -> list[tuple[np.ndarray, np.ndarray]]:
    offsets = arrays[f"{prefix}_offsets"]
    return [
        (arrays[f"{prefix}_indices"][a:b], arrays[f"{prefix}_values"][a:b])
        for a, b in itertools.pairwise(offsets)
    ]


def _check_parity(model: SparseTextEmbedding, name: str) -> float:
    arrays, texts = _reference(name)
    docs = list(model.embed(texts, batch_size=4))
    queries = list(model.query_embed(texts))
    worst = 0.0
    for text, (idx, val), doc in zip(texts, _unflat(arrays, "doc"), docs, strict=True):
        assert doc.indices.tolist() == idx.tolist(), text
        if len(val):
            worst = max(worst, float(np.abs(doc.values - val).max()))
    for text, (idx, _), query in zip(texts, _unflat(arrays, "query"), queries, strict=True):
        assert query.indices.tolist() == idx.tolist(), text
        assert np.all(query.values == 1.0)
    assert worst <= ATOL, f"{name}: max abs diff {worst:.2e}"
    return worst


# --------------------------------------------------------------------------- pure rules


def test_merge_word_pieces() -> None:
    tokens = [None, "straw", "##berry", "jam", ",", "un", "##believ", "##able", None, None]
    assert merge_word_pieces(tokens) == [
        ("strawberry", [1, 2]),
        ("jam", [3]),
        (",", [4]),
        ("unbelievable", [5, 6, 7]),
    ]


def test_merge_word_pieces_follows_fastembed_edge_cases() -> None:
    # A special token between pieces does not end the word; a leading continuation starts one.
    assert merge_word_pieces(["##ing", "run", None, "##s"]) == [("ing", [0]), ("runs", [1, 3])]
    assert merge_word_pieces([None, None]) == []
    assert merge_word_pieces(["ab", "cd"], prefix="") == [("ab", [0]), ("cd", [1])]


def test_cls_attention_is_the_head_mean_of_the_cls_row() -> None:
    rng = np.random.default_rng(1)
    att = rng.random((2, 3, 4, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    got = cls_attention(att, mask)
    for b in range(2):
        for t in range(4):
            expected = np.float32(att[b, :, 0, t].mean()) * mask[b, t]
            assert got[b, t] == pytest.approx(float(expected), abs=1e-7)
    with pytest.raises(ModelLoadError, match="heads"):
        cls_attention(att[:, 0], mask)


def test_values_and_punctuation() -> None:
    np.testing.assert_allclose(bm42_values([0.0, 1.0, 3.0], 0.5), np.sqrt(np.log([1, 2, 4])))
    assert bm42_values([1.0], 1.0).dtype == np.float32
    for char in [",", ".", "$", "—", "“", "«", "。"]:
        assert is_punctuation(char), char
    for word in ["a", "1", "_x", "ab", "é"]:
        assert not is_punctuation(word), word


def test_stem_rules() -> None:
    rules = StemRules("english")
    assert rules.term("the") is None and rules.term("And") is None  # stopwords, any case
    assert rules.term("?") is None and rules.term("—") is None
    assert rules.term("running") == ("run", token_id("run"))
    assert rules.term("Running") == ("run", token_id("run"))


def test_document_and_query_vectors() -> None:
    rules = StemRules("english")
    words = [("running", [1]), ("runs", [2, 3]), ("the", [4]), ("fox", [5])]
    weights = [0.5, 0.1, 0.2, 0.05, 0.9, 0.3]
    doc = document_vector(words, weights, rules, alpha=0.5)
    expected = {
        token_id("run"): np.log(1 + 0.25) ** 0.5,  # max(0.1, 0.2 + 0.05)
        token_id("fox"): np.log(1 + 0.3) ** 0.5,
    }
    assert doc.as_dict() == pytest.approx(expected, abs=1e-7)
    query = query_vector(words, rules)
    assert sorted(query.as_dict()) == sorted(expected) and set(query.as_dict().values()) == {1.0}


# --------------------------------------------------------------------------- tiny fixture


@pytest.fixture(scope="module")
def tiny() -> SparseTextEmbedding:
    return SparseTextEmbedding(
        spec=Bm42Spec(model="tiny-bert-attentions", output_name="attention_2"), model_path=TINY
    )


def test_tiny_bm42_matches_independent_reference(tiny: SparseTextEmbedding) -> None:
    _check_parity(tiny, "bm42-tiny")


def test_tiny_bm42_tokens_match_the_reference(tiny: SparseTextEmbedding) -> None:
    arrays, texts = _reference("bm42-tiny")
    pipeline = tiny._runner.pipeline()
    for row, enc in enumerate(pipeline.encode(texts, "document")):  # type: ignore[attr-defined]
        n = int(arrays["attention_mask"][row].sum())
        assert enc.ids == arrays["input_ids"][row, :n].tolist()


def test_queries_run_no_model(tiny: SparseTextEmbedding, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = tiny._runner.pipeline()

    def no_run(*args: object) -> None:
        raise AssertionError("query_embed ran the model")

    monkeypatch.setattr(pipeline, "run", no_run)
    (vec,) = tiny.query_embed(["The quick brown fox jumps over the lazy dog."])
    assert len(vec) > 0 and set(vec.values.tolist()) == {1.0}


def test_query_terms_are_the_document_terms(tiny: SparseTextEmbedding) -> None:
    texts = ["The quick brown fox jumps over the lazy dog.", "What is the capital of France?"]
    for doc, query in zip(tiny.embed(texts), tiny.query_embed(texts), strict=True):
        assert doc.indices.tolist() == query.indices.tolist()
        assert np.all(doc.values > 0) and np.all(doc.values < 1)


def test_wrong_output_name_is_a_clear_error() -> None:
    with pytest.raises(ModelLoadError, match="attention_2"):
        SparseTextEmbedding(spec=Bm42Spec(model="tiny-bert-attentions"), model_path=TINY)


def test_language_without_stemmer_is_refused() -> None:
    with pytest.raises(ValueError, match="supported: arabic"):
        Bm42Spec(model="x", language="klingon")


def test_alpha_changes_values(tiny: SparseTextEmbedding) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    base = next(iter(tiny.embed(text)))
    linear = SparseTextEmbedding(
        spec=Bm42Spec(model="tiny-bert-attentions", output_name="attention_2"),
        model_path=TINY,
        alpha=1.0,
    )
    assert linear.spec.alpha == 1.0  # type: ignore[attr-defined]
    other = next(iter(linear.embed(text)))
    np.testing.assert_array_equal(base.indices, other.indices)
    np.testing.assert_allclose(other.values, base.values**2, rtol=1e-5)


# --------------------------------------------------------------------------- real weights


@pytest.fixture(scope="module")
def minilm_bm42(models_dir: Path) -> SparseTextEmbedding:
    folder = models_dir / "Qdrant" / "all_miniLM_L6_v2_with_attentions"
    if not (folder / "model.onnx").is_file():
        pytest.skip("Qdrant/all_miniLM_L6_v2_with_attentions not in the models dir")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMBED_PLUGINS_MODELS_DIR", str(models_dir))
        return SparseTextEmbedding(BM42)


def test_real_bm42_matches_independent_reference(minilm_bm42: SparseTextEmbedding) -> None:
    assert minilm_bm42.spec.hf_repo == "Qdrant/all_miniLM_L6_v2_with_attentions"
    _check_parity(minilm_bm42, "bm42-all-minilm-l6-v2")


def test_real_bm42_matches_the_model_card(minilm_bm42: SparseTextEmbedding) -> None:
    # The example of https://huggingface.co/Qdrant/all_miniLM_L6_v2_with_attentions (card).
    # Its second document is the longer one of the batch, so padding cannot affect it.
    doc = next(iter(minilm_bm42.embed("History can only prepare us to be surprised yet again.")))
    card = {
        733618285: 0.38320042, 1849833631: 0.25453135, 1008800696: 0.18017513,
        2090661150: 0.30432631, 1117393019: 0.1373556,
    }  # fmt: skip
    assert doc.as_dict() == pytest.approx(card, abs=1e-6)
    # The card's first document (values 0.264, 0.247, 0.471) was padded in its batch by an
    # export that lets [CLS] attend to padding; embedded correctly it does not depend on the
    # batch, so alone and padded beside the longer text give one vector.
    first = "You should stay, study and sprint."
    alone = next(iter(minilm_bm42.embed(first)))
    longer = "History can only prepare us to be surprised yet again."
    together = next(iter(minilm_bm42.embed([first, longer])))
    assert sorted(alone.indices.tolist()) == [150760872, 1881538586, 1932363795]
    np.testing.assert_allclose(alone.values, together.values, atol=1e-6)
