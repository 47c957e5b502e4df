"""Concurrent callers on one model with ``parallel=2``: together at least one caller's throughput?

    python benchmarks/bench_concurrency.py [--texts N] [--callers K ...] [--repeats R]

One ``TextEmbedding`` (the real all-MiniLM-L6-v2 from ``$EMBED_PLUGINS_MODELS_DIR`` or
``../shared/models`` when present, else the tiny BERT fixture) and its one worker
pool.  The same N passages are embedded by one caller, then split between K
threads calling ``embed(..., parallel=2)`` at the same time (the way a server's
request handlers, LangChain's ``batch`` or asyncio tasks call it), and for comparison
the same K slices as K calls one after another (what splitting the work into small
calls costs by itself: each call sorts and batches only its own texts).  Every result is
checked against the in-process vectors.  Prints texts/s and the ratio to one caller;
results go to ``benchmarks/results/concurrency.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def model_folder(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    for base in [
        *os.environ.get("EMBED_PLUGINS_MODELS_DIR", "").split(os.pathsep),
        str(ROOT.parent / "shared" / "models"),
    ]:
        if base and (Path(base) / MINILM / "onnx" / "model.onnx").is_file():
            return Path(base) / MINILM
    return ROOT / "tests" / "fixtures" / "models" / "tiny-bert"


def passages(n: int) -> list[str]:
    words = (ROOT / "README.md").read_text().split()
    return [" ".join(words[(i * 7) % (len(words) - 60) :][: 8 + (i * 13) % 50]) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--callers", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-path", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/concurrency.json")
    args = parser.parse_args()

    from embed_plugins import TextEmbedding

    folder = model_folder(args.model_path)
    texts = passages(args.texts)
    model = TextEmbedding(model_path=folder)
    expected = np.stack(list(model.embed(texts)))
    list(model.embed(texts[:64], parallel=2))  # the pool is started before timing

    def one_caller() -> None:
        got = np.stack(list(model.embed(texts, parallel=2)))
        np.testing.assert_allclose(got, expected, atol=1e-5)

    def many_callers(k: int) -> None:
        parts = [list(range(i, len(texts), k)) for i in range(k)]
        out: dict[int, np.ndarray] = {}
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                out[i] = np.stack(list(model.embed([texts[j] for j in parts[i]], parallel=2)))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        for i, idx in enumerate(parts):
            np.testing.assert_allclose(out[i], expected[idx], atol=1e-5)

    def sequential_calls(k: int) -> None:
        # The same K slices, one call after another: what splitting the work costs by itself.
        for i in range(k):
            idx = list(range(i, len(texts), k))
            got = np.stack(list(model.embed([texts[j] for j in idx], parallel=2)))
            np.testing.assert_allclose(got, expected[idx], atol=1e-5)

    runs = {
        "1 caller": one_caller,
        **{f"{k} callers": (lambda k=k: many_callers(k)) for k in args.callers},
        **{f"{k} calls in turn": (lambda k=k: sequential_calls(k)) for k in args.callers},
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    model.close()
    base = len(texts) / min(times["1 caller"])
    rows = {}
    print(f"model: {folder.name}, {len(texts)} passages, parallel=2, best of {args.repeats}")
    for name, values in times.items():
        best = len(texts) / min(values)
        rows[name] = {
            "texts_per_s_best": round(best, 1),
            "texts_per_s_median": round(len(texts) / statistics.median(values), 1),
            "vs_one_caller": round(best / base, 2),
        }
        print(f"{name:12s} {best:9.1f} texts/s  x{best / base:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"model": folder.name, "texts": len(texts), "results": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
