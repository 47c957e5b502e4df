"""The GPU check of issue 16, as one script: install, check, time, report.

On a machine with an NVIDIA GPU (written for an H100: Python 3.12, torch 2.11 cu130,
sentence-transformers 6.0, the CPU build of onnxruntime 1.30, CUDA 13 runtime / cuBLAS /
cuDNN 9 as pip packages, no network, no TensorRT)::

    python benchmarks/gpu_check.py --wheels DIR [--out results.json] [--quick]

``DIR`` holds the onnxruntime-gpu wheel (``onnxruntime_gpu-1.31.1-cp312-...whl``, or the
pieces it was carried in, ``onnxruntime_gpu-*.whl.part*``, joined here with ``cat`` in
name order) and any other wheel the machine lacks (``py_rust_stemmers``, which
``import embed_plugins`` needs).  Step by step:

1. **install**: the CPU ``onnxruntime`` is uninstalled and the wheels installed with
   ``pip --no-deps --no-index``: the README's way of having exactly one onnxruntime (skipped
   when onnxruntime-gpu of that version is already the one imported);
2. **environment**: versions, ``embed_plugins.gpu_status()`` (with its CUDA probe); if CUDA
   does not activate, the script runs again once with ``LD_LIBRARY_PATH`` set to the
   ``nvidia/*/lib`` folders and says so (a finding: the library's own preload was not enough);
3. **parity**: every family on its tiny fixture (``tests/fixtures/models``) and the real
   all-MiniLM-L6-v2 if ``$EMBED_PLUGINS_MODELS_DIR`` has it, on the device against the CPU,
   max abs difference <= 1e-4 (fp32), with the CUDA provider checked active in each session;
   ``device="tensorrt"`` (no TensorRT here) must warn and run on CUDA;
4. **workers**: ``TextEmbedding(..., cuda=True, device_ids=[0]).embed(texts, parallel=2)``
   equals the CPU;
5. **throughput**: ``gpu_speed.py`` (tokens/s against sentence-transformers fp16);
6. one table on stdout and the whole report as JSON (``--out``, default
   ``benchmarks/results/gpu.json``).  Exit code 1 when a check fails.

``--cpu-rehearsal`` runs every step that can run without a GPU, on the CPU provider: no
install, I/O binding forced on (the path CUDA sessions take), smaller inputs, float32
sentence-transformers rows, no float16 rows.  Its report goes to
``benchmarks/results/gpu_rehearsal.json``; nothing in it is a GPU figure.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).resolve().parent)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with the onnxruntime-gpu wheel")
    parser.add_argument("--cpu-rehearsal", action="store_true", help="everything but the GPU")
    parser.add_argument("--out", type=Path, help="JSON report path")
    parser.add_argument("--quick", action="store_true", help="fewer passages, shorter timings")
    parser.add_argument("--work", type=Path, help="folder for the built models (default: tmp)")
    parser.add_argument("--skip-speed", action="store_true", help="checks only, no throughput")
    parser.add_argument("--installed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ld-retry", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    gpu = not args.cpu_rehearsal
    if gpu and not args.installed:
        if args.wheels is None:
            parser.error("--wheels DIR is needed (or --cpu-rehearsal)")
        install(args.wheels)
        os.execv(sys.executable, [sys.executable, *sys.argv, "--installed"])
    plan = install(args.wheels, run=False) if args.wheels and not gpu else None
    default = "gpu.json" if gpu else "gpu_rehearsal.json"
    out = args.out or ROOT / "benchmarks" / "results" / default
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu_check-"))
    os.environ.setdefault("EMBED_PLUGINS_CACHE_DIR", str(work / "cache"))
    report: dict[str, Any] = {"mode": "gpu" if gpu else "cpu-rehearsal", "checks": []}
    if plan is not None:
        report["install_rehearsed"] = plan
    report["environment"] = environment(gpu, args.ld_retry)
    if gpu and not report["environment"]["cuda_works"] and not args.ld_retry:
        retry_with_library_path()
    from gpu_parity import parity, workers

    checks = report["checks"]
    checks += parity(gpu)
    checks += workers(gpu)
    if not args.skip_speed:
        from gpu_speed import speed_rows

        count = (128 if args.quick else 1024) if gpu else (8 if args.quick else 16)
        budgets = (4_096, 65_536) if gpu else (4_096,)
        min_seconds = (1.0 if args.quick else 3.0) if gpu else 0.0
        rows, facts = speed_rows(
            work / "models", on_gpu=gpu, count=count, min_seconds=min_seconds, budgets=budgets
        )
        report["throughput"] = [vars(r) for r in rows]
        report["throughput_facts"] = facts
        checks += [
            {"name": f"speed {r.model} {r.name}", "ok": False, "detail": r.error}
            for r in rows
            if r.error
        ]
        checks += [
            {
                "name": f"same tokens {r.model} {r.name}",
                "ok": r.extra["st_tokens_of_64"] == r.extra["expected_tokens_of_64"],
                "detail": {k: v for k, v in r.extra.items() if "tokens" in k},
            }
            for r in rows
            if "st_tokens_of_64" in r.extra
        ]
        report["goals"] = goals(report["throughput"])
        if not gpu:  # CPU float32 against CPU float32: no statement about the GPU goal
            for goal in report["goals"].values():
                goal.pop("goal_1x_met")
    print_report(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nreport: {out}")
    return 0 if all(c["ok"] for c in checks) else 1


# -- 1. install -----------------------------------------------------------------------------
def install(folder: Path, *, run: bool = True) -> dict[str, Any]:
    """Join and check the wheels, then (``run``) uninstall the CPU build and install them;
    the plan either way, for the report (the CPU rehearsal runs everything but pip)."""
    wheels = reassemble(folder)
    found = {w.name: wheel_metadata(w) for w in wheels}
    gpu_wheel = next((w for w in wheels if found[w.name].get("Name") == "onnxruntime-gpu"), None)
    if gpu_wheel is None:
        sys.exit(f"no onnxruntime-gpu wheel (onnxruntime_gpu-*.whl or .whl.part*) in {folder}")
    version = found[gpu_wheel.name]["Version"]
    pip = [sys.executable, "-m", "pip"]
    commands = [
        [*pip, "uninstall", "-y", "onnxruntime"],
        [*pip, "install", "--no-deps", "--no-index", "--no-compile", *map(str, wheels)],
    ]
    plan: dict[str, Any] = {"wheels": found, "commands": [" ".join(c) for c in commands]}
    with contextlib.suppress(metadata.PackageNotFoundError):
        if metadata.version("onnxruntime-gpu") == version and not _has("onnxruntime"):
            plan["skipped"] = f"onnxruntime-gpu {version} is already the only onnxruntime"
    print(f"== install{'' if run else ' (rehearsed, pip not run)'}: {json.dumps(plan, indent=1)}")
    if run and "skipped" not in plan:
        subprocess.run(commands[0], check=False)
        subprocess.run(commands[1], check=True)
    return plan


def wheel_metadata(wheel: Path) -> dict[str, str]:
    """Name, Version and the requirements from a wheel's METADATA (exits if unreadable)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            lines = archive.read(name).decode("utf-8", "replace").splitlines()
    except (zipfile.BadZipFile, StopIteration) as exc:
        sys.exit(f"{wheel}: not a wheel ({type(exc).__name__}); a piece missing or damaged?")
    fields: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep or not line.strip():
            if not line.strip():
                break
            continue
        fields[key] = f"{fields[key]} | {value}" if key in fields else value
    return {k: v for k, v in fields.items() if k in ("Name", "Version", "Requires-Dist")}


