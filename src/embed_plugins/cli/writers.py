"""Output formats: one part file per checkpoint, assembled into the final file at the end.

Columns (Parquet) or keys (JSONL), by kind of model:

* dense: ``id``, ``vector`` (``fixed_size_list<float32>[dim]``);
* sparse: ``id``, ``indices`` (``list<int64>``), ``values`` (``list<float32>``);
* late interaction: ``id``, ``vectors`` (``list<fixed_size_list<float32>[dim]>``, one
  row per token).

``.npy`` holds dense vectors only: a float32 ``(rows, dim)`` array, with the ids one JSON
value a line in ``<name>.ids.jsonl`` beside it.  JSONL floats are written with Python's
shortest round-trip ``repr``, so they read back as the same float32 values.

Every file is written under a temporary name, flushed to disk and renamed: a file with
the final name is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import BAD_OUTPUT, CliError

FORMATS = ("parquet", "npy", "jsonl")
KINDS = ("dense", "sparse", "late_interaction")
_BY_SUFFIX = {".parquet": "parquet", ".pq": "parquet", ".npy": "npy", ".jsonl": "jsonl"}


def output_format(out: Path, given: str | None) -> str:
    if given is not None:
        return given
    fmt = _BY_SUFFIX.get(out.suffix.lower())
    if fmt is None:
        raise CliError(
            f"cannot tell the format of {out} from its suffix: name it .parquet, .npy or "
            ".jsonl, or pass --format",
            BAD_OUTPUT,
        )
    return fmt


def check_format(fmt: str, kind: str) -> None:
    if fmt == "npy" and kind != "dense":
        raise CliError(
            f".npy holds one fixed-size vector per row; a {kind.replace('_', '-')} model's "
            "output needs --format parquet or jsonl",
            BAD_OUTPUT,
        )
    if fmt == "parquet":
        pyarrow()


def ids_path(out: Path) -> Path:
    """The ids file beside an ``.npy`` output: ``vectors.npy`` -> ``vectors.ids.jsonl``."""
    return out.with_name(out.stem + ".ids.jsonl")


def final_files(out: Path, fmt: str) -> list[Path]:
    return [ids_path(out), out] if fmt == "npy" else [out]


def pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise CliError(
            "writing Parquet needs pyarrow: pip install 'embed_plugins[parquet]'", BAD_OUTPUT
        ) from None
    return pa


# -- atomic files ----------------------------------------------------------------------------
@contextmanager
def atomic(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """A file written under ``<name>.tmp``, synced and renamed to ``path`` when complete."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, mode) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# -- one part ----------------------------------------------------------------------------------
def part_files(stem: Path, fmt: str) -> list[Path]:
    if fmt == "npy":
        return [stem.with_name(stem.name + ".npy"), stem.with_name(stem.name + ".ids.jsonl")]
    return [stem.with_name(f"{stem.name}.{fmt}")]


def write_part(
    stem: Path,
    fmt: str,
    kind: str,
    dim: int | None,
    id_is_str: bool,
    ids: Sequence[Any],
    vectors: Sequence[Any],
) -> None:
    """The part file(s) of one checkpoint."""
    if fmt == "npy":
        array_file, id_file = part_files(stem, fmt)
        with atomic(id_file, "w") as f:
            f.writelines(json.dumps(i) + "\n" for i in ids)
        with atomic(array_file) as f:
            np.save(f, _dense_matrix(vectors, dim))
    elif fmt == "jsonl":
        with atomic(part_files(stem, fmt)[0], "w") as f:
            f.writelines(
                json.dumps(_record(kind, i, v)) + "\n" for i, v in zip(ids, vectors, strict=True)
            )
    else:
        pq = _pq()
        with atomic(part_files(stem, fmt)[0]) as f:
            pq.write_table(table(schema(kind, dim, id_is_str), kind, dim, ids, vectors), f)


def _dense_matrix(vectors: Sequence[Any], dim: int | None) -> np.ndarray:
    if not vectors:
        return np.zeros((0, dim or 0), dtype=np.float32)
    return np.stack([np.asarray(v, dtype=np.float32) for v in vectors])


def _record(kind: str, ident: Any, vector: Any) -> dict[str, Any]:
    if kind == "sparse":
        return {"id": ident, "indices": vector.indices.tolist(), "values": vector.values.tolist()}
    key = "vector" if kind == "dense" else "vectors"
    return {"id": ident, key: np.asarray(vector, dtype=np.float32).tolist()}


