"""SPLADE: the pure activation, and parity with PyTorch on the tiny fixture and real weights."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import ModelNotFoundError, SparseTextEmbedding, SpladeSpec
from embed_plugins.families.splade import splade_weights, to_sparse

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-splade"
REFS = FIXTURES / "reference"
ATOL = 1e-5
REAL = "local/splade-tiny-msmarco"


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


def _dense(indices: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float64)
    out[indices] = values
    return out


def _assert_close(ref: np.ndarray, got: np.ndarray, what: str) -> float:
    """Dense vectors within ATOL, and the same terms wherever either side exceeds ATOL."""
    diff = float(np.abs(ref - got).max())
    assert diff <= ATOL, f"{what}: max abs diff {diff:.2e}"
    big = (ref > ATOL) | (got > ATOL)
    assert np.array_equal(ref[big] > 0, got[big] > 0), f"{what}: different terms"
    return diff


# --------------------------------------------------------------------------- pure functions


def test_splade_weights_equals_the_formula() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 11)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=np.int64)
    expected = (np.log1p(np.maximum(logits, 0)) * mask[:, :, None]).max(axis=1)
    got = splade_weights(logits.copy(), mask)
    assert got.dtype == np.float32 and got.shape == (3, 11)
    np.testing.assert_array_equal(got, expected.astype(np.float32))


def test_splade_weights_ignores_padding_logits() -> None:
    logits = np.full((1, 3, 4), -1.0, dtype=np.float32)
    logits[0, 2] = 100.0  # a padding position with huge logits must not count
    mask = np.array([[1, 1, 0]])
    assert not splade_weights(logits, mask).any()


def test_splade_weights_on_read_only_output() -> None:
    logits = np.ones((1, 2, 3), dtype=np.float32)
    logits.setflags(write=False)
    out = splade_weights(logits, np.array([[1, 0]]))
    np.testing.assert_allclose(out, np.log1p(1.0))


def test_to_sparse_keeps_non_zeros_with_fixed_dtypes() -> None:
    weights = np.array([[0, 0.5, 0, 2.0], [0, 0, 0, 0]], dtype=np.float32)
    first, empty = to_sparse(weights)
    assert first.indices.dtype == np.int64 and first.values.dtype == np.float32
    assert first.indices.tolist() == [1, 3] and first.values.tolist() == [0.5, 2.0]
    assert len(empty) == 0 and empty.indices.dtype == np.int64


# --------------------------------------------------------------------------- tiny fixture


@pytest.fixture(scope="module")
def tiny() -> SparseTextEmbedding:
    return SparseTextEmbedding(spec=SpladeSpec(model="tiny-splade"), model_path=TINY)


def test_tiny_splade_matches_pytorch(tiny: SparseTextEmbedding) -> None:
    arrays, texts = _reference("tiny-splade")
    vectors = list(tiny.embed(texts, batch_size=4))
    compared = 0
    for text, ref, vec in zip(texts, arrays["splade"], vectors, strict=True):
        if not text.strip():  # documented rule: blank text -> empty vector, no model run
            assert len(vec) == 0
            continue
        assert np.all(vec.values > 0) and np.all(np.diff(vec.indices) > 0)
        _assert_close(ref.astype(np.float64), _dense(vec.indices, vec.values, ref.size), text)
        compared += 1
    assert compared == 13


def test_tiny_splade_tokens_match_the_reference(tiny: SparseTextEmbedding) -> None:
    arrays, texts = _reference("tiny-splade")
    pipeline = tiny._runner.pipeline()
    encodings = pipeline.encode(texts, "document")  # type: ignore[attr-defined]
    for row, enc in enumerate(encodings):
        n = int(arrays["attention_mask"][row].sum())
        assert enc.ids == arrays["input_ids"][row, :n].tolist()


def test_tiny_splade_batching_does_not_change_vectors(tiny: SparseTextEmbedding) -> None:
    _, texts = _reference("tiny-splade")
    together = list(tiny.embed(texts, batch_size=16))
    alone = [next(iter(tiny.embed([t]))) for t in texts]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.values, b.values, atol=1e-6)


def test_query_and_passage_equal_embed_for_splade(tiny: SparseTextEmbedding) -> None:
    texts = ["hello world", "What is the capital of France?"]
    docs = list(tiny.embed(texts))
    assert list(tiny.query_embed(texts)) == docs
    assert list(tiny.passage_embed(texts)) == docs


# --------------------------------------------------------------------------- real weights


def test_real_splade_as_custom_model_matches_pytorch(offline_models: Path) -> None:
    if not (offline_models / REAL / "model.onnx").is_file():
        pytest.skip(f"{REAL} not in the models dir")
    SparseTextEmbedding.add_custom_model(
        SpladeSpec(model=REAL, vocab_size=30522, description="splade-tiny-msmarco (test)")
    )
    model = SparseTextEmbedding(REAL)
    assert model.spec.kind == "splade"
    arrays, texts = _reference("splade-tiny-msmarco")
    vectors = list(model.embed(texts, batch_size=4))
    worst = 0.0
    for text, (idx, val), vec in zip(texts, _unflat(arrays, "splade"), vectors, strict=True):
        ref = _dense(idx, val, 30522)
        worst = max(worst, _assert_close(ref, _dense(vec.indices, vec.values, 30522), text))
    assert worst <= ATOL
    # The text over 512 tokens was truncated like transformers truncates it.
    long_row = max(range(len(texts)), key=lambda i: len(texts[i]))
    assert int(arrays["attention_mask"][long_row].sum()) == 512
    assert model.token_count(texts[long_row]) == 512


def test_real_splade_folder_is_read_as_splade(models_dir: Path) -> None:
    folder = models_dir / REAL
    if not (folder / "model.onnx").is_file():
        pytest.skip(f"{REAL} not in the models dir")
    model = SparseTextEmbedding(model_path=folder)  # no name, no spec: config says ForMaskedLM
    assert isinstance(model.spec, SpladeSpec) and model.spec.vocab_size == 30522
    vec = next(iter(model.embed("what is the capital of france")))
    assert len(vec) > 0 and vec.indices.max() < 30522


def test_catalogue_splade_needs_its_files_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBED_PLUGINS_MODELS_DIR", raising=False)
    with pytest.raises(ModelNotFoundError, match="Qdrant/Splade_PP_en_v1"):
        SparseTextEmbedding("prithivida/Splade_PP_en_v1")
