"""The seam between the engine and the families.

A :class:`Pipeline` turns a list of user inputs into a list of final results
(pre-processing, inference, post-processing).  The engine decides *where* a
pipeline runs (in-process or in a worker) and *in what order* results come back;
the pipeline decides *what* happens to one window of inputs.

A :class:`PipelineRecipe` is the picklable description a pipeline is built
from, so a worker process builds exactly the pipeline the parent would, for
catalogue and custom models alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

import numpy as np
from tokenizers import Encoding

from ..catalog.spec import ModelSpec
from .batching import DEFAULT_TOKEN_BUDGET, device_token_budget, plan_batches
from .graph_facts import check_text_graph
from .session import GraphIO, SessionConfig, create_session, run_session, runs_on_gpu

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)
R = TypeVar("R")


@dataclass(frozen=True)
class TaskAdapter:
    """``embed(task_id=...)`` on a multitask model: a plain ``embed`` (no prefix) run with
    the graph's task adapter ``task_id`` (checked against the spec by the caller)."""

    task_id: int


#: What an input is for: ``query_embed``, ``passage_embed`` or plain ``embed``, or a plain
#: ``embed`` with a chosen task adapter.  Pickled to workers with each chunk.
Task = Literal["query", "passage", "document"] | TaskAdapter


class Pipeline(Protocol[In, Out]):
    """Everything from user input to final result, for one window of inputs."""

    def process(self, items: Sequence[In], batch_size: int, task: Task) -> Sequence[Out]: ...


@dataclass(frozen=True)
class PipelineRecipe:
    """A picklable recipe: ``build(recipe)`` gives the pipeline.

    ``build`` must be a module-level function so it pickles by reference.
    """

    build: Callable[[PipelineRecipe], Pipeline[Any, Any]]
    spec: ModelSpec
    model_dir: Path | None
    session: SessionConfig = field(default_factory=SessionConfig)
    options: Mapping[str, Any] = field(default_factory=dict)

    def with_session(self, session: SessionConfig) -> PipelineRecipe:
        return PipelineRecipe(self.build, self.spec, self.model_dir, session, self.options)

    def create(self) -> Pipeline[Any, Any]:
        return self.build(self)


class OnnxTextPipeline(Generic[R]):
    """Tokenise -> sort and batch by length -> run one ONNX graph -> post-process.

    Families subclass it and override :meth:`encode` (how a task's texts become
    token ids) and :meth:`postprocess` (how output arrays become results); both
    delegate to pure functions of the family module.

    ``model_path`` must come from :func:`~embed_plugins.hub.model_file_path`; with
    ``model_dir`` (the model folder) the tokenizer is checked against the graph at
    load (:func:`~embed_plugins.engine.graph_facts.check_text_graph`).  A failing
    ``session.run`` raises :class:`~embed_plugins.errors.InferenceError` naming the
    model, the file and the batch's inputs.
    """

    def __init__(
        self,
        model_name: str,
        tokenizer: Any,
        model_path: Path,
        session_config: SessionConfig,
        output_names: Sequence[str | None],
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        *,
        model_dir: Path | None = None,
    ) -> None:
        self.model_name = model_name
        self.tokenizer = tokenizer
        self.model_path = model_path
        self.session = create_session(model_path, session_config, model_dir=model_dir)
        check_text_graph(
            model_name, model_path, model_dir, tokenizer.vocab_size, self.longest_row()
        )
        self.io = GraphIO.of(self.session)
        self.output_names = [self.io.pick_output(n, model_name) for n in output_names]
        self.token_budget = device_token_budget(token_budget, runs_on_gpu(self.session))

    # -- family hooks ------------------------------------------------------
    def longest_row(self) -> int:
        """The most tokens one row of a batch can hold (checked against the graph)."""
        return int(self.tokenizer.max_length)

    def encode(self, items: Sequence[Any], task: Task) -> list[Encoding]:
        texts: Sequence[str] = items
        encodings: list[Encoding] = self.tokenizer.encode_texts(texts)
        return encodings

    def feeds(self, encodings: Sequence[Encoding], task: Task) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] = self.tokenizer.pad(encodings).feeds()
        return feeds

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[R]:
        raise NotImplementedError

    # -- engine ------------------------------------------------------------
    def run(self, feeds: Mapping[str, np.ndarray], indices: Sequence[int] = ()) -> list[np.ndarray]:
        """The graph's outputs for one batch; ``indices``: its rows' positions in the items."""
        selected = self.io.select_feeds(feeds, self.model_name)
        return run_session(
            self.session,
            self.output_names,
            selected,
            model=self.model_name,
            onnx_file=self.model_path,
            indices=indices,
        )

    def process(self, items: Sequence[Any], batch_size: int, task: Task) -> list[R]:
        encodings = self.encode(items, task)
        if len(encodings) == 1:
            feeds = self.feeds(encodings, task)
            return self.postprocess(self.run(feeds, (0,)), feeds, task)
        results: list[Any] = [None] * len(encodings)
        lengths = [len(e.ids) for e in encodings]
        for idx in plan_batches(lengths, batch_size, self.token_budget):
            feeds = self.feeds([encodings[i] for i in idx], task)
            batch_results = self.postprocess(self.run(feeds, idx.tolist()), feeds, task)
            for i, result in zip(idx.tolist(), batch_results, strict=True):
                results[i] = result
        return results

    def token_count(self, items: Sequence[Any], task: Task) -> int:
        return sum(len(e.ids) for e in self.encode(items, task))
