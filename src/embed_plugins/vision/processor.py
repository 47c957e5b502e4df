"""Image preprocessing equal to transformers' image processors (their PIL backends).

The configuration is read the way transformers reads it: the model folder's
``preprocessor_config.json``, or the ``image_processor`` entry of transformers 5's
``processor_config.json``, on top of the named processor class's defaults.
:func:`preprocess` then applies, per image, the steps of transformers 5's
``PilBackend`` (``CLIPImageProcessorPil`` and kin), which is the classic
reference path:

1. convert to RGB: an image with an alpha band or a ``transparency`` entry is
   converted to RGBA and composited onto opaque white, any other mode is
   ``convert("RGB")``-ed (``transformers.image_transforms.convert_to_rgb``);
2. resize with PIL in uint8: ``shortest_edge`` keeps the aspect ratio (long edge
   ``int(short * long / short_side)``), ``height``/``width`` is a fixed size;
   ConvNeXT resizes the shortest edge to ``int(shortest_edge / crop_pct)`` and
   crops back (below 384) or warps to a square (384 and above);
3. centre crop at ``((h - ch) // 2, (w - cw) // 2)``, zero-padding an image
   smaller than the crop (``ceil`` of half the missing rows/columns before it);
4. rescale in float64, then float32 (``x * rescale_factor``);
5. normalise in float32 (``(x - mean) / std``), channels first.

Everything is numpy + Pillow; nothing here knows about ONNX or processes.
Pinned reference: transformers 5.25 ``*ImageProcessorPil`` classes
(``tests/fixtures/reference/vision-pixels.json`` records the versions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from ..errors import ModelLoadError
from ..text.config import folder_json

FloatArray = npt.NDArray[np.float32]

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_STANDARD_MEAN = (0.5, 0.5, 0.5)
IMAGENET_STANDARD_STD = (0.5, 0.5, 0.5)

#: Per processor class: the defaults transformers 5 gives the attributes a config omits
#: (class attributes of ``models/<name>/image_processing_pil_<name>.py``).
_CLASS_DEFAULTS: dict[str, dict[str, Any]] = {
    "CLIPImageProcessor": {
        "resample": 3,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "size": {"shortest_edge": 224},
        "crop_size": {"height": 224, "width": 224},
        "do_center_crop": True,
        "default_to_square": False,
    },
    "SiglipImageProcessor": {
        "resample": 3,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "size": {"height": 224, "width": 224},
        "do_center_crop": False,
        "default_to_square": False,
    },
    "ViTImageProcessor": {
        "resample": 2,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "size": {"height": 224, "width": 224},
        "do_center_crop": False,
        "default_to_square": True,
    },
    "ConvNextImageProcessor": {
        "resample": 3,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "size": {"shortest_edge": 384},
        "crop_pct": 224 / 256,
        "do_center_crop": False,
        "default_to_square": False,
    },
}
#: BiT's processor has CLIP's defaults (transformers ``image_processing_pil_bit.py``).
_CLASS_DEFAULTS["BitImageProcessor"] = dict(_CLASS_DEFAULTS["CLIPImageProcessor"])
#: Old names of the same processors (``feature_extractor_type`` in older configs).
_ALIASES = {
    "CLIPFeatureExtractor": "CLIPImageProcessor",
    "ViTFeatureExtractor": "ViTImageProcessor",
    "ConvNextFeatureExtractor": "ConvNextImageProcessor",
    "DeiTImageProcessor": "ViTImageProcessor",
}
SUPPORTED_PROCESSORS: tuple[str, ...] = tuple(sorted(_CLASS_DEFAULTS))


@dataclass(frozen=True)
class ImageProcessorConfig:
    """The resolved preprocessing of one model (every field explicit)."""

    processor: str
    do_convert_rgb: bool
    do_resize: bool
    size: Mapping[str, int]
    resample: int
    do_center_crop: bool
    crop_size: Mapping[str, int] | None
    crop_pct: float | None
    do_rescale: bool
    rescale_factor: float
    do_normalize: bool
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]

    def output_size(self) -> tuple[int, int] | None:
        """``(height, width)`` of every preprocessed image, when it is fixed."""
        if self.do_center_crop and self.crop_size is not None:
            return self.crop_size["height"], self.crop_size["width"]
        if self.processor == "ConvNextImageProcessor":
            edge = self.size["shortest_edge"]
            return edge, edge
        if self.do_resize and "height" in self.size:
            return self.size["height"], self.size["width"]
        return None


def _size_dict(value: Any, default_to_square: bool, what: str, where: str) -> dict[str, int]:
    """transformers' ``get_size_dict``: an int, a (height, width) pair or a dict."""
    if isinstance(value, bool):
        raise ModelLoadError(f"{where}: {what} must be an int or a dict, got {value!r}")
    if isinstance(value, int):
        if default_to_square:
            return {"height": value, "width": value}
        return {"shortest_edge": value}
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"height": int(value[0]), "width": int(value[1])}
    if isinstance(value, Mapping):
        out = {k: int(v) for k, v in value.items() if v is not None}
        if set(out) in ({"height", "width"}, {"shortest_edge"}):
            if any(v < 1 for v in out.values()):
                raise ModelLoadError(f"{where}: {what} {value!r} has a non-positive size")
            return out
    raise ModelLoadError(
        f"{where}: unsupported {what} {value!r} (expected an int, "
        "{'shortest_edge': N} or {'height': H, 'width': W})"
    )


