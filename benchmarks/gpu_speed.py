"""The throughput part of ``gpu_check.py``: random-weight BERT models of two sizes, long
passages, and tokens/s for embed_plugins and sentence-transformers on the same device.

Random weights are enough for speed (the arithmetic does not depend on the values).  Each
model is built on the machine with transformers and exported with ``torch.onnx.export``
(TorchScript exporter, eager attention, as the test fixtures are), into a folder that both
sides load: sentence-transformers reads its ``modules.json`` and PyTorch weights, we read
the same tokenizer and ``onnx/model.onnx`` (mean pooling, no normalisation).

Rows per model:

* ``ours fp32``: ``TextEmbedding(model_path=folder, cuda=True)``, the defaults (I/O binding
  on, GPU token budget); ``ours fp32 no-binding``: the same with I/O binding off;
* ``ours fused fp32``: ``optimize=True`` (onnxruntime's transformer fusions, cached);
* ``ours fused fp16``: the fused graph converted to float16 here, with float32 inputs and
  outputs (``convert_float_to_float16(keep_io_types=True)``), loaded as a custom spec: a
  variant the library does not build itself yet; its difference to fp32 is reported;
* ``ours <best> budget=N``: the fastest of the above at other token budgets;
* ``st fp16 bs=32`` / ``bs=128``: ``SentenceTransformer(folder).half()`` on the same GPU
  (its default SDPA attention), ``encode(texts, batch_size=...)``; in the CPU rehearsal
  the ST rows run in float32 (half precision on a CPU measures nothing useful).

Ratios are tokens/s over the best sentence-transformers row, from this one run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FIXTURE_TOKENIZER = Path(__file__).resolve().parent.parent / "tests/fixtures/models/tiny-bert"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)

#: name -> (layers, hidden, heads, intermediate, max_seq_length)
SIZES = {
    "minilm-sized": (6, 384, 12, 1536, 256),
    "bert-base-sized": (12, 768, 12, 3072, 512),
}
IO_BINDING_ENV = "EMBED_PLUGINS_IO_BINDING"


@dataclass
class Row:
    model: str
    name: str
    tokens_per_s: float | None = None
    docs_per_s: float | None = None
    seconds: float | None = None
    note: str = ""
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def build_model(name: str, root: Path, seed: int = 0) -> Path:
    """A random-weight BertModel of size ``name`` as a sentence-transformers folder with an
    ONNX export; reused when it exists."""
    import torch
    from transformers import BertConfig, BertModel

    layers, hidden, heads, inter, max_len = SIZES[name]
    folder = root / name
    if (folder / "onnx" / "model.onnx").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for file in TOKENIZER_FILES:
        shutil.copy(FIXTURE_TOKENIZER / file, folder / file)
    vocab = len((FIXTURE_TOKENIZER / "vocab.txt").read_text().splitlines())
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=inter,
        max_position_embeddings=512,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config._attn_implementation = "eager"  # plain ops in the graph, which the fusions know
    model = BertModel(config, add_pooling_layer=False).eval()
    config.architectures = ["BertModel"]
    model.save_pretrained(folder)
    _write_st_files(folder, hidden, max_len)
    (folder / "onnx").mkdir(exist_ok=True)
    ids = torch.ones((2, 16), dtype=torch.int64)

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            Hidden(),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(folder / "onnx" / "model.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    return folder


def _write_st_files(folder: Path, hidden: int, max_len: int) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_len, "do_lower_case": False})
    )
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pooling = {"word_embedding_dimension": hidden, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))


def fp16_graph(folder: Path, on_gpu: bool) -> str:
    """The fused float16 graph of ``folder`` (float32 inputs/outputs), as a file name in it."""
    from onnxruntime.transformers.optimizer import optimize_model

    hidden, heads = SIZES[folder.name][1:3]
    target = folder / "onnx" / "model_fp16.onnx"
    if not target.is_file():
        fused = optimize_model(
            str(folder / "onnx" / "model.onnx"),
            model_type="bert",
            num_heads=heads,
            hidden_size=hidden,
            opt_level=0,
            use_gpu=on_gpu,
        )
        fused.convert_float_to_float16(keep_io_types=True)
        fused.save_model_to_file(str(target))
    return "onnx/model_fp16.onnx"


def passages(folder: Path, count: int, seed: int = 7) -> list[str]:
    """``count`` passages of whole vocabulary words (one token each), 0.75x to 1.5x the
    model's limit long, so nearly every one is cut at the limit: long passages."""
    words = [
        w
        for w in (folder / "vocab.txt").read_text().split()
        if w.isalpha() and w.islower() and len(w) > 2
    ]
    limit = SIZES[folder.name][4]
    rng = random.Random(seed)
    return [
        " ".join(rng.choices(words, k=rng.randint(limit * 3 // 4, limit * 3 // 2)))
        for _ in range(count)
    ]


def timed(
    run: Callable[[list[str]], Any], texts: list[str], tokens: int, min_seconds: float
) -> tuple[float, float, float]:
    """A warm-up call on the first 256 texts, then calls on all of them until
    ``min_seconds`` have passed (at least one): tokens/s, docs/s, seconds timed."""
    run(texts[:256])
    started = time.perf_counter()
    calls = 0
    while True:
        run(texts)
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return tokens * calls / elapsed, len(texts) * calls / elapsed, elapsed


def speed_rows(
    root: Path, *, on_gpu: bool, count: int, min_seconds: float, budgets: Sequence[int]
) -> tuple[list[Row], dict[str, Any]]:
    """Every row for both model sizes, and facts about the runs (token counts, fp16 error)."""
    rows: list[Row] = []
    facts: dict[str, Any] = {}
    for size in SIZES:
        try:
            folder = build_model(size, root)
        except Exception as exc:  # reported as the model's rows' error
            rows.append(Row(size, "build", error=f"{type(exc).__name__}: {str(exc)[:300]}"))
            continue
        texts = passages(folder, count)
        facts[size] = {"passages": len(texts)}
        rows += _model_rows(folder, texts, on_gpu, min_seconds, budgets, facts[size])
    return rows, facts


def _model_rows(
    folder: Path,
    texts: list[str],
    on_gpu: bool,
    min_seconds: float,
    budgets: Sequence[int],
    facts: dict[str, Any],
) -> list[Row]:
    from embed_plugins import DenseSpec, TextEmbedding

    size = folder.name
    device: dict[str, Any] = {"cuda": True} if on_gpu else {"device": "cpu"}
    reference = TextEmbedding(model_path=folder, device="cpu")
    tokens = reference.token_count(texts)
    facts["tokens"] = tokens
    facts["mean_tokens"] = tokens / len(texts)
    sample = texts[:32]
    want = np.stack(list(reference.embed(sample)))
    rows: list[Row] = []
    models: dict[str, Any] = {}

    def ours(name: str, build: Callable[[], Any], binding: str | None = None) -> None:
        row = Row(size, name)
        rows.append(row)
        saved = os.environ.get(IO_BINDING_ENV)
        try:
            if binding is not None:
                os.environ[IO_BINDING_ENV] = binding
            model = build()
            got = np.stack(list(model.embed(sample)))
            row.extra["max_abs_diff_vs_cpu_fp32"] = float(np.abs(got - want).max())
            row.extra["min_cosine_vs_cpu_fp32"] = _min_cosine(got, want)
            row.tokens_per_s, row.docs_per_s, row.seconds = timed(
                lambda items: list(model.embed(items)), texts, tokens, min_seconds
            )
            models[name] = model
        except Exception as exc:  # one row failing does not stop the others
            row.error = f"{type(exc).__name__}: {str(exc)[:300]}"
        finally:
            if binding is not None:
                if saved is None:
                    os.environ.pop(IO_BINDING_ENV, None)
                else:
                    os.environ[IO_BINDING_ENV] = saved

    bind = None if on_gpu else "1"  # the CPU rehearsal forces the binding path
    ours("ours fp32", lambda: TextEmbedding(model_path=folder, **device), bind)
    ours("ours fp32 no-binding", lambda: TextEmbedding(model_path=folder, **device), "0")
    ours("ours fused fp32", lambda: TextEmbedding(model_path=folder, optimize=True, **device), bind)
    if on_gpu:
        dim = SIZES[size][1]
        ours(
            "ours fused fp16",
            lambda: TextEmbedding(
                spec=DenseSpec(
                    model=f"bench/{size}-fp16",
                    dim=dim,
                    model_file=fp16_graph(folder, on_gpu),
                    pooling="mean",
                    normalize=False,
                    max_length=SIZES[size][4],
                ),
                model_path=folder,
                **device,
            ),
        )
    else:
        rows.append(Row(size, "ours fused fp16", note="skipped: float16 graphs are for the GPU"))
    timed_rows = [r for r in rows if r.tokens_per_s and r.name in models]
    if timed_rows:
        best = max(timed_rows, key=lambda r: r.tokens_per_s or 0.0)
        pipeline = models[best.name].model
        default_budget = pipeline.token_budget
        for budget in budgets:
            row = Row(size, f"{best.name} budget={budget}")
            rows.append(row)
            try:
                pipeline.token_budget = budget
                row.tokens_per_s, row.docs_per_s, row.seconds = timed(
                    lambda items: list(models[best.name].embed(items)), texts, tokens, min_seconds
                )
            except Exception as exc:
                row.error = f"{type(exc).__name__}: {str(exc)[:300]}"
            finally:
                pipeline.token_budget = default_budget
        facts["default_token_budget"] = default_budget
    rows += _st_rows(folder, texts, tokens, sample, want, on_gpu, min_seconds)
    return rows


def _st_rows(
    folder: Path,
    texts: list[str],
    tokens: int,
    sample: list[str],
    want: np.ndarray,
    on_gpu: bool,
    min_seconds: float,
) -> list[Row]:
    rows = []
    precision = "fp16" if on_gpu else "fp32"
    try:
        import torch
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(
            str(folder),
            device="cuda" if on_gpu else "cpu",
            model_kwargs={"attn_implementation": "sdpa"},
        )
        if on_gpu:
            st = st.half()
        counted = int(st.tokenize(texts[:64])["attention_mask"].sum())
        ours = sum(min(len(t.split()) + 2, SIZES[folder.name][4]) for t in texts[:64])
    except Exception as exc:
        return [
            Row(folder.name, f"st {precision}", error=f"{type(exc).__name__}: {str(exc)[:300]}")
        ]
    for batch in (32, 128):
        row = Row(folder.name, f"st {precision} bs={batch}")
        rows.append(row)
        try:
            with torch.inference_mode():
                got = st.encode(sample, batch_size=batch, convert_to_numpy=True)
                row.extra["max_abs_diff_vs_cpu_fp32"] = float(np.abs(got - want).max())
                row.extra["min_cosine_vs_cpu_fp32"] = _min_cosine(got, want)
                row.extra["st_tokens_of_64"] = counted
                row.extra["expected_tokens_of_64"] = ours
                row.tokens_per_s, row.docs_per_s, row.seconds = timed(
                    lambda items, b=batch: st.encode(items, batch_size=b, convert_to_numpy=True),
                    texts,
                    tokens,
                    min_seconds,
                )
        except Exception as exc:
            row.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    return rows


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())
