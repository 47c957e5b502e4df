"""Memory over a long run: 200,000 passages through one model object, in-process and parallel=2.

    python benchmarks/bench_memory.py [--passages N] [--model-path P]

Passages are streamed from a generator (never a list), cycling over the paragraphs
of the committed multilingual corpus with a counter appended, so every text is
distinct.  Resident memory (RSS) of this process and, with ``parallel=2``, of its
workers is sampled every 10,000 passages (from ``/proc``).  Reports RSS after the
first 10,000 passages, the peak, the last sample and the growth between the first and
last samples; results go to ``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "data" / "bm25_multilingual.tsv"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stream(n: int) -> Iterator[str]:
    lines = [line.split("\t", 1)[1] for line in CORPUS.read_text("utf-8").splitlines()]
    for i in range(n):
        yield f"{lines[i % len(lines)][:400]} #{i}"


def run(model, n: int, parallel: int | None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    samples: list[float] = []
    start = time.perf_counter()
    for i, _ in enumerate(model.embed(stream(n), batch_size=64, parallel=parallel), start=1):
        if i % 10_000 == 0:
            pool = model._runner._pool
            pids = [os.getpid(), *([w.process.pid for w in pool._workers] if pool else [])]
            samples.append(sum(rss_mb(p) for p in pids))
    elapsed = time.perf_counter() - start
    return {
        "passages": n,
        "seconds": round(elapsed, 1),
        "rss_first_mb": round(samples[0], 1),
        "rss_peak_mb": round(max(samples), 1),
        "rss_last_mb": round(samples[-1], 1),
        "growth_mb": round(samples[-1] - samples[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=200_000)
    parser.add_argument("--model-path", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/memory.json")
    args = parser.parse_args()
    from embed_plugins import TextEmbedding

    folder = args.model_path
    if folder is None:
        base = Path(os.environ.get("EMBED_PLUGINS_MODELS_DIR", ROOT.parent / "shared" / "models"))
        folder = base / MINILM
    model = TextEmbedding(model_path=folder)
    results = {}
    for name, parallel in (("in-process", None), ("parallel=2", 2)):
        results[name] = run(model, args.passages, parallel)
        print(name, results[name], flush=True)
    model.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": folder.name, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
