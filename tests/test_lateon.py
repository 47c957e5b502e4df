"""ColBERT without query expansion (lightonai/LateOn, mLateOn) on the tiny ColBERT fixture.

Two peers pin the rule: ``tests/fixtures/reference/tiny-colbert-no-expansion.*``
(PyLate's ``do_query_expansion=False`` mechanism in PyTorch, built by
``tests/fixtures/_build_lateon_refs.py``) and fastembed 0.9.1's ``LateOn`` class run
on the same folder (its marker ids set to the tiny vocabulary's).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import ColbertSpec, LateInteractionTextEmbedding, catalog
from embed_plugins.families.late_interaction import LateInteractionPipeline

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-colbert"
REF = np.load(FIXTURES / "reference" / "tiny-colbert-no-expansion.npz")
META: dict[str, Any] = json.loads(
    (FIXTURES / "reference" / "tiny-colbert-no-expansion.json").read_text(encoding="utf-8")
)
EXPANDED = np.load(FIXTURES / "reference" / "tiny-colbert-conventions.npz")
QUERIES: list[str] = META["queries"]
ATOL = 1e-5


def spec(**changes: Any) -> ColbertSpec:
    fields: dict[str, Any] = {
        "model": "test/tiny-lateon",
        "dim": 16,
        "output_name": "output",
        "query_length": META["query_length"],
        "query_expansion": False,
    }
    fields.update(changes)
    return ColbertSpec(**fields)


@pytest.fixture(scope="module")
def model() -> LateInteractionTextEmbedding:
    return LateInteractionTextEmbedding(spec=spec(), model_path=TINY)


def reference(i: int) -> np.ndarray:
    return np.asarray(REF["query_vectors"][i, : REF["query_vector_counts"][i]])


def test_queries_match_pylates_rule(model: LateInteractionTextEmbedding) -> None:
    got = list(model.query_embed(QUERIES))
    for i, vectors in enumerate(got):
        assert vectors.shape == reference(i).shape  # only the real tokens, no [MASK] rows
        np.testing.assert_allclose(vectors, reference(i), atol=ATOL, rtol=0)
    assert got[QUERIES.index("")].shape[0] == 3  # [CLS] [unused0] [SEP]
    assert got[-1].shape[0] == META["query_length"]  # the long query, truncated


def test_the_feeds_are_padded_to_the_batch_only(model: LateInteractionTextEmbedding) -> None:
    pipeline = model._runner.pipeline()
    assert isinstance(pipeline, LateInteractionPipeline)
    feeds = pipeline.feeds(pipeline.encode(QUERIES, "query"), "query")
    mask = REF["query_attention_mask"]
    np.testing.assert_array_equal(feeds["attention_mask"], mask)
    real = mask > 0  # PyLate pads with [MASK], we with [PAD]: only attention tells them apart
    np.testing.assert_array_equal(feeds["input_ids"][real], REF["query_input_ids"][real])
    short = pipeline.feeds(pipeline.encode(["hello"], "query"), "query")
    assert short["input_ids"].shape == (1, 4)  # no expansion to query_length


def test_batching_does_not_change_a_query(model: LateInteractionTextEmbedding) -> None:
    batched = list(model.query_embed(QUERIES))
    for query, want in zip(QUERIES, batched, strict=True):
        (alone,) = model.query_embed([query])
        np.testing.assert_allclose(alone, want, atol=1e-6)


def test_documents_are_as_with_expansion(model: LateInteractionTextEmbedding) -> None:
    documents = json.loads(
        (FIXTURES / "reference" / "tiny-colbert-conventions.json").read_text(encoding="utf-8")
    )["documents"]
    counts = EXPANDED["doc_vector_counts_64"]
    for i, vectors in enumerate(model.embed(documents)):
        want = EXPANDED["doc_vectors_64"][i, : counts[i]]
        np.testing.assert_allclose(vectors, want, atol=ATOL, rtol=0)


def test_token_counts_have_no_extension(model: LateInteractionTextEmbedding) -> None:
    real = int(REF["query_vector_counts"].sum())
    assert model.token_count(QUERIES, is_doc=False) == real
    assert model.token_count(QUERIES, is_doc=False, include_extension=True) == real
    expanded = LateInteractionTextEmbedding(spec=spec(query_expansion=True), model_path=TINY)
    assert expanded.token_count(QUERIES, is_doc=False, include_extension=True) == len(
        QUERIES
    ) * int(META["query_length"])


def test_rank_scores_are_maxsim_of_the_kept_vectors(model: LateInteractionTextEmbedding) -> None:
    docs = ["late interaction keeps one vector per token", "hello world", ""]
    d = list(model.embed(docs))
    ranked = model.rank(QUERIES[0], docs)
    want = [float((reference(0) @ v.T).max(axis=1).sum()) for v in d]
    assert sorted(ranked, key=lambda r: r.index)[0].score == pytest.approx(want[0], abs=1e-4)
    assert ranked[0].index == int(np.argmax(want))


# -- fastembed 0.9.1 on the same folder -------------------------------------------------------


@pytest.fixture(scope="module")
def fastembed_lateon() -> Any:
    lateon = pytest.importorskip("fastembed.late_interaction.lateon")

    class TinyLateOn(lateon.LateOn):  # type: ignore[misc, name-defined]
        """LateOn's rules with the tiny vocabulary's markers.  tiny-colbert is a BERT graph
        with a token_type_ids input (LateOn's export has none), which fastembed's marker
        insertion leaves one column short: a 0 column goes in there too."""

        QUERY_MARKER_TOKEN_ID = 1
        DOCUMENT_MARKER_TOKEN_ID = 2

        def _preprocess_onnx_input(self, onnx_input: Any, is_doc: bool = True, **kw: Any) -> Any:
            out = super()._preprocess_onnx_input(onnx_input, is_doc, **kw)
            out["token_type_ids"] = np.insert(out["token_type_ids"].astype(np.int64), 1, 0, 1)
            return out

    return TinyLateOn(
        "lightonai/LateOn", specific_model_path=str(TINY), cache_dir=tempfile.mkdtemp()
    )


# fastembed cuts at model_max_length (64) before it inserts the marker: short texts only.
SHORT_QUERIES = [q for q in QUERIES if len(q) < 60]
SHORT_DOCS = ["Late interaction scores each token, then adds the maxima.", "hello", "?!", ""]


def test_queries_and_documents_match_fastembed(fastembed_lateon: Any) -> None:
    ours = LateInteractionTextEmbedding(spec=spec(query_length=64, max_length=64), model_path=TINY)
    theirs_q = list(fastembed_lateon.query_embed(SHORT_QUERIES))
    for a, b in zip(ours.query_embed(SHORT_QUERIES), theirs_q, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=0)
    theirs_d = list(fastembed_lateon.embed(SHORT_DOCS))
    for a, b in zip(ours.embed(SHORT_DOCS), theirs_d, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=0)


def test_the_catalogue_follows_fastembed() -> None:
    lateon = pytest.importorskip("fastembed.late_interaction.lateon")
    for cls, name in ((lateon.LateOn, "lightonai/LateOn"), (lateon.MLateOn, "lightonai/mLateOn")):
        entry = catalog.find("late_interaction", name)
        assert isinstance(entry, ColbertSpec) and not entry.query_expansion
        assert (entry.query_marker, entry.document_marker, entry.mask_token) == (
            cls.QUERY_MARKER_TOKEN_ID,
            cls.DOCUMENT_MARKER_TOKEN_ID,
            cls.MASK_TOKEN,
        )
        assert cls.MIN_QUERY_LENGTH is None and not entry.attend_to_mask_tokens
        assert entry.query_length == entry.max_length
    assert catalog.find("late_interaction", "lightonai/mLateOn").skiplist == ()  # type: ignore[union-attr]
    assert len(catalog.find("late_interaction", "lightonai/LateOn").skiplist) == 32  # type: ignore[union-attr]


def test_a_pylate_folder_without_expansion_describes_itself(tmp_path: Path) -> None:
    """PyLate saves ``do_query_expansion`` in config_sentence_transformers.json; with it
    false, PyLate never attends to expansion tokens, whatever the file says about them."""
    folder = tmp_path / "pylate-colbert"
    shutil.copytree(TINY, folder)
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "query_prefix": "[unused0] ",
                "document_prefix": "[unused1] ",
                "query_length": META["query_length"],
                "document_length": 64,
                "attend_to_expansion_tokens": True,
                "do_query_expansion": False,
            }
        )
    )
    (folder / "modules.json").write_text(
        json.dumps([{"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense"}])
    )
    (folder / "1_Dense").mkdir()
    (folder / "1_Dense" / "config.json").write_text(json.dumps({"out_features": 16}))
    model = LateInteractionTextEmbedding(model_path=folder)
    assert not model.spec.query_expansion and not model.spec.attend_to_mask_tokens
    for i, vectors in enumerate(model.query_embed(QUERIES)):
        np.testing.assert_allclose(vectors, reference(i), atol=ATOL, rtol=0)


# -- bad input --------------------------------------------------------------------------------


def test_contradictory_options_are_refused() -> None:
    with pytest.raises(ValueError, match="attend_to_mask_tokens=True needs query_expansion"):
        spec(attend_to_mask_tokens=True)
    with pytest.raises(TypeError, match="query_expansion must be a bool"):
        spec(query_expansion="no")
