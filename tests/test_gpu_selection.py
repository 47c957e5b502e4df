"""Asking for a GPU: the error (or, with allow_cpu_fallback=True, the warning) when it cannot
be had, in every form and from every class; TensorRT's options; the two-wheel trap.

This machine runs the CPU build of onnxruntime, so "CUDA is not in this build" is real here.
The other case, "the build has CUDA but did not activate it" (its libraries failed to load),
is reached by stubbing the one seam where ONNX Runtime reports providers,
``embed_plugins.engine.providers.available_providers`` / ``active_providers``; onnxruntime
itself then gets CUDA in its provider list and really falls back to the CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import embed_plugins
from embed_plugins import (
    ColbertSpec,
    ImageEmbedding,
    LateInteractionMultimodalEmbedding,
    LateInteractionTextEmbedding,
    ProviderError,
    ProviderFallbackWarning,
    SparseTextEmbedding,
    TextCrossEncoder,
    TextEmbedding,
    tensorrt_providers,
)
from embed_plugins.engine import providers as seam
from embed_plugins.engine.session import SessionConfig, create_session

CPU, CUDA, TRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
MODELS = Path(__file__).parent / "fixtures" / "models"
BERT = MODELS / "tiny-bert"
ONNX = BERT / "onnx" / "model.onnx"
SRC = Path(__file__).resolve().parent.parent / "src"

pytestmark = pytest.mark.skipif(
    CUDA in ort.get_available_providers(),
    reason="these checks need an onnxruntime build without CUDA (the CPU wheel)",
)

#: Every way of asking for CUDA, as constructor keywords.
CUDA_FORMS = {
    "device=cuda": {"device": "cuda"},
    "device=cuda:1": {"device": "cuda:1"},
    "cuda=True": {"cuda": True},
    "cuda=True,device_id": {"cuda": True, "device_id": 0},
    "providers=[CUDA,CPU]": {"providers": [CUDA, CPU]},
    "providers=[(CUDA,opts)]": {"providers": [(CUDA, {"device_id": 0})]},
}


def gpu_build_without_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seam says the build has CUDA and TensorRT; onnxruntime then cannot activate them."""
    monkeypatch.setattr(seam, "available_providers", lambda: [TRT, CUDA, CPU])


def quiet_ort() -> Any:
    """onnxruntime's own UserWarning about a provider it does not have (seam tests only)."""
    return warnings.catch_warnings()


# -- no silent fallback: the error ----------------------------------------------------------
@pytest.mark.parametrize("form", list(CUDA_FORMS))
def test_asking_for_cuda_on_the_cpu_build_is_an_error(form: str) -> None:
    with pytest.raises(ProviderError) as info:
        TextEmbedding(model_path=BERT, **CUDA_FORMS[form])
    message = str(info.value)
    assert "CUDA (CUDAExecutionProvider)" in message
    assert "a CPU build" in message and "has no CUDA" in message  # the reason
    assert f"{sys.executable} -m pip install onnxruntime-gpu" in message  # the install
    assert '-m pip install ".[gpu]"' in message  # from a checkout
    assert "--force-reinstall --no-deps onnxruntime-gpu" in message  # the clobber fix
    assert "allow_cpu_fallback=True" in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("form", list(CUDA_FORMS))
def test_allow_cpu_fallback_warns_and_runs_on_the_cpu(form: str) -> None:
    with pytest.warns(ProviderFallbackWarning) as record:
        model = TextEmbedding(model_path=BERT, allow_cpu_fallback=True, **CUDA_FORMS[form])
    message = str(record[0].message)
    assert "CUDA (CUDAExecutionProvider) is not in use" in message
    assert "Running on the CPU" in message and "has no CUDA" in message
    assert model.model.session.get_providers() == [CPU]
    texts = ["runs on the CPU", "with a warning"]
    expected = np.stack(list(TextEmbedding(model_path=BERT).embed(texts)))
    np.testing.assert_array_equal(np.stack(list(model.embed(texts))), expected)


