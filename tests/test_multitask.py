"""Multitask dense models (jina-embeddings-v3): the ``task_id`` feed, call-time task choice,
prefixes, workers, and the catalogue entry.

The fixture ``tests/fixtures/models/tiny-multitask`` (built by ``_build_multitask.py``) is a
tiny JinaEmbeddingsV3Model whose Linear layers carry five LoRA-style task adapters chosen by
a 0-d ``task_id`` input; the references are PyTorch's mean + L2 vectors for each task.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import DenseSpec, TextEmbedding
from embed_plugins import catalog as catalog_module
from embed_plugins.catalog.dense_multitask import JINA_V3_TASKS
from embed_plugins.errors import ArgumentTypeError, InvalidArgumentError, ModelLoadError

FIXTURES = Path(__file__).parent / "fixtures"
FOLDER = FIXTURES / "models" / "tiny-multitask"
META = json.loads((FIXTURES / "reference" / "tiny-multitask.json").read_text(encoding="utf-8"))
REF = np.load(FIXTURES / "reference" / "tiny-multitask.npz")
TEXTS: list[str] = META["texts"]
JINA = "jinaai/jina-embeddings-v3"
ATOL = 1e-5


def jina_spec(**changes: Any) -> DenseSpec:
    """The catalogue's jina-embeddings-v3 entry, resized to the tiny graph (32-d, one file)."""
    spec = catalog_module.find("dense", JINA)
    assert isinstance(spec, DenseSpec)
    tiny = spec.replace(
        model="test/tiny-multitask", model_file="model.onnx", additional_files=(), dim=32
    )
    return tiny.replace(**changes)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def model() -> TextEmbedding:
    return TextEmbedding(spec=jina_spec(), model_path=FOLDER)


def vectors(it: Any) -> np.ndarray:
    return np.stack(list(it))


# -- the catalogue entry --------------------------------------------------------------------


def test_jina_v3_entry_names_its_tasks_and_prompts() -> None:
    spec = catalog_module.find("dense", JINA)
    assert isinstance(spec, DenseSpec)
    assert dict(spec.tasks) == META["tasks"] == JINA_V3_TASKS
    assert (spec.default_task, spec.query_task, spec.passage_task) == (
        "retrieval.passage",
        "retrieval.query",
        "retrieval.passage",
    )
    assert spec.query_prefix == META["instructions"]["retrieval.query"]
    assert spec.passage_prefix == META["instructions"]["retrieval.passage"]
    assert (spec.pooling, spec.normalize, spec.dim, spec.max_length) == ("mean", True, 1024, 8192)
    assert (spec.model_file, spec.additional_files) == (
        "onnx/model.onnx",
        ("onnx/model.onnx_data",),
    )
    assert spec.license == "cc-by-nc-4.0" and 32 in spec.matryoshka_dims
    assert "multitask_embedding.py" in spec.source and "huggingface.co/" in spec.source
    entry = next(e for e in TextEmbedding.list_supported_models() if e["model"] == JINA)
    assert entry["tasks"] == JINA_V3_TASKS and entry["dim"] == 1024


# -- each task is the reference's -----------------------------------------------------------


@pytest.mark.parametrize(("name", "number"), sorted(JINA_V3_TASKS.items()))
def test_each_task_gives_the_torch_reference(model: TextEmbedding, name: str, number: int) -> None:
    want = REF[f"task_{number}"]
    np.testing.assert_allclose(vectors(model.embed(TEXTS, task_id=name)), want, atol=ATOL)
    np.testing.assert_allclose(vectors(model.embed(TEXTS, task_id=number)), want, atol=ATOL)
    np.testing.assert_allclose(
        vectors(model.embed(TEXTS, task_id=np.int64(number), batch_size=3)), want, atol=ATOL
    )


def test_the_tasks_really_differ() -> None:
    """Otherwise the parity above could pass with the task_id feed ignored."""
    for i in range(1, 5):
        assert np.abs(REF["task_0"] - REF[f"task_{i}"]).max() > 0.05


def test_methods_run_their_tasks_with_their_prompts(model: TextEmbedding) -> None:
    np.testing.assert_allclose(vectors(model.query_embed(TEXTS)), REF["query"], atol=ATOL)
    np.testing.assert_allclose(vectors(model.passage_embed(TEXTS)), REF["passage"], atol=ATOL)
    # embed(): the default task (retrieval.passage, as fastembed), no prompt.
    np.testing.assert_allclose(vectors(model.embed(TEXTS)), REF["task_1"], atol=ATOL)
    np.testing.assert_allclose(vectors(model.embed(TEXTS, task_id=None)), REF["task_1"], atol=ATOL)


def test_prefixes_false_gives_fastembeds_vectors() -> None:
    """fastembed runs the same adapters with no prompt."""
    plain = TextEmbedding(spec=jina_spec(), model_path=FOLDER, prefixes=False)
    np.testing.assert_allclose(vectors(plain.query_embed(TEXTS)), REF["task_0"], atol=ATOL)
    np.testing.assert_allclose(vectors(plain.passage_embed(TEXTS)), REF["task_1"], atol=ATOL)


