"""Smoke test of benchmarks/: the corpus loader and the equality check, on a tiny slice.

No timing is asserted.  Only the fastembed and sentence-transformers parts are
skipped when those packages (or the PyTorch weights) are absent; without
sentence-transformers the raw onnxruntime loop is the reference.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import bench_dense  # noqa: E402
import contenders as C  # noqa: E402
import corpus  # noqa: E402

PROSE = (
    "This package provides the shared library that the command line tools use. "
    "It is installed automatically when one of them is needed."
)


def _write_doc_tree(root: Path) -> None:
    (root / "alpha").mkdir(parents=True)
    (root / "beta").mkdir()
    (root / "alpha" / "README").write_text(
        f"{PROSE}\n\nInstalling the package\n\n"
        "if (x == 1) { return y; } /* code is not prose */\n\n"
        "The configuration file is read when the service starts, and changes to it "
        "take effect after a restart of the daemon.\n"
    )
    with gzip.open(root / "beta" / "changelog.Debian.gz", "wt") as f:
        # The same paragraph again (different case and spacing): kept once.
        f.write(PROSE.upper().replace(" ", "  ") + "\n\n")
        f.write("  * Fixed a crash that happened when the input file was empty.\n\n")
        f.write("short\n")
    (root / "beta" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")


def test_corpus_loader_rules(tmp_path: Path) -> None:
    _write_doc_tree(tmp_path)
    first = corpus.load_corpus(10, 10, root=tmp_path)
    again = corpus.load_corpus(10, 10, root=tmp_path)
    assert first.passages == again.passages and first.queries == again.queries
    assert first.fingerprint() == again.fingerprint()
    keys = [p.lower() for p in first.passages]
    assert len(keys) == len(set(keys)) == 3  # the upper-case duplicate is gone
    assert any("configuration file" in p for p in first.passages)  # plain file
    assert any("crash" in p for p in first.passages)  # from the .gz file
    assert not any("{" in p for p in first.passages)  # code is not prose
    assert all(len(p.split()) >= 5 for p in first.passages)
    assert "Installing the package" in first.queries
    assert first.files_read == 2  # the .png is skipped
    stats = corpus.length_stats([3, 5, 10])
    assert stats["max"] == 10 and stats["p50"] == 5


@pytest.fixture(scope="module")
def model_env(minilm_dir: Path) -> Iterator[Path]:
    old = os.environ.get("BENCH_MODEL_DIR")
    os.environ["BENCH_MODEL_DIR"] = str(minilm_dir)
    yield minilm_dir
    if old is None:
        os.environ.pop("BENCH_MODEL_DIR", None)
    else:
        os.environ["BENCH_MODEL_DIR"] = old


@pytest.fixture(scope="module")
def tiny_slice(
    model_env: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[str], list[int]]:
    """A few real passages (from /usr/share/doc when it has some), one past 256 tokens."""
    real = corpus.load_corpus(60, 5, max_files=200)
    texts = real.passages
    if len(texts) < 8:  # no Debian docs here: the synthetic tree
        root = tmp_path_factory.mktemp("docs")
        _write_doc_tree(root)
        texts = corpus.load_corpus(10, 5, root=root).passages
    texts = [*texts, " ".join([PROSE] * 12)]  # ~300 tokens: truncation is exercised too
    lengths = bench_dense.token_lengths(texts)
    pick = C.check_sample(texts, lengths, 8)
    return [texts[i] for i in pick], [lengths[i] for i in pick]


def _skip_if_missing(name: str) -> None:
    reason = C.missing_reason(name)
    if reason is not None:
        if name.startswith(("fastembed", "st", "ours_fused")):
            pytest.skip(reason)
        pytest.fail(reason)


@pytest.fixture(scope="module")
def reference(
    model_env: Path, tiny_slice: tuple[list[str], list[int]]
) -> tuple[str, np.ndarray, int]:
    name = "st" if C.missing_reason("st") is None else "ort_raw"
    vectors, max_length = C.vectors_for(name, tiny_slice[0])
    return name, vectors, max_length


@pytest.mark.parametrize("name", C.ALL)
def test_contender_matches_reference(
    name: str, reference: tuple[str, np.ndarray, int], tiny_slice: tuple[list[str], list[int]]
) -> None:
    _skip_if_missing(name)
    texts, lengths = tiny_slice
    ref_name, ref_vectors, ref_len = reference
    if name == ref_name:
        pytest.skip(f"{name} is the reference")
    vectors, max_length = C.vectors_for(name, texts)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    diff = C.max_abs_diff(vectors, ref_vectors, lengths, min(max_length, ref_len))
    assert diff["n_within"] >= len(texts) - 1
    assert diff["max_abs_diff"] <= bench_dense.TOLERANCE, (name, ref_name, diff)


def test_equality_check_report(model_env: Path, tiny_slice: tuple[list[str], list[int]]) -> None:
    """The benchmark's own check function, end to end, on the contenders that need no extra."""
    texts, lengths = tiny_slice
    report = bench_dense.equality_check(["ours", "ort_raw"], texts[:4], lengths[:4])
    checked = {n: e for n, e in report.items() if e.get("reference") is not True}
    assert checked, report
    assert all(e["ok"] for e in checked.values()), report
