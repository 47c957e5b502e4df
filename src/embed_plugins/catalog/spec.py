"""Model specifications: what a model is, as data.

A spec says which files make the model, which ONNX output to read and how to
turn it into results (pooling, normalisation, prefixes, truncation).  Families
read the fields they need; nothing here loads or runs anything.

Every family has its own frozen dataclass that extends :class:`ModelSpec` with
the fields only that family uses, so a typo in a field name is a ``TypeError``
at construction time rather than a silently ignored key.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

from ..errors import ArgumentTypeError, InvalidArgumentError, UnsafeModelPathError

Pooling = Literal["cls", "mean", "last_token", "none"]
POOLINGS: tuple[str, ...] = ("cls", "mean", "last_token", "none")

#: Files fetched with every text model when present in the repository.
TOKENIZER_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
)
#: sentence-transformers files that carry pooling, normalisation and max length.
SENTENCE_TRANSFORMERS_FILES: tuple[str, ...] = (
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)


#: CPU kinds a published int8 graph can be for (``any``: every CPU).
INT8_KINDS: tuple[str, ...] = ("any", "avx512_vnni", "avx512", "avx2", "arm64")


def check_positive_int(value: object, name: str) -> None:
    """``ValueError`` unless ``value`` is a positive int (``bool`` is not)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError(f"{name} must be a positive int, got {value!r}")


def relative_file_parts(name: object, what: str = "file name") -> tuple[str, ...]:
    """The ``/``-separated parts of a file name inside a model folder, or an error.

    Names come from specs and from files in downloaded folders (``modules.json``), so
    they are data: anything that could name a file outside the folder is refused
    (absolute paths, drive letters, ``..`` components, backslashes, NUL).  Empty and
    ``.`` parts are dropped.  Raises :class:`~embed_plugins.errors.UnsafeModelPathError`
    (a ``ValueError``).
    """
    if not isinstance(name, str):
        raise UnsafeModelPathError(f"{what} must be a str, got {type(name).__name__}")
    if "\\" in name or "\0" in name:
        raise UnsafeModelPathError(
            f"{what} {name!r}: use '/' between folders (no backslashes or NUL characters)"
        )
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor or ".." in parts:
        raise UnsafeModelPathError(
            f"{what} {name!r} leads out of the model folder: give a path relative to the "
            "folder, without '..'"
        )
    if not parts:
        raise UnsafeModelPathError(f"{what} {name!r} names no file")
    return parts


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Fields every family shares.

    Attributes:
        model: The public name users pass as ``model_name``.
        hf_repo: The Hugging Face repository the files come from (may differ
            from ``model``, e.g. an ONNX export published by another org).
            ``None`` for models that need no files (BM25).
        model_file: Path of the ONNX graph inside the repository.
        additional_files: Other files to fetch (external weights, vocabularies).
        max_length: Truncation length in tokens; ``None`` means "read it from
            the model's files" (see :mod:`embed_plugins.text.config`).
        license: SPDX-like licence id of the weights.
        size_gb: Approximate download size.
        description: One line for ``list_supported_models``.
        source: Where the facts in this spec come from (model card, catalogue).
        aliases: Other names a built-in catalogue entry is found under (compared
            case-insensitively, as ``model`` is), e.g. a spelling fastembed still
            accepts.  ``list_supported_models`` lists each alias as its own entry
            (fastembed does the same); loading an alias gives this spec, under
            ``model``.  Custom models are found by ``model`` only.
        int8_files: int8 graphs the same repository publishes, which
            ``quantize="int8"`` fetches instead of quantising ``model_file``: under
            ``"any"``, or per CPU kind (``avx512_vnni``, ``avx512``, ``avx2``,
            ``arm64``), as sentence-transformers' ``onnx/model_qint8_<kind>.onnx``.
    """

    model: str
    hf_repo: str | None = None
    model_file: str = "model.onnx"
    additional_files: tuple[str, ...] = ()
    max_length: int | None = None
    license: str = ""
    size_gb: float = 0.0
    description: str = ""
    source: str = ""
    aliases: tuple[str, ...] = ()
    int8_files: Mapping[str, str] = field(default_factory=dict, hash=False)  # stays hashable

    def __post_init__(self) -> None:
        relative_file_parts(self.model_file, f"{self.model}: model_file")
        for kind, name in self.int8_files.items():
            if kind not in INT8_KINDS:
                raise InvalidArgumentError(
                    f"{self.model}: int8_files key {kind!r} is not one of {INT8_KINDS}"
                )
            relative_file_parts(name, f"{self.model}: int8_files entry")
        if isinstance(self.aliases, str) or not all(
            isinstance(alias, str) and alias for alias in self.aliases
        ):
            raise ArgumentTypeError(
                f"{self.model}: aliases must be a tuple of non-empty names, got {self.aliases!r}"
            )
        if isinstance(self.additional_files, str):
            raise ArgumentTypeError(
                "additional_files must be a tuple of file names, not one string"
            )
        for name in self.additional_files:
            relative_file_parts(name, f"{self.model}: additional_files entry")

    @property
    def family(self) -> str:
        return "base"

    def files(self) -> tuple[str, ...]:
        """Every file pattern to fetch for this model (tokenizer files included)."""
        if self.hf_repo is None:
            return ()
        return (self.model_file, *self.additional_files, *TOKENIZER_FILES)

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with some fields changed (unknown fields raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """A plain dict for ``list_supported_models``: the spec's fields, plus fastembed's
        keys (``size_in_GB``, ``sources`` as ``{"hf", "url"}``, ``additional_files`` as a
        list), so code that reads fastembed's descriptions keeps working."""
        out = dataclasses.asdict(self)
        out["family"] = self.family
        out["sources"] = {"hf": self.hf_repo, "url": None}
        out["size_in_GB"] = self.size_gb
        out["additional_files"] = list(self.additional_files)
        out["aliases"] = list(self.aliases)
        return out


