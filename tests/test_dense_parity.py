"""Dense parity against PyTorch references (sentence-transformers / transformers).

The references were computed by ``tests/fixtures/build_fixtures.py`` from the
PyTorch models, independently of this package; these tests only load them.
Tolerance: 1e-5 max absolute difference, as the project requires.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import DenseSpec, TextEmbedding
from embed_plugins.families.dense import embed_outputs, l2_normalize, pool

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-5


def load_reference(name: str) -> tuple[list[str], dict[str, np.ndarray]]:
    meta = json.loads((FIXTURES / "reference" / f"{name}.json").read_text(encoding="utf-8"))
    with np.load(FIXTURES / "reference" / f"{name}.npz") as data:
        arrays = {k: data[k] for k in data.files}
    return meta["texts"], arrays


def tiny_spec(name: str, pooling: str, normalize: bool, **extra: object) -> DenseSpec:
    model_file = "onnx/model.onnx" if name == "tiny-bert" else "model.onnx"
    return DenseSpec(
        model=f"fixtures/{name}-{pooling}",
        model_file=model_file,
        dim=32,
        pooling=pooling,  # type: ignore[arg-type]
        normalize=normalize,
        output_name="last_hidden_state",
        **extra,  # type: ignore[arg-type]
    )


def embed_all(model: TextEmbedding, texts: list[str], batch_size: int = 4) -> np.ndarray:
    return np.stack(list(model.embed(texts, batch_size=batch_size)))


def test_tiny_bert_sentence_transformers_folder_matches_reference() -> None:
    """A custom ST folder: pooling, normalisation and max_seq_length (24) read from its files."""
    texts, ref = load_reference("tiny-bert")
    model = TextEmbedding(model_path=FIXTURES / "models" / "tiny-bert")
    assert model.spec.pooling == "mean" and model.spec.normalize
    ours = embed_all(model, texts)
    diff = np.abs(ours - ref["st_embeddings"]).max()
    assert diff < TOL, diff
    # The reference was truncated at 24 tokens (not tokenizer_config's 512).
    assert model.token_count(texts) == int(ref["attention_mask"].sum())


@pytest.mark.parametrize(
    ("pooling", "normalize", "key"),
    [
        ("cls", False, "cls"),
        ("cls", True, "cls_normalized"),
        ("mean", False, "mean"),
        ("mean", True, "mean_normalized"),
        ("last_token", False, "last_token"),
        ("last_token", True, "last_token_normalized"),
    ],
)
def test_tiny_bert_poolings_match_transformers(pooling: str, normalize: bool, key: str) -> None:
    texts, ref = load_reference("tiny-bert")
    spec = tiny_spec("tiny-bert", pooling, normalize, max_length=24)
    model = TextEmbedding(spec=spec, model_path=FIXTURES / "models" / "tiny-bert")
    ours = embed_all(model, texts, batch_size=3)
    diff = np.abs(ours - ref[key]).max()
    assert diff < TOL, (key, diff)


@pytest.mark.parametrize(
    ("pooling", "key"), [("mean", "mean_normalized"), ("cls", "cls_normalized")]
)
def test_tiny_xlmr_matches_transformers(pooling: str, key: str) -> None:
    """XLM-R: no token_type_ids input, pad id 1, truncation from tokenizer_config (32)."""
    texts, ref = load_reference("tiny-xlmr")
    model = TextEmbedding(
        spec=tiny_spec("tiny-xlmr", pooling, True), model_path=FIXTURES / "models" / "tiny-xlmr"
    )
    ours = embed_all(model, texts)
    diff = np.abs(ours - ref[key]).max()
    assert diff < TOL, diff
    assert model.token_count(texts) == int(ref["attention_mask"].sum())


def test_pooling_functions_on_reference_hidden_states() -> None:
    """The pure functions alone, on the reference's own hidden states and masks."""
    _, ref = load_reference("tiny-bert")
    hidden, mask = ref["last_hidden_state"], ref["attention_mask"]
    np.testing.assert_allclose(pool(hidden, mask, "mean"), ref["mean"], atol=TOL, rtol=0)
    np.testing.assert_allclose(pool(hidden, mask, "cls"), ref["cls"], atol=TOL, rtol=0)
    np.testing.assert_allclose(
        pool(hidden, mask, "last_token"), ref["last_token"], atol=TOL, rtol=0
    )
    np.testing.assert_allclose(l2_normalize(ref["mean"]), ref["mean_normalized"], atol=TOL, rtol=0)
    # Left padding: the last-token rule must find the same token.
    left_padded = np.zeros_like(hidden)
    left_padded_mask = np.zeros_like(mask)
    for i in range(hidden.shape[0]):
        n = int(mask[i].sum())
        left_padded[i, -n:] = hidden[i, :n]
        left_padded_mask[i, -n:] = 1
    np.testing.assert_allclose(
        pool(left_padded, left_padded_mask, "last_token"), ref["last_token"], atol=0
    )


