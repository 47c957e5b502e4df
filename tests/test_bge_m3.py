"""BGE-M3 on the tiny fixture: dense, lexical weights and ColBERT vectors against PyTorch.

The reference (``tests/fixtures/reference/tiny-bge-m3.*``, built by
``tests/fixtures/_build_bge_m3.py``) computes FlagEmbedding's formulas in PyTorch
from the model's weights; here the same texts go through the ONNX encoder, the
``.pt`` heads read without torch, and our numpy code, through every public class.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    BgeM3ColbertSpec,
    BgeM3Embedding,
    BgeM3Output,
    BgeM3SparseSpec,
    BgeM3Spec,
    DenseSpec,
    LateInteractionTextEmbedding,
    SparseTextEmbedding,
    SparseVector,
    TextEmbedding,
    catalog,
)
from embed_plugins.errors import InputTypeError, ModelLoadError, ModelNotFoundError
from embed_plugins.families.bge_m3 import (
    BgeM3Pipeline,
    colbert_vectors,
    lexical_weights,
)
from embed_plugins.families.bge_m3_heads import LinearHead
from embed_plugins.hub import MODELS_DIR_ENV

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-bge-m3"
REF = np.load(FIXTURES / "reference" / "tiny-bge-m3.npz")
META: dict[str, Any] = json.loads(
    (FIXTURES / "reference" / "tiny-bge-m3.json").read_text(encoding="utf-8")
)
TEXTS: list[str] = META["texts"]
ATOL = 1e-5
HIDDEN, COLBERT = META["hidden"], META["colbert_dim"]
NAME = "BAAI/bge-m3"


def builtin(family: str) -> Any:
    spec = catalog.find(family, NAME)
    assert spec is not None and spec.model == NAME
    return spec


def full_spec() -> BgeM3Spec:
    """The catalogue entry, with the tiny model's widths."""
    spec = builtin("bge_m3").replace(dim=HIDDEN, colbert_dim=COLBERT)
    assert isinstance(spec, BgeM3Spec)
    return spec


@pytest.fixture(scope="module")
def m3() -> BgeM3Embedding:
    return BgeM3Embedding(spec=full_spec(), model_path=TINY)


@pytest.fixture(scope="module")
def outputs(m3: BgeM3Embedding) -> list[BgeM3Output]:
    return list(m3.embed(TEXTS, batch_size=4))


def ref_colbert(i: int) -> np.ndarray:
    return np.asarray(REF["colbert"][i, : REF["colbert_counts"][i]])


def assert_lexical(vector: SparseVector, i: int) -> None:
    want = REF["lexical_weights"][i]
    np.testing.assert_array_equal(vector.indices, np.flatnonzero(want))
    np.testing.assert_allclose(vector.values, want[vector.indices], atol=ATOL, rtol=0)
    assert vector.indices.dtype == np.int64 and vector.values.dtype == np.float32


# -- parity with the PyTorch reference ------------------------------------------------------


def test_dense_matches_the_reference(outputs: list[BgeM3Output]) -> None:
    dense = np.stack([o.dense for o in outputs])
    assert dense.dtype == np.float32 and dense.shape == (len(TEXTS), HIDDEN)
    np.testing.assert_allclose(dense, REF["dense"], atol=ATOL, rtol=0)


def test_lexical_weights_match_the_reference(outputs: list[BgeM3Output]) -> None:
    for i, out in enumerate(outputs):
        assert_lexical(out.sparse, i)
    # the fixture exercises the rules: texts with no weight at all, the unused ids never
    assert len(outputs[TEXTS.index("")].sparse) == 0
    unused = set(META["unused_token_ids"])
    assert all(not unused & set(o.sparse.indices.tolist()) for o in outputs)
    assert max(len(o.sparse) for o in outputs) >= 20


def test_colbert_vectors_match_the_reference(outputs: list[BgeM3Output]) -> None:
    for i, out in enumerate(outputs):
        want = ref_colbert(i)
        assert out.colbert.shape == want.shape == (REF["attention_mask"][i].sum() - 1, COLBERT)
        np.testing.assert_allclose(out.colbert, want, atol=ATOL, rtol=0)


def test_the_reference_ids_are_ours(m3: BgeM3Embedding) -> None:
    pipeline = m3._runner.pipeline()
    assert isinstance(pipeline, BgeM3Pipeline)
    feeds = pipeline.feeds(pipeline.encode(TEXTS, "document"), "document")
    np.testing.assert_array_equal(feeds["input_ids"], REF["input_ids"])
    np.testing.assert_array_equal(feeds["attention_mask"], REF["attention_mask"])