def test_fallback_when_the_list_has_no_cpu() -> None:
    config = SessionConfig(providers=(CUDA,), allow_cpu_fallback=True)
    with pytest.warns(ProviderFallbackWarning, match="CUDA"):
        session = create_session(ONNX, config)
    assert session.get_providers() == [CPU]
    with pytest.raises(ProviderError, match="CUDA"):
        create_session(ONNX, SessionConfig(providers=(CUDA,)))


def test_cpu_only_requests_never_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for config in (
            SessionConfig(),
            SessionConfig(device="cpu"),
            SessionConfig(providers=(CPU,)),
        ):
            assert create_session(ONNX, config).get_providers() == [CPU]


TINY_COLBERT = ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")
#: Every class with an ONNX session, built on its tiny fixture.
CLASSES: dict[str, Callable[..., Any]] = {
    "TextEmbedding": lambda **kw: TextEmbedding(model_path=BERT, **kw),
    "SparseTextEmbedding": lambda **kw: SparseTextEmbedding(
        model_path=MODELS / "tiny-splade", **kw
    ),
    "LateInteractionTextEmbedding": lambda **kw: LateInteractionTextEmbedding(
        spec=TINY_COLBERT, model_path=MODELS / "tiny-colbert", **kw
    ),
    "TextCrossEncoder": lambda **kw: TextCrossEncoder(
        model_path=MODELS / "tiny-cross-encoder", **kw
    ),
    "ImageEmbedding": lambda **kw: ImageEmbedding(model_path=MODELS / "tiny-clip", **kw),
    "LateInteractionMultimodalEmbedding": lambda **kw: LateInteractionMultimodalEmbedding(
        model_path=MODELS / "tiny-colpali", **kw
    ),
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_every_class_refuses_or_falls_back(name: str) -> None:
    with pytest.raises(ProviderError, match=r"CUDA \(CUDAExecutionProvider\) was requested"):
        CLASSES[name](cuda=True)
    with pytest.warns(ProviderFallbackWarning, match="CUDA"):
        model = CLASSES[name](device="cuda", allow_cpu_fallback=True)
    assert model.model is not None


@pytest.mark.parametrize("name", list(CLASSES))
def test_allow_cpu_fallback_must_be_a_bool(name: str) -> None:
    with pytest.raises(TypeError, match="allow_cpu_fallback must be a bool"):
        CLASSES[name](allow_cpu_fallback="yes")


def test_adapters_take_allow_cpu_fallback() -> None:
    pytest.importorskip("langchain_core")
    pytest.importorskip("llama_index.core")
    from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings
    from embed_plugins.integrations.llama_index import EmbedPluginsEmbedding

    for adapter in (EmbedPluginsEmbeddings, EmbedPluginsEmbedding):
        with pytest.raises(ProviderError, match="CUDA"):
            adapter(model_path=str(BERT), cuda=True)
        with pytest.warns(ProviderFallbackWarning, match="CUDA"):
            fallback = adapter(model_path=str(BERT), device="cuda", allow_cpu_fallback=True)
        assert fallback.allow_cpu_fallback is True


def test_workers_carry_the_choice() -> None:
    """The parent of a GPU pool loads nothing; the workers raise, or fall back when allowed."""
    texts = [f"text {i}" for i in range(12)]
    expected = np.stack(list(TextEmbedding(model_path=BERT).embed(texts)))
    strict = TextEmbedding(model_path=BERT, cuda=True, device_ids=[0, 1])
    with pytest.raises(ProviderError, match=r"CUDA \(CUDAExecutionProvider\)"):  # as raised there
        list(strict.embed(texts, parallel=2))
    strict.close()
    with TextEmbedding(
        model_path=BERT, cuda=True, device_ids=[0, 1], allow_cpu_fallback=True
    ) as lenient:
        got = np.stack(list(lenient.embed(texts, batch_size=2, parallel=2)))
    np.testing.assert_allclose(got, expected, atol=1e-6)


# -- in the build, but not activated (its libraries did not load) -------------------------
def test_cuda_in_the_build_but_not_activated_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_build_without_libraries(monkeypatch)
    with quiet_ort(), pytest.raises(ProviderError) as info:
        warnings.simplefilter("ignore", UserWarning)
        TextEmbedding(model_path=BERT, device="cuda")
    message = str(info.value)
    assert "has CUDAExecutionProvider but did not activate it" in message
    assert "cuDNN" in message and "nvidia-smi" in message
    assert '"onnxruntime-gpu[cuda,cudnn]"' in message
    assert "the session got ['CPUExecutionProvider']" in message


def test_cuda_not_activated_with_fallback_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_build_without_libraries(monkeypatch)
    with quiet_ort(), pytest.warns(ProviderFallbackWarning, match="did not activate"):
        warnings.simplefilter("ignore", UserWarning)
        create_session(ONNX, SessionConfig(providers=(CUDA, CPU), allow_cpu_fallback=True))


def test_tensorrt_not_activated_names_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_build_without_libraries(monkeypatch)
    with quiet_ort(), pytest.raises(ProviderError) as info:
        warnings.simplefilter("ignore", UserWarning)
        create_session(ONNX, SessionConfig(device="tensorrt"))
    assert "TensorRT (TensorrtExecutionProvider) was requested" in str(info.value)
    assert "libnvinfer" in str(info.value) and "pip install tensorrt" in str(info.value)


def test_tensorrt_falling_back_to_cuda_warns_and_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorRT missing, CUDA active: still on the GPU, so a warning, not an error."""
    monkeypatch.setattr(seam, "available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(seam, "active_providers", lambda session: [CUDA, CPU])
    with quiet_ort(), pytest.warns(ProviderFallbackWarning) as record:
        warnings.simplefilter("ignore", UserWarning)
        create_session(ONNX, SessionConfig(device="tensorrt"))
    message = str(record[0].message)
    assert "TensorRT (TensorrtExecutionProvider) is not in use" in message
    assert "Running on CUDA (CUDAExecutionProvider)" in message


def test_tensorrt_missing_and_cuda_not_activated_names_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A GPU build without TensorRT whose CUDA libraries did not load: both reasons."""
    monkeypatch.setattr(seam, "available_providers", lambda: [CUDA, CPU])
    with quiet_ort(), pytest.raises(ProviderError) as info:
        warnings.simplefilter("ignore", UserWarning)
        create_session(ONNX, SessionConfig(device="tensorrt"))
    message = str(info.value)
    assert "has no TensorRT (TensorrtExecutionProvider)" in message
    assert "has CUDAExecutionProvider but did not activate it" in message
    assert '"onnxruntime-gpu[cuda,cudnn]"' in message


# -- TensorRT's options ---------------------------------------------------------------------
def test_tensorrt_device_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(tmp_path))
    cache = str(tmp_path / "tensorrt")
    assert SessionConfig(device="tensorrt").resolved_providers() == [
        (
            TRT,
            {
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": cache,
                "trt_fp16_enable": False,
            },
        ),
        CUDA,
        CPU,
    ]
    trt, cuda, cpu = SessionConfig(device="tensorrt:1").resolved_providers()
    assert trt[1]["device_id"] == 1 and cuda == (CUDA, {"device_id": 1}) and cpu == CPU  # type: ignore[index]


