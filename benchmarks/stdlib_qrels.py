"""A retrieval set with known answers, from the docstrings of Python's standard library.

Every public function, class and method of the standard library whose docstring has a
one-paragraph summary (4-30 words) and a body after it (at least 15 words) gives one
query and one document: the **query** is the summary ("Return the current value of the
recursion limit."), its one relevant **document** is the rest of the docstring ("The
recursion limit is the maximum depth of the Python interpreter stack. ..."), which does
not repeat the summary.  Pairs whose summary or body occurs more than once (inherited
methods, ``Read at most size bytes...`` on every file class) are left out of the queries,
and their bodies stay in the corpus as distractors, once each.

Nothing is generated or downloaded: the text is whatever the running interpreter ships
(``sys.stdlib_module_names``, their subpackages; tests, GUI and demo packages skipped),
so the set is fixed for one Python version and the cache is keyed by it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import io
import json
import pkgutil
import platform
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

#: Not imported: GUI, demos, test suites, packaging helpers, side effects on import.
SKIP = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3",
    "ensurepip", "venv", "pydoc_data", "__phello__", "__hello__", "xxlimited",
}  # fmt: skip
CACHE = Path(__file__).resolve().parent / ".cache"


@dataclass
class Qrels:
    """``queries[i]``'s one relevant document is ``docs[answer[i]]``."""

    queries: list[str]
    docs: list[str]
    answer: list[int]
    names: list[str]  # the dotted name each query's docstring belongs to

    def digest(self) -> str:
        blob = json.dumps([self.queries, self.docs, self.answer]).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _modules() -> Iterator[ModuleType]:
    seen: set[str] = set()
    for top in sorted(sys.stdlib_module_names):
        if top.startswith("_") or top in SKIP:
            continue
        module = _import(top)
        if module is None:
            continue
        yield module
        path = getattr(module, "__path__", None)
        if path is None:
            continue
        for info in pkgutil.walk_packages(path, prefix=f"{top}.", onerror=lambda _: None):
            parts = info.name.split(".")
            if any(p.startswith("_") or p in ("test", "tests", "idle_test") for p in parts):
                continue
            if info.name not in seen and (sub := _import(info.name)) is not None:
                seen.add(info.name)
                yield sub


def _import(name: str) -> ModuleType | None:
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except BaseException:  # a module that cannot import here is skipped
        return None


def _documented(module: ModuleType) -> Iterator[tuple[str, Any]]:
    yield module.__name__, module
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if not (inspect.isroutine(obj) or inspect.isclass(obj)):
            continue
        yield f"{module.__name__}.{name}", obj
        if inspect.isclass(obj):
            for attr, member in sorted(vars(obj).items()):
                if not attr.startswith("_") and inspect.isroutine(member):
                    yield f"{module.__name__}.{name}.{attr}", member


def _split(doc: str) -> tuple[str, str] | None:
    parts = doc.strip().split("\n\n", 1)
    if len(parts) < 2:
        return None
    summary, body = (" ".join(p.split()) for p in parts)
    if not 4 <= len(summary.split()) <= 30 or len(body.split()) < 15:
        return None
    return summary, body


def build() -> Qrels:
    pairs: dict[str, tuple[str, str]] = {}
    for module in _modules():
        for name, obj in _documented(module):
            doc = inspect.getdoc(obj)
            split = _split(doc) if doc else None
            if split is not None:
                pairs.setdefault(name, split)
    summaries = Counter(s.lower() for s, _ in pairs.values())
    bodies = Counter(b for _, b in pairs.values())
    docs = sorted(bodies)
    where = {b: i for i, b in enumerate(docs)}
    queries, answer, names = [], [], []
    for name, (summary, body) in sorted(pairs.items()):
        if summaries[summary.lower()] == 1 and bodies[body] == 1:
            queries.append(summary)
            answer.append(where[body])
            names.append(name)
    return Qrels(queries, docs, answer, names)


def load() -> Qrels:
    """The set for this interpreter, cached in ``benchmarks/.cache``."""
    key = hashlib.sha256(f"v2 {sys.version} {platform.platform()}".encode()).hexdigest()[:12]
    path = CACHE / f"stdlib-qrels-{key}.json"
    if path.is_file():
        return Qrels(**json.loads(path.read_text()))
    qrels = build()
    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(qrels.__dict__))
    tmp.replace(path)
    return qrels


def scores(
    queries: npt.NDArray[np.float32], docs: npt.NDArray[np.float32], answer: list[int], k: int = 10
) -> dict[str, float]:
    """nDCG@k and MRR@k with one relevant document per query (vectors unit-normalised)."""
    sims = queries @ docs.T
    target = sims[np.arange(len(answer)), answer]
    # Rank = 1 + documents scoring strictly higher (ties count in the answer's favour).
    rank = 1 + (sims > target[:, None]).sum(axis=1)
    hit = rank <= k
    return {
        f"ndcg@{k}": float(np.where(hit, 1.0 / np.log2(rank + 1), 0.0).mean()),
        f"mrr@{k}": float(np.where(hit, 1.0 / rank, 0.0).mean()),
        "recall@1": float((rank == 1).mean()),
    }
