"""The check a quantised graph passes before use: fp32 vs int8 on a fixed probe set.

:data:`PROBE_TEXTS` are tokenised with the model folder's ``tokenizer.json`` (fixed
random ids where the folder has none), run through both graphs, and compared output
by output.  What is compared is what a family makes of an output, in the same shape
for every family:

* ``(batch, seq, ...)`` outputs (token states, SPLADE logits, ColBERT vectors): the
  mean over each text's real tokens, so padding never counts;
* other outputs with several values per text (pooled vectors, attention maps): the
  text's values, flattened;
* one value per text (a cross-encoder's score): the centred column of scores over the
  probe set, as one vector (a cosine of single numbers says nothing).

The per-text cosines of every float output give ``min_cosine`` and ``mean_cosine``;
for token outputs the lowest per-token cosine is reported too (``token_min_cosine``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ..errors import ModelLoadError
from ..hub import model_file_path

#: Fixed English texts of 4 to about 120 tokens: prose, a query, a list, code, numbers.
PROBE_TEXTS: tuple[str, ...] = (
    "what is the capital of france?",
    "How do I reset my password if I no longer have access to my email account?",
    "The mitochondria is the powerhouse of the cell, producing most of its chemical energy.",
    "Photosynthesis converts light energy into chemical energy stored in glucose; oxygen "
    "is released as a by-product of splitting water molecules.",
    "def add(a, b):\n    return a + b  # returns the sum of two numbers",
    "Shipping: 3-5 business days. Returns accepted within 30 days with the original receipt.",
    "Le chat dort sur le canapé pendant que la pluie tombe doucement sur la ville.",
    "The committee postponed its decision until the budget report, due in March, has been "
    "reviewed by the finance department and the external auditors.",
    "Error 404: the requested page could not be found on this server.",
    "A transformer encoder maps a sequence of token embeddings to contextual vectors with "
    "stacked self-attention and feed-forward layers, each wrapped in a residual connection "
    "and layer normalisation. Positional information enters through learned or sinusoidal "
    "position embeddings added to the token embeddings before the first layer, and the "
    "final hidden states are pooled into one vector per text for retrieval.",
    "best budget laptop for students 2024",
    "In 1969, Apollo 11 landed on the Moon; Neil Armstrong and Buzz Aldrin walked on the "
    "surface for about two and a half hours while Michael Collins orbited above.",
    "Mix 200 g flour, 2 eggs and 300 ml milk; rest the batter for 30 minutes before frying.",
    "Symptoms include fever, dry cough, fatigue and, in some patients, loss of taste or smell.",
    "yes",
    "The quick brown fox jumps over the lazy dog.",
)
FloatArray = npt.NDArray[np.float32]


def probe_feeds(
    session: ort.InferenceSession, model_dir: Path | None
) -> tuple[dict[str, np.ndarray], npt.NDArray[np.int64]]:
    """The probe batch as feeds for ``session``'s inputs, and its attention mask."""
    ids, mask = _token_ids(model_dir)
    available: dict[str, np.ndarray] = {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": np.zeros_like(ids),
        "position_ids": np.broadcast_to(np.arange(ids.shape[1]), ids.shape).copy(),
        "task_id": np.array(0, dtype=np.int64),  # a multitask graph's adapter (jina v3): the first
    }
    feeds = {}
    for graph_input in session.get_inputs():
        if graph_input.name not in available:
            raise ModelLoadError(
                f"quantize: cannot check the int8 graph against fp32: it needs input "
                f"{graph_input.name!r}, which the probe does not provide (it provides "
                f"{sorted(available)})"
            )
        dtype = np.int32 if graph_input.type == "tensor(int32)" else np.int64
        feeds[graph_input.name] = available[graph_input.name].astype(dtype)
    return feeds, mask


def _token_ids(model_dir: Path | None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    length = 128
    config = model_file_path(model_dir, "config.json") if model_dir is not None else None
    if config is not None and config.is_file():
        positions = json.loads(config.read_text(encoding="utf-8")).get("max_position_embeddings")
        if isinstance(positions, int) and positions > 8:
            length = min(length, positions - 2)  # XLM-R's positions start after padding_idx
    path = model_file_path(model_dir, "tokenizer.json") if model_dir is not None else None
    if path is None or not path.is_file():
        rng = np.random.default_rng(0)
        ids = rng.integers(5, 100, size=(len(PROBE_TEXTS), 24), dtype=np.int64)
        mask = np.ones_like(ids)
        for row in range(len(ids)):
            mask[row, 4 + (row * 5) % 20 :] = 0
        return ids * mask, mask
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=length)
    encodings = tokenizer.encode_batch(list(PROBE_TEXTS))
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return ids, mask


def probe_cosines(plain: Path, quantized: Path, model_dir: Path | None) -> dict[str, Any]:
    """Run both graphs on the probe set and compare their float outputs (module docs)."""
    options = ort.SessionOptions()
    sessions = [
        ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
        for p in (plain, quantized)
    ]
    feeds, mask = probe_feeds(sessions[0], model_dir)
    try:
        reference, candidate = (s.run(None, feeds) for s in sessions)
    except Exception as exc:  # onnxruntime's own error types
        raise ModelLoadError(
            f"quantize: the probe run of {plain} failed ({type(exc).__name__}: {exc})"
        ) from exc
    per_text: list[FloatArray] = []
    token_min = 1.0
    for a, b in zip(reference, candidate, strict=True):
        if not np.issubdtype(a.dtype, np.floating):
            continue
        rows_a, rows_b = _rows(a, mask), _rows(b, mask)
        per_text.append(_cosines(rows_a, rows_b))
        if a.ndim == 3 and a.shape[:2] == mask.shape:
            valid = mask.astype(bool)
            token_min = min(token_min, float(_cosines(a[valid], b[valid]).min()))
    if not per_text:
        raise ModelLoadError(f"quantize: {plain} has no float output to compare")
    cosines = np.concatenate(per_text)
    return {
        "probe_texts": len(mask),
        "min_cosine": round(float(cosines.min()), 6),
        "mean_cosine": round(float(cosines.mean()), 6),
        "token_min_cosine": round(token_min, 6),
    }


def _rows(x: np.ndarray, mask: npt.NDArray[np.int64]) -> FloatArray:
    x = x.astype(np.float64)
    if x.ndim >= 3 and x.shape[:2] == mask.shape:  # (batch, seq, ...): mean of real tokens
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        weights = mask.astype(np.float64)[:, :, None]
        rows = (flat * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
    else:
        rows = x.reshape(x.shape[0], -1) if x.ndim else x.reshape(1, 1)
    if rows.shape[1] == 1:  # one score per text: the centred column, as one vector
        column = rows[:, 0] - rows[:, 0].mean()
        return np.asarray(column[None, :], dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def _cosines(a: np.ndarray, b: np.ndarray) -> FloatArray:
    dot = (a * b).sum(axis=-1)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    same_zero = (norms == 0) & np.all(a == b, axis=-1)
    cos = np.where(norms > 0, dot / np.maximum(norms, 1e-30), 0.0)
    return np.asarray(np.where(same_zero, 1.0, cos), dtype=np.float64)
