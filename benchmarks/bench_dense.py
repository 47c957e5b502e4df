"""Dense embedding benchmark: embed_plugins against its peers, in one run, on one machine.

    python benchmarks/bench_dense.py                 # the full run (< 10 min on 2 cores)
    python benchmarks/bench_dense.py --quick         # a smoke run (~1.5 min)
    python benchmarks/bench_dense.py --only ours,ort_raw --docs 1000

Contenders (see contenders.py and README.md): embed_plugins in-process, with
``optimize=True`` and with ``parallel=2``; fastembed in-process and ``parallel=2``
(the same ONNX folder through its custom-model mechanism); sentence-transformers on
the PyTorch weights of the same model; a raw onnxruntime loop over pre-tokenised,
length-sorted batches, with embed_plugins' default batch budget (16,384 padded
tokens) and with 1,024-token batches.

Steps:

1. Build the corpus (real paragraphs from /usr/share/doc, see corpus.py; cached
   under benchmarks/.cache) and print its token-length distribution.
2. Equality check: every contender embeds the same sample (spread over the
   length range); the max abs difference to sentence-transformers is printed.
3. Throughput and memory: each contender in its own subprocess (so peak memory
   is its own): startup, docs/s and real (non-pad) tokens/s, CPU cores used, peak
   memory (VmHWM; for worker pools the sampled peak of the summed RSS of the
   process tree).
4. Single-query latency (p50/p99, one call per query): each contender alone in a
   fresh process, three rounds in rotated order.
5. A table with every figure and its ratio to embed_plugins in-process, the
   issue's goals as ratios; JSON to benchmarks/results/dense.json.

fastembed pads every batch of 256 to its longest text (often 512 tokens) and so
runs an order of magnitude slower with 10-17 GB of memory: it gets a smaller slice
of the same corpus (``--fastembed-docs``), reported as such, and runs only when
enough memory is free.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import signal
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


# -- process-tree sampling (memory and CPU) ------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (via /proc/<pid>/task/<tid>/children)."""
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


def _cpu_s(pid: int) -> float:
    """utime + stime of one process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class TreeSampler(threading.Thread):
    """Samples a process tree every ``interval`` s: the peak of its summed RSS, and the CPU
    time its processes used while sampled (a process that exits between two samples loses
    at most ``interval`` s of CPU)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.peak_processes = 0
        self._first_cpu: dict[int, float] = {}
        self._last_cpu: dict[int, float] = {}
        self._samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        pids = _tree(self.pid)
        total = sum(_rss(p) for p in pids)
        if total > self.peak:
            self.peak, self.peak_processes = total, len(pids)
        for p in pids:
            cpu = _cpu_s(p)
            # Processes alive at the first sample count from then; later ones from their start.
            self._first_cpu.setdefault(p, cpu if self._samples == 0 else 0.0)
            self._last_cpu[p] = cpu
        self._samples += 1

    @property
    def cpu_s(self) -> float:
        return sum(self._last_cpu[p] - self._first_cpu[p] for p in self._last_cpu)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


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