def schema(kind: str, dim: int | None, id_is_str: bool) -> Any:
    pa = pyarrow()
    ident = pa.field("id", pa.string() if id_is_str else pa.int64())
    if kind == "sparse":
        return pa.schema(
            [
                ident,
                pa.field("indices", pa.list_(pa.int64())),
                pa.field("values", pa.list_(pa.float32())),
            ]
        )
    if dim is None:
        raise CliError(f"a {kind} model without a fixed dim cannot be written", BAD_OUTPUT)
    row = pa.list_(pa.float32(), dim)
    if kind == "dense":
        return pa.schema([ident, pa.field("vector", row)])
    return pa.schema([ident, pa.field("vectors", pa.list_(row))])


def table(
    target: Any, kind: str, dim: int | None, ids: Sequence[Any], vectors: Sequence[Any]
) -> Any:
    """The rows as an Arrow table of schema ``target``."""
    pa = pyarrow()
    id_array = pa.array(list(ids), type=target.field("id").type)
    if kind == "sparse":
        indices = _lists(pa, [np.asarray(v.indices, dtype=np.int64) for v in vectors], pa.int64())
        values = _lists(pa, [np.asarray(v.values, dtype=np.float32) for v in vectors], pa.float32())
        return pa.Table.from_arrays([id_array, indices, values], schema=target)
    assert dim is not None
    if kind == "dense":
        flat = _dense_matrix(vectors, dim).reshape(-1)
        column = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dim)
    else:
        rows = [np.asarray(v, dtype=np.float32).reshape(-1, dim) for v in vectors]
        tokens = pa.FixedSizeListArray.from_arrays(
            pa.array(_concat(rows, np.float32).reshape(-1), type=pa.float32()), dim
        )
        column = pa.ListArray.from_arrays(_offsets(pa, [len(r) for r in rows]), tokens)
    return pa.Table.from_arrays([id_array, column], schema=target)


def _lists(pa: Any, rows: list[np.ndarray], kind: Any) -> Any:
    flat = pa.array(_concat(rows, kind.to_pandas_dtype()), type=kind)
    return pa.ListArray.from_arrays(_offsets(pa, [len(r) for r in rows]), flat)


def _concat(rows: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(rows) if rows else np.zeros(0, dtype=dtype)


def _offsets(pa: Any, lengths: list[int]) -> Any:
    return pa.array(np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int32))


def _pq() -> Any:
    pyarrow()
    import pyarrow.parquet as pq

    return pq


# -- the whole file ------------------------------------------------------------------------------
def assemble(
    stems: Sequence[Path], fmt: str, kind: str, dim: int | None, id_is_str: bool, out: Path
) -> None:
    """Join the parts into ``out`` (and the ids file for ``.npy``), each written under a
    temporary name and renamed; for ``.npy`` the ids file is renamed first, so the array
    appearing means both are complete."""
    if fmt == "jsonl":
        _concat_files([part_files(s, fmt)[0] for s in stems], out)
    elif fmt == "npy":
        _concat_files([part_files(s, fmt)[1] for s in stems], ids_path(out))
        _join_arrays([part_files(s, fmt)[0] for s in stems], dim, out)
    else:
        _join_parquet([part_files(s, fmt)[0] for s in stems], schema(kind, dim, id_is_str), out)


def _concat_files(files: Sequence[Path], out: Path) -> None:
    with atomic(out) as target:
        for path in files:
            with path.open("rb") as source:
                shutil.copyfileobj(source, target, 1 << 20)


def _join_arrays(files: Sequence[Path], dim: int | None, out: Path) -> None:
    """One ``(rows, dim)`` float32 ``.npy`` from the parts, streamed (memory: one part)."""
    rows = sum(int(np.load(p, mmap_mode="r").shape[0]) for p in files)
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
        "fortran_order": False,
        "shape": (rows, dim or 0),
    }
    with atomic(out) as f:
        np.lib.format.write_array_header_1_0(f, header)
        for path in files:
            f.write(np.ascontiguousarray(np.load(path), dtype=np.float32).tobytes())


def _join_parquet(files: Sequence[Path], target: Any, out: Path) -> None:
    pq = _pq()
    with atomic(out) as f:
        writer = pq.ParquetWriter(f, target)
        try:
            for path in files:
                writer.write_table(pq.read_table(path, schema=target))
        finally:
            writer.close()
