"""Callable classes for Ray Data's ``Dataset.map_batches``: one model per actor.

Each class is built once per actor (``__init__`` loads the model) and then called on
batches: one input column in, the batch back with the result columns added, as numpy
arrays (Ray's default batch format; pandas batches work too)::

    import ray
    from embed_plugins.integrations.ray import TextEmbedder

    ds = ray.data.read_parquet("s3://bucket/passages/")             # a "text" column
    ds = ds.map_batches(
        TextEmbedder,
        fn_constructor_kwargs={"model_name": "BAAI/bge-small-en-v1.5", "task": "passage"},
        batch_size=256,
        compute=ray.data.ActorPoolStrategy(size=8),                  # 8 actors, 1 model each
        num_cpus=2,                                                  # per actor (num_gpus=1: GPU)
    )
    ds.write_parquet("s3://bucket/vectors/")                         # "embedding": (dim,) float32

Results per class:

* :class:`TextEmbedder` (dense): ``embedding``, float32 ``(rows, dim)``;
* :class:`SparseEmbedder`: ``indices`` (int64) and ``values`` (float32), one array per row;
* :class:`LateInteractionEmbedder` (ColBERT): ``embedding``, one ``(tokens, dim)`` array per row;
* :class:`Reranker` (cross-encoder): ``score``, float32, for a fixed ``query`` or a
  ``query_column`` beside the documents;
* :class:`ImageEmbedder`: ``embedding`` of the paths or bytes in ``image``.

Models resolve on each worker as anywhere: ``$EMBED_PLUGINS_MODELS_DIR``, the Hugging
Face cache, a download.  On a cluster, give the workers a shared copy
(``ray.init(runtime_env={"env_vars": {"EMBED_PLUGINS_MODELS_DIR": "/mnt/models",
"HF_HUB_OFFLINE": "1"}})``), or a shared ``cache_dir=``, so a hundred actors do not each
download the model.  ONNX Runtime threads default to the CPUs Ray gave the actor
(``num_cpus``), not every core of the node.

The classes pickle by reference and take plain constructor arguments, so Ray ships them
to workers as they are; they import nothing from Ray and need it only to run under it
(``pip install 'embed_plugins[ray]'``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..engine.pipeline import Task
from ..errors import ArgumentTypeError, InputTypeError, InvalidArgumentError
from ..models.cross_encoder import TextCrossEncoder
from ..models.image_embedding import ImageEmbedding
from ..models.late_interaction import LateInteractionTextEmbedding
from ..models.sparse_embedding import SparseTextEmbedding
from ..models.text_embedding import TextEmbedding

__all__ = [
    "ImageEmbedder",
    "LateInteractionEmbedder",
    "Reranker",
    "SparseEmbedder",
    "TextEmbedder",
]

Batch = Any  # dict[str, np.ndarray] or a pandas DataFrame


def actor_cpus() -> int | None:
    """The CPUs Ray assigned to this actor or task (``None`` outside Ray)."""
    try:
        import ray
    except ImportError:
        return None
    if not ray.is_initialized():
        return None
    context: Any = ray.get_runtime_context()
    try:
        cpus = context.get_assigned_resources().get("CPU")
    except Exception:  # the driver, not a worker: Ray asserts
        return None
    return max(1, round(cpus)) if cpus else None


def _column(batch: Batch, name: str, where: str) -> list[Any]:
    if not isinstance(batch, Mapping) and not hasattr(batch, "columns"):
        raise InputTypeError(
            f"{where}: expected a batch of columns (dict of numpy arrays or a pandas "
            f"DataFrame), got {type(batch).__name__}"
        )
    columns = list(batch.keys()) if isinstance(batch, Mapping) else list(batch.columns)
    if name not in columns:
        raise InvalidArgumentError(
            f"{where}: the batch has no column {name!r} (columns: {', '.join(map(str, columns))})"
        )
    values = batch[name]
    return list(values.tolist() if hasattr(values, "tolist") else values)


def _with(batch: Batch, added: dict[str, np.ndarray]) -> Batch:
    if isinstance(batch, Mapping):
        return {**batch, **added}
    out = batch.copy()
    for name, values in added.items():
        out[name] = list(values) if values.dtype == object or values.ndim > 1 else values
    return out


def _ragged(arrays: list[np.ndarray]) -> np.ndarray:
    """A 1-D object array holding one array per row (Ray stores it as a variable-shaped
    tensor column)."""
    out = np.empty(len(arrays), dtype=object)
    for i, array in enumerate(arrays):
        out[i] = array
    return out


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ArgumentTypeError(f"{what} must be a non-empty str, got {value!r}")
    return value


def _rebuild(cls: type[_ModelActor], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return cls(*args, **kwargs)


class _ModelActor:
    """Build the model once; ``threads`` defaults to the actor's CPUs.  Pickling keeps the
    constructor arguments and builds a fresh model where it is unpickled (an ONNX session
    does not pickle)."""

    model_class: ClassVar[Any]
    _arguments: tuple[tuple[Any, ...], dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        self._arguments = (args, dict(kwargs))
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        args, kwargs = self._arguments
        return (_rebuild, (type(self), args, kwargs))

    def __init__(self, model_name: str | None, model_kwargs: dict[str, Any]) -> None:
        if model_kwargs.get("threads") is None:
            model_kwargs["threads"] = actor_cpus()
        self.model = type(self).model_class(model_name, **model_kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.model_name!r})"


class _TextActor(_ModelActor):
    def __init__(
        self,
        model_name: str | None = None,
        *,
        text_column: str = "text",
        task: Task = "document",
        batch_size: int = 256,
        **model_kwargs: Any,
    ) -> None:
        if task not in ("document", "query", "passage"):
            raise InvalidArgumentError(
                f"task must be 'document', 'query' or 'passage', got {task!r}"
            )
        self.text_column = _check_name(text_column, "text_column")
        self.task = task
        self.batch_size = batch_size
        super().__init__(model_name, model_kwargs)

    def _embed(self, batch: Batch) -> list[Any]:
        texts = _column(batch, self.text_column, f"{type(self).__name__}")
        method = {"query": self.model.query_embed, "passage": self.model.passage_embed}.get(
            self.task, self.model.embed
        )
        return list(method(texts, batch_size=self.batch_size))


class TextEmbedder(_TextActor):
    """Dense vectors of ``text_column`` into ``output_column`` (float32 ``(rows, dim)``).

    ``task``: ``"document"`` (``embed``, no prefix), ``"passage"`` or ``"query"`` (the
    model's prefixes); other keywords go to :class:`~embed_plugins.TextEmbedding`.
    """

    model_class = TextEmbedding

    def __init__(
        self, model_name: str | None = None, *, output_column: str = "embedding", **kwargs: Any
    ) -> None:
        self.output_column = _check_name(output_column, "output_column")
        super().__init__(model_name, **kwargs)

    def __call__(self, batch: Batch) -> Batch:
        vectors = self._embed(batch)
        dim = self.model.embedding_size
        matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
        return _with(batch, {self.output_column: matrix})


class SparseEmbedder(_TextActor):
    """Sparse vectors of ``text_column``: ``indices`` (int64) and ``values`` (float32)
    columns, one array per row (SPLADE, BM25, BM42)."""

    model_class = SparseTextEmbedding

    def __init__(
        self,
        model_name: str | None = None,
        *,
        indices_column: str = "indices",
        values_column: str = "values",
        **kwargs: Any,
    ) -> None:
        self.indices_column = _check_name(indices_column, "indices_column")
        self.values_column = _check_name(values_column, "values_column")
        super().__init__(model_name, **kwargs)

    def __call__(self, batch: Batch) -> Batch:
        vectors = self._embed(batch)
        return _with(
            batch,
            {
                self.indices_column: _ragged([v.indices for v in vectors]),
                self.values_column: _ragged([v.values for v in vectors]),
            },
        )


class LateInteractionEmbedder(_TextActor):
    """ColBERT token vectors of ``text_column``: one float32 ``(tokens, dim)`` array per row."""

    model_class = LateInteractionTextEmbedding

    def __init__(
        self, model_name: str | None = None, *, output_column: str = "embedding", **kwargs: Any
    ) -> None:
        self.output_column = _check_name(output_column, "output_column")
        super().__init__(model_name, **kwargs)

    def __call__(self, batch: Batch) -> Batch:
        return _with(batch, {self.output_column: _ragged(self._embed(batch))})


class Reranker(_ModelActor):
    """Cross-encoder scores of ``document_column`` against one ``query`` (given here) or
    against each row's ``query_column``; a float32 ``output_column`` (raw logits, or
    ``activation="sigmoid"``)."""

    model_class = TextCrossEncoder

    def __init__(
        self,
        model_name: str | None = None,
        *,
        query: str | None = None,
        query_column: str | None = None,
        document_column: str = "text",
        output_column: str = "score",
        batch_size: int = 64,
        **model_kwargs: Any,
    ) -> None:
        if (query is None) == (query_column is None):
            raise InvalidArgumentError("give either query= (one for every row) or query_column=")
        if query is not None and not isinstance(query, str):
            raise ArgumentTypeError(f"query must be a str, got {type(query).__name__}")
        self.query = query
        self.query_column = (
            None if query_column is None else _check_name(query_column, "query_column")
        )
        self.document_column = _check_name(document_column, "document_column")
        self.output_column = _check_name(output_column, "output_column")
        self.batch_size = batch_size
        super().__init__(model_name, model_kwargs)

    def __call__(self, batch: Batch) -> Batch:
        documents = _column(batch, self.document_column, "Reranker")
        if self.query_column is not None:
            queries = _column(batch, self.query_column, "Reranker")
            scores = self.model.rerank_pairs(
                list(zip(queries, documents, strict=True)), batch_size=self.batch_size
            )
        else:
            scores = self.model.rerank(self.query, documents, batch_size=self.batch_size)
        return _with(batch, {self.output_column: np.asarray(list(scores), dtype=np.float32)})


class ImageEmbedder(_ModelActor):
    """Image vectors of ``image_column`` (paths, or encoded bytes) into ``output_column``."""

    model_class = ImageEmbedding

    def __init__(
        self,
        model_name: str | None = None,
        *,
        image_column: str = "image",
        output_column: str = "embedding",
        batch_size: int = 16,
        **model_kwargs: Any,
    ) -> None:
        self.image_column = _check_name(image_column, "image_column")
        self.output_column = _check_name(output_column, "output_column")
        self.batch_size = batch_size
        super().__init__(model_name, model_kwargs)

    def __call__(self, batch: Batch) -> Batch:
        images = _column(batch, self.image_column, "ImageEmbedder")
        vectors = list(self.model.embed(images, batch_size=self.batch_size))
        dim = self.model.embedding_size
        matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
        return _with(batch, {self.output_column: matrix})
