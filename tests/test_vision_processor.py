"""Pixel parity with transformers' image processors (PIL backends, transformers 5.25).

``reference/vision-pixels.npz`` holds what ``AutoImageProcessor(backend="pil")``
gave for every (configuration, image) pair built by
``tests/fixtures/_build_vision_pixels.py``: CLIP (shortest edge + centre crop, the
real 224 configuration, a legacy integer size), SigLIP (fixed size, bilinear),
ConvNeXT (``crop_pct`` below 384, warp at 384), ViT and an unnormalised CLIP, on
portrait, landscape, 1x1, 400x13, RGBA, LA, palette with and without
transparency, grayscale, 16-bit, CMYK, a 2000x1500 JPEG and HWC uint8 arrays.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from embed_plugins.errors import ModelLoadError
from embed_plugins.vision.load import check_image, decode
from embed_plugins.vision.processor import (
    center_crop,
    parse_config,
    preprocess,
    read_processor_config,
    shortest_edge_size,
)

FIXTURES = Path(__file__).parent / "fixtures"
META = json.loads((FIXTURES / "reference" / "vision-pixels.json").read_text())
REF = np.load(FIXTURES / "reference" / "vision-pixels.npz")
TOL = 1e-5


def _input(name: str) -> Any:
    entry = META["inputs"][name]
    image = Image.open(FIXTURES / (entry["file"] if entry["kind"] == "file" else entry["source"]))
    if entry["kind"] == "file":
        return image
    if name == "ndarray_rgb":
        return np.asarray(image.convert("RGB"))
    if name == "ndarray_gray_hw1":
        return np.asarray(image)[..., None]
    return np.asarray(image)


@pytest.mark.parametrize("key", META["keys"])
def test_pixels_equal_transformers(key: str) -> None:
    config_name, input_name = key.split("/", 1)
    config = parse_config(META["configs"][config_name]["config"])
    item = check_image(_input(input_name), 0)
    ours = preprocess(decode(item), config)
    reference = REF[key]
    assert ours.dtype == np.float32
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < TOL, key


def test_the_reference_covers_every_mode_and_shape() -> None:
    modes = {entry.get("mode") for entry in META["inputs"].values()}
    assert {"RGB", "RGBA", "LA", "P", "L", "I;16", "CMYK"} <= modes
    sizes = {tuple(entry["size"]) for entry in META["inputs"].values() if "size" in entry}
    assert {(1, 1), (400, 13), (2000, 1500)} <= sizes
    assert len(META["keys"]) >= 70


def test_resolved_configurations_match_transformers() -> None:
    for name, entry in META["configs"].items():
        ours = parse_config(entry["config"])
        resolved = entry["resolved"]
        assert dict(ours.size) == resolved["size"], name
        if ours.do_center_crop:
            assert dict(ours.crop_size or {}) == resolved["crop_size"], name
        assert ours.resample == resolved["resample"], name
        assert ours.crop_pct == resolved["crop_pct"], name


def test_grayscale_2d_array_is_accepted_like_hw1() -> None:
    # transformers refuses a 2-D array; we read it as one gray channel, as (H, W, 1).
    config = parse_config(META["configs"]["clip_small"]["config"])
    flat = preprocess(decode(check_image(_input("ndarray_gray"), 0)), config)
    np.testing.assert_array_equal(flat, REF["clip_small/ndarray_gray_hw1"])


def test_shortest_edge_truncates_the_long_side() -> None:
    assert shortest_edge_size(13, 400, 40) == (40, 1230)  # int(), not round(): 1230.77
    assert shortest_edge_size(72, 40, 32) == (57, 32)
    assert shortest_edge_size(1, 1, 224) == (224, 224)


def test_center_crop_pads_small_images_with_zeros() -> None:
    image = Image.fromarray(np.full((3, 5, 3), 200, dtype=np.uint8))
    out = np.asarray(center_crop(image, 6, 6))
    assert out.shape == (6, 6, 3)
    # ceil(3/2) = 2 padding rows on top, one below; ceil(1/2) = 1 column left, none right.
    assert (out[:2] == 0).all() and (out[5] == 0).all()
    assert (out[2:5, 1:6] == 200).all() and (out[:, 0] == 0).all()


def test_processor_config_json_nested_layout(tmp_path: Path) -> None:
    raw = META["configs"]["siglip"]["config"]
    (tmp_path / "processor_config.json").write_text(json.dumps({"image_processor": raw}))
    assert read_processor_config(tmp_path) == parse_config(raw)
    (tmp_path / "preprocessor_config.json").write_text(
        json.dumps({**raw, "size": {"height": 20, "width": 20}})
    )
    assert read_processor_config(tmp_path).size == {"height": 20, "width": 20}  # preferred


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"image_processor_type": "LlavaNextImageProcessor"}, "not supported"),
        ({}, "none named"),
        ({"image_processor_type": "CLIPImageProcessor", "size": {"longest": 3}}, "size"),
        ({"image_processor_type": "CLIPImageProcessor", "resample": 9}, "resample"),
        ({"image_processor_type": "CLIPImageProcessor", "image_mean": [1, 2]}, "image_mean"),
        (
            {"image_processor_type": "ConvNextImageProcessor", "size": {"height": 3, "width": 3}},
            "shortest_edge",
        ),
    ],
)
def test_bad_configurations_are_clear_errors(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        parse_config(raw)


def test_old_feature_extractor_names_and_backend_suffixes() -> None:
    base = META["configs"]["clip_small"]["config"]
    expected = parse_config(base)
    for name in ("CLIPFeatureExtractor", "CLIPImageProcessorFast", "CLIPImageProcessorPil"):
        raw = {k: v for k, v in base.items() if k != "image_processor_type"}
        key = "feature_extractor_type" if name.endswith("Extractor") else "image_processor_type"
        assert parse_config({**raw, key: name}) == expected
