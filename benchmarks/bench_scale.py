"""Throughput of each way to scale out, on one corpus and one model, in one run.

    python benchmarks/bench_scale.py [--docs N] [--only a,b] [--out PATH]

Model: ``sentence-transformers/all-MiniLM-L6-v2`` from ``$EMBED_PLUGINS_MODELS_DIR`` (else
``../shared/models``).  Corpus: ``--docs`` passages of the Debian documentation corpus
(``corpus.py``, the one ``bench_dense.py`` uses), embedded with ``passage_embed``.

Paths (``--only`` picks some):

* ``library``: ``TextEmbedding.passage_embed(texts)`` in this process (model loaded
  before timing);
* ``library_p2``: the same with ``parallel=2`` (the pool started before timing);
* ``cli``: ``embed-plugins embed corpus.jsonl -o vectors.parquet --passage --quiet`` as a
  subprocess, end to end: interpreter start, model load, reading, checkpointed parts,
  the final Parquet file;
* ``cli_p2``: the same with ``--parallel 2``;
* ``ray``: Ray Data on a local runtime (``ray.init(num_cpus=2)``), ``map_batches(TextEmbedder,
  compute=ActorPoolStrategy(size=2), num_cpus=1)`` then ``materialize()``; the time
  includes starting the two actors (each loads the model), not ``ray.init``, timed apart.

Each figure is docs/s over the wall time of its path, with the load average before and
after (the machine may be shared: compare the paths of one run, not runs).  Vectors of
the first 64 passages are checked against the in-process ones (within 1e-5).
Results: ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import load_corpus  # noqa: E402

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PATHS = ("library", "library_p2", "cli", "cli_p2", "ray")
CHECK_ROWS = 64


def models_dir() -> Path:
    value = os.environ.get("EMBED_PLUGINS_MODELS_DIR", "")
    folder = Path(value.split(os.pathsep)[0]) if value else ROOT.parent / "shared" / "models"
    if not (folder / MODEL / "onnx" / "model.onnx").is_file():
        sys.exit(f"{MODEL} not found under {folder}: set EMBED_PLUGINS_MODELS_DIR")
    return folder


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed(run: Callable[[], np.ndarray], docs: int) -> tuple[dict[str, Any], np.ndarray]:
    before = load()
    start = time.perf_counter()
    vectors = run()
    seconds = time.perf_counter() - start
    figure = {
        "docs": docs,
        "seconds": round(seconds, 2),
        "docs_per_s": round(docs / seconds, 1),
        "load_before": before,
        "load_after": load(),
    }
    return figure, vectors


def library(texts: list[str], parallel: int | None) -> tuple[dict[str, Any], np.ndarray]:
    from embed_plugins import TextEmbedding

    model = TextEmbedding(MODEL)
    if parallel:
        list(model.passage_embed(texts[:8], parallel=parallel))  # start the pool
    try:
        return timed(
            lambda: np.stack(list(model.passage_embed(texts, parallel=parallel))), len(texts)
        )
    finally:
        model.close()


def cli(texts: list[str], parallel: int | None, work: Path) -> tuple[dict[str, Any], np.ndarray]:
    import pyarrow.parquet as pq

    source = work / "corpus.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out = work / f"vectors-{parallel or 0}.parquet"
    command = [sys.executable, "-m", "embed_plugins.cli", "embed", str(source), "-o", str(out)]
    command += ["-m", MODEL, "--passage", "--quiet", "--overwrite"]
    if parallel:
        command += ["--parallel", str(parallel)]

    def run() -> np.ndarray:
        subprocess.run(command, check=True)
        return np.array(pq.read_table(out).column("vector").to_pylist(), dtype=np.float32)

    return timed(run, len(texts))


def ray_data(texts: list[str]) -> tuple[dict[str, Any], np.ndarray, float]:
    import ray

    from embed_plugins.integrations.ray import TextEmbedder

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    init_s = time.perf_counter() - start
    try:

        def run() -> np.ndarray:
            ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)])
            ds = ds.map_batches(
                TextEmbedder,
                fn_constructor_kwargs={"model_name": MODEL, "task": "passage"},
                batch_size=256,
                compute=ray.data.ActorPoolStrategy(size=2),
                num_cpus=1,
            ).materialize()
            rows = sorted(ds.take_all(), key=lambda r: r["id"])
            return np.stack([r["embedding"] for r in rows])

        figure, vectors = timed(run, len(texts))
    finally:
        ray.shutdown()
    return figure, vectors, init_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--only", default=",".join(PATHS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale.json")
    args = parser.parse_args()
    chosen = [p for p in args.only.split(",") if p]
    unknown = set(chosen) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths: {', '.join(sorted(unknown))} (choose from {PATHS})")
    os.environ["EMBED_PLUGINS_MODELS_DIR"] = str(models_dir())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = load_corpus(args.docs).passages
    print(f"{len(texts)} passages, {os.cpu_count()} CPUs, load {load()}", flush=True)

    results: dict[str, Any] = {}
    reference: np.ndarray | None = None
    with tempfile.TemporaryDirectory(prefix="bench_scale-") as tmp:
        for path in chosen:
            extra: dict[str, Any] = {}
            if path == "library":
                figure, vectors = library(texts, None)
            elif path == "library_p2":
                figure, vectors = library(texts, 2)
            elif path == "cli":
                figure, vectors = cli(texts, None, Path(tmp))
            elif path == "cli_p2":
                figure, vectors = cli(texts, 2, Path(tmp))
            else:
                figure, vectors, init_s = ray_data(texts)
                extra["ray_init_s"] = round(init_s, 2)
            if reference is None:
                from embed_plugins import TextEmbedding

                reference = np.stack(list(TextEmbedding(MODEL).passage_embed(texts[:CHECK_ROWS])))
            diff = float(np.abs(vectors[:CHECK_ROWS] - reference).max())
            results[path] = {**figure, **extra, "max_abs_diff_first_rows": diff}
            note = f"  (ray.init {extra['ray_init_s']} s apart)" if extra else ""
            print(
                f"{path:11s} {figure['docs_per_s']:8.1f} docs/s  {figure['seconds']:7.2f} s  "
                f"load {figure['load_before']} -> {figure['load_after']}  diff {diff:.1e}{note}",
                flush=True,
            )
            if diff > 1e-5:
                print(f"  {path}: vectors differ from the in-process ones", file=sys.stderr)
    report = {
        "model": MODEL,
        "docs": len(texts),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
