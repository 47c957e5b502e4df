"""Image embedding throughput on the tiny CLIP fixture: in-process vs ``parallel=2``, and fastembed.

    python benchmarks/bench_images.py [--images N] [--size WxH] [--repeats R] [--out PATH]

The model is ``tests/fixtures/models/tiny-clip`` (a 2-layer CLIP vision tower at
32x32), so the numbers measure what surrounds inference: decoding JPEG files,
converting, resizing (PIL bicubic), cropping, normalising and dispatch.  The
images are N synthetic JPEG photos (smooth gradients, shapes and noise, seeded)
of the given size, written to a temporary folder and passed as paths.

Contenders, interleaved, each run R times (best and median recorded):

* ours in-process: ``ImageEmbedding(model_path=...).embed(paths)``;
* ours ``parallel=2`` (the pool is started before timing, as a long-lived model has it);
* fastembed 0.9.1 ``ImageEmbedding`` on the same folder (registered in its catalogue
  for this run; its ``specific_model_path``), in-process only: its workers rebuild
  the catalogue and cannot see a model registered at run time.

fastembed's vectors are compared with ours and the difference printed: it resizes
non-square images differently from transformers (its own processor), so they are
not expected to be equal.  Results go to ``benchmarks/results/images.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "fixtures" / "models" / "tiny-clip"


def make_images(folder: Path, count: int, width: int, height: int) -> list[Path]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paths = []
    for i in range(count):
        a, b, c = rng.uniform(0.2, 1.0, 3)
        base = np.stack(
            [
                127 + 120 * np.sin(xx / (17 + 40 * a) + i),
                127 + 120 * np.cos(yy / (23 + 40 * b)),
                127 + 120 * np.sin((xx + yy) / (31 + 40 * c)),
            ],
            axis=-1,
        )
        base += rng.normal(0, 12, base.shape)
        image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
            fill = tuple(int(v) for v in rng.integers(0, 255, 3))
            draw.ellipse(
                [
                    x0,
                    y0,
                    x0 + int(rng.integers(10, width // 3)),
                    y0 + int(rng.integers(10, height // 3)),
                ],
                fill=fill,
            )
        path = folder / f"photo_{i:04d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def fastembed_model() -> Any:
    from fastembed import ImageEmbedding as FastImageEmbedding
    from fastembed.common.model_description import DenseModelDescription, ModelSource
    from fastembed.image import onnx_embedding

    name = "local/tiny-clip"
    if not any(d.model == name for d in onnx_embedding.supported_onnx_models):
        onnx_embedding.supported_onnx_models.append(
            DenseModelDescription(
                model=name,
                dim=16,
                description="tiny CLIP fixture",
                license="apache-2.0",
                size_in_GB=0.0,
                sources=ModelSource(hf=name),
                model_file="visual_model.onnx",
            )
        )
    return FastImageEmbedding(name, specific_model_path=str(CLIP))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "images.json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from embed_plugins import ImageEmbedding

    with tempfile.TemporaryDirectory() as tmp:
        paths = make_images(Path(tmp), args.images, width, height)
        files = [str(p) for p in paths]
        ours = ImageEmbedding(model_path=CLIP)
        reference = np.stack(list(ours.embed(files)))
        list(ours.embed(files[:8], parallel=2))  # start the pool before timing
        assert np.array_equal(np.stack(list(ours.embed(files, parallel=2))), reference)
        contenders: dict[str, Callable[[], Any]] = {
            "ours in-process": lambda: list(ours.embed(files)),
            "ours parallel=2": lambda: list(ours.embed(files, parallel=2)),
        }
        try:
            fast = fastembed_model()
            theirs = np.stack(list(fast.embed(files)))
            diff = float(np.abs(theirs - reference).max())
            print(f"fastembed vs ours (transformers-equal), max abs difference: {diff:.3g}")
            # fastembed's workers rebuild its catalogue from scratch and cannot see a model
            # registered at run time, so only its in-process path can run this fixture.
            contenders["fastembed in-process"] = lambda: list(fast.embed(files))
        except ImportError as exc:
            print(f"fastembed not available ({exc}); measuring ours only")
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeats):  # interleaved, so drift hits every contender alike
            for name, fn in contenders.items():
                times[name].extend(timed(fn, 1))
        ours.close()

    rows = {}
    base = len(files) / min(times["ours in-process"])
    for name, values in times.items():
        best = len(files) / min(values)
        rows[name] = {
            "images_per_s_best": round(best, 1),
            "images_per_s_median": round(len(files) / statistics.median(values), 1),
            "vs_ours_in_process": round(best / base, 2),
        }
        print(f"{name:24s} {best:8.1f} images/s  (x{best / base:.2f} ours in-process)")
    if "fastembed in-process" in rows:
        ratio = (
            rows["ours in-process"]["images_per_s_best"]
            / rows["fastembed in-process"]["images_per_s_best"]
        )
        print(f"ours / fastembed, in-process: x{ratio:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "images": len(files),
                "size": args.size,
                "repeats": args.repeats,
                "machine": platform.platform(),
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