def _triple(value: Any, where: str, what: str) -> tuple[float, float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value), float(value), float(value))
    if isinstance(value, (list, tuple)) and len(value) == 3:
        return (float(value[0]), float(value[1]), float(value[2]))
    raise ModelLoadError(f"{where}: {what} must be a number or three numbers, got {value!r}")


def parse_config(raw: Mapping[str, Any], where: str = "image processor") -> ImageProcessorConfig:
    """A transformers image-processor configuration dict, resolved against its class defaults."""
    name = str(raw.get("image_processor_type") or raw.get("feature_extractor_type") or "")
    for suffix in ("Pil", "Fast"):
        name = name.removesuffix(suffix)
    name = _ALIASES.get(name, name)
    if name not in _CLASS_DEFAULTS:
        raise ModelLoadError(
            f"{where}: image processor {name or '(none named)'!r} is not supported; "
            f"supported: {', '.join(SUPPORTED_PROCESSORS)}. Pass preprocessing={{...}} in the "
            "spec with one of them (the steps are the same for most vision encoders)."
        )
    merged = {**_CLASS_DEFAULTS[name], **{k: v for k, v in raw.items() if v is not None}}
    square = bool(merged.get("default_to_square"))
    size = _size_dict(merged["size"], square, "size", where)
    do_crop = bool(merged.get("do_center_crop", False))
    crop = merged.get("crop_size")
    crop_size = _size_dict(crop, True, "crop_size", where) if do_crop and crop is not None else None
    if do_crop and crop_size is None:
        raise ModelLoadError(f"{where}: do_center_crop is set but no crop_size is given")
    if crop_size is not None and "height" not in crop_size:
        raise ModelLoadError(f"{where}: crop_size must give height and width, got {crop!r}")
    crop_pct = None
    if name == "ConvNextImageProcessor":
        if "shortest_edge" not in size:
            raise ModelLoadError(f"{where}: ConvNextImageProcessor needs size.shortest_edge")
        crop_pct = float(merged.get("crop_pct") or 224 / 256)
    resample = merged.get("resample", 2)
    if isinstance(resample, bool) or not isinstance(resample, int) or not 0 <= resample <= 5:
        raise ModelLoadError(f"{where}: resample must be a PIL filter number 0-5, got {resample!r}")
    return ImageProcessorConfig(
        processor=name,
        do_convert_rgb=bool(merged.get("do_convert_rgb", True)),
        do_resize=bool(merged.get("do_resize", True)),
        size=size,
        resample=resample,
        do_center_crop=do_crop,
        crop_size=crop_size,
        crop_pct=crop_pct,
        do_rescale=bool(merged.get("do_rescale", True)),
        rescale_factor=float(merged.get("rescale_factor", 1 / 255)),
        do_normalize=bool(merged.get("do_normalize", True)),
        image_mean=_triple(merged.get("image_mean"), where, "image_mean"),
        image_std=_triple(merged.get("image_std"), where, "image_std"),
    )


def read_processor_config(
    model_dir: Path, override: Mapping[str, Any] | None = None
) -> ImageProcessorConfig:
    """The folder's image-processor configuration, with ``override`` keys on top."""
    raw, source = load_raw_config(model_dir, override)
    return parse_config(raw, source)


