"""A read-only safetensors reader in numpy, for the token tables of static models.

The format (huggingface/safetensors, README "Format"): 8 bytes, a little-endian unsigned
64-bit header size ``N``; ``N`` bytes of UTF-8 JSON mapping each tensor name to
``{"dtype", "shape", "data_offsets": [begin, end]}`` (plus an optional ``__metadata__``
object of strings); then the byte buffer, little-endian, row-major, the offsets counted
from its start.  The reference parser caps the header at 100 MB.

Why not the ``safetensors`` package: a static model needs one or three arrays, and this
format needs no more than ``json`` and ``np.memmap``; the core dependencies stay as they
are.  Tensors are memory-mapped read-only, so worker processes share the pages of one
file instead of each holding a copy (potion-multilingual-128M's table is 512 MB).

Every malformed file raises :class:`~embed_plugins.errors.ModelLoadError` naming it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError

#: safetensors dtype -> numpy dtype (little-endian).  BF16 is widened to float32.
DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
}
#: The reference implementation refuses larger headers (safetensors ``MAX_HEADER_SIZE``).
MAX_HEADER_BYTES = 100_000_000


def read_header(path: Path) -> tuple[dict[str, Any], int]:
    """The tensor entries of a safetensors file (``__metadata__`` left out) and the offset of
    its byte buffer; checks every entry against the file's size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ModelLoadError(f"{path}: not a safetensors file (shorter than 8 bytes)")
            length = int.from_bytes(head, "little")
            if length > min(MAX_HEADER_BYTES, size - 8):
                raise ModelLoadError(
                    f"{path}: not a safetensors file (its header claims {length} bytes, "
                    f"the file has {size})"
                )
            raw = fh.read(length)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ModelLoadError(f"{path}: the safetensors header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path}: the safetensors header is not a JSON object")
    header.pop("__metadata__", None)
    start = 8 + length
    for name, entry in header.items():
        _check_entry(path, name, entry, size - start)
    return header, start


def _check_entry(path: Path, name: str, entry: Any, buffer_bytes: int) -> None:
    if not isinstance(entry, dict) or entry.get("dtype") not in DTYPES:
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        raise ModelLoadError(
            f"{path}: tensor {name!r} has dtype {dtype!r}; readable: {', '.join(DTYPES)}"
        )
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise ModelLoadError(f"{path}: tensor {name!r} has a bad shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= buffer_bytes
    ):
        raise ModelLoadError(
            f"{path}: tensor {name!r} has data_offsets {offsets!r} outside the file's "
            f"{buffer_bytes}-byte buffer"
        )
    itemsize = np.dtype(DTYPES[entry["dtype"]]).itemsize
    if offsets[1] - offsets[0] != math.prod(shape) * itemsize:
        raise ModelLoadError(
            f"{path}: tensor {name!r} of shape {shape} {entry['dtype']} needs "
            f"{math.prod(shape) * itemsize} bytes, its offsets span {offsets[1] - offsets[0]}"
        )


def read_tensors(path: Path, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The tensors ``names`` (all when ``None``; missing names are left out) of a safetensors
    file: read-only memory maps, except BF16, widened to float32 in memory."""
    header, start = read_header(path)
    out: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if names is not None and name not in names:
            continue
        shape = tuple(entry["shape"])
        dtype = np.dtype(DTYPES[entry["dtype"]])
        if math.prod(shape) == 0:
            array: np.ndarray = np.zeros(shape, dtype=dtype)
        else:
            try:
                array = np.memmap(
                    path,
                    dtype=dtype,
                    mode="r",
                    offset=start + entry["data_offsets"][0],
                    shape=shape,
                )
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"cannot map tensor {name!r} of {path}: {exc}") from exc
        if entry["dtype"] == "BF16":  # the high half of a float32
            array = (np.asarray(array, dtype=np.uint32) << 16).view(np.float32)
        out[name] = array
    return out
