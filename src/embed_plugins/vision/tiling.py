"""Idefics3-style image tiling (ColModernVBERT), equal to transformers' ``Idefics3ImageProcessor``.

The steps of transformers 5.25's PIL backend (``Idefics3ImageProcessorPil``), with
``T`` the tile side (``max_image_size.longest_edge``) and ``L`` the resize target
(``size.longest_edge``); every resize is ``PIL.Image.resize`` of the uint8 RGB image
with the configured filter (LANCZOS in the released models):

1. ``convert("RGB")`` (ColModernVBertProcessor converts before the image processor:
   transparency is dropped, not composited);
2. resize so the longest edge is ``L`` (small images are enlarged): the other side is
   ``int(L / ratio)`` (or ``int(L * ratio)``), plus one when odd;
3. resize again so both sides are multiples of ``T``: the longer side rounded up,
   the other ``int`` of it over the ratio, rounded up;
4. cut ``rows x cols`` tiles of ``T x T``, row by row, and append the whole step-3
   image resized to ``T x T`` (the global view); an image no larger than one tile is
   that one tile alone (``rows = cols = 0``);
5. rescale and normalise each tile (:func:`embed_plugins.vision.processor.to_array`).

A batch pads every item to the largest tile count with all-zero tiles (the model
skips them).  Pinned by ``tests/fixtures/reference/tiny-colmodernvbert.npz``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from ..errors import ModelLoadError
from .processor import load_raw_config, scale_and_normalize

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TilingConfig:
    """The resolved ``Idefics3ImageProcessor`` settings."""

    longest_edge: int
    tile: int
    resample: int
    do_rescale: bool
    rescale_factor: float
    do_normalize: bool
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]


def _edge(value: Any, what: str, where: str) -> int:
    edge = value.get("longest_edge") if isinstance(value, Mapping) else value
    if isinstance(edge, bool) or not isinstance(edge, int) or edge < 1:
        raise ModelLoadError(f"{where}: {what} must give a positive longest_edge, got {value!r}")
    return edge


def parse_tiling_config(raw: Mapping[str, Any], where: str = "image processor") -> TilingConfig:
    name = str(raw.get("image_processor_type") or "").removesuffix("Pil").removesuffix("Fast")
    if name != "Idefics3ImageProcessor":
        raise ModelLoadError(f"{where}: expected an Idefics3ImageProcessor, got {name!r}")
    if raw.get("do_image_splitting", True) is not True or raw.get("do_resize", True) is not True:
        raise ModelLoadError(f"{where}: only do_resize with do_image_splitting is supported")
    mean, std = raw.get("image_mean", [0.5] * 3), raw.get("image_std", [0.5] * 3)
    return TilingConfig(
        longest_edge=_edge(raw.get("size", {"longest_edge": 4 * 364}), "size", where),
        tile=_edge(raw.get("max_image_size", {"longest_edge": 364}), "max_image_size", where),
        resample=int(raw.get("resample", 1)),
        do_rescale=bool(raw.get("do_rescale", True)),
        rescale_factor=float(raw.get("rescale_factor", 1 / 255)),
        do_normalize=bool(raw.get("do_normalize", True)),
        image_mean=(float(mean[0]), float(mean[1]), float(mean[2])),
        image_std=(float(std[0]), float(std[1]), float(std[2])),
    )


def read_tiling_config(model_dir: Path, override: Mapping[str, Any] | None = None) -> TilingConfig:
    raw, source = load_raw_config(model_dir, override)
    return parse_tiling_config(raw, source)


def longest_edge_size(width: int, height: int, edge: int) -> tuple[int, int]:
    """Step 2: ``(width, height)`` with the longest side ``edge``, the other even."""
    ratio = width / height
    if width >= height:
        new_w, new_h = edge, int(edge / ratio)
        new_h += new_h % 2
    else:
        new_w, new_h = int(edge * ratio), edge
        new_w += new_w % 2
    return max(new_w, 1), max(new_h, 1)


def tile_multiple_size(width: int, height: int, tile: int) -> tuple[int, int]:
    """Step 3: ``(width, height)`` rounded up to multiples of ``tile``, keeping the ratio."""
    ratio = width / height
    if width >= height:
        new_w = math.ceil(width / tile) * tile
        new_h = math.ceil(int(new_w / ratio) / tile) * tile
    else:
        new_h = math.ceil(height / tile) * tile
        new_w = math.ceil(int(new_h * ratio) / tile) * tile
    return max(new_w, tile), max(new_h, tile)


def tile_image(image: Image.Image, config: TilingConfig) -> tuple[FloatArray, int, int]:
    """One image -> ``(tiles (n, 3, T, T) float32, rows, cols)``; the global view is last."""
    rgb = image.convert("RGB")
    resized = rgb.resize(longest_edge_size(*rgb.size, config.longest_edge), config.resample)
    grid = resized.resize(tile_multiple_size(*resized.size, config.tile), config.resample)
    t = config.tile
    width, height = grid.size
    if width <= t and height <= t:
        return scale_and_normalize([grid], config), 0, 0
    rows, cols = height // t, width // t
    boxes = [(c * t, r * t, (c + 1) * t, (r + 1) * t) for r in range(rows) for c in range(cols)]
    parts = [grid.crop(box) for box in boxes]
    parts.append(grid.resize((t, t), config.resample))
    return scale_and_normalize(parts, config), rows, cols


def pad_tiles(per_image: list[FloatArray]) -> FloatArray:
    """Images' tiles as one ``(images, max tiles, 3, T, T)`` array, zero tiles after each."""
    most = max(len(tiles) for tiles in per_image)
    out = np.zeros((len(per_image), most, *per_image[0].shape[1:]), dtype=np.float32)
    for i, tiles in enumerate(per_image):
        out[i, : len(tiles)] = tiles
    return out
