"""BM25 throughput: embed_plugins' Bm25 against fastembed 0.9.1's, one core, same texts.

    python benchmarks/bench_bm25.py [--limit N] [--repeats R] [--out PATH]

The texts are real English paragraphs from the licence texts and the README/NEWS/
FAQ/*.txt/*.md files under /usr/share (Debian ships them).  Before timing anything
the script checks that both libraries give the same vectors for every text (same
indices, ours = fastembed's float64 value rounded to float32) and the same query
indices, and stops if they do not.

Timings (wall clock, ``time.perf_counter``), each repeated R times, interleaved:

* fastembed ``Bm25.embed`` over all texts (its default batch of 256, no workers);
* ours, one pass with a *fresh* ``Bm25`` (its caches start empty: the honest
  number for indexing a corpus once);
* ours, a second pass with the same instance (caches warm: a long-lived model);
* ours through the public API, ``SparseTextEmbedding("Qdrant/bm25").embed``, a
  fresh model each time (what a user switching from fastembed calls);
* queries: the first 8 words of each text, ``query_embed`` / ``embed_queries``.

The machine may be shared, so wall-clock and CPU time, best and median of the R
runs are all recorded; ratios use the best (least disturbed) runs.  Results go to
``benchmarks/results/bm25.json``.
"""

from __future__ import annotations

import os

# One core: no thread pools in numpy's BLAS or anywhere else, and one CPU if we can pin it.
for _name in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import fnmatch  # noqa: E402
import gzip  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from embed_plugins import SparseTextEmbedding  # noqa: E402
from embed_plugins.families.bm25 import Bm25  # noqa: E402

DOC_PATTERNS = ("README*", "*.txt", "*.md", "*.markdown", "*.rst", "NEWS*", "FAQ*")
STOPWORDS = ROOT / "src" / "embed_plugins" / "families" / "data" / "stopwords"
#: --man: translated manual pages Debian ships, by directory name, and their BM25 language.
MAN_LANGUAGES = {
    "da": "danish",
    "de": "german",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
ROFF_ESCAPE = re.compile(r"\\(?:f[A-Z0-9]|f\(..|f\[[^]]*\]|\(..|\[[^]]*\]|[-&e|^ c])")


def pin_one_cpu() -> int | None:
    if hasattr(os, "sched_setaffinity"):
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    return None


def source_files() -> list[Path]:
    files = sorted(Path("/usr/share/common-licenses").glob("*"))
    for root, _, names in sorted(os.walk("/usr/share/doc")):
        for name in sorted(names):
            base = name[:-3] if name.endswith(".gz") else name
            if any(fnmatch.fnmatch(base, pattern) for pattern in DOC_PATTERNS):
                files.append(Path(root) / name)
    return files


def read_text(path: Path) -> str | None:
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as compressed:
                raw = compressed.read()
        else:
            raw = path.read_bytes()
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError):
        return None


def man_page_texts(code: str) -> list[str]:
    """The translated manual pages under /usr/share/man/<code>, roff requests and escapes
    removed (a request line ends a paragraph)."""
    texts = []
    for path in sorted(Path("/usr/share/man", code).glob("man*/*")):
        text = read_text(path)
        if text is None:
            continue
        lines = ["" if line[:1] in (".", "'") else line for line in text.splitlines()]
        texts.append(
            ROFF_ESCAPE.sub(lambda m: "-" if m.group(0) == "\\-" else "", "\n".join(lines))
        )
    return texts


def paragraphs(texts: list[str], limit: int | None) -> list[str]:
    """Blank-line-separated paragraphs of mostly letters, 8 words or more, deduplicated."""
    seen: set[str] = set()
    kept: list[str] = []
    for text in texts:
        for block in re.split(r"\n\s*\n", text):
            paragraph = " ".join(block.split())
            letters = sum(c.isalpha() for c in paragraph)
            wordy = len(paragraph.split()) >= 8 and letters > 0.6 * len(paragraph)
            if wordy and paragraph not in seen:
                seen.add(paragraph)
                kept.append(paragraph)
    return kept[:limit]


