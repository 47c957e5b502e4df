"""One model object, many threads: every family's results equal single-threaded ones.

Real multilingual text (Debian's translated manual pages, tests/fixtures/data/), the
real all-MiniLM-L6-v2 for dense, the tiny fixtures for the others, 16 threads calling
the same object at once, every result compared with the one computed alone first.
(BM25 has its own, larger stress test: tests/test_bm25_concurrency.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    ColbertSpec,
    ImageEmbedding,
    LateInteractionMultimodalEmbedding,
    LateInteractionTextEmbedding,
    TextCrossEncoder,
    TextEmbedding,
)

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
THREADS = 16


def corpus() -> list[str]:
    lines = (FIXTURES / "data" / "bm25_multilingual.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[1] for line in lines[::7]]


TEXTS = corpus()


def hammer(work: Callable[[int], Any]) -> dict[int, Any]:
    """Run ``work(k)`` on THREADS threads at once; every exception fails the test."""
    out: dict[int, Any] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run(k: int) -> None:
        try:
            start.wait()
            out[k] = work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [], errors[:3]
    assert len(out) == THREADS
    return out


def slice_of(k: int) -> list[str]:
    step = max(1, len(TEXTS) // THREADS)
    return TEXTS[k * step : k * step + 12] + TEXTS[: k % 5]


def test_corpus_is_multilingual() -> None:
    assert len(TEXTS) > 100
    assert any("\u0400" <= ch <= "\u04ff" for ch in "".join(TEXTS))  # Cyrillic
    assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(TEXTS))  # CJK


def test_dense_real_model(minilm: TextEmbedding) -> None:
    expected = {k: np.stack(list(minilm.embed(slice_of(k), batch_size=8))) for k in range(THREADS)}
    got = hammer(lambda k: np.stack(list(minilm.embed(slice_of(k), batch_size=8))))
    for k in range(THREADS):
        np.testing.assert_allclose(got[k], expected[k], atol=1e-6)


def test_cross_encoder() -> None:
    model = TextCrossEncoder(model_path=MODELS / "tiny-cross-encoder")
    expected = {k: list(model.rerank(TEXTS[k], slice_of(k))) for k in range(THREADS)}
    got = hammer(lambda k: list(model.rerank(TEXTS[k], slice_of(k))))
    for k in range(THREADS):
        np.testing.assert_allclose(got[k], expected[k], atol=1e-6)


def test_colbert() -> None:
    spec = ColbertSpec(model="tiny-colbert", dim=16, output_name="output")
    model = LateInteractionTextEmbedding(spec=spec, model_path=MODELS / "tiny-colbert")

    def work(k: int) -> list[np.ndarray]:
        return [*model.embed(slice_of(k), batch_size=4), *model.query_embed(slice_of(k)[:3])]

    expected = {k: work(k) for k in range(THREADS)}
    got = hammer(work)
    for k in range(THREADS):
        for a, b in zip(got[k], expected[k], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6)


IMAGES = sorted((FIXTURES / "images").rglob("*.png")) + sorted((FIXTURES / "images").rglob("*.jpg"))


def test_images() -> None:
    model = ImageEmbedding(model_path=MODELS / "tiny-clip")

    def pick(k: int) -> list[Any]:
        chosen = [IMAGES[(k + i) % len(IMAGES)] for i in range(5)]
        return [chosen[0], chosen[1].read_bytes(), *chosen[2:]]

    expected = {k: np.stack(list(model.embed(pick(k), batch_size=2))) for k in range(THREADS)}
    got = hammer(lambda k: np.stack(list(model.embed(pick(k), batch_size=2))))
    for k in range(THREADS):
        np.testing.assert_allclose(got[k], expected[k], atol=1e-6)


@pytest.mark.parametrize("folder", ["tiny-colpali", "tiny-colmodernvbert"])
def test_multimodal(folder: str) -> None:
    model = LateInteractionMultimodalEmbedding(model_path=MODELS / folder)

    def work(k: int) -> list[np.ndarray]:
        pages = [IMAGES[(k + i) % len(IMAGES)] for i in range(2)]
        return [*model.embed_image(pages), *model.embed_text(slice_of(k)[:3])]

    expected = {k: work(k) for k in range(THREADS)}
    got = hammer(work)
    for k in range(THREADS):
        for a, b in zip(got[k], expected[k], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
