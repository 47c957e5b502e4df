"""Steps 3 and 4 of ``gpu_check.py``: every family on the device against the CPU, and
worker processes on the device.  Run by ``gpu_check.py``; see its docstring."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = FIXTURES / "models"
IMAGES = sorted((FIXTURES / "images").glob("*.*"))[:4]
IO_BINDING_ENV = "EMBED_PLUGINS_IO_BINDING"
#: Max abs difference allowed between the device and the CPU, in float32.
TOLERANCE = 1e-4
TEXTS = [
    "Late interaction keeps one vector per token.",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France. " * 12,
    "",
    "naïve café — 東京 и Москва",
]


# -- parity ------------------------------------------------------------------------------
def families() -> dict[str, tuple[Any, dict[str, Any], Any]]:
    """name -> (class, constructor keywords, probe(model) -> list of float arrays)."""
    from embed_plugins import (
        Bm42Spec,
        ColbertSpec,
        DenseSpec,
        ImageEmbedding,
        LateInteractionMultimodalEmbedding,
        LateInteractionTextEmbedding,
        SparseTextEmbedding,
        TextCrossEncoder,
        TextEmbedding,
    )

    def dense(m: Any) -> list[Any]:
        return list(m.embed(TEXTS, batch_size=2))

    def sparse(m: Any) -> list[Any]:
        # {index: value}: an index one side drops (a value at the edge of zero) counts as 0.
        return [
            dict(zip(v.indices.tolist(), v.values.tolist(), strict=True)) for v in m.embed(TEXTS)
        ]

    def images(m: Any) -> list[Any]:
        return list(m.embed(IMAGES))

    def colpali(m: Any) -> list[Any]:
        return [*m.embed_image(IMAGES), *m.embed_text(TEXTS[:2])]

    found = {
        "dense tiny-bert": (TextEmbedding, {"model_path": MODELS / "tiny-bert"}, dense),
        "dense tiny-xlmr": (
            TextEmbedding,
            {
                "spec": DenseSpec(model="t/xlmr", dim=32, pooling="mean"),
                "model_path": MODELS / "tiny-xlmr",
            },
            dense,
        ),
        "splade": (SparseTextEmbedding, {"model_path": MODELS / "tiny-splade"}, sparse),
        "bm42": (
            SparseTextEmbedding,
            {
                "spec": Bm42Spec(model="tiny-bert-attentions", output_name="attention_2"),
                "model_path": MODELS / "tiny-bert-attentions",
            },
            sparse,
        ),
        "colbert": (
            LateInteractionTextEmbedding,
            {
                "spec": ColbertSpec(model="t/colbert", dim=16, output_name="output"),
                "model_path": MODELS / "tiny-colbert",
            },
            dense,
        ),
        "rerank": (
            TextCrossEncoder,
            {"model_path": MODELS / "tiny-cross-encoder"},
            lambda m: [list(m.rerank("fox", TEXTS))],
        ),
        "image clip": (ImageEmbedding, {"model_path": MODELS / "tiny-clip"}, images),
        "colpali": (
            LateInteractionMultimodalEmbedding,
            {"model_path": MODELS / "tiny-colpali"},
            colpali,
        ),
        "colmodernvbert": (
            LateInteractionMultimodalEmbedding,
            {"model_path": MODELS / "tiny-colmodernvbert"},
            colpali,
        ),
    }
    minilm = Path(os.environ.get("EMBED_PLUGINS_MODELS_DIR", ROOT.parent / "shared" / "models"))
    minilm = minilm / "sentence-transformers" / "all-MiniLM-L6-v2"
    if (minilm / "onnx" / "model.onnx").is_file():
        found["dense all-MiniLM-L6-v2 (real)"] = (TextEmbedding, {"model_path": minilm}, dense)
    return found


CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def variants(gpu: bool) -> list[tuple[str, dict[str, Any]]]:
    """The device settings tried in turn until one is within :data:`TOLERANCE`: the
    library's default first; on a GPU then CUDA without TF32 (onnxruntime's CUDA provider
    may run float32 matrix products in TF32, which rounds inputs to 10 bits of mantissa)."""
    if not gpu:
        return [("cpu, io binding", {"device": "cpu"})]
    return [
        ("cuda=True", {"cuda": True}),
        ("use_tf32=0", {"providers": [(CUDA, {"use_tf32": 0}), CPU]}),
    ]


def compare(check: dict[str, Any], gpu: bool, run: Any, want: Any) -> None:
    """Fill ``check`` with each variant's difference, ``ok`` at the first within tolerance."""
    for label, device in variants(gpu):
        try:
            with binding(None if gpu else "1"):
                got, providers = run(device)
            diff = max(difference(g, w) for g, w in zip(got, want, strict=True))
            check[label] = {"providers": providers[:1], "max_abs_diff": diff}
            if providers[0] == (CUDA if gpu else CPU) and diff <= TOLERANCE:
                check["ok"], check["passed_with"] = True, label
                return
        except Exception as exc:
            check[label] = f"{type(exc).__name__}: {str(exc)[:400]}"


