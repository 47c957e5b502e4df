"""Sizes of a text graph's embedding tables, read from the ONNX file without loading it.

A model folder whose tokenizer does not fit its graph (a larger vocabulary than
the word-embedding table, a truncation length past the position table) fails
deep inside ``session.run`` with an onnxruntime ``InvalidArgument`` that names
neither model nor file.  :func:`check_text_graph` finds that at load instead.

The table sizes are the first dimension of two initializers.  They are read by
walking the ONNX protobuf directly (``ModelProto.graph`` -> ``initializer`` and
``node``), skipping every tensor's data by its length prefix, so a 1 GB graph
costs what its few thousand small headers cost and the ``onnx`` package is not
needed.  Anything unexpected gives "unknown", never an error: the check is a
courtesy, and the run-time error (:class:`~embed_plugins.errors.InferenceError`)
still names the model, file and inputs.

* Word embeddings: the initializer a ``Gather`` node indexes with the graph input
  ``input_ids`` (how BERT, XLM-R and kin are exported); else one whose name says
  ``word_embeddings`` / ``embed_tokens`` / ``token_embedding``.
* Positions: an initializer named ``position_embeddings`` / ``position_embedding``
  / ``embed_positions`` (absent for rotary and relative models: unknown), not one
  of an image tower (``vision`` / ``visual`` / ``image`` / ``patch`` in its name).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Field numbers of onnx.proto.
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER = 1, 5
_NODE_INPUT, _NODE_OP_TYPE = 1, 4
_TENSOR_DIMS, _TENSOR_NAME = 1, 8

_WORD_NAMES = ("word_embeddings", "embed_tokens", "token_embedding")
_POSITION_NAMES = ("position_embeddings", "position_embedding", "embed_positions")
#: Tables of an image tower (a combined graph), never the text's.
_VISION_NAMES = ("vision", "visual", "image", "patch")


@dataclass(frozen=True)
class EmbeddingTables:
    """Rows of the word and position embedding tables; ``None`` where unknown."""

    vocab_rows: int | None = None
    position_rows: int | None = None


class _Malformed(ValueError):
    pass


def _varint(buf: mmap.mmap | bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            break
    raise _Malformed("bad varint")


def _fields(buf: mmap.mmap | bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """``(field, wire type, a, b)`` per field of ``buf[start:end]``: for varints ``a`` is
    the value, for length-delimited fields ``buf[a:b]`` is the payload."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos, end)
            yield field, wire, value, pos
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if pos + length > end:
                raise _Malformed("field runs past its message")
            yield field, wire, pos, pos + length
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise _Malformed(f"unsupported wire type {wire}")
    if pos != end:
        raise _Malformed("truncated message")


def _text(buf: mmap.mmap | bytes, a: int, b: int) -> str:
    return bytes(buf[a:b]).decode("utf-8", "replace")


def _tensor_header(buf: mmap.mmap | bytes, a: int, b: int) -> tuple[str, list[int]]:
    name, dims = "", []
    for field, wire, x, y in _fields(buf, a, b):
        if field == _TENSOR_NAME and wire == 2:
            name = _text(buf, x, y)
        elif field == _TENSOR_DIMS and wire == 0:
            dims.append(x)
        elif field == _TENSOR_DIMS and wire == 2:  # packed
            pos = x
            while pos < y:
                value, pos = _varint(buf, pos, y)
                dims.append(value)
    return name, dims


def _gather_tables(buf: mmap.mmap | bytes, a: int, b: int) -> str | None:
    """The data input of a ``Gather`` node indexed by ``input_ids``, else ``None``."""
    op, inputs = "", []
    for field, wire, x, y in _fields(buf, a, b):
        if field == _NODE_OP_TYPE and wire == 2:
            op = _text(buf, x, y)
        elif field == _NODE_INPUT and wire == 2:
            inputs.append(_text(buf, x, y))
    if op == "Gather" and len(inputs) == 2 and inputs[1] == "input_ids":
        return inputs[0]
    return None


def _scan(buf: mmap.mmap | bytes) -> EmbeddingTables:
    tables: dict[str, list[int]] = {}
    gathered: list[str] = []
    for field, wire, a, b in _fields(buf, 0, len(buf)):
        if field != _MODEL_GRAPH or wire != 2:
            continue
        for g_field, g_wire, x, y in _fields(buf, a, b):
            if g_wire != 2:
                continue
            if g_field == _GRAPH_INITIALIZER:
                name, dims = _tensor_header(buf, x, y)
                if len(dims) == 2:
                    tables[name] = dims
            elif g_field == _GRAPH_NODE:
                data = _gather_tables(buf, x, y)
                if data is not None:
                    gathered.append(data)
    vocab = next((tables[n][0] for n in gathered if n in tables), None)
    if vocab is None:
        vocab = _by_name(tables, _WORD_NAMES)
    return EmbeddingTables(vocab_rows=vocab, position_rows=_by_name(tables, _POSITION_NAMES))


def _by_name(tables: dict[str, list[int]], keys: tuple[str, ...]) -> int | None:
    rows = {
        dims[0]
        for name, dims in tables.items()
        if any(k in name for k in keys) and not any(v in name.lower() for v in _VISION_NAMES)
    }
    return rows.pop() if len(rows) == 1 else None  # several candidates: do not guess


def read_embedding_tables(model_path: Path) -> EmbeddingTables:
    """The embedding table sizes of the ONNX graph at ``model_path`` (``None`` where unknown)."""
    try:
        with model_path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _scan(buf)
    except (OSError, ValueError, IndexError):  # unreadable, empty or not an ONNX protobuf
        return EmbeddingTables()


def check_text_graph(
    model: str, model_path: Path, model_dir: Path | None, vocab_size: int, longest_row: int
) -> None:
    """Refuse, at load, a tokenizer that does not fit the graph it is paired with.

    * ``vocab_size`` (the tokenizer's, added tokens included) must not exceed the
      rows of the graph's word-embedding table (or config.json ``vocab_size`` when
      the graph does not say);
    * ``longest_row`` (the most tokens one row of a batch can hold) must not exceed
      the graph's position table, less the offset of RoBERTa-style models.
      (config.json ``max_position_embeddings`` already caps the truncation length:
      :func:`embed_plugins.text.config.truncation_length`.)

    Raises :class:`~embed_plugins.errors.ModelLoadError` naming the model and files.
    """
    from ..errors import ModelLoadError
    from ..text.config import config_vocab_size, position_offset

    tables = read_embedding_tables(model_path)
    rows, source = tables.vocab_rows, "its word-embedding table"
    if rows is None and model_dir is not None:
        rows, source = config_vocab_size(model_dir), "config.json vocab_size"
    where = f" in {model_dir}" if model_dir is not None else ""
    if rows is not None and vocab_size > rows:
        raise ModelLoadError(
            f"{model}: the tokenizer (tokenizer.json{where}) has {vocab_size} tokens, but "
            f"{model_path} has {rows} ({source}): token ids past {rows - 1} would fail "
            "inside ONNX Runtime. The tokenizer and the ONNX graph do not belong together."
        )
    if tables.position_rows is None:
        return
    limit = tables.position_rows - (position_offset(model_dir) if model_dir is not None else 0)
    if longest_row > limit:
        raise ModelLoadError(
            f"{model}: texts are cut to {longest_row} tokens, but the position table of "
            f"{model_path} holds {limit} positions. Pass max_length={limit} (or less), or fix "
            f"max_seq_length / model_max_length / max_position_embeddings in the config files"
            f"{where}."
        )