def load_raw_config(
    model_dir: Path, override: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """The folder's image-processor configuration as a dict, and where it came from.

    ``preprocessor_config.json`` first, then ``processor_config.json``'s
    ``image_processor`` entry (transformers 5 writes only the latter); ``override``
    keys on top.
    """
    raw: dict[str, Any] = folder_json(model_dir, "preprocessor_config.json")
    source = str(model_dir / "preprocessor_config.json") if raw else "spec.preprocessing"
    if not raw:
        nested = folder_json(model_dir, "processor_config.json").get("image_processor")
        if isinstance(nested, Mapping):
            raw, source = dict(nested), f"{model_dir / 'processor_config.json'} (image_processor)"
    if override:
        raw = {**raw, **override}
    if not raw:
        raise ModelLoadError(
            f"{model_dir}: no preprocessor_config.json or processor_config.json with an "
            "image_processor entry; pass a spec with preprocessing={...}"
        )
    return raw, source


# -- the steps ----------------------------------------------------------------------
def to_rgb(image: Image.Image) -> Image.Image:
    """RGB as transformers converts it: transparency composited onto opaque white."""
    if image.mode == "RGB":
        return image
    if "A" in image.getbands() or image.info.get("transparency") is not None:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def shortest_edge_size(height: int, width: int, edge: int) -> tuple[int, int]:
    """``(height, width)``: the shorter side ``edge``, the longer ``int(edge * long / short)``."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(edge * long / short)
    return (new_long, edge) if width <= height else (edge, new_long)


def resize(image: Image.Image, config: ImageProcessorConfig) -> Image.Image:
    """The resize step (ConvNeXT's ``crop_pct`` rule included)."""
    height, width = image.height, image.width
    size = config.size
    if config.crop_pct is not None:
        edge = size["shortest_edge"]
        if edge < 384:
            h, w = shortest_edge_size(height, width, int(edge / config.crop_pct))
            resized = image.resize((w, h), resample=config.resample)
            return center_crop(resized, edge, edge)
        target = (edge, edge)
    elif "shortest_edge" in size:
        target = shortest_edge_size(height, width, size["shortest_edge"])
    else:
        target = (size["height"], size["width"])
    return image.resize((target[1], target[0]), resample=config.resample)


def center_crop(image: Image.Image, height: int, width: int) -> Image.Image:
    """Crop the centre ``height x width``; a smaller image is zero-padded first."""
    pixels = np.asarray(image)
    h, w = pixels.shape[:2]
    top, left = (h - height) // 2, (w - width) // 2
    if top >= 0 and left >= 0 and top + height <= h and left + width <= w:
        inside = pixels[top : top + height, left : left + width]
        return Image.fromarray(np.ascontiguousarray(inside))
    new_h, new_w = max(height, h), max(width, w)
    padded = np.zeros((new_h, new_w, *pixels.shape[2:]), dtype=pixels.dtype)
    pad_top, pad_left = math.ceil((new_h - h) / 2), math.ceil((new_w - w) / 2)
    padded[pad_top : pad_top + h, pad_left : pad_left + w] = pixels
    top, left = top + pad_top, left + pad_left
    return Image.fromarray(np.ascontiguousarray(padded[top : top + height, left : left + width]))


class Scaling(Protocol):
    """The rescale and normalise settings every processor configuration has."""

    @property
    def do_rescale(self) -> bool: ...
    @property
    def rescale_factor(self) -> float: ...
    @property
    def do_normalize(self) -> bool: ...
    @property
    def image_mean(self) -> tuple[float, float, float]: ...
    @property
    def image_std(self) -> tuple[float, float, float]: ...


def scale_and_normalize(images: list[Image.Image], config: Scaling) -> FloatArray:
    """:func:`to_array` of each image, stacked: ``(n, 3, H, W)``."""
    return np.stack([to_array(image, config) for image in images])


def to_array(image: Image.Image, config: Scaling) -> FloatArray:
    """Rescale (float64, then float32) and normalise (float32); ``(3, H, W)``."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    chw = np.moveaxis(pixels, -1, 0)
    out: FloatArray
    if config.do_rescale:
        out = (chw.astype(np.float64) * config.rescale_factor).astype(np.float32)
    else:
        out = chw.astype(np.float32)
    if config.do_normalize:
        mean = np.asarray(config.image_mean, dtype=np.float32)[:, None, None]
        std = np.asarray(config.image_std, dtype=np.float32)[:, None, None]
        out = ((out - mean) / std).astype(np.float32, copy=False)
    return np.ascontiguousarray(out)


def preprocess(image: Image.Image, config: ImageProcessorConfig) -> FloatArray:
    """One decoded image -> float32 ``(3, H, W)`` pixel values, as the reference computes them."""
    if config.do_convert_rgb:
        image = to_rgb(image)
    if config.do_resize:
        image = resize(image, config)
    if config.do_center_crop and config.crop_size is not None:
        image = center_crop(image, config.crop_size["height"], config.crop_size["width"])
    return to_array(image, config)
