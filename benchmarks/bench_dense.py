"""Dense embedding benchmark: embed_plugins against its peers, in one run, on one machine.

    python benchmarks/bench_dense.py                 # the full run (< 10 min on 2 cores)
    python benchmarks/bench_dense.py --quick         # a smoke run (~1-2 min)
    python benchmarks/bench_dense.py --only ours,ort_raw --docs 1000

Contenders (see contenders.py): embed_plugins in-process and ``parallel=2``;
fastembed in-process and ``parallel=2`` (the same ONNX folder through its
custom-model mechanism); sentence-transformers on the PyTorch weights of the same
model; a raw onnxruntime loop over pre-tokenised, length-sorted batches.

Steps:

1. Build the corpus (real paragraphs from /usr/share/doc, see corpus.py; cached
   under benchmarks/.cache) and print its token-length distribution.
2. Equality check: every contender embeds the same sample (spread over the
   length range); the max abs difference to sentence-transformers is printed.
3. Each contender runs in its own subprocess (so peak memory is its own):
   startup, throughput on the passages (docs/s and real = non-pad tokens/s),
   single-query latency (p50/p99, one call per query), peak memory (the
   process's ru_maxrss, and for worker pools the sampled peak of the summed RSS
   of the whole process tree).
4. A table with every figure and its ratio to embed_plugins in-process; JSON to
   benchmarks/results/dense.json.

fastembed in-process pads every batch of 256 to its longest text (often 512
tokens) and so runs an order of magnitude slower: it gets a smaller slice of the
same corpus (``--fastembed-docs``), reported as such.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import contenders as C  # noqa: E402
import corpus as corpus_mod  # noqa: E402

CACHE_DIR = HERE / ".cache"
RESULTS = HERE / "results" / "dense.json"
#: Bump when corpus.py's selection rules change (invalidates the cache).
CORPUS_VERSION = 1
#: A contender whose vectors differ from sentence-transformers by more than this fails the check.
TOLERANCE = 1e-5


# -- corpus ------------------------------------------------------------------------------


def _doc_tree_signature(root: Path) -> str:
    digest = hashlib.sha256()
    for path in corpus_mod.iter_doc_files(root):
        st = path.stat()
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cached_corpus(n_passages: int, n_queries: int, seed: int) -> tuple[corpus_mod.Corpus, bool]:
    """The corpus, from benchmarks/.cache when /usr/share/doc has not changed."""
    sig = hashlib.sha256(
        json.dumps(
            [CORPUS_VERSION, n_passages, n_queries, seed, _doc_tree_signature(corpus_mod.DOC_ROOT)]
        ).encode()
    ).hexdigest()[:16]
    path = CACHE_DIR / f"corpus-{sig}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        return corpus_mod.Corpus(**data), True
    corpus = corpus_mod.load_corpus(n_passages, n_queries, seed=seed)
    CACHE_DIR.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(corpus.__dict__))
    tmp.replace(path)
    return corpus, False


def token_lengths(texts: list[str]) -> list[int]:
    """Untruncated token counts (special tokens included) with the model's tokenizer."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(C.model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return [len(e.ids) for e in tokenizer.encode_batch(texts)]


# -- process-tree memory sampler ------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return pids


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.peak_processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids = _tree(self.pid)
            total = sum(_rss(p) for p in pids)
            if total > self.peak:
                self.peak, self.peak_processes = total, len(pids)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# -- one contender, in its own process --------------------------------------------------------


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {}
    arr = np.asarray(samples_ms)
    return {
        "n": int(arr.size),
        "p50_ms": round(float(np.percentile(arr, 50)), 3),
        "p90_ms": round(float(np.percentile(arr, 90)), 3),
        "p99_ms": round(float(np.percentile(arr, 99)), 3),
        "mean_ms": round(float(arr.mean()), 3),
    }