def fastembed_model(folder: Path, language: str) -> Any:
    from fastembed.sparse.bm25 import Bm25 as FastembedBm25

    shutil.copy(STOPWORDS / f"{language}.txt", folder / f"{language}.txt")
    return FastembedBm25(
        "Qdrant/bm25",
        cache_dir=str(folder / "cache"),
        specific_model_path=str(folder),
        local_files_only=True,
        language=language,
    )


def check_parity(ours: Bm25, theirs: Any, texts: list[str], queries: list[str]) -> dict[str, Any]:
    mismatches, max_diff = 0, 0.0
    for mine, reference in zip(ours.embed_documents(texts), theirs.embed(texts), strict=True):
        ref = reference.as_dict()
        order = sorted(ref)
        ref_values = np.array([ref[i] for i in order], dtype=np.float64)
        same = mine.indices.tolist() == order and np.array_equal(
            mine.values, ref_values.astype(np.float32)
        )
        mismatches += not same
        if same and ref_values.size:
            max_diff = max(max_diff, float(np.max(np.abs(mine.values - ref_values))))
    query_mismatches = sum(
        mine.indices.tolist() != sorted(reference.indices.tolist())
        for mine, reference in zip(
            ours.embed_queries(queries), theirs.query_embed(queries), strict=True
        )
    )
    return {
        "documents_compared": len(texts),
        "document_mismatches": mismatches,
        "queries_compared": len(queries),
        "query_mismatches": query_mismatches,
        "max_abs_diff_vs_fastembed_float64": max_diff,
        "token_count_equal": ours.token_count(texts) == theirs.token_count(texts),
    }