def reassemble(folder: Path, into: Path | None = None) -> list[Path]:
    """The wheels of ``folder``, a wheel carried in pieces joined with ``cat`` first (into
    ``into``, default a new temporary folder)."""
    pieces: dict[str, list[str]] = {}
    for part in glob.glob(str(folder / "*.whl.part*")):
        pieces.setdefault(part.rsplit(".part", 1)[0], []).append(part)
    joined = folder
    if pieces:
        joined = into or Path(tempfile.mkdtemp(prefix="wheels-"))
        joined.mkdir(parents=True, exist_ok=True)
    for whole, parts in pieces.items():
        target = joined / Path(whole).name
        parts.sort(key=lambda p: (len(p), p))  # part2 before part10
        with target.open("wb") as sink:
            subprocess.run(["cat", *parts], stdout=sink, check=True)
        if not zipfile.is_zipfile(target):
            sys.exit(f"{target.name}: the joined pieces are not a wheel (a piece missing?)")
    whole = sorted(folder.glob("*.whl"))
    return whole if joined == folder else sorted(joined.glob("*.whl")) + whole


def _has(dist: str) -> bool:
    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


# -- 2. environment -------------------------------------------------------------------------
def environment(gpu: bool, ld_retry: bool) -> dict[str, Any]:
    import onnxruntime as ort

    try:
        import embed_plugins
    except ImportError as exc:  # a core dependency the machine lacks
        sys.exit(f"import embed_plugins failed ({exc}): carry its wheel in the --wheels folder")

    status = embed_plugins.gpu_status(probe=gpu)
    versions = {}
    for dist in (
        "onnxruntime",
        "onnxruntime-gpu",
        "torch",
        "sentence-transformers",
        "transformers",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    env = {
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "versions": versions,
        "ort_build_info": ort.get_build_info() if hasattr(ort, "get_build_info") else "",
        "ort_device": ort.get_device(),
        "ep_devices": _ep_devices(ort),
        "gpu_status": str(status),
        "cuda_works": bool(status.cuda_works),
        "ld_library_path_set_by_script": ld_retry,
    }
    print(f"== environment ({'GPU' if gpu else 'CPU rehearsal'})\n{status}")
    return env


def _ep_devices(ort: Any) -> list[str]:
    try:
        return [f"{d.ep_name}:{d.device.type}" for d in ort.get_ep_devices()]
    except Exception as exc:  # older onnxruntime, or a plugin-less build
        return [f"n/a ({type(exc).__name__})"]


def retry_with_library_path() -> None:
    import site

    folders = sorted(
        {
            str(Path(p).parent)
            for base in site.getsitepackages()
            for p in glob.glob(f"{base}/nvidia/**/lib*.so*", recursive=True)
        }
    )
    print(f"CUDA did not activate; running again with LD_LIBRARY_PATH={':'.join(folders)}")
    os.environ["LD_LIBRARY_PATH"] = ":".join([*folders, os.environ.get("LD_LIBRARY_PATH", "")])
    os.execv(sys.executable, [sys.executable, *sys.argv, "--ld-retry"])


# -- 6. report ------------------------------------------------------------------------------
def print_report(report: dict[str, Any]) -> None:
    checks = report["checks"]
    failed = [c["name"] for c in checks if not c["ok"]]
    print(
        f"\n== checks: {len(checks) - len(failed)}/{len(checks)} ok"
        + (f"; FAILED: {failed}" if failed else "")
    )
    rows = report.get("throughput") or []
    if not rows:
        return
    for size, goal in report.get("goals", {}).items():
        what = "goal >= 1.0x" if report["mode"] == "gpu" else "CPU rehearsal, not the GPU goal"
        print(f"goal {size}: {goal['ours']} / {goal['st']} = {goal['ratio']:.2f}x ({what})")
    print(
        f"\n== throughput ({report['mode']}), tokens/s; ratio to the best sentence-transformers row"
    )
    print(f"{'model':<16} {'row':<34} {'tokens/s':>11} {'docs/s':>9} {'ratio':>7}  note")
    for size in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == size]
        st = max((r["tokens_per_s"] or 0.0 for r in mine if r["name"].startswith("st ")), default=0)
        for r in mine:
            speed = r["tokens_per_s"]
            ratio = f"{speed / st:.2f}x" if speed and st else "-"
            note = r["error"] or r["note"] or _diff_note(r["extra"])
            print(
                f"{size:<16} {r['name']:<34} {speed or 0:>11,.0f} {r['docs_per_s'] or 0:>9,.1f} "
                f"{ratio:>7}  {note}"
            )