def test_nomic_style_matryoshka_layer_norm() -> None:
    """layer_norm -> cut -> L2, as nomic-embed-text-v1.5's card prescribes."""
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(3, 5, 8)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    spec = DenseSpec(model="x/y", dim=8, pooling="mean", matryoshka_layer_norm=True)
    out = embed_outputs(hidden, mask, spec, truncate_dim=4)
    pooled = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    ln = (pooled - pooled.mean(1, keepdims=True)) / np.sqrt(pooled.var(1, keepdims=True) + 1e-5)
    cut = ln[:, :4]
    expected = cut / np.linalg.norm(cut, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # Without truncation the layer norm is not applied (plain mean + L2).
    full = embed_outputs(hidden, mask, spec)
    np.testing.assert_allclose(
        full, pooled / np.linalg.norm(pooled, axis=1, keepdims=True), atol=1e-6
    )


@pytest.fixture(scope="module")
def minilm_reference() -> tuple[list[str], dict[str, np.ndarray]]:
    return load_reference("all-MiniLM-L6-v2")


def test_real_minilm_matches_sentence_transformers(
    offline_models: Path, minilm_reference: tuple[list[str], dict[str, np.ndarray]]
) -> None:
    """The real all-MiniLM-L6-v2, resolved through EMBED_PLUGINS_MODELS_DIR.

    The texts include >256 and >512 token texts, Chinese, Arabic, Russian,
    Hindi, emoji, mixed scripts, the empty string and whitespace only.
    """
    texts, ref = minilm_reference
    assert any(t == "" for t in texts)
    model = TextEmbedding("sentence-transformers/all-MiniLM-L6-v2")
    for batch_size in (1, 4, 256):
        ours = embed_all(model, texts, batch_size=batch_size)
        assert ours.dtype == np.float32
        diff = np.abs(ours - ref["embeddings"]).max()
        assert diff < TOL, (batch_size, diff)
    # Truncated at sentence_bert_config's 256, not tokenizer.json's 128 nor 512.
    assert model.token_count(texts) == int(ref["attention_mask"].sum())


def test_real_minilm_query_and_passage_apply_no_prefix(
    offline_models: Path, minilm_reference: tuple[list[str], dict[str, np.ndarray]]
) -> None:
    texts, ref = minilm_reference
    model = TextEmbedding("sentence-transformers/all-MiniLM-L6-v2")
    queries = np.stack(list(model.query_embed(texts[:4])))
    passages = np.stack(list(model.passage_embed(texts[:4])))
    assert np.abs(queries - ref["embeddings"][:4]).max() < TOL
    assert np.abs(passages - ref["embeddings"][:4]).max() < TOL


def test_real_minilm_with_e5_style_prefixes(
    offline_models: Path, minilm_reference: tuple[list[str], dict[str, np.ndarray]]
) -> None:
    """query_embed/passage_embed prepend the spec's prefixes; embed does not."""
    texts, _ = minilm_reference
    spec = DenseSpec(
        model="sentence-transformers/all-MiniLM-L6-v2",
        model_file="onnx/model.onnx",
        dim=384,
        pooling="mean",
        query_prefix="query: ",
        passage_prefix="passage: ",
    )
    model = TextEmbedding(
        spec=spec, model_path=offline_models / "sentence-transformers/all-MiniLM-L6-v2"
    )
    plain = TextEmbedding("sentence-transformers/all-MiniLM-L6-v2")
    sample = texts[:3]
    q = np.stack(list(model.query_embed(sample)))
    p = np.stack(list(model.passage_embed(sample)))
    np.testing.assert_allclose(
        q, np.stack(list(plain.embed(["query: " + t for t in sample]))), atol=1e-6
    )
    np.testing.assert_allclose(
        p, np.stack(list(plain.embed(["passage: " + t for t in sample]))), atol=1e-6
    )
    assert np.abs(q - np.stack(list(model.embed(sample)))).max() > 1e-3


def test_fused_graph_keeps_parity(
    offline_models: Path,
    minilm_reference: tuple[list[str], dict[str, np.ndarray]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """optimize=True: onnxruntime's transformer fusions, cached, still within 1e-5."""
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(tmp_path))
    texts, ref = minilm_reference
    model = TextEmbedding("sentence-transformers/all-MiniLM-L6-v2", optimize=True)
    cached = list((tmp_path / "optimized").glob("*.onnx"))
    assert len(cached) == 1  # built once, on disk
    ours = embed_all(model, texts)
    assert np.abs(ours - ref["embeddings"]).max() < TOL
    # A second model reuses the cached graph instead of fusing again.
    mtime = cached[0].stat().st_mtime_ns
    TextEmbedding("sentence-transformers/all-MiniLM-L6-v2", optimize=True)
    assert cached[0].stat().st_mtime_ns == mtime