def test_one_encoder_pass_gives_all_three(m3: BgeM3Embedding, monkeypatch: Any) -> None:
    pipeline = m3._runner.pipeline()
    assert isinstance(pipeline, BgeM3Pipeline)
    calls: list[int] = []
    real = pipeline.run

    def counting(feeds: Any, indices: Any = ()) -> Any:
        calls.append(len(feeds["input_ids"]))
        return real(feeds, indices)

    monkeypatch.setattr(pipeline, "run", counting)
    out = pipeline.process([TEXTS[2], TEXTS[3], TEXTS[2]], 64, "document")
    assert calls == [3]  # one batch, one session run, three outputs per text
    assert all(isinstance(o, BgeM3Output) for o in out)


def test_queries_and_passages_are_encoded_as_documents(
    m3: BgeM3Embedding, outputs: list[BgeM3Output]
) -> None:
    for method in (m3.query_embed, m3.passage_embed):
        for a, b in zip(method(TEXTS), outputs, strict=True):
            np.testing.assert_allclose(a.dense, b.dense, atol=1e-6)
            assert a.sparse.indices.tolist() == b.sparse.indices.tolist()
            np.testing.assert_allclose(a.colbert, b.colbert, atol=1e-6)


def test_workers_give_the_same_results(m3: BgeM3Embedding, outputs: list[BgeM3Output]) -> None:
    try:
        pooled = list(m3.embed(TEXTS, batch_size=3, parallel=2))
    finally:
        m3.close()
    for a, b in zip(pooled, outputs, strict=True):
        np.testing.assert_allclose(a.dense, b.dense, atol=1e-6)
        assert a.sparse.indices.tolist() == b.sparse.indices.tolist()
        np.testing.assert_allclose(a.sparse.values, b.sparse.values, atol=1e-6)
        np.testing.assert_allclose(a.colbert, b.colbert, atol=1e-6)


# -- the same model through the three single-output classes ---------------------------------


def test_text_embedding_gives_the_dense_vectors() -> None:
    spec = builtin("dense").replace(dim=HIDDEN)
    assert isinstance(spec, DenseSpec) and (spec.pooling, spec.normalize) == ("cls", True)
    model = TextEmbedding(spec=spec, model_path=TINY)
    got = np.stack(list(model.embed(TEXTS)))
    np.testing.assert_allclose(got, REF["dense"], atol=ATOL, rtol=0)


