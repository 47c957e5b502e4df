"""Input rows ``(id, text)`` from JSONL, CSV/TSV, Parquet or plain text, a file or stdin.

* **text**: one passage a line; blank lines are skipped; the id is the line number
  (from 0).
* **jsonl**: one JSON object a line (blank lines skipped); ``--text-field`` (``text``)
  and ``--id-field``; without an id field the id is the line number (from 0).
* **csv** / **tsv**: a header row names the columns; the id is the row number (from 0).
* **parquet**: columns ``--text-field`` and ``--id-field``; the id is the row number.

With ``--id-field`` ids are strings (``str()`` of a JSON number), so every part of one
output has the same id type; without it they are integers.  Every problem is a
:class:`CliError` with code ``BAD_INPUT`` naming the file and the line or row
(1-based, as editors count).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import BAD_INPUT, CliError

FORMATS = ("text", "jsonl", "csv", "tsv", "parquet")
_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Rows per Parquet read.
_PARQUET_BATCH = 4096

Row = tuple[Any, str]


@dataclass(frozen=True)
class Source:
    """Where the rows come from: a file, or stdin (``path`` is ``None``)."""

    path: Path | None
    format: str
    text_field: str
    id_field: str | None

    @property
    def name(self) -> str:
        return "<stdin>" if self.path is None else str(self.path)

    def error(self, where: str, problem: str) -> CliError:
        return CliError(f"{self.name} {where}: {problem}", BAD_INPUT)


def open_source(
    given: str, fmt: str | None, text_field: str | None, id_field: str | None
) -> Source:
    """Check the input (it exists, its format is known) before any model loads."""
    path = None if given == "-" else Path(given)
    if path is not None and not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise CliError(f"input {given} {what}", BAD_INPUT)
    if fmt is None:
        fmt = "text" if path is None else _BY_SUFFIX.get(path.suffix.lower(), "text")
    if fmt == "text" and text_field is not None:
        raise CliError("--text-field needs a jsonl, csv, tsv or parquet input", BAD_INPUT)
    if fmt == "text" and id_field is not None:
        raise CliError("--id-field needs a jsonl, csv, tsv or parquet input", BAD_INPUT)
    return Source(path, fmt, text_field or "text", id_field)


def read_rows(source: Source) -> Iterator[Row]:
    """The rows of ``source`` in order (a generator: the file is read as it is consumed)."""
    if source.format == "parquet":
        yield from _parquet_rows(source)
        return
    with _open_text(source) as stream:
        if source.format == "text":
            yield from _text_rows(source, stream)
        elif source.format == "jsonl":
            yield from _jsonl_rows(source, stream)
        else:
            yield from _csv_rows(source, stream)


def count_rows(source: Source) -> int | None:
    """How many rows ``source`` holds (``None`` for stdin): a quick pass, for the ETA."""
    if source.path is None:
        return None
    if source.format == "parquet":
        return int(_parquet_file(source).metadata.num_rows)
    if source.format in ("csv", "tsv"):
        return sum(1 for _ in read_rows(source))
    with source.path.open("rb") as f:
        return sum(1 for line in f if line.strip())


# -- text formats --------------------------------------------------------------------------
def _open_text(source: Source) -> IO[str]:
    if source.path is None:
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")
    return source.path.open(encoding="utf-8", newline="")


def _lines(source: Source, stream: IO[str]) -> Iterator[tuple[int, str]]:
    """``(line number from 0, line without its end)`` of the non-blank lines."""
    count = 0
    try:
        for line in stream:
            count += 1
            if line.strip():
                yield count - 1, line.rstrip("\r\n")
    except UnicodeDecodeError as exc:  # decoded by blocks: the line is approximate
        raise source.error(f"near line {count + 1}", f"not UTF-8 ({exc.reason})") from None


def _text_rows(source: Source, stream: IO[str]) -> Iterator[Row]:
    yield from _lines(source, stream)


def _jsonl_rows(source: Source, stream: IO[str]) -> Iterator[Row]:
    for number, line in _lines(source, stream):
        where = f"line {number + 1}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise source.error(where, f"not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise source.error(where, f"expected a JSON object, got {type(record).__name__}")
        yield _row(source, where, record, number)


def _csv_rows(source: Source, stream: IO[str]) -> Iterator[Row]:
    reader = csv.DictReader(stream, delimiter="\t" if source.format == "tsv" else ",")
    try:
        columns = reader.fieldnames
        if not columns:
            return
        for name in (source.text_field, source.id_field):
            if name is not None and name not in columns:
                raise source.error("header", f"no column {name!r} (columns: {', '.join(columns)})")
        for number, record in enumerate(reader):
            yield _row(source, f"row {number + 1}", record, number)
    except csv.Error as exc:
        raise source.error(f"line {reader.line_num}", f"bad CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise source.error(f"line {reader.line_num + 1}", f"not UTF-8 ({exc.reason})") from None


def _row(source: Source, where: str, record: dict[str, Any], number: int) -> Row:
    text = record.get(source.text_field)
    if source.text_field not in record or text is None:
        fields = ", ".join(k for k in record if k is not None) or "none"
        raise source.error(where, f"no field {source.text_field!r} (fields: {fields})")
    if not isinstance(text, str):
        raise source.error(
            where, f"field {source.text_field!r} is a {type(text).__name__}, not a string"
        )
    if source.id_field is None:
        return number, text
    ident = record.get(source.id_field)
    if ident is None or isinstance(ident, (dict, list)):
        problem = "missing" if ident is None else f"a {type(ident).__name__}"
        raise source.error(where, f"id field {source.id_field!r} is {problem}")
    return str(ident), text


# -- Parquet -------------------------------------------------------------------------------
def _parquet_file(source: Source) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CliError(
            "reading Parquet needs pyarrow: pip install 'embed_plugins[parquet]'", BAD_INPUT
        ) from None
    data: Any = source.path if source.path is not None else io.BytesIO(sys.stdin.buffer.read())
    try:
        return pq.ParquetFile(data)
    except Exception as exc:  # pyarrow's ArrowInvalid, OSError...
        raise source.error("", f"not a Parquet file ({_first_line(exc)})") from None


def _parquet_rows(source: Source) -> Iterator[Row]:
    import pyarrow as pa

    parquet = _parquet_file(source)
    schema = parquet.schema_arrow
    for name in (source.text_field, source.id_field):
        if name is not None and name not in schema.names:
            raise source.error("", f"no column {name!r} (columns: {', '.join(schema.names)})")
    kind = schema.field(source.text_field).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise source.error("", f"column {source.text_field!r} is {kind}, not a string")
    columns = [c for c in (source.text_field, source.id_field) if c is not None]
    number = 0
    for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH, columns=columns):
        texts = batch.column(source.text_field).to_pylist()
        ids = batch.column(source.id_field).to_pylist() if source.id_field else None
        for i, text in enumerate(texts):
            record = {source.text_field: text}
            if ids is not None and source.id_field is not None:
                record[source.id_field] = ids[i]
            yield _row(source, f"row {number + 1}", record, number)
            number += 1


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