def test_fastembeds_task_enum_is_accepted(model: TextEmbedding) -> None:
    multitask = pytest.importorskip("fastembed.text.multitask_embedding")
    got = vectors(model.embed(TEXTS[:3], task_id=multitask.Task.TEXT_MATCHING))
    np.testing.assert_allclose(got, REF["task_4"][:3], atol=ATOL)


def test_workers_run_the_chosen_task() -> None:
    with TextEmbedding(spec=jina_spec(), model_path=FOLDER, lazy_load=True) as model:
        for name, number in (("separation", 2), ("classification", 3)):
            got = vectors(model.embed(TEXTS, batch_size=2, parallel=2, task_id=name))
            np.testing.assert_allclose(got, REF[f"task_{number}"], atol=ATOL)
        got = vectors(model.query_embed(TEXTS, batch_size=4, parallel=2))
        np.testing.assert_allclose(got, REF["query"], atol=ATOL)
        got = vectors(model.embed(TEXTS, batch_size=4, parallel=2))
        np.testing.assert_allclose(got, REF["task_1"], atol=ATOL)


def test_matryoshka_cut_of_a_task(model: TextEmbedding) -> None:
    cut = TextEmbedding(spec=jina_spec(), model_path=FOLDER, truncate_dim=8)
    got = next(cut.embed(TEXTS[1], task_id="text-matching"))
    full = REF["task_4"][1, :8]
    np.testing.assert_allclose(got, full / np.linalg.norm(full), atol=ATOL)


# -- bad inputs -------------------------------------------------------------------------------


def test_unknown_tasks_are_refused_with_the_choices(model: TextEmbedding) -> None:
    for bad in ("retrieval", 5, -1):
        with pytest.raises(InvalidArgumentError, match=r"retrieval\.query.*text-matching"):
            list(model.embed("x", task_id=bad))
    for wrong_type in (True, 1.0, b"separation", ["separation"]):
        with pytest.raises(ArgumentTypeError, match="task name or id"):
            list(model.embed("x", task_id=wrong_type))


def test_query_and_passage_embed_keep_their_task(model: TextEmbedding) -> None:
    with pytest.raises(InvalidArgumentError, match=r"query_embed\(\).*'retrieval.query'"):
        list(model.query_embed("x", task_id="separation"))
    with pytest.raises(InvalidArgumentError, match=r"passage_embed\(\).*embed\(\.\.\., task_id"):
        list(model.passage_embed("x", task_id=1))
    with pytest.raises(TypeError, match="task_id"):
        list(model.embed("x", taskid=1))


def test_a_multitask_graph_needs_a_spec_with_tasks() -> None:
    plain = jina_spec(tasks={}, default_task=None, query_task=None, passage_task=None)
    with pytest.raises(ModelLoadError, match="task_id"):
        list(TextEmbedding(spec=plain, model_path=FOLDER).embed("x"))


def test_a_spec_with_tasks_needs_a_graph_with_a_task_id_input() -> None:
    xlmr = jina_spec(model="test/xlmr-with-tasks", max_length=None)
    with pytest.raises(ModelLoadError, match="no task_id input"):
        TextEmbedding(spec=xlmr, model_path=FIXTURES / "models" / "tiny-xlmr")


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"default_task": None}, InvalidArgumentError, "needs default_task"),
        ({"default_task": "nope"}, InvalidArgumentError, "default_task='nope'"),
        ({"query_task": "nope"}, InvalidArgumentError, "query_task='nope'"),
        ({"tasks": {"a": 0, "b": 0}, "default_task": "a"}, InvalidArgumentError, "share an id"),
        ({"tasks": {"a": -1}, "default_task": "a"}, ArgumentTypeError, "non-negative int"),
        ({"tasks": {"a": True}, "default_task": "a"}, ArgumentTypeError, "non-negative int"),
        ({"tasks": {"": 0}, "default_task": ""}, ArgumentTypeError, "non-empty str"),
        ({"tasks": [("a", 0)], "default_task": "a"}, ArgumentTypeError, "mapping"),
        (
            {"tasks": {}, "default_task": None, "query_task": None, "passage_task": "x"},
            InvalidArgumentError,
            "has no tasks",
        ),
    ],
)
def test_bad_task_fields_are_refused(changes: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        jina_spec(**changes)


def test_the_spec_keeps_its_own_copy_of_the_tasks() -> None:
    tasks = {"a": 0, "b": 1}
    spec = DenseSpec(model="x/y", dim=4, tasks=tasks, default_task="a")
    tasks["c"] = 2
    assert dict(spec.tasks) == {"a": 0, "b": 1} and spec.describe()["tasks"] == {"a": 0, "b": 1}
    assert spec.task_number("b") == 1 and spec.task_number(0) == 0
    assert hash(spec) == hash(spec.replace())  # a dict field, yet specs stay hashable