def _vm_hwm_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_main(name: str, workload_path: Path, result_path: Path) -> None:
    """Measure one contender; write its figures as JSON to ``result_path``."""
    work = json.loads(workload_path.read_text())
    docs: list[str] = work["docs"][: work["n_docs"][name]]
    lengths: list[int] = work["lengths"][: len(docs)]
    queries: list[str] = work["queries"]
    out: dict[str, Any] = {"name": name}

    t0 = time.perf_counter()
    contender = C.make(name)
    contender.load()
    out["startup_s"] = round(time.perf_counter() - t0, 3)
    out["describe"] = contender.describe()
    warm = docs[:8]
    if contender.parallel and name.startswith("fastembed"):
        # fastembed starts a new pool on every parallel call: time that fixed cost alone.
        t1 = time.perf_counter()
        contender.embed(warm * 2, batch_size=2)
        out["per_call_pool_start_s"] = round(time.perf_counter() - t1, 3)
    else:
        contender.embed(warm, batch_size=4 if contender.parallel else None)

    # Throughput.
    if isinstance(contender, C.RawOrt):
        t1 = time.perf_counter()
        prepared = contender.prepare(docs)
        out["untimed_tokenise_and_plan_s"] = round(time.perf_counter() - t1, 3)
        out["padded_tokens"] = prepared.padded_tokens
        t1 = time.perf_counter()
        vectors = contender.run(prepared)
        seconds = time.perf_counter() - t1
    else:
        t1 = time.perf_counter()
        vectors = contender.embed(docs)
        seconds = time.perf_counter() - t1
    if vectors.shape != (len(docs), 384) or not np.isfinite(vectors).all():
        raise RuntimeError(f"{name}: bad output {vectors.shape}")
    real_tokens = int(sum(min(n, contender.max_length) for n in lengths))
    out["throughput"] = {
        "docs": len(docs),
        "batch_size": contender.default_batch_size,
        "seconds": round(seconds, 3),
        "docs_per_s": round(len(docs) / seconds, 2),
        "real_tokens": real_tokens,
        "real_tokens_per_s": round(real_tokens / seconds, 1),
        "max_length": contender.max_length,
    }

    # Single-query latency, one call per query.
    if work["latency"].get(name, True):
        timings: list[float] = []
        if isinstance(contender, C.RawOrt):
            prepared_q = [contender.prepare([q]) for q in queries]
            for p in prepared_q[:10]:
                contender.run_floor(p)
            for p in prepared_q:
                t1 = time.perf_counter_ns()
                contender.run_floor(p)
                timings.append((time.perf_counter_ns() - t1) / 1e6)
            out["latency_note"] = "bare session.run on the pre-tokenised query"
        else:
            for q in queries[:10]:
                contender.query(q)
            for q in queries:
                t1 = time.perf_counter_ns()
                contender.query(q)
                timings.append((time.perf_counter_ns() - t1) / 1e6)
        out["latency"] = _percentiles(timings)

    contender.close()
    usage_self = resource.getrusage(resource.RUSAGE_SELF)
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["memory"] = {
        "ru_maxrss_mb": round(usage_self.ru_maxrss / 1024, 1),
        "vm_hwm_mb": round(_vm_hwm_kb() / 1024, 1),
        "children_ru_maxrss_mb": round(usage_children.ru_maxrss / 1024, 1),
    }
    out["cpu_s"] = round(usage_self.ru_utime + usage_self.ru_stime, 2)
    result_path.write_text(json.dumps(out))


def run_contender(
    name: str, workload: Path, tmp: Path, timeout: float
) -> dict[str, Any]:
    result = tmp / f"{name}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
           "--workload", str(workload), "--result", str(result)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        log, _ = proc.communicate()
        sampler.stop()
        return {"name": name, "error": f"timed out after {timeout:.0f}s", "log": log[-3000:]}
    sampler.stop()
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not result.is_file():
        return {"name": name, "error": f"exit code {proc.returncode}", "log": log[-3000:]}
    data: dict[str, Any] = json.loads(result.read_text())
    data["wall_s"] = round(wall, 1)
    data["memory"]["tree_peak_mb"] = round(sampler.peak / 2**20, 1)
    data["memory"]["tree_processes"] = sampler.peak_processes
    return data


# -- the equality check ----------------------------------------------------------------------


def equality_check(
    names: list[str], texts: list[str], lengths: list[int]
) -> dict[str, dict[str, Any]]:
    """Max abs difference of every contender's vectors to sentence-transformers' (or, without
    sentence-transformers, to embed_plugins in-process)."""
    reference_name = "st" if C.missing_reason("st") is None else "ours"
    reference, ref_len = C.vectors_for(reference_name, texts)
    report: dict[str, dict[str, Any]] = {reference_name: {"reference": True, "max_length": ref_len}}
    for name in names:
        if name == reference_name:
            continue
        vectors, max_len = C.vectors_for(name, texts)
        entry = C.max_abs_diff(vectors, reference, lengths, min(max_len, ref_len))
        entry["max_length"] = max_len
        entry["reference"] = reference_name
        entry["ok"] = bool(entry["max_abs_diff"] <= TOLERANCE)
        report[name] = entry
    return report


# -- report -------------------------------------------------------------------------------------


def _ratio(value: float | None, base: float | None) -> str:
    if not value or not base:
        return "-"
    return f"{value / base:.2f}x"


