"""The ``.pt`` reader behind BGE-M3's heads: values of real ``torch.save`` files, no torch.

``tests/fixtures/data/torch_state_dicts/`` holds files written by torch 2.13
(``tests/fixtures/_build_bge_m3.py``) in float32, float16, bfloat16 and with a
transposed view and an offset slice, and the values they hold (``expected.npz``).
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from embed_plugins.errors import ModelLoadError
from embed_plugins.families.bge_m3_heads import LinearHead, load_linear_head, read_state_dict

DATA = Path(__file__).resolve().parent / "fixtures" / "data" / "torch_state_dicts"
EXPECTED = np.load(DATA / "expected.npz")
HEADS = Path(__file__).resolve().parent / "fixtures" / "models" / "tiny-bge-m3"


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16", "strided"])
def test_values_equal_what_torch_saved(name: str) -> None:
    state = read_state_dict(DATA / f"{name}.pt")
    assert sorted(state) == ["bias", "weight"]
    for key, value in state.items():
        want = EXPECTED[f"{name}.{key}"]
        assert value.dtype == np.float32 and value.shape == want.shape
        np.testing.assert_array_equal(value, want)  # exact: widening loses nothing


def test_the_fixture_heads_are_half_precision_linear_layers() -> None:
    sparse = load_linear_head(HEADS / "sparse_linear.pt", "tiny", 1)
    colbert = load_linear_head(HEADS / "colbert_linear.pt", "tiny")
    assert (sparse.in_features, sparse.out_features) == (32, 1)
    assert (colbert.in_features, colbert.out_features) == (32, 16)
    # float16 values widened: every weight is exactly representable in float16
    assert np.array_equal(colbert.weight.astype(np.float16).astype(np.float32), colbert.weight)


def test_linear_head_is_x_times_weight_transposed_plus_bias() -> None:
    head = LinearHead(
        np.array([[1, 2], [3, 4], [5, 6]], np.float32), np.array([1, 0, -1], np.float32)
    )
    np.testing.assert_allclose(head(np.array([[[1, 1]]], np.float32)), [[[4, 7, 10]]])


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of a zip checkpoint with some entries (by suffix) replaced or dropped."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            for suffix, new in change.items():
                if info.filename.endswith(suffix):
                    data = new  # type: ignore[assignment]
            if data is not None:
                zout.writestr(info.filename, data)
    return target


def test_a_big_endian_file_is_read(tmp_path: Path) -> None:
    with zipfile.ZipFile(DATA / "float32.pt") as z:
        names = {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}
    swapped = {
        f"/{k}": np.frombuffer(v, "<f4").astype(">f4").tobytes()
        for k, v in names.items()
        if k.startswith("data/")
    }
    path = _rewrite(DATA / "float32.pt", tmp_path / "big.pt", {"/byteorder": b"big", **swapped})
    state = read_state_dict(path)
    np.testing.assert_array_equal(state["weight"], EXPECTED["float32.weight"])


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))

    def __init__(self, marker: Path) -> None:
        self.marker = marker


def test_pickled_code_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    payload = pickle.dumps({"weight": _Exploit(marker)}, protocol=2)
    path = _rewrite(DATA / "float32.pt", tmp_path / "evil.pt", {"/data.pkl": payload})
    with pytest.raises(ModelLoadError, match=r"refuses to load the global (posix|os|nt)\.system"):
        read_state_dict(path)
    assert not marker.exists()


def test_files_that_are_not_state_dicts(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        read_state_dict(tmp_path / "missing.pt")
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"weight": 1}))
    with pytest.raises(ModelLoadError, match="not a PyTorch zip checkpoint"):
        read_state_dict(legacy)
    no_pickle = _rewrite(DATA / "float32.pt", tmp_path / "nopkl.pt", {"/data.pkl": None})
    with pytest.raises(ModelLoadError, match=r"one <root>/data\.pkl"):
        read_state_dict(no_pickle)
    short = _rewrite(DATA / "float32.pt", tmp_path / "short.pt", {"/data/0": b"\0\0\0\0"})
    with pytest.raises(ModelLoadError, match="holds 1 values"):
        read_state_dict(short)
    listing = _rewrite(DATA / "float32.pt", tmp_path / "list.pt", {"/data.pkl": pickle.dumps([1])})
    with pytest.raises(ModelLoadError, match="does not hold a state dict"):
        read_state_dict(listing)


def test_a_state_dict_that_is_not_a_linear_layer(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(DATA / "float32.pt") as z:
        data = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    buf.write(data.replace(b"bias", b"bial"))
    path = _rewrite(DATA / "float32.pt", tmp_path / "renamed.pt", {"/data.pkl": buf.getvalue()})
    with pytest.raises(ModelLoadError, match="not the weight and bias"):
        load_linear_head(path, "m")
    with pytest.raises(ModelLoadError, match="3 values per token, the spec says 4"):
        load_linear_head(DATA / "float32.pt", "m", 4)
