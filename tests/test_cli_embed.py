"""``embed-plugins embed``: every input and output format, every text family, the errors.

Each test runs the real command in a subprocess (``python -m embed_plugins.cli``) on a
tiny model and compares what it wrote with the same model run in this process.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_support import (
    TINY_BERT,
    TINY_SPLADE,
    colbert_folder,
    corpus_jsonl,
    one_line_error,
    passages,
    run_cli,
)
from embed_plugins import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding

TEXTS = passages(300)


@pytest.fixture(scope="module")
def bert() -> TextEmbedding:
    return TextEmbedding(model_path=TINY_BERT)


def dense_reference(bert: TextEmbedding, texts: list[str]) -> np.ndarray:
    return np.stack(list(bert.embed(texts)))


# -- dense, the three output formats -----------------------------------------------------
def test_jsonl_to_parquet_with_ids(tmp_path: Path, bert: TextEmbedding) -> None:
    src = corpus_jsonl(tmp_path / "corpus.jsonl", 300)
    out = tmp_path / "vectors.parquet"
    result = run_cli("embed", src, "-o", out, "--model-path", TINY_BERT, "--id-field", "id")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("embed-plugins: 300 rows (dense, 32 dims) -> ")
    table = pq.read_table(out)
    assert table.schema.field("id").type == pa.string()
    assert table.schema.field("vector").type == pa.list_(pa.float32(), 32)
    assert table.column("id").to_pylist() == [f"doc-{i}" for i in range(300)]
    np.testing.assert_array_equal(
        np.array(table.column("vector").to_pylist(), dtype=np.float32),
        dense_reference(bert, TEXTS),
    )
    assert not (tmp_path / "vectors.parquet.partial").exists()


def test_text_to_npy_with_row_ids(tmp_path: Path, bert: TextEmbedding) -> None:
    lines = [TEXTS[0], "", "   ", TEXTS[1], TEXTS[2]]  # blank lines are skipped, ids are lines
    src = tmp_path / "corpus.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "vectors.npy"
    result = run_cli("embed", src, "-o", out, "--model-path", TINY_BERT)
    assert result.returncode == 0, result.stderr
    array = np.load(out)
    assert array.dtype == np.float32 and array.shape == (3, 32)
    np.testing.assert_array_equal(array, dense_reference(bert, [TEXTS[0], TEXTS[1], TEXTS[2]]))
    ids = [json.loads(line) for line in (tmp_path / "vectors.ids.jsonl").read_text().splitlines()]
    assert ids == [0, 3, 4]


def test_stdin_to_jsonl(tmp_path: Path, bert: TextEmbedding) -> None:
    out = tmp_path / "vectors.jsonl"
    result = run_cli(
        "embed", "-", "-o", out, "--model-path", TINY_BERT, stdin="\n".join(TEXTS[:20])
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == list(range(20))
    # JSON floats are float32 values written at full precision: they read back equal.
    got = np.array([r["vector"] for r in records], dtype=np.float32)
    np.testing.assert_array_equal(got, dense_reference(bert, TEXTS[:20]))


@pytest.mark.parametrize("delimiter,suffix", [(",", "csv"), ("\t", "tsv")])
def test_csv_and_tsv(tmp_path: Path, bert: TextEmbedding, delimiter: str, suffix: str) -> None:
    src = tmp_path / f"corpus.{suffix}"
    with src.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(["key", "body", "other"])
        for i, text in enumerate(TEXTS[:30]):
            writer.writerow([f"k{i}", text + "\nsecond line, with a comma", "x"])
    out = tmp_path / "v.parquet"
    result = run_cli(
        "embed", src, "-o", out, "--model-path", TINY_BERT, "--text-field", "body",
        "--id-field", "key",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == [f"k{i}" for i in range(30)]
    expected = dense_reference(bert, [t + "\nsecond line, with a comma" for t in TEXTS[:30]])
    np.testing.assert_array_equal(np.array(table.column("vector").to_pylist()), expected)


def test_parquet_input(tmp_path: Path, bert: TextEmbedding) -> None:
    src = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"content": TEXTS[:50], "n": list(range(100, 150))}), src)
    out = tmp_path / "v.jsonl"
    result = run_cli(
        "embed", src, "-o", out, "--model-path", TINY_BERT, "--text-field", "content",
        "--id-field", "n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [str(i) for i in range(100, 150)]


def test_empty_input_gives_an_empty_file(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("\n", encoding="utf-8")
    out = tmp_path / "v.parquet"
    result = run_cli("embed", src, "-o", out, "--model-path", TINY_BERT)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.num_rows == 0 and table.schema.field("vector").type == pa.list_(pa.float32(), 32)


# -- sparse and late interaction ---------------------------------------------------------
def test_sparse_splade_parquet(tmp_path: Path) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 40)
    out = tmp_path / "s.parquet"
    result = run_cli("embed", src, "-o", out, "--model-path", TINY_SPLADE, "--kind", "sparse")
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.schema.field("indices").type == pa.list_(pa.int64())
    assert table.schema.field("values").type == pa.list_(pa.float32())
    expected = list(SparseTextEmbedding(model_path=TINY_SPLADE).embed(passages(40)))
    assert table.column("indices").to_pylist() == [v.indices.tolist() for v in expected]
    got = table.column("values").to_pylist()
    for row, vector in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.array(row, dtype=np.float32), vector.values)


def test_bm25_by_name_query_prefix_choice(tmp_path: Path) -> None:
    """``--query`` runs ``query_embed`` (BM25 queries weigh every term 1)."""
    src = corpus_jsonl(tmp_path / "c.jsonl", 20)
    bm25 = SparseTextEmbedding("Qdrant/bm25")
    for flag, method in (("--query", bm25.query_embed), ("--passage", bm25.passage_embed)):
        out = tmp_path / f"bm25{flag}.jsonl"
        result = run_cli("embed", src, "-o", out, "-m", "Qdrant/bm25", flag)
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in out.read_text().splitlines()]
        expected = list(method(passages(20)))
        assert [r["indices"] for r in records] == [v.indices.tolist() for v in expected]
        assert [r["values"] for r in records] == [v.values.tolist() for v in expected]


def test_late_interaction_parquet_and_jsonl(tmp_path: Path) -> None:
    folder = colbert_folder(tmp_path)
    src = corpus_jsonl(tmp_path / "c.jsonl", 25)
    expected = list(LateInteractionTextEmbedding(model_path=folder).embed(passages(25)))
    out = tmp_path / "li.parquet"
    result = run_cli("embed", src, "-o", out, "--model-path", folder, "--kind", "colbert")
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.schema.field("vectors").type == pa.list_(pa.list_(pa.float32(), 16))
    for row, vectors in zip(table.column("vectors").to_pylist(), expected, strict=True):
        np.testing.assert_array_equal(np.array(row, dtype=np.float32), vectors)
    out = tmp_path / "li.jsonl"
    assert (
        run_cli("embed", src, "-o", out, "--model-path", folder, "--kind", "late").returncode == 0
    )
    first = json.loads(out.read_text().splitlines()[0])
    np.testing.assert_array_equal(np.array(first["vectors"], dtype=np.float32), expected[0])


# -- options ---------------------------------------------------------------------------------
def test_parallel_batch_size_and_small_parts_match(tmp_path: Path, bert: TextEmbedding) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 300)
    out = tmp_path / "v.npy"
    result = run_cli(
        "embed", src, "-o", out, "--model-path", TINY_BERT, "--parallel", "2",
        "--batch-size", "16", "--checkpoint-rows", "64", "--device", "cpu",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Other batches than the reference's: equal to float32 rounding.
    np.testing.assert_allclose(np.load(out), dense_reference(bert, TEXTS), atol=1e-6)


def test_quiet_and_no_tty_show_no_bar(tmp_path: Path) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 30)
    result = run_cli("embed", src, "-o", tmp_path / "a.npy", "--model-path", TINY_BERT)
    assert result.stderr.count("\n") == 1 and "texts/s" not in result.stderr  # summary only
    result = run_cli("embed", src, "-o", tmp_path / "b.npy", "--model-path", TINY_BERT, "-q")
    assert result.returncode == 0 and result.stderr == ""
    result = run_cli(
        "embed", src, "-o", tmp_path / "c.npy", "--model-path", TINY_BERT, "--progress"
    )
    assert "30/30" in result.stderr and "texts/s" in result.stderr


# -- errors: one line, an exit code, no traceback ----------------------------------------------
def bad_jsonl(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "lines,args,needles",
    [
        (['{"text": "a"}', "{not json"], [], ["bad.jsonl line 2", "not valid JSON"]),
        (['{"body": "a"}'], [], ["line 1", "no field 'text'", "fields: body"]),
        (['{"text": 3}'], [], ["line 1", "'text' is a int, not a string"]),
        (['{"text": "a"}', '{"text": "b", "id": null}'], ["--id-field", "id"], ["line 1"]),
        (['["a"]'], [], ["expected a JSON object, got list"]),
    ],
)
def test_bad_jsonl(tmp_path: Path, lines: list[str], args: list[str], needles: list[str]) -> None:
    src = bad_jsonl(tmp_path, lines)
    out = tmp_path / "v.jsonl"
    result = run_cli("embed", src, "-o", out, "--model-path", TINY_BERT, *args)
    one_line_error(result, 3, *needles)
    assert not out.exists() and not (tmp_path / "v.jsonl.partial").exists()


def test_bad_files(tmp_path: Path) -> None:
    out = tmp_path / "v.jsonl"
    one_line_error(run_cli("embed", tmp_path / "nope.txt", "-o", out), 3, "does not exist")
    one_line_error(run_cli("embed", tmp_path, "-o", out), 3, "is a folder")
    csv_file = tmp_path / "c.csv"
    csv_file.write_text("a,b\n1,2\n", encoding="utf-8")
    one_line_error(
        run_cli("embed", csv_file, "-o", out, "--model-path", TINY_BERT),
        3,
        "no column 'text' (columns: a, b)",
    )
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet", encoding="utf-8")
    one_line_error(
        run_cli("embed", fake, "-o", out, "--model-path", TINY_BERT), 3, "not a Parquet file"
    )
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    one_line_error(run_cli("embed", latin, "-o", out, "--model-path", TINY_BERT), 3, "UTF-8")
    text = tmp_path / "t.txt"
    text.write_text("a\n", encoding="utf-8")
    one_line_error(run_cli("embed", text, "-o", out, "--id-field", "id"), 3, "--id-field")


def test_bad_models(tmp_path: Path) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 3)
    out = tmp_path / "v.jsonl"
    one_line_error(
        run_cli("embed", src, "-o", out, "-m", "all-MiniLM-L6-v2"),
        4,
        "unknown model 'all-MiniLM-L6-v2'",
        "did you mean 'sentence-transformers/all-MiniLM-L6-v2'",
    )
    # A catalogue model whose files are nowhere (offline, empty cache, no models dir).
    line = one_line_error(
        run_cli("embed", src, "-o", out, "-m", "BAAI/bge-small-en-v1.5",
                env={"EMBED_PLUGINS_MODELS_DIR": str(tmp_path)}),
        4,
        "BAAI/bge-small-en-v1.5",
        "models download",
    )  # fmt: skip
    assert "Tried" not in line
    one_line_error(run_cli("embed", src, "-o", out, "--model-path", tmp_path / "x"), 4, "folder")
    one_line_error(
        run_cli("embed", src, "-o", out, "-m", "Xenova/ms-marco-MiniLM-L-6-v2"), 4, "unknown"
    )  # a reranker is no embedding model


def test_bad_outputs_and_arguments(tmp_path: Path) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 3)
    one_line_error(run_cli("embed", src, "-o", tmp_path / "v.txt"), 5, "--format")
    one_line_error(
        run_cli("embed", src, "-o", tmp_path / "v.npy", "-m", "Qdrant/bm25"), 5, "parquet or jsonl"
    )
    one_line_error(
        run_cli("embed", src, "-o", tmp_path / "no" / "v.npy", "--model-path", TINY_BERT),
        5,
        "does not exist",
    )
    usage = run_cli("embed", src, "-o", tmp_path / "v.npy", "--batch-size", "0")
    assert usage.returncode == 2 and "positive" in usage.stderr
    usage = run_cli("embed", src, "-o", tmp_path / "v.npy", "--query", "--passage")
    assert usage.returncode == 2
    usage = run_cli("embed", src, "-o", tmp_path / "v.npy", "--device", "tpu:0",
                    "--model-path", TINY_BERT)  # fmt: skip
    one_line_error(usage, 2, "tpu")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    src = bad_jsonl(tmp_path, ["{oops"])
    result = run_cli("--debug", "embed", src, "-o", tmp_path / "v.jsonl", "--model-path", TINY_BERT)
    assert result.returncode == 3
    assert "Traceback" in result.stderr and "not valid JSON" in result.stderr
    after = run_cli("models", "info", "no/such", "--debug")  # after the command, too
    assert after.returncode == 4 and "Traceback" in after.stderr


def test_existing_output_needs_overwrite(tmp_path: Path, bert: TextEmbedding) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 10)
    out = tmp_path / "v.npy"
    out.write_bytes(b"precious")
    one_line_error(run_cli("embed", src, "-o", out, "--model-path", TINY_BERT), 5, "--overwrite")
    assert out.read_bytes() == b"precious"
    result = run_cli("embed", src, "-o", out, "--model-path", TINY_BERT, "--overwrite")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(out), dense_reference(bert, passages(10)))
