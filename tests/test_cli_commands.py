"""``embed-plugins models``, ``rerank``, ``demo``, the progress bar on a terminal, and the
installed console script itself."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from cli_support import (
    CLI,
    TINY_BERT,
    TINY_CE,
    colbert_folder,
    corpus_jsonl,
    one_line_error,
    passages,
    run_cli,
)
from embed_plugins import LateInteractionTextEmbedding, TextCrossEncoder

REPO = Path(__file__).resolve().parent.parent
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


# -- models ------------------------------------------------------------------------------------
def test_models_list(offline_models: Path) -> None:
    result = run_cli("models", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FAMILY", "MODEL", "DIM", "SIZE", "LICENCE", "LOCAL"]
    rows = {line.split()[1]: line.split() for line in lines[1:]}
    assert rows[MINILM] == ["dense", MINILM, "384", "0.09", "GB", "apache-2.0", "yes"]
    assert rows["BAAI/bge-small-en-v1.5"][-1] == "no"  # not in the models dir, nor the cache
    assert rows["Qdrant/bm25"][-1] == "yes"  # reads no files
    families = {row[0] for row in rows.values()}
    assert families >= {"dense", "sparse", "late-interaction", "rerank", "image", "multimodal"}


def test_models_list_filters_and_json(offline_models: Path) -> None:
    result = run_cli("models", "list", "--local", "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(r["local"] for r in records)
    assert {"family": "dense", "model": MINILM, "dim": 384, "size_gb": 0.09,
            "license": "apache-2.0", "local": True} in records  # fmt: skip
    result = run_cli("models", "list", "--family", "rerank")
    assert {line.split()[0] for line in result.stdout.splitlines()[1:]} == {"rerank"}


def test_models_info_and_path(offline_models: Path) -> None:
    info = json.loads(run_cli("models", "info", MINILM).stdout)
    assert info["family"] == "dense" and info["dim"] == 384 and info["local"] is True
    assert info["local_path"] == str(offline_models / MINILM)
    result = run_cli("models", "path", MINILM)
    assert result.returncode == 0 and result.stdout.strip() == str(offline_models / MINILM)
    one_line_error(run_cli("models", "path", "BAAI/bge-small-en-v1.5"), 4, "models download")
    one_line_error(run_cli("models", "path", "Qdrant/bm25"), 4, "no files")
    one_line_error(run_cli("models", "info", "no/such-model"), 4, "unknown model")
    assert json.loads(run_cli("models", "info", "Qdrant/bm25").stdout)["local"] is True


def test_models_download(offline_models: Path) -> None:
    """Already local: the folder, no network.  Offline and not local: one line, code 4
    (every name is checked before anything is fetched)."""
    result = run_cli("models", "download", MINILM, "Qdrant/bm25")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(offline_models / MINILM)
    assert "nothing to download" in result.stderr
    one_line_error(
        run_cli("models", "download", "BAAI/bge-small-en-v1.5"), 4, "HF_HUB_OFFLINE is set"
    )
    one_line_error(run_cli("models", "download", MINILM, "nope/nope"), 4, "'nope/nope'")
    assert run_cli("models").returncode == 2  # an action is required


# -- rerank --------------------------------------------------------------------------------------
def test_rerank_cross_encoder(tmp_path: Path) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 30)
    result = run_cli(
        "rerank", src, "--query", "alpha beta", "--model-path", TINY_CE, "--top-k", "3",
        "--id-field", "id",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = [json.loads(line) for line in result.stdout.splitlines()]
    expected = TextCrossEncoder(model_path=TINY_CE).rank("alpha beta", passages(30), top_k=3)
    assert [g["rank"] for g in got] == [1, 2, 3]
    assert [g["id"] for g in got] == [f"doc-{r.index}" for r in expected]
    assert [g["score"] for g in got] == [r.score for r in expected]
    assert [g["text"] for g in got] == [passages(30)[r.index] for r in expected]


def test_rerank_colbert_to_a_file(tmp_path: Path) -> None:
    folder = colbert_folder(tmp_path)
    src = tmp_path / "c.txt"
    src.write_text("\n".join(passages(12)), encoding="utf-8")
    out = tmp_path / "top.jsonl"
    result = run_cli(
        "rerank", src, "--query", "gamma", "--model-path", folder, "--kind", "colbert",
        "-k", "2", "-o", out,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout == "", result.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    expected = LateInteractionTextEmbedding(model_path=folder).rank("gamma", passages(12), top_k=2)
    assert [(g["id"], g["score"]) for g in got] == [(r.index, r.score) for r in expected]


def test_rerank_errors(tmp_path: Path) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 3)
    assert run_cli("rerank", src, "--model-path", TINY_CE).returncode == 2  # no --query
    one_line_error(run_cli("rerank", tmp_path / "x.jsonl", "--query", "q"), 3, "does not exist")
    one_line_error(run_cli("rerank", src, "--query", "q", "-m", MINILM), 4, "not a cross-encoder")
    usage = run_cli("rerank", src, "--query", "q", "--kind", "dense")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


# -- demo ------------------------------------------------------------------------------------------
def test_demo_without_the_reranker_says_so(offline_models: Path) -> None:
    result = run_cli("demo", "--questions", "How can I cache the results of a function call?")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Indexed 48 passages: dense sentence-transformers/all-MiniLM-L6-v2 + sparse" in out
    assert "not available" in out and "unreranked" in out
    top = [line for line in out.splitlines() if line.startswith("  1. ")]
    assert top and "functools.lru_cache" in top[0] and "hybrid=" in top[0]


def test_demo_reranks_with_a_local_cross_encoder(offline_models: Path) -> None:
    result = run_cli("demo", "--reranker-path", TINY_CE, "--top-k", "2")
    assert result.returncode == 0, result.stderr
    hits = [line for line in result.stdout.splitlines() if re.match(r"  [12]\. rerank=", line)]
    assert len(hits) == 2 * 4  # two per default question


def test_demo_without_the_dense_model(tmp_path: Path) -> None:
    result = run_cli("demo", env={"EMBED_PLUGINS_MODELS_DIR": str(tmp_path)})
    one_line_error(result, 4, MINILM)


def test_demo_corpus_is_the_examples_corpus() -> None:
    shipped = REPO / "src" / "embed_plugins" / "cli" / "data" / "corpus.jsonl"
    assert shipped.read_bytes() == (REPO / "examples" / "data" / "corpus.jsonl").read_bytes()


# -- the terminal ----------------------------------------------------------------------------------
def run_on_a_terminal(args: list[object]) -> tuple[int, str]:
    """The command with stderr on a pseudo-terminal (as in a shell); exit code and what
    the terminal showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    process = subprocess.Popen(
        [*CLI, *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave
    )
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        shown += data
    os.close(master)
    return process.wait(timeout=120), shown.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    src = corpus_jsonl(tmp_path / "c.jsonl", 3000)
    code, shown = run_on_a_terminal(
        ["embed", src, "-o", tmp_path / "v.npy", "--model-path", TINY_BERT, "--checkpoint-rows",
         "500"]
    )  # fmt: skip
    assert code == 0, shown
    frames = shown.replace("\r\n", "\n").replace("\r", "\n").splitlines()
    bar = [f for f in frames if f.startswith("embed:")]
    # A rate and an ETA while it runs (the total is known: the file was counted first).
    assert any(re.search(r"\d+/3000 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+ texts/s\]", f) for f in bar)
    assert any("3000/3000" in f for f in bar)
    assert "3000 rows (dense, 32 dims)" in frames[-1]
    code, shown = run_on_a_terminal(
        ["embed", src, "-o", tmp_path / "q.npy", "--model-path", TINY_BERT, "--quiet"]
    )
    assert code == 0 and shown == ""


# -- the installed script --------------------------------------------------------------------
def test_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "embed-plugins"
    if not script.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{script} is missing: the package is not installed (pip install -e .)")
        pytest.skip("the console script is not installed in this environment")
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0 and version.stdout.startswith("embed-plugins ")
    src = corpus_jsonl(tmp_path / "c.jsonl", 10)
    out = tmp_path / "v.jsonl"
    result = subprocess.run(
        [script, "embed", src, "-o", out, "--model-path", TINY_BERT, "--parallel", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 10
    bad = subprocess.run([script, "models", "info", "x/y"], capture_output=True, text=True)
    assert bad.returncode == 4 and bad.stderr.startswith("embed-plugins: error: unknown model")