def _vm_hwm_mb() -> float:
    """Peak RSS of this process (VmHWM).  Not ru_maxrss: Linux carries the parent's RSS at
    fork time into a child's ru_maxrss across exec, so a child of a big parent looks big."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def _until(deadline: float, items: list[str], counter: list[int]) -> Any:
    """Yield items until ``deadline`` (perf_counter) passes; count what was handed out."""
    for item in items:
        if time.perf_counter() > deadline:
            return
        counter[0] += 1
        yield item


def _throughput(
    contender: C.Contender, docs: list[str], cap_s: float, seed: int, sampler: TreeSampler
) -> tuple[list[int], float, dict[str, Any]]:
    """Embed ``docs``, feeding no new input after ``cap_s`` s: (indices done, seconds, extra).

    embed_plugins takes the passages as a stream (an iterator), which is how it is meant to
    be fed; sentence-transformers gets lists of 512 passages per ``encode`` call; the raw
    loop runs its pre-built batches in a shuffled order, so a capped run is a fair sample;
    fastembed gets its whole (small) slice in one call.  ``sampler`` (CPU use) is started
    when the clock starts.
    """
    extra: dict[str, Any] = {}
    if isinstance(contender, C.RawOrt):
        t1 = time.perf_counter()
        prepared = contender.prepare(docs)
        extra["untimed_tokenise_and_plan_s"] = round(time.perf_counter() - t1, 3)
        # Untimed: the batch with the most attention work first, so onnxruntime's arena has
        # its full size before timing (embed_plugins, longest first, gets that for free).
        biggest = max(prepared.batches, key=lambda b: b[1]["input_ids"].shape[1] ** 2 * len(b[0]))
        contender.run(C.Prepared(len(docs), [biggest]))
        order = np.random.default_rng(seed).permutation(len(prepared.batches))
        done: list[int] = []
        padded = 0
        sampler.start()
        t1 = time.perf_counter()
        for k in order:
            if time.perf_counter() - t1 > cap_s:
                break
            idx, feeds = prepared.batches[k]
            contender.run(C.Prepared(len(docs), [(idx, feeds)]))
            done.extend(idx.tolist())
            padded += int(feeds["input_ids"].size)
        seconds = time.perf_counter() - t1
        extra["padded_tokens"] = padded
        return done, seconds, extra
    if isinstance(contender, C.SentenceTransformers):
        sampler.start()
        t1 = time.perf_counter()
        n = 0
        for start in range(0, len(docs), 512):
            if time.perf_counter() - t1 > cap_s:
                break
            chunk = docs[start : start + 512]
            vectors = contender.embed(chunk)
            assert vectors.shape == (len(chunk), 384)
            n += len(chunk)
        return list(range(n)), time.perf_counter() - t1, extra
    if isinstance(contender, C.Ours):
        counter = [0]
        sampler.start()
        t1 = time.perf_counter()
        out = contender.model.embed(
            _until(t1 + cap_s, docs, counter),
            batch_size=contender.default_batch_size,
            parallel=contender.parallel,
        )
        n = sum(1 for v in out if v.shape == (384,))
        seconds = time.perf_counter() - t1
        if n != counter[0]:
            raise RuntimeError(f"{contender.name}: {n} vectors for {counter[0]} inputs")
        return list(range(n)), seconds, extra
    sampler.start()
    t1 = time.perf_counter()  # fastembed: a fixed slice (its pool reads the whole input ahead)
    vectors = contender.embed(docs)
    seconds = time.perf_counter() - t1
    assert vectors.shape == (len(docs), 384)
    return list(range(len(docs))), seconds, extra


def query_calls(contender: C.Contender, queries: list[str]) -> list[Any]:
    """One zero-argument call per query: the user's call (``list(model.query_embed(q))`` or
    its equivalent), or for the raw loop a bare ``session.run`` on the pre-tokenised query."""
    if isinstance(contender, C.RawOrt):
        prepared = [contender.prepare([q]) for q in queries]
        return [lambda p=p: contender.run_floor(p) for p in prepared]
    return [lambda q=q: contender.query(q) for q in queries]


def time_calls(calls: list[Any], cap_s: float) -> list[float]:
    """Milliseconds per call, back to back (10 untimed warm-up calls first); stops after
    ``cap_s`` seconds."""
    for call in calls[:10]:
        call()
    timings: list[float] = []
    deadline = time.perf_counter() + cap_s
    for call in calls:
        t1 = time.perf_counter_ns()
        call()
        timings.append((time.perf_counter_ns() - t1) / 1e6)
        if time.perf_counter() > deadline:
            break
    return timings


def latency_main(work: dict[str, Any], result_path: Path) -> None:
    """One round of single-query latency for one contender, alone in its process."""
    contender = C.make(work["latency_target"])
    contender.load()
    timings = time_calls(query_calls(contender, work["queries"]), work["latency_cap_s"])
    contender.close()
    result_path.write_text(json.dumps({"timings_ms": timings}))


def worker_main(name: str, workload_path: Path, result_path: Path) -> None:
    """Measure one contender; write its figures as JSON to ``result_path``."""
    work = json.loads(workload_path.read_text())
    if name == "latency":
        latency_main(work, result_path)
        return
    docs: list[str] = work["docs"][: work["n_docs"][name]]
    lengths: list[int] = work["lengths"]
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

    sampler = TreeSampler(os.getpid(), interval=0.25)
    done, seconds, extra = _throughput(contender, docs, work["cap_s"], work["seed"], sampler)
    sampler.stop()
    n = len(done)
    real_tokens = int(sum(min(lengths[i], contender.max_length) for i in done))
    out["throughput"] = {
        "docs": n,
        "docs_offered": len(docs),
        "capped": n < len(docs),
        "batch_size": contender.default_batch_size,
        "seconds": round(seconds, 3),
        "docs_per_s": round(n / seconds, 2),
        "real_tokens": real_tokens,
        "real_tokens_per_s": round(real_tokens / seconds, 1),
        "max_length": contender.max_length,
        "cpu_s": round(sampler.cpu_s, 2),
        "cores_used": round(sampler.cpu_s / seconds, 2),
        **extra,
    }

    out["memory"] = {"self_peak_mb": _vm_hwm_mb(), "tree_peak_mb": round(sampler.peak / 2**20, 1)}
    contender.close()
    result_path.write_text(json.dumps(out))


def run_contender(name: str, workload: Path, tmp: Path, timeout: float) -> dict[str, Any]:
    result = tmp / f"{name}.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--workload",
        str(workload),
        "--result",
        str(result),
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in reversed(_tree(proc.pid)):  # the contender and any workers it started
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        log, _ = proc.communicate()
        sampler.stop()
        return {"name": name, "error": f"timed out after {timeout:.0f}s", "log": log[-3000:]}
    sampler.stop()
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not result.is_file():
        return {"name": name, "error": f"exit code {proc.returncode}", "log": log[-3000:]}
    data: dict[str, Any] = json.loads(result.read_text())
    if name == "latency":
        return data
    data["wall_s"] = round(wall, 1)
    # The whole life of the subprocess (load, warm-up, throughput), all its processes.
    data["memory"]["tree_peak_whole_run_mb"] = round(sampler.peak / 2**20, 1)
    data["memory"]["tree_processes"] = sampler.peak_processes
    return data


# -- the equality check ----------------------------------------------------------------------


def equality_check(
    names: list[str], texts: list[str], lengths: list[int]
) -> dict[str, dict[str, Any]]:
    """Max abs difference of every contender's vectors to sentence-transformers' (without
    sentence-transformers: to the raw onnxruntime loop, which shares no code with the others)."""
    reference_name = "st" if C.missing_reason("st") is None else "ort_raw"
    reference, ref_len = C.vectors_for(reference_name, texts)
    report: dict[str, dict[str, Any]] = {reference_name: {"reference": True, "max_length": ref_len}}
    for name in names:
        if name == reference_name:
            continue
        vectors, max_len = C.vectors_for(name, texts)
        entry: dict[str, Any] = dict(
            C.max_abs_diff(vectors, reference, lengths, min(max_len, ref_len))
        )
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


def peak_mb(r: dict[str, Any]) -> float:
    """Peak memory of a contender: its own VmHWM, or for a worker pool the sampled peak of
    the summed RSS of all its processes, whichever is larger."""
    mem = r.get("memory", {})
    return max(mem.get("self_peak_mb", 0.0), mem.get("tree_peak_whole_run_mb", 0.0))


def print_table(results: dict[str, dict[str, Any]]) -> None:
    base = results.get("ours", {})
    b_tp = base.get("throughput", {})
    b_lat = base.get("latency", {})
    header = (
        f"{'contender':<39} {'docs':>5} {'docs/s':>7} {'x ours':>6} {'real tok/s':>10} "
        f"{'x ours':>6} {'cores':>5} {'p50 ms':>7} {'p99 ms':>7} {'x ours':>6} "
        f"{'peak MB':>7} {'x ours':>6} {'startup s':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        label = C.LABELS.get(name, name)
        if "error" in r:
            print(f"{label:<39} ERROR: {r['error']}")
            continue
        tp, lat = r["throughput"], r.get("latency", {})
        startup = r["startup_s"] + r.get("per_call_pool_start_s", 0.0)
        print(
            f"{label:<39} {tp['docs']:>5} {tp['docs_per_s']:>7.2f} "
            f"{_ratio(tp['docs_per_s'], b_tp.get('docs_per_s')):>6} "
            f"{tp['real_tokens_per_s']:>10.0f} "
            f"{_ratio(tp['real_tokens_per_s'], b_tp.get('real_tokens_per_s')):>6} "
            f"{tp['cores_used']:>5.2f} "
            f"{lat.get('p50_ms', float('nan')):>7.2f} {lat.get('p99_ms', float('nan')):>7.2f} "
            f"{_ratio(lat.get('p50_ms'), b_lat.get('p50_ms')):>6} "
            f"{peak_mb(r):>7.0f} {_ratio(peak_mb(r), peak_mb(base) if base else None):>6} "
            f"{startup:>9.2f}"
        )
    print(
        "docs/s, real tok/s: passages (non-pad tokens the contender fed its model) per second; "
        "cores: CPU seconds / wall seconds\n"
        "during the throughput run (2.0 = both cores; less = contended); p50/p99: one call per "
        "query (raw onnxruntime: bare session.run);\npeak MB: VmHWM of the process, or for "
        "worker pools the sampled peak of the summed RSS of all processes; startup: load "
        "(+ pool start)"
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

    return {
        "ours / ort_raw throughput (goal >= 0.95)": div(tp("ours"), tp("ort_raw")),
        "ours / ort_raw_b1024 throughput (same goal, smaller batches)": div(
            tp("ours"), tp("ort_raw_b1024")
        ),
        "ours / st throughput (goal >= 1.0)": div(tp("ours"), tp("st")),
        "ours_fused / st throughput (goal >= 1.3)": div(tp("ours_fused"), tp("st")),
        "ours_fused / ort_raw throughput": div(tp("ours_fused"), tp("ort_raw")),
        "ours / fastembed throughput (goal >= 5)": div(tp("ours"), tp("fastembed")),
        "ours_p2 / ours throughput (goal >= 1.1)": div(tp("ours_p2"), tp("ours")),
        "ours p50 / bare session.run p50 (goal <= 1.05)": div(p50("ours"), p50("ort_raw")),
        "ours_fused p50 / bare session.run p50 (plain graph)": div(
            p50("ours_fused"), p50("ort_raw")
        ),
        "ours peak memory MB (goal <= 1024)": peak_mb(results["ours"])
        if "ours" in results
        else None,
        "ours_p2 peak memory MB, all processes": (
            peak_mb(results["ours_p2"]) if "ours_p2" in results else None
        ),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--docs",
        type=int,
        default=None,
        help="passages offered to each contender (default 2000; the corpus itself has 5000)",
    )
    p.add_argument(
        "--fastembed-docs",
        type=int,
        default=None,
        help="passages for fastembed in-process (default 256, one batch of its "
        "default size); parallel=2 gets twice as many (one batch per worker)",
    )
    p.add_argument("--queries", type=int, default=None, help="single queries timed (default 300)")
    p.add_argument(
        "--check-docs", type=int, default=None, help="equality-check sample (default 48)"
    )
    p.add_argument(
        "--cap",
        type=float,
        default=None,
        help="seconds after which a contender is fed no new passages (default 45; "
        "embed_plugins in-process reads its first window of 2048 at once)",
    )
    p.add_argument(
        "--latency-cap",
        type=float,
        default=None,
        help="seconds of single-query calls per contender at most (default 15)",
    )
    p.add_argument(
        "--latency-rounds",
        type=int,
        default=None,
        help="times the query list is gone through, interleaved (default 3)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="total seconds to stay under (default 560); fastembed parallel=2, "
        "the last contender, is shrunk or skipped to fit",
    )
    p.add_argument("--quick", action="store_true", help="a small smoke run")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {','.join(C.ALL)}")
    p.add_argument("--skip-check", action="store_true", help="skip the equality check")
    p.add_argument("--seed", type=int, default=corpus_mod.DEFAULT_SEED)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--workload", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    defaults = (
        {
            "docs": 200,
            "fastembed_docs": 32,
            "queries": 30,
            "check_docs": 16,
            "cap": 10.0,
            "latency_cap": 3.0,
            "latency_rounds": 1,
            "budget": 300.0,
        }
        if args.quick
        else {
            "docs": 2000,
            "fastembed_docs": 256,
            "queries": 300,
            "check_docs": 48,
            "cap": 45.0,
            "latency_cap": 15.0,
            "latency_rounds": 3,
            "budget": 560.0,
        }
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def describe_corpus(
    corpus: corpus_mod.Corpus, lengths: list[int], docs: list[str], query_lengths: list[int]
) -> dict[str, Any]:
    doc_lengths = np.asarray(lengths[: len(docs)])
    return {
        "source": str(corpus_mod.DOC_ROOT),
        "files_read": corpus.files_read,
        "candidate_paragraphs": corpus.candidates,
        "passages": len(corpus.passages),
        "seed": corpus.seed,
        "fingerprint": corpus.fingerprint(),
        "tokens_all_passages": corpus_mod.length_stats(lengths),
        "tokens_benchmarked_docs": corpus_mod.length_stats(doc_lengths.tolist()),
        "share_over_256_tokens": round(float(np.mean(doc_lengths > 256)), 4),
        "share_over_512_tokens": round(float(np.mean(doc_lengths > 512)), 4),
        "tokens_queries": corpus_mod.length_stats(query_lengths),
    }


def print_check(check: dict[str, dict[str, Any]], n: int, seconds: float) -> None:
    print(
        f"\nequality check on {n} passages spread over the length range ({seconds:.0f}s); "
        "max abs difference of the vectors:"
    )
    for name, entry in check.items():
        if entry.get("reference") is True:
            print(f"  {C.LABELS[name]:<39} reference (truncates at {entry['max_length']} tokens)")
            continue
        flag = "ok" if entry["ok"] else f"MISMATCH (> {TOLERANCE:g})"
        extra = ""
        if entry["n_within"] < entry["n"]:
            extra = (
                f"; {entry['max_abs_diff_all']:.1e} over all {entry['n']} "
                f"(truncates at {entry['max_length']})"
            )
        print(
            f"  {C.LABELS[name]:<39} {entry['max_abs_diff']:.1e} on the {entry['n_within']} "
            f"texts both see whole: {flag}{extra}"
        )


def mem_available_mb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


#: fastembed pads a batch of 256 to 512 tokens: its attention alone is 256 x 12 x 512 x 512
#: floats (3.2 GB); its peak was 9.6 GB in-process and 16.6 GB with parallel=2.  On a shared
#: machine it runs only when that much memory (plus a margin) is free.
FASTEMBED_MB_PER_ROW = 11_000.0 / 256


def memory_guard(name: str, results: dict[str, dict[str, Any]], rows: int) -> str | None:
    """Why ``name`` must not run now for lack of free memory (``None``: it may run).

    ``rows``: the rows of fastembed's first batch (``min(256, passages)``)."""
    if not name.startswith("fastembed"):
        return None
    need = 1_000.0 + FASTEMBED_MB_PER_ROW * rows
    fe = results.get("fastembed", {})
    if name == "fastembed_p2":
        # Two workers, each at fastembed's own peak, and a margin.
        need = 1_000.0 + 1.8 * (peak_mb(fe) if "throughput" in fe else need)
    free = mem_available_mb()
    if free < need:
        return (
            f"skipped: needs ~{need / 1024:.1f} GB of free memory, {free / 1024:.1f} GB available"
        )
    return None


