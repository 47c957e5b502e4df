"""The GPU run path on this CPU-only machine: I/O binding (which onnxruntime also offers on
the CPU provider, so the code path that GPU sessions take runs here, forced on with
``EMBED_PLUGINS_IO_BINDING=1``) gives the same outputs as ``session.run`` for every family;
and the batch budget a GPU session gets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    Bm42Spec,
    ColbertSpec,
    DenseSpec,
    ImageEmbedding,
    InferenceError,
    LateInteractionMultimodalEmbedding,
    LateInteractionTextEmbedding,
    SparseTextEmbedding,
    TextCrossEncoder,
    TextEmbedding,
)
from embed_plugins.engine import session as session_module
from embed_plugins.engine.batching import (
    DEFAULT_TOKEN_BUDGET,
    GPU_TOKEN_BUDGET,
    device_token_budget,
)
from embed_plugins.engine.session import (
    IO_BINDING_ENV,
    SessionConfig,
    binding_device,
    create_session,
    run_session,
    runs_on_gpu,
)

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
BERT = MODELS / "tiny-bert"
ONNX = BERT / "onnx" / "model.onnx"
IMAGES = sorted((FIXTURES / "images").glob("*.*"))[:3]
TEXTS = ["late interaction keeps one vector per token", "the quick brown fox", "", "Paris " * 30]


def feeds(rows: int = 2, length: int = 5) -> dict[str, np.ndarray]:
    ids = np.full((rows, length), 20, dtype=np.int64)
    ids[:, 0], ids[:, -1] = 6, 7
    return {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
    }


def run(session: Any, names: list[str] | None) -> list[np.ndarray]:
    return run_session(session, names, feeds(), model="m", onnx_file=ONNX, indices=(0, 1))


def test_cpu_sessions_run_plainly_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    session = create_session(ONNX, SessionConfig())
    assert not runs_on_gpu(session)
    monkeypatch.delenv(IO_BINDING_ENV, raising=False)
    assert binding_device(session) is None
    monkeypatch.setenv(IO_BINDING_ENV, "1")
    assert binding_device(session) == ("cpu", 0)
    monkeypatch.setenv(IO_BINDING_ENV, "0")
    assert binding_device(session) is None


@pytest.mark.parametrize("names", [None, ["last_hidden_state"]])
def test_bound_run_equals_plain_run(monkeypatch: pytest.MonkeyPatch, names: Any) -> None:
    session = create_session(ONNX, SessionConfig())
    monkeypatch.delenv(IO_BINDING_ENV, raising=False)
    plain = run(session, names)
    monkeypatch.setenv(IO_BINDING_ENV, "1")
    bound = run(session, names)
    assert [a.shape for a in bound] == [a.shape for a in plain]
    for got, want in zip(bound, plain, strict=True):
        np.testing.assert_array_equal(got, want)
        assert got.flags.writeable and got.dtype == want.dtype


def test_bound_run_errors_name_the_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    session = create_session(ONNX, SessionConfig())
    monkeypatch.setenv(IO_BINDING_ENV, "1")
    bad = feeds()
    bad["attention_mask"] = bad["attention_mask"][:, :3]  # rows of another length
    with pytest.raises(InferenceError) as info:
        run_session(session, None, bad, model="m", onnx_file=ONNX, indices=(4, 9))
    assert "attention_mask (2, 3)" in str(info.value) and "4" in str(info.value)


XLMR = DenseSpec(model="t/xlmr", dim=32, pooling="cls")
TINY_COLBERT = ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")
#: One probe per family: what its public class returns for a few inputs, as arrays.
FAMILIES: dict[str, Callable[[], list[np.ndarray]]] = {
    "dense": lambda: list(TextEmbedding(model_path=BERT).embed(TEXTS, batch_size=2)),
    "dense-xlmr": lambda: list(
        TextEmbedding(spec=XLMR, model_path=MODELS / "tiny-xlmr").embed(TEXTS)
    ),
    "splade": lambda: [
        v.values for v in SparseTextEmbedding(model_path=MODELS / "tiny-splade").embed(TEXTS)
    ],
    "bm42": lambda: [
        v.values
        for v in SparseTextEmbedding(
            spec=Bm42Spec(model="tiny-bert-attentions", output_name="attention_2"),
            model_path=MODELS / "tiny-bert-attentions",
        ).embed(TEXTS)
    ],
    "colbert": lambda: list(
        LateInteractionTextEmbedding(spec=TINY_COLBERT, model_path=MODELS / "tiny-colbert").embed(
            TEXTS
        )
    ),
    "rerank": lambda: [
        np.asarray(
            list(TextCrossEncoder(model_path=MODELS / "tiny-cross-encoder").rerank("fox", TEXTS))
        )
    ],
    "image": lambda: list(ImageEmbedding(model_path=MODELS / "tiny-clip").embed(IMAGES)),
    "colpali": lambda: [
        *LateInteractionMultimodalEmbedding(model_path=MODELS / "tiny-colpali").embed_image(IMAGES),
        *LateInteractionMultimodalEmbedding(model_path=MODELS / "tiny-colpali").embed_text(
            TEXTS[:2]
        ),
    ],
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_gives_the_same_results_through_io_binding(
    monkeypatch: pytest.MonkeyPatch, family: str
) -> None:
    bound_runs = []
    real = session_module.run_bound

    def spy(*args: Any) -> list[np.ndarray]:
        bound_runs.append(1)
        return real(*args)

    monkeypatch.setattr(session_module, "run_bound", spy)
    monkeypatch.delenv(IO_BINDING_ENV, raising=False)
    plain = FAMILIES[family]()
    assert not bound_runs
    monkeypatch.setenv(IO_BINDING_ENV, "1")
    bound = FAMILIES[family]()
    assert bound_runs, "the binding path did not run"
    assert len(bound) == len(plain)
    for got, want in zip(bound, plain, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


# -- batch budgets ----------------------------------------------------------------------------
def test_device_token_budget() -> None:
    assert device_token_budget(DEFAULT_TOKEN_BUDGET, on_gpu=False) == DEFAULT_TOKEN_BUDGET
    assert device_token_budget(DEFAULT_TOKEN_BUDGET, on_gpu=True) == GPU_TOKEN_BUDGET
    assert device_token_budget(4_096, on_gpu=True) == 4_096  # a family's own choice stays
    assert GPU_TOKEN_BUDGET > DEFAULT_TOKEN_BUDGET


def test_cpu_pipelines_keep_the_cpu_budget() -> None:
    assert TextEmbedding(model_path=BERT).model.token_budget == DEFAULT_TOKEN_BUDGET
