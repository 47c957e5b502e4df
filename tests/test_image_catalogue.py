"""The image and multimodal catalogues against fastembed 0.9.1's (the test peer).

A fastembed user must find every image and multimodal model under the same name,
with the same dimension; the text towers that share those spaces are TextEmbedding
entries.  Fails, rather than skips, when fastembed is missing in CI.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from embed_plugins import (
    ImageEmbedding,
    ImageSpec,
    LateInteractionMultimodalEmbedding,
    MultimodalSpec,
    TextEmbedding,
)
from embed_plugins.catalog.image import IMAGE_MODELS
from embed_plugins.catalog.multimodal import MULTIMODAL_MODELS


def _fastembed() -> Any:
    try:
        import fastembed
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install fastembed 0.9.1 (see .ci/run)")
        pytest.skip("fastembed is not installed")
    return fastembed


def _dims(models: list[dict[str, Any]]) -> dict[str, int]:
    return {m["model"]: m["dim"] for m in models}


def test_every_fastembed_image_model_is_here() -> None:
    theirs = _dims(_fastembed().ImageEmbedding.list_supported_models())
    ours = _dims(ImageEmbedding.list_supported_models())
    assert sorted(set(theirs) - set(ours)) == []
    assert {name: ours[name] for name in theirs} == theirs


def test_every_fastembed_multimodal_model_is_here() -> None:
    fastembed = _fastembed()
    theirs = _dims(fastembed.LateInteractionMultimodalEmbedding.list_supported_models())
    ours = _dims(LateInteractionMultimodalEmbedding.list_supported_models())
    assert sorted(set(theirs) - set(ours)) == []
    assert {name: ours[name] for name in theirs} == theirs


def test_text_towers_of_the_image_spaces_are_text_models() -> None:
    theirs = _dims(_fastembed().TextEmbedding.list_supported_models())
    ours = _dims(TextEmbedding.list_supported_models())
    towers = [
        "Qdrant/clip-ViT-B-32-text",
        "jinaai/jina-clip-v1",
        "google/siglip2-base-patch16-224",
        "nomic-ai/nomic-embed-text-v1.5",
    ]
    for name in towers:
        assert name in theirs, f"{name} is not a fastembed text model any more"
        assert ours.get(name) == theirs[name], name


def test_entries_are_complete_and_cited() -> None:
    for spec in [s.describe() for s in (*IMAGE_MODELS, *MULTIMODAL_MODELS)]:
        assert spec["hf_repo"] and spec["model_file"].endswith(".onnx"), spec["model"]
        assert spec["license"] and spec["size_gb"] > 0 and spec["source"], spec["model"]
        assert spec["sources"] == {"hf": spec["hf_repo"], "url": None}


def test_spec_types() -> None:
    with pytest.raises(ValueError, match="dim"):
        ImageSpec(model="x", dim=0)
    with pytest.raises(ValueError, match="pooling"):
        ImageSpec(model="x", dim=3, pooling="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="query_augmentation_count"):
        MultimodalSpec(model="x", dim=3, query_augmentation_count=-1)
    with pytest.raises(TypeError, match="ImageSpec"):
        ImageEmbedding.add_custom_model(MultimodalSpec(model="x", dim=3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already a built-in"):
        ImageEmbedding.add_custom_model(ImageSpec(model="Qdrant/resnet50-onnx", dim=2048))