def test_tensorrt_providers_fp16_and_cache_dir(tmp_path: Path) -> None:
    (trt, options), cuda, cpu = tensorrt_providers(2, fp16=True, cache_dir=tmp_path / "engines")  # type: ignore[misc]
    assert trt == TRT and (cuda, cpu) == ((CUDA, {"device_id": 2}), CPU)
    assert options == {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(tmp_path / "engines"),
        "trt_fp16_enable": True,
        "device_id": 2,
    }
    workers = SessionConfig(providers=tuple(tensorrt_providers(fp16=True)), device_ids=(0, 3))
    second = workers.for_worker(1).resolved_providers()
    assert [dict(p[1]).get("device_id") for p in second[:2]] == [3, 3]  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs", [{"device_id": -1}, {"device_id": True}, {"device_id": "0"}, {"fp16": "yes"}]
)
def test_tensorrt_providers_bad_input(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        tensorrt_providers(**kwargs)


def test_tensorrt_cache_folder_is_created(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Made when TensorRT is handed to onnxruntime; not when it is not in the build."""
    config = SessionConfig(
        providers=tuple(tensorrt_providers(cache_dir=tmp_path / "trt")), allow_cpu_fallback=True
    )
    with pytest.warns(ProviderFallbackWarning, match="TensorRT"):
        create_session(ONNX, config)
    assert not (tmp_path / "trt").exists()
    gpu_build_without_libraries(monkeypatch)
    with quiet_ort(), pytest.warns(ProviderFallbackWarning, match="TensorRT"):
        warnings.simplefilter("ignore", UserWarning)
        create_session(ONNX, config)
    assert (tmp_path / "trt").is_dir()


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "cuda:-1", ""])
def test_bad_devices(device: str) -> None:
    with pytest.raises(ProviderError, match="device"):
        SessionConfig(device=device).resolved_providers()


# -- gpu_status and the two-wheel trap ------------------------------------------------------
def test_gpu_status_on_the_cpu_build() -> None:
    status = embed_plugins.gpu_status()
    assert status.cuda_works is False and not status.ok
    assert CPU in status.providers and CUDA not in status.providers
    assert any("has no CUDA provider" in p for p in status.problems)
    assert "pip install onnxruntime-gpu" in status.fix
    text = str(status)
    assert text.startswith("onnxruntime: onnxruntime ") and "CUDA works: False" in text


def test_gpu_status_probe_sees_cuda_not_activate(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_build_without_libraries(monkeypatch)
    with quiet_ort():
        warnings.simplefilter("ignore", UserWarning)
        status = embed_plugins.gpu_status()
    assert status.cuda_works is False
    assert any("did not activate" in p for p in status.problems)
    assert "onnxruntime-gpu[cuda,cudnn]" in status.fix
    assert embed_plugins.gpu_status(probe=False).cuda_works is None


def fake_dist(site: Path, name: str, version: str) -> None:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_a_shadowed_gpu_wheel_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_dist(tmp_path, "onnxruntime-gpu", "1.31.1")
    monkeypatch.syspath_prepend(str(tmp_path))
    status = embed_plugins.gpu_status(probe=False)
    assert any(
        "onnxruntime-gpu 1.31.1 is also installed" in p and str(tmp_path) in p
        for p in status.problems
    )


def test_both_wheels_in_one_folder_is_reported(tmp_path: Path) -> None:
    """The real trap, rebuilt: a site folder holding the onnxruntime package (the CPU build's
    files, linked from this environment) and the records of both distributions, imported in
    a fresh interpreter."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "onnxruntime").symlink_to(Path(ort.__file__).parent, target_is_directory=True)
    fake_dist(site, "onnxruntime", ort.__version__)
    fake_dist(site, "onnxruntime-gpu", "1.31.1")
    script = textwrap.dedent(
        f"""
        import embed_plugins
        print(embed_plugins.gpu_status(probe=False))
        try:
            embed_plugins.TextEmbedding(model_path={str(BERT)!r}, device="cuda")
        except embed_plugins.ProviderError as exc:
            print("ERROR:", exc)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    both = f"onnxruntime {ort.__version__} and onnxruntime-gpu 1.31.1 are both installed in {site}"
    assert f"problem: {both}" in out
    assert "the CPU build, which overwrote the GPU build" in out
    error = out[out.index("ERROR:") :]
    assert both in error and "-m pip uninstall -y onnxruntime onnxruntime-gpu" in error