def print_table(results: dict[str, dict[str, Any]]) -> None:
    base = results.get("ours", {})
    b_tp = base.get("throughput", {})
    b_lat = base.get("latency", {})
    b_mem = base.get("memory", {})
    header = (
        f"{'contender':<40} {'docs':>5} {'docs/s':>8} {'x ours':>7} {'real tok/s':>10} "
        f"{'x ours':>7} {'p50 ms':>7} {'p99 ms':>7} {'x ours':>7} {'peak MB':>8} {'x ours':>7} "
        f"{'startup s':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        label = C.LABELS.get(name, name)
        if "error" in r:
            print(f"{label:<40} ERROR: {r['error']}")
            continue
        tp, lat, mem = r["throughput"], r.get("latency", {}), r["memory"]
        peak = max(mem["ru_maxrss_mb"], mem["tree_peak_mb"])
        base_peak = max(b_mem.get("ru_maxrss_mb", 0), b_mem.get("tree_peak_mb", 0))
        startup = r["startup_s"] + r.get("per_call_pool_start_s", 0.0)
        print(
            f"{label:<40} {tp['docs']:>5} {tp['docs_per_s']:>8.2f} "
            f"{_ratio(tp['docs_per_s'], b_tp.get('docs_per_s')):>7} "
            f"{tp['real_tokens_per_s']:>10.0f} "
            f"{_ratio(tp['real_tokens_per_s'], b_tp.get('real_tokens_per_s')):>7} "
            f"{lat.get('p50_ms', float('nan')):>7.2f} {lat.get('p99_ms', float('nan')):>7.2f} "
            f"{_ratio(lat.get('p50_ms'), b_lat.get('p50_ms')):>7} "
            f"{peak:>8.0f} {_ratio(peak, base_peak):>7} {startup:>9.2f}"
        )


def goals(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's goals, as ratios from this run (None where a contender is missing)."""

    def tp(name: str) -> float | None:
        r = results.get(name, {})
        return r.get("throughput", {}).get("docs_per_s") if "error" not in r else None

    def p50(name: str) -> float | None:
        r = results.get(name, {})
        return r.get("latency", {}).get("p50_ms") if "error" not in r else None

    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    ours_mem = results.get("ours", {}).get("memory", {})
    return {
        "ours / ort_raw throughput (goal >= 0.95)": div(tp("ours"), tp("ort_raw")),
        "ours / st throughput (goal >= 1.0; >= 1.3 with fused graph)": div(tp("ours"), tp("st")),
        "ours / fastembed throughput (goal >= 5)": div(tp("ours"), tp("fastembed")),
        "ours_p2 / ours throughput (goal >= 1.1)": div(tp("ours_p2"), tp("ours")),
        "ours p50 / bare session.run p50 (goal <= 1.05)": div(p50("ours"), p50("ort_raw")),
        "ours peak memory MB (goal <= 1024)": ours_mem.get("ru_maxrss_mb"),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=None, help="passages per contender (default 2000)")
    p.add_argument("--fastembed-docs", type=int, default=None,
                   help="passages for fastembed in-process (default 256) and parallel=2 (2x)")
    p.add_argument("--queries", type=int, default=None, help="single queries timed (default 300)")
    p.add_argument("--check-docs", type=int, default=None, help="equality-check sample (default 48)")
    p.add_argument("--quick", action="store_true", help="a small smoke run")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {','.join(C.ALL)}")
    p.add_argument("--skip-check", action="store_true", help="skip the equality check")
    p.add_argument("--seed", type=int, default=corpus_mod.DEFAULT_SEED)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per contender")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--workload", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    defaults = (
        {"docs": 200, "fastembed_docs": 32, "queries": 30, "check_docs": 16}
        if args.quick
        else {"docs": 2000, "fastembed_docs": 256, "queries": 300, "check_docs": 48}
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.workload, args.result)
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    started = time.perf_counter()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(C.ALL)
    unknown = [n for n in names if n not in C.ALL]
    if unknown:
        raise SystemExit(f"unknown contender(s) {unknown}; choose from {', '.join(C.ALL)}")
    skipped = {n: r for n in names if (r := C.missing_reason(n)) is not None}
    names = [n for n in names if n not in skipped]
    for n, why in skipped.items():
        print(f"skipping {n}: {why}")

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {load_average()}")
    print(f"model folder: {C.model_dir()}")
    t0 = time.perf_counter()
    corpus, cached = cached_corpus(max(args.docs, 5000), max(args.queries, 300), args.seed)
    lengths = token_lengths(corpus.passages)
    query_lengths = token_lengths(corpus.queries)
    docs = corpus.passages[: args.docs]
    doc_lengths = lengths[: len(docs)]
    corpus_stats = {
        "source": str(corpus_mod.DOC_ROOT),
        "files_read": corpus.files_read,
        "candidates": corpus.candidates,
        "passages": len(corpus.passages),
        "seed": corpus.seed,
        "fingerprint": corpus.fingerprint(),
        "tokens_all_passages": corpus_mod.length_stats(lengths),
        "tokens_benchmarked_docs": corpus_mod.length_stats(doc_lengths),
        "share_over_256_tokens": round(float(np.mean(np.asarray(doc_lengths) > 256)), 4),
        "share_over_512_tokens": round(float(np.mean(np.asarray(doc_lengths) > 512)), 4),
        "tokens_queries": corpus_mod.length_stats(query_lengths[: args.queries]),
    }
    s = corpus_stats["tokens_benchmarked_docs"]
    print(
        f"corpus: {len(corpus.passages)} passages from {corpus.candidates} candidate paragraphs "
        f"in {corpus.files_read} files under {corpus_mod.DOC_ROOT} "
        f"({'cached' if cached else 'built'} in {time.perf_counter() - t0:.1f}s, "
        f"fingerprint {corpus.fingerprint()})"
    )
    print(
        f"benchmarked docs: {len(docs)}; tokens (untruncated, with [CLS]/[SEP]): mean {s['mean']}, "
        f"p50 {s['p50']:.0f}, p90 {s['p90']:.0f}, p99 {s['p99']:.0f}, max {s['max']:.0f}; "
        f"{corpus_stats['share_over_256_tokens']:.1%} over 256, "
        f"{corpus_stats['share_over_512_tokens']:.1%} over 512"
    )
    q = corpus_stats["tokens_queries"]
    print(f"queries: {q['n']}, tokens mean {q['mean']}, p50 {q['p50']:.0f}, max {q['max']:.0f}")

    check: dict[str, Any] = {}
    if not args.skip_check:
        t0 = time.perf_counter()
        sample = C.check_sample(docs, doc_lengths, args.check_docs)
        texts = [docs[i] for i in sample]
        check = equality_check(names, texts, [doc_lengths[i] for i in sample])
        print(f"\nequality check on {len(texts)} passages ({time.perf_counter() - t0:.1f}s), "
              "max abs difference of the vectors:")
        for name, entry in check.items():
            if entry.get("reference") is True:
                print(f"  {C.LABELS[name]:<40} reference (truncates at {entry['max_length']})")
                continue
            flag = "ok" if entry["ok"] else f"MISMATCH (> {TOLERANCE:g})"
            extra = ""
            if entry["n_within"] < entry["n"]:
                extra = (f"; {entry['max_abs_diff_all']:.2e} over all {entry['n']} "
                         f"(truncates at {entry['max_length']})")
            print(f"  {C.LABELS[name]:<40} {entry['max_abs_diff']:.2e} on the "
                  f"{entry['n_within']} texts both see whole {flag}{extra}")

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_dense_") as tmp_name:
        tmp = Path(tmp_name)
        n_docs = {n: len(docs) for n in names}
        fe_docs = min(args.fastembed_docs, len(docs))
        n_docs["fastembed"] = fe_docs
        n_docs["fastembed_p2"] = min(2 * fe_docs, len(docs))
        workload = tmp / "workload.json"
        workload.write_text(json.dumps({
            "docs": docs,
            "lengths": doc_lengths,
            "queries": corpus.queries[: args.queries],
            "n_docs": n_docs,
            # fastembed runs a single text in-process whatever `parallel` says: nothing new to time.
            "latency": {"fastembed_p2": False},
        }))
        print()
        for name in names:
            load = load_average()
            t0 = time.perf_counter()
            results[name] = run_contender(name, workload, tmp, args.timeout)
            results[name]["load_average_before"] = load
            r = results[name]
            if "error" in r:
                print(f"{name}: ERROR {r['error']}\n{r.get('log', '')}")
            else:
                print(
                    f"{name}: {r['throughput']['docs']} docs in {r['throughput']['seconds']:.1f}s "
                    f"= {r['throughput']['docs_per_s']:.2f} docs/s; p50 "
                    f"{r.get('latency', {}).get('p50_ms', float('nan')):.2f} ms; peak "
                    f"{max(r['memory']['ru_maxrss_mb'], r['memory']['tree_peak_mb']):.0f} MB "
                    f"({time.perf_counter() - t0:.0f}s, load before {load})"
                )

    print()
    print_table(results)
    goal_ratios = goals(results)
    print("\ngoals (issue 3), ratios from this run:")
    for key, value in goal_ratios.items():
        print(f"  {key}: {value if value is not None else '-'}")
    total = time.perf_counter() - started
    print(f"\ntotal {total:.0f}s; load average at the end {load_average()}")

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_end": load_average(),
        },
        "model_dir": str(C.model_dir()),
        "settings": {k: v for k, v in vars(args).items() if k not in {"worker", "workload", "result"}}
        | {"out": str(args.out)},
        "corpus": corpus_stats,
        "equality_check": check,
        "results": results,
        "goals": goal_ratios,
        "total_s": round(total, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    failed = [n for n, e in check.items() if e.get("ok") is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
