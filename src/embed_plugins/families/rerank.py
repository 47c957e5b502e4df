"""Cross-encoder reranking: logits to scores, activations and ranking, as pure functions.

A cross-encoder reads a (query, document) pair as one sequence
(``[CLS] query [SEP] document [SEP]`` with segment ids 0 then 1 for BERT,
``<s> query </s></s> document </s>`` for XLM-R: whatever the tokenizer's pair
template says) and outputs one logit per pair.  Pairs longer than the model's
limit are cut longest-first, as transformers and sentence-transformers do
(:meth:`embed_plugins.text.tokenizer.TextTokenizer.encode_pairs`).

:class:`CrossEncoderPipeline` returns raw logits; activations are applied by
the caller (:func:`activate`), so one pipeline (and one worker pool) serves
every per-call choice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding

from ..catalog.rerank import ACTIVATIONS, CrossEncoderSpec
from ..engine.batching import DEFAULT_TOKEN_BUDGET
from ..engine.pipeline import OnnxTextPipeline, PipelineRecipe, Task
from ..errors import ModelLoadError
from ..hub import find_onnx_file, model_file_path
from ..text.config import read_json, read_sentence_transformers
from ..text.tokenizer import TextTokenizer

Pair = tuple[str, str]


def scores_from_logits(logits: np.ndarray, model: str = "model") -> npt.NDArray[np.float32]:
    """``[batch]`` or ``[batch, 1]`` logits -> ``[batch]`` float32 scores.

    A graph with several labels per pair is refused: which label means
    "relevant" is not something to guess.
    """
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.ndim != 1:
        raise ModelLoadError(
            f"{model}: a cross-encoder must output one logit per pair ([batch] or [batch, 1]), "
            f"got shape {logits.shape}"
        )
    return logits.astype(np.float32, copy=False)


def sigmoid(x: float) -> float:
    """The logistic function of one score, in float64, without overflow at either end."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # NaN fails ``x >= 0`` and stays NaN here
    return e / (1.0 + e)


def check_activation(activation: Any) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return str(activation)


def activate(score: float, activation: str) -> float:
    """Apply ``"none"`` (identity) or ``"sigmoid"`` to one raw score."""
    return sigmoid(score) if activation == "sigmoid" else score


def rank_order(
    scores: Sequence[float] | npt.NDArray[np.floating[Any]], top_k: int | None
) -> list[int]:
    """Indices of ``scores`` from best to worst, at most ``top_k`` of them.

    Equal scores keep their input order (a stable sort); NaN scores, which a
    broken model could give, come last.
    """
    arr = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-arr, kind="stable")
    if top_k is not None:
        order = order[:top_k]
    return [int(i) for i in order]


class CrossEncoderPipeline(OnnxTextPipeline[float]):
    """(query, document) pairs -> raw float logits, in input order."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, CrossEncoderSpec) or recipe.model_dir is None:
            raise TypeError("CrossEncoderPipeline needs a CrossEncoderSpec and a model folder")
        self.spec = spec
        tokenizer = TextTokenizer.from_dir(recipe.model_dir, spec.max_length)
        super().__init__(
            spec.model,
            tokenizer,
            model_file_path(recipe.model_dir, spec.model_file),
            recipe.session,
            [spec.output_name],
            recipe.options.get("token_budget", DEFAULT_TOKEN_BUDGET),
            model_dir=recipe.model_dir,
        )
        shape = next(o.shape for o in self.session.get_outputs() if o.name == self.output_names[0])
        if shape is not None and len(shape) not in (1, 2):
            raise ModelLoadError(
                f"{spec.model}: output {self.output_names[0]!r} has shape {shape}, one vector "
                "per token: this is an encoder without a classification head (an embedding "
                "model?), not a cross-encoder; use TextEmbedding for it"
            )

    def encode(self, items: Sequence[Any], task: Task) -> list[Encoding]:
        encodings: list[Encoding] = self.tokenizer.encode_pairs(items)
        return encodings

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[float]:
        scores: list[float] = scores_from_logits(outputs[0], self.model_name).tolist()
        return scores


def build_cross_encoder(recipe: PipelineRecipe) -> CrossEncoderPipeline:
    return CrossEncoderPipeline(recipe)


def spec_from_folder(folder: Path, name: str | None = None) -> CrossEncoderSpec:
    """A spec for a local cross-encoder folder (ONNX graph + tokenizer.json).

    ``config.json``, when present, must describe a one-label classifier; the
    truncation length is read from the folder at load time
    (:func:`embed_plugins.text.config.truncation_length`).
    """
    config_path = model_file_path(folder, "config.json")
    st = read_sentence_transformers(folder)
    if st is not None and st.pooling is not None:
        raise ModelLoadError(
            f"{folder} is a sentence-transformers embedding model (it has a Pooling module), "
            "not a cross-encoder: use TextEmbedding for it, or pass spec=CrossEncoderSpec(...) "
            "for a one-logit graph"
        )
    if config_path.is_file():
        config = read_json(config_path)
        heads = config.get("architectures")
        if (
            isinstance(heads, list)
            and heads
            and not any(
                isinstance(h, str) and h.endswith("ForSequenceClassification") for h in heads
            )
        ):
            raise ModelLoadError(
                f"{config_path}: architectures {heads} has no sequence-classification head, so "
                "this is not a cross-encoder (an embedding model?); use TextEmbedding for it, or "
                "pass spec=CrossEncoderSpec(...) for a one-logit graph"
            )
        labels = config.get("id2label")
        n_labels = config.get("num_labels", len(labels) if isinstance(labels, dict) else 1)
        if n_labels != 1:
            raise ModelLoadError(
                f"{config_path}: a cross-encoder needs one output label, this model has "
                f"{n_labels}; pass spec=CrossEncoderSpec(...) only for a one-logit graph"
            )
    return CrossEncoderSpec(
        model=name or folder.name,
        model_file=find_onnx_file(folder, "CrossEncoderSpec"),
        description=f"local cross-encoder at {folder}",
    )
