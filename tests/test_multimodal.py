"""LateInteractionMultimodalEmbedding (ColPali) on the tiny fixture, against ColPaliForRetrieval.

``reference/tiny-colpali.npz``: transformers' ColPaliProcessor ids and pixel values and
ColPaliForRetrieval (eager attention) embeddings, for 2 page images and 3 queries, each
query also processed alone (see tests/fixtures/README.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import LateInteractionMultimodalEmbedding, MultimodalSpec, maxsim
from embed_plugins.errors import InputTypeError, ModelLoadError
from embed_plugins.families.multimodal import MultimodalPipeline, left_pad

FIXTURES = Path(__file__).parent / "fixtures"
FOLDER = FIXTURES / "models" / "tiny-colpali"
REF = np.load(FIXTURES / "reference" / "tiny-colpali.npz")
META = json.loads((FIXTURES / "reference" / "tiny-colpali.json").read_text())
IMAGES = [FIXTURES / "images" / name for name in META["images"]]
QUERIES: list[str] = META["queries"]
TOL = 1e-5


@pytest.fixture(scope="module")
def colpali() -> Iterator[LateInteractionMultimodalEmbedding]:
    model = LateInteractionMultimodalEmbedding(model_path=FOLDER)
    yield model
    model.close()


def _pipeline(model: LateInteractionMultimodalEmbedding) -> MultimodalPipeline:
    pipeline = model._runner.pipeline()
    assert isinstance(pipeline, MultimodalPipeline)
    return pipeline


def test_folder_alone_describes_the_model(colpali: LateInteractionMultimodalEmbedding) -> None:
    assert colpali.embedding_size == 16
    assert colpali.spec.processor == "colpali"


def test_prompts_and_ids_equal_the_processor(colpali: LateInteractionMultimodalEmbedding) -> None:
    pipeline = _pipeline(colpali)
    np.testing.assert_array_equal(pipeline.image_ids, REF["image_input_ids"][0])
    for i, ids in enumerate(pipeline.query_ids(QUERIES)):
        np.testing.assert_array_equal(ids, REF[f"query_{i}_input_ids"])
    # The processor's left-padded batch holds the same ids after its padding.
    for i, ids in enumerate(pipeline.query_ids(QUERIES)):
        row, mask = REF["query_input_ids"][i], REF["query_attention_mask"][i]
        np.testing.assert_array_equal(row[mask == 1], ids)


def test_image_parity(colpali: LateInteractionMultimodalEmbedding) -> None:
    pages = list(colpali.embed_image([str(p) for p in IMAGES]))
    assert [p.shape for p in pages] == [(22, 16), (22, 16)]
    for page, reference in zip(pages, REF["image_embeddings"], strict=True):
        assert np.abs(page - reference).max() < TOL


def test_query_parity_and_no_padding_rows(colpali: LateInteractionMultimodalEmbedding) -> None:
    queries = list(colpali.embed_text(QUERIES))
    for i, vectors in enumerate(queries):
        reference = REF[f"query_{i}_embeddings"]
        assert vectors.shape == reference.shape  # no left-padding rows
        assert np.abs(vectors - reference).max() < TOL
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_query_gives_the_same_vectors_in_any_batch(
    colpali: LateInteractionMultimodalEmbedding,
) -> None:
    alone = [next(colpali.embed_text(q)) for q in QUERIES]
    mixed = list(colpali.embed_text([QUERIES[2], QUERIES[0], QUERIES[2], QUERIES[1]]))
    for got, want in zip(mixed, [alone[2], alone[0], alone[2], alone[1]], strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=TOL)


def test_left_padded_batches_equal_queries_alone() -> None:
    # The reference itself: the processor's left-padded batch gives each query the vectors
    # it has alone (rotary positions are relative), which is why batching queries is exact.
    for i in range(len(QUERIES)):
        mask = REF["query_attention_mask"][i] == 1
        assert np.abs(REF["query_embeddings"][i][mask] - REF[f"query_{i}_embeddings"]).max() < TOL


def test_scores_equal_the_reference_maxsim(colpali: LateInteractionMultimodalEmbedding) -> None:
    pages = list(colpali.embed_image(IMAGES))
    for i, q in enumerate(colpali.embed_text(QUERIES)):
        ours = maxsim(q, pages)
        reference = maxsim(REF[f"query_{i}_embeddings"], list(REF["image_embeddings"]))
        assert np.abs(ours - reference).max() < TOL


def test_rank_and_rerank(colpali: LateInteractionMultimodalEmbedding) -> None:
    pages = [str(p) for p in IMAGES]
    scores = list(colpali.rerank(QUERIES[0], pages))
    expected = maxsim(REF["query_0_embeddings"], list(REF["image_embeddings"]))
    np.testing.assert_allclose(scores, expected, atol=TOL)
    ranked = colpali.rank(QUERIES[0], pages, top_k=1, return_documents=True)
    assert len(ranked) == 1
    assert ranked[0].index == int(np.argmax(expected))
    assert ranked[0].document == pages[ranked[0].index]
    with pytest.raises(ValueError, match="top_k"):
        colpali.rank(QUERIES[0], pages, top_k=0)


def test_aliases_and_single_inputs(colpali: LateInteractionMultimodalEmbedding) -> None:
    (page,) = list(colpali.embed(IMAGES[0]))
    np.testing.assert_allclose(page, REF["image_embeddings"][0], atol=TOL)
    (query,) = list(colpali.query_embed(QUERIES[1]))
    np.testing.assert_allclose(query, REF["query_1_embeddings"], atol=TOL)
    assert colpali.token_count(QUERIES[1]) == len(REF["query_1_input_ids"])


def test_parallel_equals_in_process(colpali: LateInteractionMultimodalEmbedding) -> None:
    pages = [IMAGES[i % 2] for i in range(9)]
    local = list(colpali.embed_image(pages, batch_size=2))
    parallel = list(colpali.embed_image(pages, batch_size=2, parallel=2))
    for a, b in zip(local, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
    queries = [QUERIES[i % 3] for i in range(7)]
    local_q = list(colpali.embed_text(queries, batch_size=2))
    parallel_q = list(colpali.embed_text(queries, batch_size=2, parallel=2))
    for a, b in zip(local_q, parallel_q, strict=True):
        # Workers batch (and so pad) differently: equal within float rounding.
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=TOL)


def test_text_input_errors(colpali: LateInteractionMultimodalEmbedding) -> None:
    with pytest.raises(InputTypeError, match="input 1"):
        list(colpali.embed_text(["ok", 3]))
    with pytest.raises(InputTypeError):
        colpali.embed_text(None)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="query must be str"):
        colpali.rank(b"bytes", IMAGES)  # type: ignore[arg-type]
    assert list(colpali.embed_text([])) == []
    with pytest.raises(TypeError, match="top_k"):
        colpali.embed_text(["q"], top_k=2)


def test_left_pad() -> None:
    ids, mask = left_pad([[5, 6, 7], [8]], pad_id=0)
    np.testing.assert_array_equal(ids, [[5, 6, 7], [0, 0, 8]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [0, 0, 1]])


def test_spec_fields_override_the_folder(tmp_path: Path) -> None:
    spec = MultimodalSpec(model="t", dim=16, query_prefix="Q: ", query_augmentation_count=2)
    model = LateInteractionMultimodalEmbedding(model_path=FOLDER, spec=spec)
    (ids,) = _pipeline(model).query_ids(["red circle"])
    reference = list(REF["query_1_input_ids"])
    assert ids != reference and ids[-3:-1] == [0, 0]  # two <pad> augmentation tokens
    wrong = MultimodalSpec(model="w", dim=32)
    with pytest.raises(ModelLoadError, match="dim"):
        list(LateInteractionMultimodalEmbedding(model_path=FOLDER, spec=wrong).embed_text("x"))


def test_a_folder_that_is_not_colpali_is_refused() -> None:
    with pytest.raises(ModelLoadError, match="not 'colpali'"):
        LateInteractionMultimodalEmbedding(model_path=FIXTURES / "models" / "tiny-clip")
