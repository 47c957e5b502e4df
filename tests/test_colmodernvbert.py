"""ColModernVBERT (Idefics3 tiles, ModernBERT) on the tiny fixture, against transformers 5.25.

``reference/tiny-colmodernvbert.npz``: ColModernVBertProcessor ids and tile pixels and
ColModernVBertForRetrieval (eager attention) embeddings for 4 page images (4 to 10
tiles) and 3 queries, each alone and as one left-padded batch (tests/fixtures/README.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embed_plugins import LateInteractionMultimodalEmbedding, maxsim
from embed_plugins.errors import ModelLoadError
from embed_plugins.families.multimodal import ColModernVBertPipeline, tiled_image_tokens
from embed_plugins.vision.load import check_image
from embed_plugins.vision.tiling import (
    longest_edge_size,
    parse_tiling_config,
    read_tiling_config,
    tile_image,
    tile_multiple_size,
)

FIXTURES = Path(__file__).parent / "fixtures"
FOLDER = FIXTURES / "models" / "tiny-colmodernvbert"
REF = np.load(FIXTURES / "reference" / "tiny-colmodernvbert.npz")
META = json.loads((FIXTURES / "reference" / "tiny-colmodernvbert.json").read_text())
IMAGES = [FIXTURES / "images" / name for name in META["images"]]
QUERIES: list[str] = META["queries"]
TOL = 1e-5


@pytest.fixture(scope="module")
def model() -> Iterator[LateInteractionMultimodalEmbedding]:
    m = LateInteractionMultimodalEmbedding(model_path=FOLDER)
    yield m
    m.close()


def _pipeline(model: LateInteractionMultimodalEmbedding) -> ColModernVBertPipeline:
    pipeline = model._runner.pipeline()
    assert isinstance(pipeline, ColModernVBertPipeline)
    return pipeline


def test_folder_alone_describes_the_model(model: LateInteractionMultimodalEmbedding) -> None:
    assert model.spec.processor == "colmodernvbert"
    assert model.spec.query_augmentation_token == "<end_of_utterance>"
    assert model.embedding_size == 16


@pytest.mark.parametrize("i", range(4))
def test_tiles_equal_the_processor(i: int) -> None:
    config = read_tiling_config(FOLDER)
    tiles, rows, cols = tile_image(Image.open(IMAGES[i]), config)
    assert [rows, cols] == META["image_grids_rows_cols"][i]
    reference = REF[f"image_{i}_pixel_values"].reshape(tiles.shape)
    assert np.abs(tiles - reference).max() < TOL


def test_prompts_and_ids_equal_the_processor(model: LateInteractionMultimodalEmbedding) -> None:
    pipeline = _pipeline(model)
    items = [check_image(p, i) for i, p in enumerate(IMAGES)]
    rows, pixels = pipeline.image_inputs(items)
    for i, ids in enumerate(rows):
        np.testing.assert_array_equal(ids, REF[f"image_{i}_input_ids"].reshape(-1))
    assert pixels.shape == REF["image_pixel_values"].shape  # padded to the most tiles
    assert np.abs(pixels - REF["image_pixel_values"]).max() < TOL
    for i, ids in enumerate(pipeline.query_ids(QUERIES)):
        np.testing.assert_array_equal(ids, REF[f"query_{i}_input_ids"].reshape(-1))
    grid = tiled_image_tokens("<image>", 4, 1, 3)
    assert META["image_prompts"][0] == pipeline.visual_prompt.replace("<image>", grid, 1)


def test_image_parity_alone_and_batched(model: LateInteractionMultimodalEmbedding) -> None:
    batched = list(model.embed_image(IMAGES))
    for i, vectors in enumerate(batched):
        reference = REF[f"image_{i}_embeddings"].reshape(vectors.shape)
        assert vectors.shape[0] == REF[f"image_{i}_input_ids"].size  # no padding rows
        assert np.abs(vectors - reference).max() < TOL
        alone = next(model.embed_image(IMAGES[i]))
        assert np.abs(alone - reference).max() < TOL


def test_query_parity_alone_and_batched(model: LateInteractionMultimodalEmbedding) -> None:
    for i, vectors in enumerate(model.embed_text(QUERIES)):
        reference = REF[f"query_{i}_embeddings"].reshape(vectors.shape)
        assert vectors.shape[0] == REF[f"query_{i}_input_ids"].size
        assert np.abs(vectors - reference).max() < TOL


def test_scores_and_rank(model: LateInteractionMultimodalEmbedding) -> None:
    pages = list(model.embed_image(IMAGES))
    ours = np.stack([maxsim(q, pages) for q in model.embed_text(QUERIES)])
    assert np.abs(ours - REF["scores"]).max() < 1e-4
    best = model.rank(QUERIES[1], [str(p) for p in IMAGES], top_k=2)
    assert [r.index for r in best] == list(np.argsort(-REF["scores"][1], kind="stable")[:2])


def test_parallel_equals_in_process(model: LateInteractionMultimodalEmbedding) -> None:
    pages = [IMAGES[i % 4] for i in range(7)]
    local = list(model.embed_image(pages, batch_size=3))
    remote = list(model.embed_image(pages, batch_size=3, parallel=2))
    for a, b in zip(local, remote, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=TOL)


def test_size_rules() -> None:
    # Longest edge to L, the other side truncated then made even; then multiples of T.
    assert longest_edge_size(120, 40, 96) == (96, 32)
    assert longest_edge_size(40, 72, 96) == (54, 96)  # int(53.33) = 53 -> 54
    assert longest_edge_size(20, 26, 96) == (74, 96)  # enlarged
    assert tile_multiple_size(96, 32, 32) == (96, 32)
    assert tile_multiple_size(54, 96, 32) == (64, 96)


def test_catalogue_entry() -> None:
    (entry,) = [
        m
        for m in LateInteractionMultimodalEmbedding.list_supported_models()
        if m["model"] == "Qdrant/colmodernvbert"
    ]
    assert entry["processor"] == "colmodernvbert" and entry["dim"] == 128
    assert entry["model_file"] == "model_v2.onnx"


def test_unsupported_tiling_configs() -> None:
    base = json.loads((FOLDER / "preprocessor_config.json").read_text())
    with pytest.raises(ModelLoadError, match="do_image_splitting"):
        parse_tiling_config({**base, "do_image_splitting": False})
    with pytest.raises(ModelLoadError, match="Idefics3"):
        parse_tiling_config({**base, "image_processor_type": "CLIPImageProcessor"})
    with pytest.raises(ModelLoadError, match="longest_edge"):
        parse_tiling_config({**base, "size": {"height": 3}})