DenseKind = Literal["onnx", "static"]
DENSE_KINDS: tuple[str, ...] = ("onnx", "static")


def check_tasks(model: str, tasks: object) -> dict[str, int]:
    """A multitask spec's ``tasks`` as a fresh dict: names to distinct non-negative ids."""
    if not isinstance(tasks, Mapping):
        raise ArgumentTypeError(f"{model}: tasks must be a mapping of task name to id")
    out: dict[str, int] = {}
    for name, number in tasks.items():
        if not isinstance(name, str) or not name:
            raise ArgumentTypeError(f"{model}: task names must be non-empty str, got {name!r}")
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ArgumentTypeError(
                f"{model}: task {name!r} needs a non-negative int id, got {number!r}"
            )
        out[name] = int(number)
    if len(set(out.values())) != len(out):
        raise InvalidArgumentError(f"{model}: two tasks share an id in {out}")
    return out


@dataclass(frozen=True, kw_only=True)
class DenseSpec(ModelSpec):
    """A dense text embedding: one float32 vector per text.

    Attributes:
        dim: Output dimension.
        output_name: ONNX output holding token states (or the pooled vector
            when ``pooling == "none"``); ``None`` means the graph's first output.
        pooling: ``cls``, ``mean`` (attention-masked), ``last_token`` or
            ``none`` (the graph already pools).
        normalize: L2-normalise the pooled vector.
        query_prefix / passage_prefix: Prepended by ``query_embed`` /
            ``passage_embed``; ``embed`` applies none.
        matryoshka_dims: Dimensions the model was trained to be cut to
            (informational; ``truncate_dim`` accepts any value <= ``dim``).
        matryoshka_layer_norm: Apply a (parameter-free) layer norm to the pooled
            vector before cutting it, as nomic-embed-text-v1.5 prescribes.
        sentence_transformers_files: The repository carries sentence-transformers
            files (fetched with the model; they document pooling and max length).
        pad_to_max_length: Pad every text to ``max_length`` tokens, as models trained
            that way need (SigLIP's text tower reads its last position).
        kind: ``"onnx"`` (a transformer graph, the default) or ``"static"``: a model2vec
            static model, ``model_file`` a safetensors token table whose rows are averaged
            (:mod:`embed_plugins.families.static`; pooling does not apply).
        tasks: A multitask model's task names and the ids its graph's ``task_id`` input
            takes (jina-embeddings-v3's LoRA adapters); empty for other models.
        default_task / query_task / passage_task: The task ``embed`` /
            ``query_embed`` / ``passage_embed`` run with (names in ``tasks``; the last two
            default to ``default_task``).  ``embed(task_id=...)`` picks another.
    """

    dim: int
    output_name: str | None = None
    pooling: Pooling = "mean"
    normalize: bool = True
    query_prefix: str = ""
    passage_prefix: str = ""
    matryoshka_dims: tuple[int, ...] = ()
    matryoshka_layer_norm: bool = False
    sentence_transformers_files: bool = field(default=False)
    pad_to_max_length: bool = False
    kind: DenseKind = "onnx"
    tasks: Mapping[str, int] = field(default_factory=dict, hash=False)  # specs stay hashable
    default_task: str | None = None
    query_task: str | None = None
    passage_task: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pooling not in POOLINGS:
            raise InvalidArgumentError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.dim <= 0:
            raise InvalidArgumentError(f"dim must be positive, got {self.dim}")
        if self.kind not in DENSE_KINDS:
            raise InvalidArgumentError(f"kind must be one of {DENSE_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "tasks", check_tasks(self.model, self.tasks))
        if self.tasks and self.default_task is None:
            raise InvalidArgumentError(
                f"{self.model}: a multitask spec needs default_task (one of {list(self.tasks)})"
            )
        for name in ("default_task", "query_task", "passage_task"):
            value = getattr(self, name)
            if value is not None and value not in self.tasks:
                raise InvalidArgumentError(
                    f"{self.model}: {name}={value!r} is not one of its tasks "
                    f"{list(self.tasks) or '(none: the spec has no tasks)'}"
                )

    def task_number(self, task: object) -> int:
        """The ``task_id`` the graph takes for ``task``: one of :attr:`tasks`' names or ids.

        Raises ``ValueError`` for a task the model does not have and ``TypeError`` for
        anything but a name or an integer (numpy's and fastembed's ``Task`` enum included;
        ``bool`` is not a task id).
        """
        if isinstance(task, str):
            if task in self.tasks:
                return self.tasks[task]
        elif not isinstance(task, bool) and hasattr(type(task), "__index__"):
            if operator.index(task) in self.tasks.values():  # type: ignore[arg-type]
                return operator.index(task)  # type: ignore[arg-type]
        else:
            raise ArgumentTypeError(
                f"task_id must be a task name or id of {self.model!r}, got {type(task).__name__}"
            )
        choices = ", ".join(f"{n!r} ({i})" for n, i in self.tasks.items())
        raise InvalidArgumentError(f"{self.model!r} has no task {task!r}; its tasks: {choices}")

    @property
    def family(self) -> str:
        return "dense"

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["tasks"] = dict(self.tasks)  # fastembed's key: task name -> task_id
        return out

    def files(self) -> tuple[str, ...]:
        base = super().files()
        if self.sentence_transformers_files and self.hf_repo is not None:
            return (*base, *SENTENCE_TRANSFORMERS_FILES)
        return base
