"""What int8 costs in retrieval quality: nDCG@10 and MRR@10, fp32 against int8 settings.

    python benchmarks/bench_retrieval_quality.py             # default int8 + the settings grid
    python benchmarks/bench_retrieval_quality.py --only int8  # fp32 and the default only

The retrieval set is built from the docstrings of Python's standard library
(``stdlib_qrels.py``: a function's one-line summary is the query, the rest of its
docstring the one relevant document; about 1,300 queries over 1,500 documents with this
interpreter).  The model is the real sentence-transformers/all-MiniLM-L6-v2 (found as
bench_dense.py finds it).  Each variant embeds every document (``passage_embed``, default
batches) and every query (``query_embed``, batched; for fp32 and the default int8 also
one query per call, as a search service embeds them), and is scored against the same
answers; the cosine between its vectors and fp32's is reported (mean and minimum, over
queries and documents).  ``docs/s`` is each variant's throughput on the documents, in
this process, best of ``--rounds`` interleaved rounds, beside the load average.

Variants (``Quantization`` settings; the probe bound is lifted so that poor settings are
measured rather than refused):

* ``int8``: the default, ``quantize="int8"`` (per-channel weights, MatMul only, layer 0's
  feed-forward output kept fp32, reduce_range decided by the CPU);
* ``all_int8``: every MatMul quantised; ``per_tensor``: one scale per weight matrix;
* ``fp32_layer0``: all of layer 0 kept fp32; ``reduce_range``: 7-bit weights;
* ``fused_int8``: ``optimize=True`` and the default, quantising the fused graph.

Results: ``results/retrieval_quality.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import contenders as C  # noqa: E402
import stdlib_qrels  # noqa: E402

RESULTS = HERE / "results" / "retrieval_quality.json"
NO_BOUND = -1.0


def variants() -> dict[str, dict[str, Any]]:
    from embed_plugins import Quantization

    return {
        "fp32": {},
        "int8": {"quantize": "int8"},
        "all_int8": {"quantize": Quantization(fp32_ffn_outputs=(), min_cosine=NO_BOUND)},
        "per_tensor": {
            "quantize": Quantization(per_channel=False, fp32_ffn_outputs=(), min_cosine=NO_BOUND)
        },
        "fp32_layer0": {
            "quantize": Quantization(fp32_layers=(0,), fp32_ffn_outputs=(), min_cosine=NO_BOUND)
        },
        "reduce_range": {"quantize": Quantization(reduce_range=True, min_cosine=NO_BOUND)},
        "fused_int8": {"quantize": "int8", "optimize": True},
    }


def unit(x: Any) -> np.ndarray:
    a = np.stack(list(x)).astype(np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--only", default="", help="comma-separated variants (fp32 always runs)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    from embed_plugins import TextEmbedding

    qrels = stdlib_qrels.load()
    table = variants()
    names = ["fp32", *[n for n in (args.only.split(",") if args.only else table) if n != "fp32"]]
    print(
        f"{len(qrels.queries)} queries, {len(qrels.docs)} documents (stdlib docstrings, "
        f"Python {sys.version.split()[0]}); load {os.getloadavg()}",
        flush=True,
    )
    models = {n: TextEmbedding(C.MODEL_NAME, model_path=C.model_dir(), **table[n]) for n in names}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for name, model in models.items():
        vectors[name] = {
            "docs": unit(model.passage_embed(qrels.docs)),
            "queries": unit(model.query_embed(qrels.queries)),
        }
        if name in ("fp32", "int8"):
            vectors[name]["queries_alone"] = unit(
                next(iter(model.query_embed([q]))) for q in qrels.queries
            )
    speed: dict[str, list[float]] = {n: [] for n in names}
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for name in names[r % len(names) :] + names[: r % len(names)]:
            started = time.perf_counter()
            for _ in models[name].passage_embed(qrels.docs):
                pass
            speed[name].append(len(qrels.docs) / (time.perf_counter() - started))
    ref = vectors["fp32"]
    base = stdlib_qrels.scores(ref["queries"], ref["docs"], qrels.answer)
    rows: dict[str, Any] = {}
    for name in names:
        v = vectors[name]
        s = stdlib_qrels.scores(v["queries"], v["docs"], qrels.answer)
        cos = np.concatenate(
            [(v["docs"] * ref["docs"]).sum(1), (v["queries"] * ref["queries"]).sum(1)]
        )
        row = {
            **s,
            "ndcg_rel_change_pct": 100 * (s["ndcg@10"] / base["ndcg@10"] - 1),
            "mrr_rel_change_pct": 100 * (s["mrr@10"] / base["mrr@10"] - 1),
            "cosine_mean": float(cos.mean()),
            "cosine_min": float(cos.min()),
            "docs_per_s_best": max(speed[name]),
            "docs_per_s_all": speed[name],
        }
        if "queries_alone" in v:
            alone = stdlib_qrels.scores(v["queries_alone"], v["docs"], qrels.answer)
            row["queries_alone"] = alone
        rows[name] = row
    print(
        "\n| variant | nDCG@10 | vs fp32 | MRR@10 | vs fp32 | cosine mean | min | docs/s | x fp32 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        ratio = r["docs_per_s_best"] / rows["fp32"]["docs_per_s_best"]
        print(
            f"| {name} | {r['ndcg@10']:.4f} | {r['ndcg_rel_change_pct']:+.2f} % "
            f"| {r['mrr@10']:.4f} | {r['mrr_rel_change_pct']:+.2f} % | {r['cosine_mean']:.4f} "
            f"| {r['cosine_min']:.4f} | {r['docs_per_s_best']:.1f} | {ratio:.2f} |"
        )
    for name in ("fp32", "int8"):
        if "queries_alone" in rows.get(name, {}):
            a = rows[name]["queries_alone"]
            print(
                f"{name}, one query per call: nDCG@10 {a['ndcg@10']:.4f}, MRR@10 {a['mrr@10']:.4f}"
            )
    print(f"load average per round: {loads}; at the end {os.getloadavg()}")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "command": " ".join(["python", *sys.argv]),
                "set": {
                    "queries": len(qrels.queries),
                    "docs": len(qrels.docs),
                    "digest": qrels.digest(),
                    "python": sys.version.split()[0],
                },
                "rows": rows,
                "loads": loads,
                "load_end": os.getloadavg(),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