def parity(gpu: bool) -> list[dict[str, Any]]:
    print("\n== parity: device vs CPU (fp32)")
    checks = []
    for name, (cls, kwargs, probe) in families().items():
        check: dict[str, Any] = {"name": f"parity {name}", "ok": False}
        checks.append(check)

        def run(
            device: dict[str, Any], cls: Any = cls, kwargs: Any = kwargs, probe: Any = probe
        ) -> Any:
            model = cls(**kwargs, **device)
            return probe(model), model.model.session.get_providers()

        try:
            with binding("0"):
                want = probe(cls(**kwargs, device="cpu"))
            compare(check, gpu, run, want)
        except Exception as exc:
            check["detail"] = f"{type(exc).__name__}: {str(exc)[:400]}"
        _say(check)
    if gpu:
        checks.append(tensorrt_to_cuda())
    return checks


def tensorrt_to_cuda() -> dict[str, Any]:
    """No TensorRT on the machine: device='tensorrt' warns and runs on CUDA."""
    from embed_plugins import ProviderFallbackWarning, TextEmbedding

    check: dict[str, Any] = {"name": "device='tensorrt' without TensorRT -> CUDA", "ok": False}
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            model = TextEmbedding(model_path=MODELS / "tiny-bert", device="tensorrt")
        providers = model.model.session.get_providers()
        warned = [str(w.message)[:300] for w in seen if w.category is ProviderFallbackWarning]
        check.update(providers=providers, warning=warned[:1])
        check["ok"] = providers[0] == "CUDAExecutionProvider" and bool(warned)
    except Exception as exc:
        check["detail"] = f"{type(exc).__name__}: {str(exc)[:400]}"
    _say(check)
    return check


def difference(got: Any, want: Any) -> float:
    """Max abs difference of two arrays, or of two sparse vectors as ``{index: value}``."""
    import numpy as np

    if isinstance(got, dict):
        keys = set(got) | set(want)
        return max((abs(got.get(k, 0.0) - want.get(k, 0.0)) for k in keys), default=0.0)
    return float(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64)).max())


# -- workers -----------------------------------------------------------------------------
def workers(gpu: bool) -> list[dict[str, Any]]:
    """``parallel=2`` with ``device_ids=[0]``: two worker processes on the device."""
    import numpy as np

    from embed_plugins import TextEmbedding

    print("\n== workers: parallel=2 on the device")
    check: dict[str, Any] = {"name": "parallel=2 workers, device_ids=[0]", "ok": False}
    texts = [f"{t} {i}" for i in range(64) for t in TEXTS[:3]]

    def run(device: dict[str, Any]) -> Any:
        ids = {"device_ids": [0]} if gpu else {}
        # The workers inherit the environment, so the binding choice too.
        with TextEmbedding(model_path=MODELS / "tiny-bert", **device, **ids) as model:
            started = time.perf_counter()
            got = np.stack(list(model.embed(texts, batch_size=16, parallel=2)))
            check["seconds"] = round(time.perf_counter() - started, 2)
        # A worker that could not use the GPU raised (no fallback was allowed).
        return [got], [CUDA if gpu else CPU]

    try:
        with binding("0"):
            want = list(TextEmbedding(model_path=MODELS / "tiny-bert").embed(texts))
        compare(check, gpu, run, [np.stack(want)])
    except Exception as exc:  # a worker's ProviderError arrives here too
        check["detail"] = f"{type(exc).__name__}: {str(exc)[:400]}"
    _say(check)
    return [check]


@contextlib.contextmanager
def binding(value: str | None) -> Iterator[None]:
    """``EMBED_PLUGINS_IO_BINDING`` set (``None``: unset, the library's own choice)."""
    saved = os.environ.pop(IO_BINDING_ENV, None)
    if value is not None:
        os.environ[IO_BINDING_ENV] = value
    try:
        yield
    finally:
        os.environ.pop(IO_BINDING_ENV, None)
        if saved is not None:
            os.environ[IO_BINDING_ENV] = saved


def _say(check: dict[str, Any]) -> None:
    facts = {k: v for k, v in check.items() if k not in ("name", "ok")}
    print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['name']}: {facts}", flush=True)