def goals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model: the best of our rows over the best sentence-transformers row (the issue's
    goal is >= 1.0x against sentence-transformers fp16 on long passages)."""
    found = {}
    for size in dict.fromkeys(r["model"] for r in rows):
        ours = [r for r in rows if r["model"] == size and r["name"].startswith("ours")]
        st = [r for r in rows if r["model"] == size and r["name"].startswith("st ")]
        best = max(ours, key=lambda r: r["tokens_per_s"] or 0.0, default=None)
        base = max(st, key=lambda r: r["tokens_per_s"] or 0.0, default=None)
        if best and base and best["tokens_per_s"] and base["tokens_per_s"]:
            ratio = best["tokens_per_s"] / base["tokens_per_s"]
            found[size] = {
                "ours": best["name"],
                "st": base["name"],
                "ratio": round(ratio, 3),
                "goal_1x_met": ratio >= 1.0,
            }
    return found


def _diff_note(extra: dict[str, Any]) -> str:
    if "max_abs_diff_vs_cpu_fp32" not in extra:
        return ""
    return (
        f"max|diff| vs CPU fp32 {extra['max_abs_diff_vs_cpu_fp32']:.1e}, "
        f"min cos {extra['min_cosine_vs_cpu_fp32']:.6f}"
    )


if __name__ == "__main__":
    sys.exit(main())
