"""fastembed's ``device_ids`` with ``parallel``: one worker per GPU, in turn, and no model
in the parent.  The device each worker was given is read from its session config through a
stand-in pipeline (this machine has no GPU; creating a CUDA session is the GPU issue's check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from embed_plugins import TextEmbedding
from embed_plugins.catalog.spec import DenseSpec, ModelSpec
from embed_plugins.engine.pipeline import PipelineRecipe
from embed_plugins.engine.pool import WorkerPool
from embed_plugins.models.base import session_config
from pool_helpers import build_device

TINY_BERT = Path(__file__).parent / "fixtures" / "models" / "tiny-bert"


def config(**kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "threads": None,
        "providers": None,
        "cuda": False,
        "device_ids": None,
        "device": None,
        "graph_optimization": "all",
    }
    args.update(kw)
    return session_config(**args)  # type: ignore[arg-type]


def test_each_worker_gets_the_next_device() -> None:
    cfg = config(cuda=True, device_ids=[0, 1, 3])
    assert cfg.device == "cuda:0"  # this process, if it ever loads: the first device
    assert [cfg.for_worker(i).device for i in range(4)] == ["cuda:0", "cuda:1", "cuda:3", "cuda:0"]
    by_providers = config(
        providers=["CUDAExecutionProvider", "CPUExecutionProvider"], device_ids=[2, 5]
    )
    assert by_providers.for_worker(1).providers == (
        ("CUDAExecutionProvider", {"device_id": 5}),
        "CPUExecutionProvider",
    )
    single = config(cuda=True, device_ids=[4])
    assert single.device == "cuda:4" and single.for_worker(3) is single


def test_pool_workers_run_on_their_own_devices() -> None:
    recipe = PipelineRecipe(
        build=build_device,
        spec=ModelSpec(model="devices"),
        model_dir=None,
        session=config(cuda=True, device_ids=[0, 1]),
    )
    pool = WorkerPool(recipe, 2)
    try:
        seen = list(pool.run(list(range(64)), 4, "document", lambda x, i: x, lambda x: 1))
    finally:
        pool.close()
    names = {p if isinstance(p, str) else f"{p[0]}:{p[1]['device_id']}" for p in seen}
    assert names == {"CUDAExecutionProvider:0", "CUDAExecutionProvider:1"}


def test_several_devices_leave_the_parent_without_a_model() -> None:
    spec = DenseSpec(model="d/a", dim=32, model_file="onnx/model.onnx")
    model = TextEmbedding(spec=spec, model_path=TINY_BERT, cuda=True, device_ids=[0, 1])
    assert model.model is None  # no GPU touched at construction; workers will load
    with pytest.raises(ValueError, match="device_ids is empty"):
        TextEmbedding(spec=spec, model_path=TINY_BERT, cuda=True, device_ids=[])