def test_sparse_text_embedding_gives_the_lexical_weights_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by name in the models folder: the fixture has every file of the real layout
    (encoder, its two external-data files, both heads), so the catalogue entry loads as is."""
    shutil.copytree(TINY, tmp_path / NAME)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    model = SparseTextEmbedding(NAME)
    assert isinstance(model.spec, BgeM3SparseSpec) and not model.spec.requires_idf
    for i, vector in enumerate(model.embed(TEXTS)):
        assert_lexical(vector, i)
    for i, vector in enumerate(model.query_embed(TEXTS)):
        assert_lexical(vector, i)


def test_late_interaction_gives_the_colbert_vectors_and_ranks() -> None:
    spec = builtin("late_interaction").replace(dim=COLBERT)
    model = LateInteractionTextEmbedding(spec=spec, model_path=TINY)
    docs = list(model.embed(TEXTS))
    for i, vectors in enumerate(docs):
        np.testing.assert_allclose(vectors, ref_colbert(i), atol=ATOL, rtol=0)
    (query,) = model.query_embed([TEXTS[2]])
    np.testing.assert_allclose(query, ref_colbert(2), atol=ATOL, rtol=0)
    ranked = model.rank(TEXTS[2], TEXTS[:4])
    want = [float((ref_colbert(2) @ ref_colbert(i).T).max(axis=1).sum()) for i in range(4)]
    assert ranked[0].index == int(np.argmax(want))
    assert [r.score for r in sorted(ranked, key=lambda r: r.index)] == pytest.approx(want, abs=1e-4)
    assert model.token_count(TEXTS[:2]) == int(REF["attention_mask"][:2].sum())
    assert model.token_count(TEXTS[:2], is_doc=False, include_extension=True) == int(
        REF["attention_mask"][:2].sum()
    )


def test_the_catalogue_entries() -> None:
    for family in ("dense", "sparse", "late_interaction", "bge_m3"):
        spec = builtin(family)
        assert spec.hf_repo == NAME and spec.model_file == "onnx/model.onnx"
        assert spec.max_length == 8192 and spec.license == "mit"
        assert {"onnx/model.onnx_data", "onnx/Constant_7_attr__value"} <= set(spec.additional_files)
        assert "FlagEmbedding" in spec.source and spec.describe()["family"] == family
    assert "sparse_linear.pt" in builtin("sparse").additional_files
    assert "colbert_linear.pt" in builtin("late_interaction").additional_files
    assert "colbert_linear.pt" not in builtin("dense").additional_files
    for cls in (TextEmbedding, LateInteractionTextEmbedding, BgeM3Embedding):
        assert cls.get_embedding_size(NAME) == 1024
    assert [s["model"] for s in BgeM3Embedding.list_supported_models()] == [NAME]


def test_a_local_folder_describes_itself() -> None:
    model = BgeM3Embedding(model_path=TINY, spec=None, lazy_load=True)
    assert model.spec.model_file == "onnx/model.onnx" and model.model_name == TINY.name


# -- the pure functions -----------------------------------------------------------------------


def test_lexical_weights_keep_the_largest_weight_per_id() -> None:
    ids = np.array([[0, 7, 9, 7, 2, 1, 1]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1, 1, 0, 0]], dtype=np.int64)
    weights = np.array([[5.0, 0.2, 0.0, 0.7, 9.0, 4.0, 4.0]], dtype=np.float32)
    (vector,) = lexical_weights(weights, ids, mask, np.array([0, 1, 2, 3]))
    assert vector.as_dict() == pytest.approx({7: 0.7})  # 9: weight 0; 0, 2: unused; pads


def test_colbert_vectors_skip_the_first_token_and_the_padding() -> None:
    head = LinearHead(np.eye(2, dtype=np.float32), np.zeros(2, dtype=np.float32))
    hidden = np.array([[[9, 9], [3, 4], [0, 2], [7, 7]]], dtype=np.float32)
    (vectors,) = colbert_vectors(hidden, np.array([[1, 1, 1, 0]]), head)
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.0, 1.0]])


# -- bad inputs -------------------------------------------------------------------------------


def test_inputs_are_checked(m3: BgeM3Embedding) -> None:
    with pytest.raises(InputTypeError, match="input 1"):
        list(m3.embed(["fine", b"bytes"]))  # type: ignore[list-item]
    with pytest.raises(TypeError, match="did you mean 'batch_size'"):
        list(m3.embed(["x"], batchsize=2))
    with pytest.raises(TypeError, match="unexpected keyword"):
        BgeM3Embedding(spec=full_spec(), model_path=TINY, pooling="cls")


def test_spec_errors_are_loud() -> None:
    with pytest.raises(ValueError, match="dim"):
        BgeM3Spec(model="x/y", dim=0)
    with pytest.raises(TypeError, match="unused_tokens"):
        BgeM3Spec(model="x/y", unused_tokens="<s>")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no markers"):
        BgeM3ColbertSpec(model="x/y", dim=8, query_marker="<s>")
    with pytest.raises(ValueError, match="leads out"):
        BgeM3SparseSpec(model="x/y", sparse_head="../sparse_linear.pt")


def test_a_spec_that_contradicts_the_files_is_refused_at_load() -> None:
    with pytest.raises(ModelLoadError, match="16 values per token, the spec says 1024"):
        BgeM3Embedding(spec=builtin("bge_m3").replace(dim=HIDDEN), model_path=TINY)
    with pytest.raises(ModelLoadError, match=r"hidden size|width"):
        BgeM3Embedding(spec=full_spec().replace(dim=64), model_path=TINY)
    with pytest.raises(ModelLoadError, match="not in the tokenizer's vocabulary"):
        BgeM3Embedding(spec=full_spec().replace(unused_tokens=("[CLS]",)), model_path=TINY)


def test_a_folder_without_a_head_is_incomplete(tmp_path: Path) -> None:
    folder = tmp_path / "m3"
    shutil.copytree(TINY, folder)
    (folder / "colbert_linear.pt").unlink()
    with pytest.raises(ModelNotFoundError, match=r"colbert_linear\.pt"):
        BgeM3Embedding(spec=full_spec(), model_path=folder)
    with pytest.raises(ModelLoadError, match=r"colbert_linear\.pt"):
        BgeM3Embedding(model_path=folder)
    # the sparse head alone is enough for SparseTextEmbedding
    spec = builtin("sparse")
    assert list(SparseTextEmbedding(spec=spec, model_path=folder).embed(TEXTS[:1]))
