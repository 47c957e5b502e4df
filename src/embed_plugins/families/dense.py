"""Dense text embeddings: pooling and normalisation, as pure numpy functions.

The maths (``pool``, ``l2_normalize``, ``truncate``) is what the parity tests
pin against sentence-transformers; :class:`DensePipeline` only wires it to the
engine's text pipeline, and :func:`spec_from_folder` reads a custom model's
sentence-transformers files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding

from ..catalog.spec import DenseSpec
from ..engine.batching import DEFAULT_TOKEN_BUDGET
from ..engine.pipeline import OnnxTextPipeline, Pipeline, PipelineRecipe, Task, TaskAdapter
from ..errors import ModelLoadError
from ..hub import find_onnx_file, model_file_path
from ..text.config import folder_json, read_sentence_transformers
from ..text.tokenizer import TextTokenizer

FloatArray = npt.NDArray[np.float32]


def pool(hidden: FloatArray, attention_mask: npt.NDArray[np.int64], how: str) -> FloatArray:
    """Pool token states ``(batch, seq, dim)`` into ``(batch, dim)``.

    ``mean`` averages the states where ``attention_mask`` is 1 (as
    sentence-transformers does, with the count clamped away from zero);
    ``cls`` takes the first token; ``last_token`` the last non-padding token of
    each row (any padding side); ``none`` expects an already pooled
    ``(batch, dim)`` array.
    """
    if how == "none":
        if hidden.ndim != 2:
            raise ModelLoadError(
                f"pooling 'none' expects a (batch, dim) output, got {hidden.shape}"
            )
        return hidden.astype(np.float32, copy=False)
    if hidden.ndim != 3:
        raise ModelLoadError(
            f"pooling {how!r} expects a (batch, seq, dim) output, got {hidden.shape}"
        )
    if how == "cls":
        return np.array(hidden[:, 0], dtype=np.float32)
    if how == "mean":
        if attention_mask.all():  # no padding (e.g. a single text): a plain mean
            return np.asarray(hidden.mean(axis=1, dtype=np.float32), dtype=np.float32)
        mask = attention_mask.astype(np.float32)[:, :, None]
        summed = (hidden * mask).sum(axis=1)
        counts = np.clip(mask.sum(axis=1), 1e-9, None)
        return np.asarray(summed / counts, dtype=np.float32)
    if how == "last_token":
        seq = attention_mask.shape[1]
        # Index of the last 1 in each row: works for left and right padding.
        last = seq - 1 - np.argmax(attention_mask[:, ::-1] > 0, axis=1)
        return np.array(hidden[np.arange(hidden.shape[0]), last], dtype=np.float32)
    raise ValueError(f"unknown pooling {how!r}")


def l2_normalize(x: FloatArray) -> FloatArray:
    """Rows scaled to unit L2 norm; an all-zero row stays zero (norm clamped at 1e-12)."""
    norms = np.sqrt(np.einsum("...i,...i->...", x, x))[..., None]
    return np.asarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def layer_norm(x: FloatArray, eps: float = 1e-5) -> FloatArray:
    """Parameter-free layer norm over the last axis (torch's ``F.layer_norm`` default eps)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps), dtype=np.float32)


def truncate(x: FloatArray, dim: int | None, normalize: bool) -> FloatArray:
    """Matryoshka truncation: keep the first ``dim`` values, re-normalise if the model does."""
    if dim is None or dim >= x.shape[-1]:
        return x
    cut = np.ascontiguousarray(x[..., :dim])
    return l2_normalize(cut) if normalize else cut


def embed_outputs(
    hidden: FloatArray,
    attention_mask: npt.NDArray[np.int64],
    spec: DenseSpec,
    truncate_dim: int | None = None,
) -> FloatArray:
    """Model output -> final float32 vectors, exactly as the spec says."""
    pooled = pool(hidden, attention_mask, spec.pooling)
    if pooled.shape[-1] != spec.dim:
        raise ModelLoadError(
            f"{spec.model}: the spec says dim={spec.dim}, but the model returns vectors of "
            f"{pooled.shape[-1]} values; give dim={pooled.shape[-1]}"
        )
    if truncate_dim is not None and truncate_dim < pooled.shape[-1] and spec.matryoshka_layer_norm:
        return truncate(layer_norm(pooled), truncate_dim, normalize=True)
    if spec.normalize:
        pooled = l2_normalize(pooled)
    return truncate(pooled, truncate_dim, spec.normalize)


def task_id_for(spec: DenseSpec, task: Task) -> int | None:
    """The ``task_id`` a multitask graph gets for a call (``None``: the model has no tasks):
    the one ``embed(task_id=...)`` chose, else the spec's task for the method."""
    if not spec.tasks:
        return None
    if isinstance(task, TaskAdapter):
        return task.task_id
    name = {"query": spec.query_task, "passage": spec.passage_task}.get(task)
    chosen = name or spec.default_task
    assert chosen is not None  # DenseSpec refuses tasks without a default_task
    return spec.tasks[chosen]


def prefix_for(spec: DenseSpec, task: Task) -> str:
    if task == "query":
        return spec.query_prefix
    if task == "passage":
        return spec.passage_prefix
    return ""


class DensePipeline(OnnxTextPipeline[FloatArray]):
    """Texts -> pooled, normalised float32 vectors."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, DenseSpec) or recipe.model_dir is None:
            raise TypeError("DensePipeline needs a DenseSpec and a model folder")
        self.spec = spec
        self.truncate_dim: int | None = recipe.options.get("truncate_dim")
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
        self.io.check_width(self.output_names[0], spec.dim, spec.model)
        if spec.tasks and "task_id" not in self.io.inputs:
            raise ModelLoadError(
                f"{spec.model}: the spec names tasks {list(spec.tasks)}, but the ONNX graph "
                f"has no task_id input (inputs: {list(self.io.inputs)})"
            )

    def encode(self, items: Sequence[str], task: Task):  # type: ignore[no-untyped-def]
        prefix = prefix_for(self.spec, task)
        texts = [prefix + t for t in items] if prefix else items
        return self.tokenizer.encode_texts(texts)

    def feeds(self, encodings: Sequence[Encoding], task: Task) -> dict[str, np.ndarray]:
        width = self.tokenizer.max_length if self.spec.pad_to_max_length else None
        feeds: dict[str, np.ndarray] = self.tokenizer.pad(encodings, width).feeds()
        task_id = task_id_for(self.spec, task)
        if task_id is not None:  # a 0-d int64, as fastembed feeds jina-embeddings-v3
            feeds["task_id"] = np.array(task_id, dtype=np.int64)
        return feeds

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[FloatArray]:
        vectors = embed_outputs(outputs[0], feeds["attention_mask"], self.spec, self.truncate_dim)
        return list(vectors)


def build_dense(recipe: PipelineRecipe) -> Pipeline[str, FloatArray]:
    """The pipeline of a dense spec: an ONNX graph, or a static token table (``kind``)."""
    if isinstance(recipe.spec, DenseSpec) and recipe.spec.kind == "static":
        from .static import StaticPipeline

        return StaticPipeline(recipe)
    return DensePipeline(recipe)


def spec_from_folder(folder: Path, name: str | None = None) -> DenseSpec:
    """A spec for a local folder: a model2vec folder (``families/static.py``), else one read
    from its sentence-transformers files.

    Needs ``modules.json`` with a Pooling module; otherwise pooling is unknown
    and the caller must give a spec (we do not guess).
    """
    from .static import is_static_folder, static_spec_from_folder

    if is_static_folder(folder):
        return static_spec_from_folder(folder, name or folder.name)
    st = read_sentence_transformers(folder)
    if st is None or st.pooling is None:
        raise ModelLoadError(
            f"{folder} has no sentence-transformers pooling config (modules.json + "
            "1_Pooling/config.json), so its pooling is unknown: pass spec=DenseSpec(model=..., "
            "dim=..., pooling='mean'|'cls'|'last_token'|'none', normalize=...)"
        )
    dim = st.dim
    if dim is None:
        hidden = folder_json(folder, "config.json").get("hidden_size")
        dim = int(hidden) if isinstance(hidden, int) else None
    if dim is None:
        raise ModelLoadError(f"{folder}: cannot tell the embedding dimension; pass a DenseSpec")
    return DenseSpec(
        model=name or folder.name,
        model_file=find_onnx_file(folder, "DenseSpec"),
        dim=dim,
        pooling=st.pooling,  # type: ignore[arg-type]
        normalize=st.normalize,
        max_length=st.max_seq_length,
        sentence_transformers_files=True,
        description=f"local sentence-transformers model at {folder}",
    )
