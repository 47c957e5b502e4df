"""User images -> checked items (in the caller's process) -> decoded PIL images (anywhere).

An image may be a path (``str`` / ``os.PathLike``), raw encoded ``bytes``, a
binary file object such as ``BytesIO``, a ``PIL.Image.Image`` or an HWC ``uint8``
``numpy`` array.  :func:`check_image` runs in the caller's process, before any
work is dispatched: it rejects wrong types, missing files, empty data and bad
arrays with the input's index, and wraps what it accepts in an
:class:`ImageItem` that remembers that index.  Encoded inputs stay encoded (a
path stays a path, a file object becomes its bytes), so worker processes
receive paths or bytes and decode on their side; in-memory images travel as
they are.

:func:`decode` opens an item.  Every failure (not an image, truncated, zero
size, larger than Pillow's decompression-bomb limit) is an
:class:`~embed_plugins.errors.InvalidInputError` naming the index and the reason.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputTypeError, InvalidInputError

#: What an accepted image is carried as between processes.
Source = str | bytes | Image.Image | np.ndarray

IMAGE_TYPES = (
    "a path (str or os.PathLike), bytes, a binary file object, a PIL image or an HWC uint8 array"
)


@dataclass(frozen=True, eq=False)
class ImageItem:
    """One checked input: its absolute index in the call and where its pixels come from."""

    index: int
    source: Source

    @property
    def cost(self) -> int:
        """A rough relative decoding cost (bytes or pixels), for balancing workers."""
        src = self.source
        if isinstance(src, bytes):
            return len(src)
        if isinstance(src, str):
            try:
                return os.path.getsize(src)
            except OSError:
                return 1
        if isinstance(src, np.ndarray):
            return int(src.size)
        return int(src.width * src.height)


def is_single_image(value: Any) -> bool:
    """Whether ``value`` is one image rather than an iterable of images."""
    if isinstance(value, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)):
        return True
    if isinstance(value, np.ndarray):
        return True
    return hasattr(value, "read") and callable(value.read)


def check_image(item: Any, index: int) -> ImageItem:
    """Validate one input (see the module docstring); raises with the input's index."""
    if isinstance(item, ImageItem):
        return ImageItem(index, item.source)
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        if not isinstance(path, str):
            path = os.fsdecode(path)
        if not path:
            raise InvalidInputError(f"input {index}: empty path")
        if not Path(path).is_file():
            what = "is a folder, not an image file" if Path(path).is_dir() else "file not found"
            raise InvalidInputError(f"input {index}: {what}: {path!r}")
        return ImageItem(index, path)
    if isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
        if not data:
            raise InvalidInputError(f"input {index}: empty bytes (no image data)")
        return ImageItem(index, data)
    if isinstance(item, Image.Image):
        if item.width == 0 or item.height == 0:
            raise InvalidInputError(f"input {index}: zero-size image ({item.width}x{item.height})")
        try:
            item.load()  # a lazily opened file: read its pixels now, with the index
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InvalidInputError(f"input {index}: cannot decode the image ({exc})") from exc
        return ImageItem(index, item)
    if isinstance(item, np.ndarray):
        return ImageItem(index, _check_array(item, index))
    if hasattr(item, "read") and callable(item.read):
        data = item.getvalue() if isinstance(item, io.BytesIO) else item.read()
        if isinstance(data, str):
            raise InputTypeError(f"input {index}: a text-mode file object; open it in binary mode")
        if not data:
            raise InvalidInputError(f"input {index}: the file object holds no data")
        return ImageItem(index, bytes(data))
    raise InputTypeError(f"input {index}: expected {IMAGE_TYPES}, got {type(item).__name__}")


def _check_array(array: np.ndarray, index: int) -> np.ndarray:
    if array.dtype != np.uint8:
        raise InvalidInputError(
            f"input {index}: array dtype {array.dtype} is not supported; pass uint8 pixels "
            "(0-255), e.g. (x * 255).round().astype(np.uint8) for floats in [0, 1]"
        )
    shape = array.shape
    if array.ndim == 3 and shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise InvalidInputError(
            f"input {index}: array shape {shape} is not an image; expected (H, W), (H, W, 1), "
            "(H, W, 3) or (H, W, 4) (channels last)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidInputError(f"input {index}: zero-size array {shape}")
    return np.ascontiguousarray(array)


def decode(item: ImageItem) -> Image.Image:
    """The item's pixels as a loaded PIL image (the first frame of an animation)."""
    src = item.source
    if isinstance(src, Image.Image):
        return src
    if isinstance(src, np.ndarray):
        return Image.fromarray(src)
    where = f"input {item.index}" + (f" ({src!r})" if isinstance(src, str) else "")
    try:
        with Image.open(src if isinstance(src, str) else io.BytesIO(src)) as image:
            _check_pixels(image, where)
            image.load()
            loaded: Image.Image = image
            return loaded
    except InvalidInputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidInputError(f"{where}: refused, {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidInputError(f"{where}: not an image Pillow can read") from exc
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{where}: file not found") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidInputError(f"{where}: cannot decode the image ({exc})") from exc


def _check_pixels(image: Image.Image, where: str) -> None:
    """Zero-size images and images over Pillow's pixel limit are refused before decoding."""
    width, height = image.size
    if width == 0 or height == 0:
        raise InvalidInputError(f"{where}: zero-size image ({width}x{height})")
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise InvalidInputError(
            f"{where}: refused, {width}x{height} = {width * height} pixels is over Pillow's "
            f"decompression-bomb limit PIL.Image.MAX_IMAGE_PIXELS = {limit} (raise that limit "
            "to accept such images on purpose)"
        )


def as_images(images: Any) -> Iterable[Any]:
    """The user's argument as an iterable of images; one image becomes a list of one."""
    if images is None:
        raise InputTypeError(f"images must be {IMAGE_TYPES}, or an iterable of them; got None")
    if is_single_image(images):
        return [images]
    if isinstance(images, dict) or not isinstance(images, Iterable):
        raise InputTypeError(
            f"images must be {IMAGE_TYPES}, or an iterable of them; got {type(images).__name__}"
        )
    return images


def image_cost(item: ImageItem) -> int:
    return item.cost
