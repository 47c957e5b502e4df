"""benchmarks/gpu_check.py's parts that run without a GPU: joining a wheel carried in
pieces, reading its metadata, and the parity and worker checks in CPU rehearsal (the I/O
binding path on the CPU provider against plain runs).  No timing is asserted."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import gpu_check  # noqa: E402
import gpu_parity  # noqa: E402

WHEEL = "onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_27_x86_64.whl"
METADATA = (
    "Metadata-Version: 2.1\nName: onnxruntime-gpu\nVersion: 1.31.1\n"
    'Requires-Dist: numpy>=1.21\nRequires-Dist: nvidia-cudnn-cu13~=9.0; extra == "cudnn"\n'
    "\nName: not a header (the description)\n"
)


def make_wheel(path: Path) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("onnxruntime_gpu-1.31.1.dist-info/METADATA", METADATA)
        archive.writestr("onnxruntime/capi/blob.bin", bytes(range(256)) * 600)
    return path.read_bytes()


def test_a_wheel_in_pieces_is_joined_in_number_order(tmp_path: Path) -> None:
    data = make_wheel(tmp_path / WHEEL)
    carried = tmp_path / "carried"
    carried.mkdir()
    size = len(data) // 11 + 1  # 11 pieces: part10 and part11 must come after part9
    for i in range(0, len(data), size):
        (carried / f"{WHEEL}.part{i // size + 1}").write_bytes(data[i : i + size])
    (joined,) = gpu_check.reassemble(carried, into=tmp_path / "joined")
    assert joined.name == WHEEL and joined.read_bytes() == data
    assert gpu_check.wheel_metadata(joined) == {
        "Name": "onnxruntime-gpu",
        "Version": "1.31.1",
        "Requires-Dist": 'numpy>=1.21 | nvidia-cudnn-cu13~=9.0; extra == "cudnn"',
    }


def test_a_missing_piece_is_named(tmp_path: Path) -> None:
    data = make_wheel(tmp_path / WHEEL)
    carried = tmp_path / "carried"
    carried.mkdir()
    half = len(data) // 2
    (carried / f"{WHEEL}.part1").write_bytes(data[:half])  # part2 never arrived
    with pytest.raises(SystemExit, match="not a wheel"):
        gpu_check.reassemble(carried, into=tmp_path / "joined")


def test_the_install_plan_without_pip(tmp_path: Path) -> None:
    make_wheel(tmp_path / WHEEL)
    plan = gpu_check.install(tmp_path, run=False)
    assert plan["wheels"][WHEEL]["Version"] == "1.31.1"
    assert plan["commands"][0].endswith("-m pip uninstall -y onnxruntime")
    assert "--no-deps --no-index" in plan["commands"][1]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="no onnxruntime-gpu wheel"):
        gpu_check.install(empty, run=False)


def test_parity_and_workers_rehearse_on_the_cpu() -> None:
    checks = gpu_parity.parity(gpu=False) + gpu_parity.workers(gpu=False)
    assert {c["name"] for c in checks} >= {
        "parity dense tiny-bert",
        "parity splade",
        "parity bm42",
        "parity colbert",
        "parity rerank",
        "parity image clip",
        "parity colpali",
        "parity colmodernvbert",
        "parallel=2 workers, device_ids=[0]",
    }
    assert all(c["ok"] for c in checks), [c for c in checks if not c["ok"]]


def test_sparse_vectors_compare_over_the_union_of_indices() -> None:
    assert gpu_parity.difference({1: 0.5, 7: 1e-7}, {1: 0.5}) == pytest.approx(1e-7)
    assert gpu_parity.difference({}, {}) == 0.0


def test_goals_are_ratios_to_the_best_st_row() -> None:
    rows = [
        {"model": "m", "name": "ours fp32", "tokens_per_s": 150.0},
        {"model": "m", "name": "ours fused fp16", "tokens_per_s": 300.0},
        {"model": "m", "name": "st fp16 bs=32", "tokens_per_s": 200.0},
        {"model": "m", "name": "st fp16 bs=128", "tokens_per_s": 250.0},
    ]
    assert gpu_check.goals(rows) == {
        "m": {"ours": "ours fused fp16", "st": "st fp16 bs=128", "ratio": 1.2, "goal_1x_met": True}
    }