def drain(embed: Callable[[list[str]], Any], texts: list[str]) -> list[Any]:
    """Every vector of a streaming ``embed`` call."""
    return list(embed(texts))


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call (CPU time is steadier on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def summary(times: list[tuple[float, float]], count: int) -> dict[str, Any]:
    walls, cpus = [t[0] for t in times], [t[1] for t in times]
    best, median, best_cpu = min(walls), statistics.median(walls), min(cpus)
    return {
        "wall_s": [round(t, 4) for t in walls],
        "cpu_s": [round(t, 4) for t in cpus],
        "best_wall_s": round(best, 4),
        "median_wall_s": round(median, 4),
        "best_cpu_s": round(best_cpu, 4),
        "per_s_best_wall": round(count / best, 1),
        "per_s_median_wall": round(count / median, 1),
        "per_s_best_cpu": round(count / best_cpu, 1),
    }


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="at most this many paragraphs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--man",
        choices=sorted(MAN_LANGUAGES),
        help="instead of English: the manual pages translated to this language",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    language = MAN_LANGUAGES[args.man] if args.man else "english"
    out = args.out or ROOT / "benchmarks" / "results" / (
        f"bm25_{args.man}.json" if args.man else "bm25.json"
    )

    cpu = pin_one_cpu()
    if args.man:
        sources = man_page_texts(args.man)
        texts = paragraphs(sources, args.limit)
    else:
        files = source_files()
        sources = [text for text in map(read_text, files) if text is not None]
        texts = paragraphs(sources, args.limit)
    if not texts:
        raise SystemExit(f"no {language} text found under /usr/share")
    queries = [" ".join(text.split()[:8]) for text in texts]
    print(
        f"{len(texts)} {language} paragraphs ({sum(map(len, texts)) / 1e6:.1f} MB) "
        f"from {len(sources)} files"
    )

    with tempfile.TemporaryDirectory() as tmp:
        theirs = fastembed_model(Path(tmp), language)
        parity = check_parity(Bm25(language=language), theirs, texts, queries)
        print(f"parity: {parity}")
        if parity["document_mismatches"] or parity["query_mismatches"]:
            raise SystemExit("vectors differ from fastembed: not timing")

        runs: dict[str, list[tuple[float, float]]] = {
            key: []
            for key in ("fastembed", "ours_fresh", "ours_warm", "ours_public", "fq", "oq_warm")
        }
        for repeat in range(args.repeats):
            runs["fastembed"].append(timed(lambda: list(theirs.embed(texts))))
            model = Bm25(language=language)
            runs["ours_fresh"].append(timed(partial(model.embed_documents, texts)))
            runs["ours_warm"].append(timed(partial(model.embed_documents, texts)))
            public = SparseTextEmbedding("Qdrant/bm25", language=language)
            runs["ours_public"].append(timed(partial(drain, public.embed, texts)))
            runs["fq"].append(timed(lambda: list(theirs.query_embed(queries))))
            runs["oq_warm"].append(timed(partial(model.embed_queries, queries)))
            print(
                f"repeat {repeat + 1} (wall s): "
                + ", ".join(f"{k} {v[-1][0]:.2f}" for k, v in runs.items())
            )

    n = len(texts)
    results = {
        "fastembed_documents": summary(runs["fastembed"], n),
        "ours_documents_fresh_model": summary(runs["ours_fresh"], n),
        "ours_documents_warm_model": summary(runs["ours_warm"], n),
        "ours_documents_public_api_fresh_model": summary(runs["ours_public"], n),
        "fastembed_queries": summary(runs["fq"], n),
        "ours_queries_warm_model": summary(runs["oq_warm"], n),
    }

    def ratio(theirs: str, ours: str, column: int) -> float:
        return round(min(t[column] for t in runs[theirs]) / min(t[column] for t in runs[ours]), 2)

    ratios = {
        "documents_fresh_model": ratio("fastembed", "ours_fresh", 0),
        "documents_warm_model": ratio("fastembed", "ours_warm", 0),
        "documents_public_api_fresh_model": ratio("fastembed", "ours_public", 0),
        "documents_fresh_model_median": round(
            statistics.median(t[0] for t in runs["fastembed"])
            / statistics.median(t[0] for t in runs["ours_fresh"]),
            2,
        ),
        "queries_warm_model": ratio("fq", "oq_warm", 0),
        "documents_fresh_model_cpu": ratio("fastembed", "ours_fresh", 1),
        "documents_warm_model_cpu": ratio("fastembed", "ours_warm", 1),
        "queries_warm_model_cpu": ratio("fq", "oq_warm", 1),
    }
    report = {
        "benchmark": "bm25 documents and queries, embed_plugins vs fastembed 0.9.1",
        "command": "python benchmarks/bench_bm25.py"
        + (f" --man {args.man}" if args.man else "")
        + (f" --limit {args.limit}" if args.limit else "")
        + (f" --repeats {args.repeats}" if args.repeats != 3 else ""),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpu": cpu_model(),
            "cpus_visible": os.cpu_count(),
            "pinned_cpu": cpu,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {p: version(p) for p in ("numpy", "py-rust-stemmers", "fastembed", "mmh3")},
        "corpus": {
            "paragraphs": n,
            "characters": sum(map(len, texts)),
            "whitespace_chunks": sum(len(t.split()) for t in texts),
            "distinct_chunks": len({c for t in texts for c in t.split()}),
            "language": language,
            "source_files": len(sources),
        },
        "parity": parity,
        "results": results,
        "speedup": ratios,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    r = results
    for kind in ("wall", "cpu"):
        key, suffix = f"per_s_best_{kind}", "" if kind == "wall" else "_cpu"
        print(
            f"[best {kind}] documents: fastembed {r['fastembed_documents'][key]:.0f}/s, "
            f"ours fresh {r['ours_documents_fresh_model'][key]:.0f}/s "
            f"(x{ratios['documents_fresh_model' + suffix]}), "
            f"ours warm {r['ours_documents_warm_model'][key]:.0f}/s "
            f"(x{ratios['documents_warm_model' + suffix]}); "
            + (
                f"public API fresh {r['ours_documents_public_api_fresh_model'][key]:.0f}/s "
                f"(x{ratios['documents_public_api_fresh_model']}); "
                if kind == "wall"
                else ""
            )
            + f"queries: fastembed {r['fastembed_queries'][key]:.0f}/s, "
            f"ours {r['ours_queries_warm_model'][key]:.0f}/s "
            f"(x{ratios['queries_warm_model' + suffix]})"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
