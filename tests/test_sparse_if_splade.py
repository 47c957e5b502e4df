"""Inference-free SPLADE (opensearch-neural-sparse-encoding-doc-v3-gte): the pure functions, the
spec fields, and parity on the tiny GTE fixture with the model card's recipe (torch, computed by
tests/fixtures/_build_if_splade.py) and with fastembed 0.9.1's IfSplade on the same folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

from embed_plugins import (
    ModelLoadError,
    ModelNotFoundError,
    SparseTextEmbedding,
    SparseVector,
    SpladeSpec,
    UnsafeModelPathError,
)
from embed_plugins.families.if_splade import idf_query_vector, idf_table, special_token_ids
from embed_plugins.families.splade import splade_weights
from embed_plugins.hub import MODELS_DIR_ENV

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-if-splade"
NAME = "opensearch-project/opensearch-neural-sparse-encoding-doc-v3-gte"
ATOL = 1e-5
SPEC = SpladeSpec(
    model="tiny-if-splade",
    activation="log1p_log1p_relu",
    drop_special_tokens=True,
    query_idf_file="idf.json",
)


def _reference() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays = dict(np.load(FIXTURES / "reference" / "tiny-if-splade.npz"))
    meta = json.loads((FIXTURES / "reference" / "tiny-if-splade.json").read_text("utf-8"))
    return arrays, meta


def _dense(vector: SparseVector, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float64)
    out[vector.indices] = vector.values
    return out


def _fastembed_if_splade(folder: Path, cache: Path) -> Any:
    try:
        from fastembed.sparse.if_splade import IfSplade
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install fastembed 0.9.1 (see .ci/run)")
        pytest.skip("fastembed is not installed")
    return IfSplade(NAME, specific_model_path=str(folder), cache_dir=str(cache))


@pytest.fixture(scope="module")
def tiny() -> SparseTextEmbedding:
    return SparseTextEmbedding(spec=SPEC, model_path=TINY)


# --------------------------------------------------------------------------- pure functions


def test_the_v3_activation_is_a_second_log1p() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 4, 7)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    card = np.log1p(np.log1p(np.maximum((logits * mask[:, :, None]).max(axis=1), 0)))
    got = splade_weights(logits.copy(), mask, "log1p_log1p_relu")
    np.testing.assert_allclose(got, card, rtol=1e-6)
    plain = splade_weights(logits.copy(), mask)
    assert np.all(got[plain > 0] < plain[plain > 0])  # the second log shrinks every weight


def test_idf_query_vector_rules() -> None:
    table = np.array([0, 1.5, 2.0, 0.0, 4.0, 9.0], dtype=np.float32)
    specials = np.array([5], dtype=np.int64)
    vec = idf_query_vector([5, 4, 1, 1, 1, 3, 2, 99, -1], table, specials)
    # each id once; the special id 5, the 0-weight id 3 and ids outside the table left out
    assert vec.indices.tolist() == [1, 2, 4] and vec.values.tolist() == [1.5, 2.0, 4.0]
    assert vec.indices.dtype == np.int64 and vec.values.dtype == np.float32
    assert len(idf_query_vector([], table, specials)) == 0


def test_idf_table_skips_unknown_tokens_and_refuses_bad_weights() -> None:
    vocab = {"a": 0, "b": 1, "c": 2}
    table = idf_table({"b": 2, "zzz": 7.5, "c": 0.25}, vocab, "idf.json")
    assert table.tolist() == [0.0, 2.0, 0.25] and table.dtype == np.float32
    for bad in ({"a": "1"}, {"a": True}, {"a": float("nan")}, {"a": None}):
        with pytest.raises(ModelLoadError, match=r"idf\.json: the weight of 'a'"):
            idf_table(bad, vocab, "idf.json")
    with pytest.raises(ModelLoadError, match="JSON object"):
        idf_table(["a", 1.0], vocab, "idf.json")


def test_special_token_ids_read_the_tokenizer_and_the_map() -> None:
    tokenizer = Tokenizer.from_file(str(TINY / "tokenizer.json"))
    ids = special_token_ids(tokenizer, TINY)
    arrays, _ = _reference()
    assert ids.tolist() == arrays["special_ids"].tolist() == [0, 5, 6, 7, 8]


# --------------------------------------------------------------------------- spec


def test_query_idf_file_is_fetched_with_the_model() -> None:
    assert SPEC.additional_files == ("idf.json",)
    assert "idf.json" in SPEC.replace(hf_repo="org/repo").files()
    same = SpladeSpec(model="x/y", additional_files=("idf.json",), query_idf_file="idf.json")
    assert same.additional_files == ("idf.json",)
    assert SpladeSpec(model="x/y").query_idf_file is None


def test_bad_spec_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="activation must be one of"):
        SpladeSpec(model="x/y", activation="relu")
    with pytest.raises(UnsafeModelPathError, match="query_idf_file"):
        SpladeSpec(model="x/y", query_idf_file="../idf.json")
    with pytest.raises(UnsafeModelPathError, match="query_idf_file"):
        SpladeSpec(model="x/y", query_idf_file="/etc/idf.json")


def test_catalogue_entry() -> None:
    entry = {m["model"]: m for m in SparseTextEmbedding.list_supported_models()}[NAME]
    assert entry["sources"]["hf"] == "Qdrant/opensearch-neural-sparse-encoding-doc-v3-gte"
    assert (entry["model_file"], entry["additional_files"]) == ("model.onnx", ["idf.json"])
    assert entry["activation"] == "log1p_log1p_relu" and entry["drop_special_tokens"]
    assert entry["query_idf_file"] == "idf.json" and entry["kind"] == "splade"
    assert (entry["vocab_size"], entry["size_in_GB"], entry["license"]) == (
        30522,
        0.55,
        "apache-2.0",
    )


# --------------------------------------------------------------------------- tiny fixture


def test_documents_match_the_model_cards_recipe(tiny: SparseTextEmbedding) -> None:
    arrays, meta = _reference()
    specials = arrays["special_ids"]
    assert np.all(arrays["documents_with_specials"][:, specials].max(axis=0) > 0.5)
    worst, compared = 0.0, 0
    vectors = tiny.embed(meta["texts"], 4)
    for text, ref, vec in zip(meta["texts"], arrays["documents"], vectors, strict=True):
        if not text.strip():  # blank text -> empty vector, no model run (every sparse model)
            assert len(vec) == 0
            continue
        assert vec.indices.tolist() == np.flatnonzero(ref).tolist(), text
        assert not np.isin(vec.indices, specials).any()
        worst = max(worst, float(np.abs(_dense(vec, ref.size) - ref).max()))
        compared += 1
    assert compared == 13 and worst <= ATOL, worst


def test_queries_match_the_card_without_its_special_tokens(tiny: SparseTextEmbedding) -> None:
    arrays, meta = _reference()
    specials = arrays["special_ids"]
    card = arrays["queries"]
    assert np.all(card[:, 6] == 2.5)  # the card keeps [CLS] (idf.json lists it) ...
    assert card[:, 5].max() == 7.0  # ... and puts the unknown entry's weight on [UNK]
    queries = tiny.query_embed(meta["queries"])
    for text, ref, vec in zip(meta["queries"], card, queries, strict=True):
        expected = ref.copy()
        expected[specials] = 0  # ... we drop special tokens, as fastembed does
        if not text.strip():
            assert len(vec) == 0
            continue
        assert vec.indices.tolist() == np.flatnonzero(expected).tolist(), text
        np.testing.assert_array_equal(_dense(vec, ref.size), expected.astype(np.float32))
    (repeated,) = tiny.query_embed("fox fox fox fox")
    (once,) = tiny.query_embed("fox")
    assert repeated == once


def test_queries_run_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    model = SparseTextEmbedding(spec=SPEC, model_path=TINY)
    pipeline = model._runner.pipeline()

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("queries must not run the ONNX graph")

    monkeypatch.setattr(pipeline, "run", no_model)
    (vec,) = model.query_embed("sparse retrieval models")
    assert len(vec) > 0
    with pytest.raises(AssertionError, match="must not run"):
        list(model.embed("sparse retrieval models"))


def test_same_as_fastembed(tiny: SparseTextEmbedding, tmp_path: Path) -> None:
    _, meta = _reference()
    theirs = _fastembed_if_splade(TINY, tmp_path)
    texts = [t for t in meta["texts"] if t.strip()]  # fastembed expands blank text
    pairs = [
        (list(tiny.embed(texts, batch_size=4)), list(theirs.embed(texts, batch_size=4))),
        (list(tiny.query_embed(meta["queries"])), list(theirs.query_embed(meta["queries"]))),
    ]
    worst = 0.0
    for ours, reference in pairs:
        for mine, their in zip(ours, reference, strict=True):
            assert mine.indices.tolist() == their.indices.tolist()
            if len(mine):
                worst = max(worst, float(np.abs(mine.values - their.values).max()))
    assert worst <= ATOL, worst


def test_parallel_equals_in_process(tiny: SparseTextEmbedding) -> None:
    _, meta = _reference()
    texts = meta["queries"] * 2
    local_docs = list(tiny.embed(texts, batch_size=3))
    local_queries = list(tiny.query_embed(texts, batch_size=3))
    model = SparseTextEmbedding(spec=SPEC, model_path=TINY)
    try:
        docs = list(model.embed(texts, batch_size=3, parallel=2))
        queries = list(model.query_embed(texts, batch_size=3, parallel=2))
    finally:
        model.close()
    assert queries == local_queries
    for a, b in zip(local_docs, docs, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.values, b.values, atol=1e-6)


def test_the_catalogue_name_loads_its_folder(
    tiny: SparseTextEmbedding, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(TINY, tmp_path / NAME)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    model = SparseTextEmbedding(NAME)
    texts = ["sparse retrieval models", "What is the capital of France?"]
    assert list(model.embed(texts)) == list(tiny.embed(texts))
    assert list(model.query_embed(texts)) == list(tiny.query_embed(texts))


def test_missing_or_broken_idf_file(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(TINY, folder)
    (folder / "idf.json").unlink()
    with pytest.raises(ModelNotFoundError, match=r"idf\.json"):
        SparseTextEmbedding(spec=SPEC, model_path=folder)
    (folder / "idf.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"idf\.json"):
        SparseTextEmbedding(spec=SPEC, model_path=folder)
    (folder / "idf.json").write_text('{"fox": "high"}', encoding="utf-8")
    with pytest.raises(ModelLoadError, match="the weight of 'fox'"):
        SparseTextEmbedding(spec=SPEC, model_path=folder)
