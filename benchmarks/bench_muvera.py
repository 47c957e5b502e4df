"""MUVERA encoding throughput: embed_plugins' Muvera against fastembed 0.9.1's, one core.

    python benchmarks/bench_muvera.py [--docs N] [--tokens T] [--dim D] [--repeats R]
                                      [--out PATH]

Random multivectors (float32, unit-norm tokens, seed 0), by default 1,000 documents of
200 tokens x 128 dims (ColBERT-sized) and 1,000 queries of 32 tokens, encoded with the
default parameters (k_sim=5, dim_proj=16, r_reps=20, random_seed=42):

* fastembed: ``Muvera.process_document`` / ``process_query`` in a loop (its only API);
* ours, the same loop: ``process_document`` / ``process_query``;
* ours, batched: ``process_documents`` / ``process_queries`` on the whole list.

Every run is checked against fastembed's vectors (max abs difference printed; above
1e-6 the script exits 1).  One BLAS thread for both sides.  Each timing is repeated R
times, interleaved; wall clock (``time.perf_counter``), best and median are printed, and
ratios use the best runs.  Results go to ``--out`` (JSON) when given.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from embed_plugins.muvera import Muvera  # noqa: E402

TOLERANCE = 1e-6


def multivectors(rng: np.random.Generator, count: int, tokens: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((count, tokens, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=2, keepdims=True)
    return x


def timed(function: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--query-tokens", type=int, default=32)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from fastembed.postprocess import Muvera as FastembedMuvera

    rng = np.random.default_rng(0)
    docs = multivectors(rng, args.docs, args.tokens, args.dim)
    queries = multivectors(rng, args.queries, args.query_tokens, args.dim)
    ours, theirs = Muvera(args.dim), FastembedMuvera(args.dim)

    contenders: dict[str, Callable[[], np.ndarray]] = {
        "fastembed documents (loop)": lambda: np.stack([theirs.process_document(d) for d in docs]),
        "ours documents (loop)": lambda: np.stack([ours.process_document(d) for d in docs]),
        "ours documents (batch)": lambda: ours.process_documents(docs),
        "fastembed queries (loop)": lambda: np.stack([theirs.process_query(q) for q in queries]),
        "ours queries (loop)": lambda: np.stack([ours.process_query(q) for q in queries]),
        "ours queries (batch)": lambda: ours.process_queries(queries),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    reference: dict[str, np.ndarray] = {}
    worst = 0.0
    for _ in range(args.repeats):
        for name, function in contenders.items():
            seconds, result = timed(function)
            times[name].append(seconds)
            side = "documents" if "documents" in name else "queries"
            if name.startswith("fastembed"):
                reference[side] = result
            else:
                worst = max(worst, float(np.abs(result - reference[side]).max()))

    report: dict[str, Any] = {
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "shape": {
            "docs": [args.docs, args.tokens, args.dim],
            "queries": [args.queries, args.query_tokens, args.dim],
        },
        "params": {"k_sim": 5, "dim_proj": 16, "r_reps": 20, "random_seed": 42},
        "max_abs_diff_vs_fastembed": worst,
        "results": {},
    }
    print(f"max abs difference to fastembed: {worst:.3g}")
    print(
        f"{'contender':30s} {'best s':>8s} {'median s':>9s} {'per item ms':>12s} {'speed-up':>9s}"
    )
    for name, runs in times.items():
        side = "documents" if "documents" in name else "queries"
        count = args.docs if side == "documents" else args.queries
        baseline = min(times[f"fastembed {side} (loop)"])
        best = min(runs)
        row = {
            "best_s": best,
            "median_s": statistics.median(runs),
            "per_item_ms": 1000 * best / count,
            "speedup_vs_fastembed": baseline / best,
        }
        report["results"][name] = row
        print(
            f"{name:30s} {best:8.3f} {row['median_s']:9.3f} {row['per_item_ms']:12.3f} "
            f"{row['speedup_vs_fastembed']:8.1f}x"
        )
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
