"""BGE-M3's heads: PyTorch ``.pt`` state dicts read into numpy, with no torch and no
pickled code run.

``BAAI/bge-m3`` ships ``sparse_linear.pt`` and ``colbert_linear.pt``, each the state
dict (``weight``, ``bias``) of a ``torch.nn.Linear``, written by ``torch.save``.  Its
format (PyTorch's zip serialisation, the default since torch 1.6): a zip archive whose
entries share one top folder ``<root>/``:

* ``<root>/data.pkl``: a pickle (protocol 2) of the dict.  Each tensor in it is a call
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
  hooks[, metadata])`` and each storage a persistent id ``("storage",
  torch.<Type>Storage, key, location, numel)``;
* ``<root>/data/<key>``: the raw bytes of that storage;
* ``<root>/byteorder``: ``little`` or ``big`` (absent in older files: little).

Safety: :class:`_HeadUnpickler` resolves only ``collections.OrderedDict``, the two
``torch._utils`` rebuild functions and the storage types, each to a local stand-in;
any other global a file names (``os.system``, ``builtins.eval``, ...) raises
:class:`~embed_plugins.errors.ModelLoadError` before anything is called, which is the
rule of ``torch.load(weights_only=True)`` too.  Half, bfloat16, float and double
storages are read and widened to float32 (FlagEmbedding loads the half-precision heads
into float32 ``Linear`` layers on CPU).
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelLoadError

FloatArray = npt.NDArray[np.float32]

#: torch storage type -> numpy dtype of its bytes ("bf16": 16-bit, widened by a shift).
_STORAGE_DTYPES = {
    "HalfStorage": "f2",
    "BFloat16Storage": "bf16",
    "FloatStorage": "f4",
    "DoubleStorage": "f8",
}


@dataclass(frozen=True)
class _StorageType:
    name: str


def _rebuild_tensor(
    storage: FloatArray,
    offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    hooks: Any = None,
    metadata: Any = None,
) -> FloatArray:
    """The tensor ``storage[offset + sum(i_k * stride_k)]`` of shape ``size``, copied."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in (*size, *stride)) or offset < 0:
        raise ValueError(f"bad tensor layout: size {size}, stride {stride}, offset {offset}")
    if 0 in size:
        return np.zeros(size, dtype=np.float32)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= storage.size:
        raise ValueError(f"tensor of size {size} runs past its storage of {storage.size}")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=tuple(s * item for s in stride), writeable=False
    )
    return np.array(view, dtype=np.float32)


def _rebuild_parameter(data: FloatArray, requires_grad: bool = False, hooks: Any = None) -> Any:
    return data


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _HeadUnpickler(pickle.Unpickler):
    """Unpickles a state dict from the archive, resolving only :data:`_ALLOWED` names."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, root: str, big: bool) -> None:
        import io

        super().__init__(io.BytesIO(data))
        self.archive, self.root, self.big = archive, root, big

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refuses to load the global {module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> FloatArray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType) or not isinstance(key, str) or "/" in key:
            raise pickle.UnpicklingError(f"unexpected storage {pid!r}")
        raw = self.archive.read(f"{self.root}/data/{key}")
        code = _STORAGE_DTYPES[kind.name]
        order = ">" if self.big else "<"
        if code == "bf16":
            bits = np.frombuffer(raw, dtype=f"{order}u2").astype(np.uint32) << 16
            values: FloatArray = bits.view(np.float32)
        else:
            values = np.frombuffer(raw, dtype=f"{order}{code}")
        if values.size != numel:
            raise pickle.UnpicklingError(f"storage {key} holds {values.size} values, not {numel}")
        return values


def read_state_dict(path: Path) -> dict[str, FloatArray]:
    """The float tensors of a ``torch.save`` state dict as float32 arrays, by name.

    Raises :class:`ModelLoadError` naming ``path`` for a missing file, a file in
    another format (the legacy pre-1.6 one included), a global outside the allowed
    set, or a tensor that does not fit its storage.
    """
    if not path.is_file():
        raise ModelLoadError(f"head file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(
            f"{path} is not a PyTorch zip checkpoint (torch.save since torch 1.6); "
            "re-save it with a current torch"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            if len(pickles) != 1 or pickles[0].count("/") != 1:
                raise ModelLoadError(f"{path}: expected one <root>/data.pkl, found {pickles}")
            root = pickles[0].split("/")[0]
            names = set(archive.namelist())
            order = f"{root}/byteorder"
            big = order in names and archive.read(order).strip() == b"big"
            loaded = _HeadUnpickler(archive.read(pickles[0]), archive, root, big).load()
    except ModelLoadError:
        raise
    except Exception as exc:  # zipfile, pickle and our checks raise several types
        raise ModelLoadError(f"cannot read the head weights {path}: {exc}") from exc
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in loaded.items()
    ):
        raise ModelLoadError(f"{path} does not hold a state dict of tensors")
    return dict(loaded)


@dataclass(frozen=True)
class LinearHead:
    """``torch.nn.Linear`` in numpy: ``x @ weight.T + bias``; weight ``(out, in)``."""

    weight: FloatArray
    bias: FloatArray

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    def __call__(self, x: FloatArray) -> FloatArray:
        out: FloatArray = np.matmul(x, self.weight.T) + self.bias
        return out.astype(np.float32, copy=False)


def load_linear_head(path: Path, model: str, out_features: int | None = None) -> LinearHead:
    """The ``weight`` / ``bias`` of a ``Linear`` state dict, checked for shape."""
    state = read_state_dict(path)
    weight, bias = state.get("weight"), state.get("bias")
    if weight is None or bias is None:
        raise ModelLoadError(
            f"{model}: {path} has {sorted(state)}, not the weight and bias of a Linear layer"
        )
    if weight.ndim != 2 or bias.shape != (weight.shape[0],):
        raise ModelLoadError(
            f"{model}: {path} holds weight {weight.shape} and bias {bias.shape}, not a "
            "Linear layer's (out, in) and (out,)"
        )
    if out_features is not None and weight.shape[0] != out_features:
        raise ModelLoadError(
            f"{model}: {path} gives {weight.shape[0]} values per token, the spec says "
            f"{out_features}"
        )
    return LinearHead(np.ascontiguousarray(weight), np.ascontiguousarray(bias))