def fit_fastembed_p2(
    results: dict[str, dict[str, Any]], wanted: int, remaining: float
) -> tuple[int, str | None]:
    """How many passages fastembed parallel=2 can get in ``remaining`` seconds (0: skip it)."""
    fe = results.get("fastembed", {})
    rate = fe.get("throughput", {}).get("docs_per_s")
    if not rate:
        return wanted, None
    overhead = fe.get("wall_s", 20.0) - fe["throughput"]["seconds"] + 15.0  # load, pool start
    for n in (wanted, wanted // 2):
        if overhead + 1.3 * n / rate < remaining:
            return n, None if n == wanted else f"shrunk to {n} passages to fit --budget"
    return 0, f"skipped: {remaining:.0f}s left of --budget, needs ~{overhead + n / rate:.0f}s"


#: Contenders whose single-query latency is measured (fastembed parallel=2 embeds a single
#: text in-process, like fastembed; the 1,024-token raw loop has the same floor as ort_raw).
LATENCY_CONTENDERS = ("ours", "ours_fused", "ort_raw", "st", "ours_p2", "fastembed")


def run_throughput(
    name: str, base_work: dict[str, Any], tmp: Path, budget: float, started: float
) -> dict[str, Any]:
    workload = tmp / f"workload-{name}.json"
    workload.write_text(json.dumps(base_work))
    load = load_average()
    t0 = time.perf_counter()
    remaining = budget - (t0 - started)
    r = run_contender(name, workload, tmp, timeout=max(60.0, remaining + 60.0))
    if "error" in r:
        print(f"{name}: ERROR {r['error']}\n{r.get('log', '')}")
        return r
    r["load_average_before"] = load
    r["load_average_after"] = load_average()
    tp = r["throughput"]
    print(
        f"{name}: {tp['docs']} passages in {tp['seconds']:.1f}s = {tp['docs_per_s']:.2f}/s "
        f"({tp['cores_used']:.2f} cores busy); peak {peak_mb(r):.0f} MB; "
        f"{time.perf_counter() - t0:.0f}s, load average {load} -> {r['load_average_after']}"
    )
    return r


def run_latency_rounds(
    results: dict[str, dict[str, Any]], base_work: dict[str, Any], tmp: Path, args: Any
) -> None:
    """Single-query latency: each contender alone in a fresh process (no other thread pool
    in the process to compete with), back-to-back calls over the query list; ``rounds``
    rounds, the contenders' order rotated every round, so load drifts hit all alike."""
    names = [n for n in LATENCY_CONTENDERS if n in results and "error" not in results[n]]
    if not names:
        return
    rounds = max(1, args.latency_rounds)
    timings: dict[str, list[list[float]]] = {n: [] for n in names}
    t0 = time.perf_counter()
    load = load_average()
    for k in range(rounds):
        for name in names[k % len(names) :] + names[: k % len(names)]:
            work = base_work | {"latency_target": name, "latency_cap_s": args.latency_cap / rounds}
            workload = tmp / f"workload-latency-{name}.json"
            workload.write_text(json.dumps(work))
            r = run_contender("latency", workload, tmp, timeout=120.0)
            if "error" in r:
                print(f"latency {name}: ERROR {r['error']}\n{r.get('log', '')}")
                continue
            timings[name].append(r["timings_ms"])
    for name, per_round in timings.items():
        if not per_round:
            continue
        pooled = [t for one in per_round for t in one]
        results[name]["latency"] = _percentiles(pooled) | {
            "p50_ms_per_round": [_percentiles(one)["p50_ms"] for one in per_round],
            "mode": "alone in a fresh process, back-to-back calls, rounds rotated",
        }
    print(
        f"latency ({rounds} rounds, one call per query): "
        + ", ".join(
            f"{n} p50 {results[n]['latency']['p50_ms']:.2f} ms" for n in names if timings[n]
        )
        + f"; {time.perf_counter() - t0:.0f}s, load average {load} -> {load_average()}"
    )


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
    names = sorted(names, key=C.ALL.index)
    skipped = {n: r for n in names if (r := C.missing_reason(n)) is not None}
    names = [n for n in names if n not in skipped]
    for n, reason in skipped.items():
        print(f"skipping {n}: {reason}")

    load_start = load_average()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {load_start}")
    print(f"model folder: {C.model_dir()}")
    t0 = time.perf_counter()
    corpus, cached = cached_corpus(max(args.docs, 5000), max(args.queries, 300), args.seed)
    lengths = token_lengths(corpus.passages)
    queries = corpus.queries[: args.queries]
    docs = corpus.passages[: args.docs]
    doc_lengths = lengths[: len(docs)]
    corpus_stats = describe_corpus(corpus, lengths, docs, token_lengths(queries))
    s = corpus_stats["tokens_benchmarked_docs"]
    print(
        f"corpus: {len(corpus.passages)} passages from {corpus.candidates} candidate paragraphs "
        f"in {corpus.files_read} files under {corpus_mod.DOC_ROOT} "
        f"({'cached' if cached else 'built'} in {time.perf_counter() - t0:.0f}s, "
        f"fingerprint {corpus.fingerprint()})"
    )
    print(
        f"benchmarked passages: {len(docs)}; tokens (untruncated, with [CLS]/[SEP]): mean "
        f"{s['mean']}, p50 {s['p50']:.0f}, p90 {s['p90']:.0f}, p99 {s['p99']:.0f}, max "
        f"{s['max']:.0f}; {corpus_stats['share_over_256_tokens']:.1%} over 256, "
        f"{corpus_stats['share_over_512_tokens']:.1%} over 512"
    )
    q = corpus_stats["tokens_queries"]
    print(f"queries: {q['n']}, tokens mean {q['mean']}, p50 {q['p50']:.0f}, max {q['max']:.0f}")

    check: dict[str, Any] = {}
    if not args.skip_check:
        t0 = time.perf_counter()
        sample = C.check_sample(docs, doc_lengths, args.check_docs)
        check = equality_check(names, [docs[i] for i in sample], [doc_lengths[i] for i in sample])
        print_check(check, len(sample), time.perf_counter() - t0)

    results: dict[str, dict[str, Any]] = {}
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench_dense_") as tmp_name:
        tmp = Path(tmp_name)
        fe_docs = min(args.fastembed_docs, len(docs))
        n_docs = {n: len(docs) for n in names} | {
            "fastembed": fe_docs,
            "fastembed_p2": min(2 * fe_docs, len(docs)),
        }
        base_work = {
            "docs": docs,
            "lengths": doc_lengths,
            "queries": queries,
            "n_docs": n_docs,
            "cap_s": args.cap,
            "seed": args.seed,
        }
        print()
        # Throughput, memory: each contender in its own process.  fastembed parallel=2 last,
        # after the latency rounds: it is the one the budget may shrink.
        throughput = [n for n in names if n != "fastembed_p2"]
        for name in throughput:
            why = memory_guard(name, results, min(256, n_docs[name]))
            if why:
                notes[name] = why
                print(f"{name}: {why}")
                continue
            results[name] = run_throughput(name, base_work, tmp, args.budget, started)
        run_latency_rounds(results, base_work, tmp, args)
        if "fastembed_p2" in names:
            remaining = args.budget - (time.perf_counter() - started)
            fitted, note = fit_fastembed_p2(results, n_docs["fastembed_p2"], remaining)
            n_docs["fastembed_p2"] = fitted
            short_of_memory = memory_guard("fastembed_p2", results, min(256, fitted))
            if short_of_memory:
                n_docs["fastembed_p2"], note = 0, short_of_memory
            if note:
                notes["fastembed_p2"] = note
                print(f"fastembed_p2: {note}")
            if n_docs["fastembed_p2"]:
                results["fastembed_p2"] = run_throughput(
                    "fastembed_p2", base_work, tmp, args.budget, started
                )

    print()
    print_table(results)
    if "fastembed" in results:
        print(
            f"fastembed ran on the first {n_docs['fastembed']} passages (parallel=2: "
            f"{n_docs.get('fastembed_p2', 0)}) of the same corpus; its pool starts on every call."
        )
    goal_ratios = goals(results)
    print("\ngoals (issue 3), ratios from this run:")
    for key, value in goal_ratios.items():
        print(f"  {key}: {value if value is not None else '-'}")
    total = time.perf_counter() - started
    load_end = load_average()
    print(f"\ntotal {total:.0f}s; load average at the start {load_start}, at the end {load_end}")

    report = {
        "command": " ".join(["python", *sys.argv]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_start": load_start,
            "load_average_end": load_end,
        },
        "model_dir": str(C.model_dir()),
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in {"worker", "workload", "result"}
        },
        "docs_per_contender": {n: n_docs.get(n) for n in names},
        "notes": notes,
        "corpus": corpus_stats,
        "equality_check": check,
        "results": results,
        "goals": goal_ratios,
        "total_s": round(total, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    failed = [n for n, e in check.items() if e.get("ok") is False]
    if failed:
        print(f"equality check FAILED for {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
