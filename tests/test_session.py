"""ONNX Runtime sessions: configuration, providers, threads."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from embed_plugins import ModelLoadError, ProviderError, ProviderFallbackWarning, TextEmbedding
from embed_plugins.engine.session import (
    GraphIO,
    SessionConfig,
    as_provider_tuple,
    create_session,
    default_threads,
)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


@pytest.fixture(scope="module")
def onnx_path(minilm_dir: Path) -> Path:
    return minilm_dir / "onnx" / "model.onnx"


#: A provider this onnxruntime build lacks (CUDA on the CPU wheel CI uses).
UNAVAILABLE = next(
    p
    for p in (CUDA, "CoreMLExecutionProvider", "DmlExecutionProvider", "NoSuchExecutionProvider")
    if p not in ort.get_available_providers()
)


@pytest.fixture(scope="module")
def no_cuda() -> None:
    if CUDA in ort.get_available_providers():
        pytest.skip("these checks need an onnxruntime build without CUDA (the CPU wheel)")


def feeds(n: int = 4) -> dict[str, np.ndarray]:
    ids = np.array([[101] + [2000 + i for i in range(n - 2)] + [102]], dtype=np.int64)
    return {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
    }


# -- SessionConfig validation --------------------------------------------------------------


@pytest.mark.parametrize("threads", [-1, 1.5, "4"])
def test_bad_threads(threads: object) -> None:
    with pytest.raises(ValueError, match="threads"):
        SessionConfig(threads=threads)  # type: ignore[arg-type]


@pytest.mark.parametrize("threads", [None, 0, 1, 8])
def test_good_threads(threads: int | None) -> None:
    assert SessionConfig(threads=threads).threads == threads


def test_bad_graph_optimization() -> None:
    with pytest.raises(ValueError, match="graph_optimization"):
        SessionConfig(graph_optimization="max")


def test_with_threads_keeps_other_fields() -> None:
    config = SessionConfig(device="cuda:1", graph_optimization="basic", threads=2)
    changed = config.with_threads(5)
    assert changed.threads == 5
    assert (changed.device, changed.graph_optimization) == ("cuda:1", "basic")


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        SessionConfig().threads = 3  # type: ignore[misc]


# -- device shorthand ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (None, [CPU]),
        ("cpu", [CPU]),
        ("CPU", [CPU]),
        ("cuda", [CUDA, CPU]),
        ("cuda:1", [(CUDA, {"device_id": 1}), CPU]),
        ("coreml", ["CoreMLExecutionProvider", CPU]),
        ("directml", ["DmlExecutionProvider", CPU]),
        ("openvino", ["OpenVINOExecutionProvider", CPU]),
    ],
)
def test_device_shorthand(device: str | None, expected: list[object]) -> None:
    assert SessionConfig(device=device).resolved_providers() == expected


def test_explicit_providers_override_device() -> None:
    config = SessionConfig(providers=(CPU,), device="cuda")
    assert config.resolved_providers() == [CPU]


def test_unknown_device() -> None:
    with pytest.raises(ProviderError, match="tpu"):
        SessionConfig(device="tpu").resolved_providers()


def test_as_provider_tuple() -> None:
    assert as_provider_tuple(None) is None
    assert as_provider_tuple([CPU, (CUDA, {"device_id": 0})]) == (CPU, (CUDA, {"device_id": 0}))
    with pytest.raises(TypeError):
        as_provider_tuple(CPU)  # type: ignore[arg-type]


# -- providers at run time -----------------------------------------------------------------


def test_cpu_session_has_no_warning(onnx_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session = create_session(onnx_path, SessionConfig())
    assert session.get_providers()[0] == CPU


def test_unavailable_provider_warns_and_runs_on_cpu(onnx_path: Path) -> None:
    config = SessionConfig(providers=(UNAVAILABLE, CPU), allow_cpu_fallback=True)
    with pytest.warns(ProviderFallbackWarning) as record:
        session = create_session(onnx_path, config)
    message = str(record[0].message)
    assert UNAVAILABLE in message
    assert CPU in message
    assert session.get_providers() == [CPU]
    (hidden,) = session.run(["last_hidden_state"], feeds())
    assert hidden.shape == (1, 4, 384)
    assert np.isfinite(hidden).all()


def test_cuda_device_shorthand_warns(onnx_path: Path, no_cuda: None) -> None:
    with pytest.warns(ProviderFallbackWarning, match=CUDA):
        session = create_session(onnx_path, SessionConfig(device="cuda:0", allow_cpu_fallback=True))
    assert session.get_providers() == [CPU]


def test_text_embedding_with_cuda_warns_and_still_embeds(
    offline_models: Path, minilm: TextEmbedding, no_cuda: None
) -> None:
    with pytest.warns(ProviderFallbackWarning, match=CUDA):
        model = TextEmbedding(
            "sentence-transformers/all-MiniLM-L6-v2", cuda=True, allow_cpu_fallback=True
        )
    got = next(iter(model.embed("runs on the CPU")))
    np.testing.assert_allclose(got, next(iter(minilm.embed("runs on the CPU"))), atol=1e-6)


def test_only_unavailable_providers_raise(onnx_path: Path) -> None:
    with pytest.raises(ProviderError) as info:
        create_session(onnx_path, SessionConfig(providers=(UNAVAILABLE, "NoSuchExecutionProvider")))
    assert UNAVAILABLE in str(info.value)
    assert CPU in str(info.value)  # the available ones are listed


def test_only_unavailable_providers_raise_from_text_embedding(offline_models: Path) -> None:
    with pytest.raises(ProviderError, match=UNAVAILABLE):
        TextEmbedding("sentence-transformers/all-MiniLM-L6-v2", providers=[UNAVAILABLE])


def test_provider_with_options_that_is_unavailable(onnx_path: Path) -> None:
    config = SessionConfig(
        providers=((UNAVAILABLE, {"device_id": 0}), CPU), allow_cpu_fallback=True
    )
    with pytest.warns(ProviderFallbackWarning, match=UNAVAILABLE):
        session = create_session(onnx_path, config)
    assert session.get_providers() == [CPU]


def test_missing_onnx_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        create_session(tmp_path / "nope.onnx", SessionConfig())


def test_broken_onnx_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx graph")
    with pytest.raises(ModelLoadError, match=r"bad\.onnx"):
        create_session(bad, SessionConfig())


# -- threads and options -------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 3])
def test_threads_are_honoured(onnx_path: Path, threads: int) -> None:
    session = create_session(onnx_path, SessionConfig(threads=threads))
    options = session.get_session_options()
    assert options.intra_op_num_threads == threads
    assert options.inter_op_num_threads == 1


def test_no_threads_leaves_onnxruntime_default(onnx_path: Path) -> None:
    session = create_session(onnx_path, SessionConfig(threads=None))
    assert session.get_session_options().intra_op_num_threads == 0


def test_text_embedding_passes_threads(offline_models: Path) -> None:
    model = TextEmbedding("sentence-transformers/all-MiniLM-L6-v2", threads=2)
    session = model._runner.pipeline().session  # type: ignore[attr-defined]
    assert session.get_session_options().intra_op_num_threads == 2


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("disable", ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
        ("basic", ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
        ("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
    ],
)
def test_graph_optimization_level(onnx_path: Path, level: str, expected: object) -> None:
    session = create_session(onnx_path, SessionConfig(graph_optimization=level))
    assert session.get_session_options().graph_optimization_level == expected


def test_extra_session_options(onnx_path: Path) -> None:
    config = SessionConfig(extra_session_options={"session.intra_op.allow_spinning": "0"})
    session = create_session(onnx_path, config)
    entry = session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning"
    )
    assert entry == "0"


def test_default_threads_positive() -> None:
    assert default_threads() >= 1


# -- graph inputs and outputs --------------------------------------------------------------


def test_graph_io_of_minilm(onnx_path: Path) -> None:
    io = GraphIO.of(create_session(onnx_path, SessionConfig()))
    assert set(io.inputs) == {"input_ids", "attention_mask", "token_type_ids"}
    assert io.outputs[0] == "last_hidden_state"
    assert io.pick_output(None, "m") == "last_hidden_state"
    with pytest.raises(ModelLoadError, match="no output 'pooled'"):
        io.pick_output("pooled", "m")


def test_select_feeds_casts_and_drops(onnx_path: Path) -> None:
    io = GraphIO.of(create_session(onnx_path, SessionConfig()))
    given = {k: v.astype(np.int32) for k, v in feeds().items()}
    given["extra"] = np.zeros(3)
    selected = io.select_feeds(given, "m")
    assert set(selected) == set(io.inputs)
    assert all(v.dtype == io.input_dtypes[k] for k, v in selected.items())
    missing = {k: v for k, v in feeds().items() if k != "token_type_ids"}
    with pytest.raises(ModelLoadError, match="token_type_ids"):
        io.select_feeds(missing, "m")
