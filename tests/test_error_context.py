"""Errors name the model, the file and the input: mismatched folders, missing files, caches.

* A tokenizer that does not fit its graph (a larger vocabulary, a truncation length
  past the position table) is refused at load, naming the model and the files.
* What cannot be seen at load fails at run time as an ``InferenceError`` naming the
  model, the ONNX file and the inputs of the failing batch, not as onnxruntime's
  bare ``InvalidArgument``.
* A folder that lacks tokenizer.json says so (not "ONNX file not found").
* ``optimize=True`` with a cache folder that cannot be written runs the plain graph.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    EmbedPluginsError,
    LateInteractionTextEmbedding,
    ModelLoadError,
    ModelNotFoundError,
    SparseTextEmbedding,
    TextCrossEncoder,
    TextEmbedding,
)
from embed_plugins.catalog.spec import DenseSpec
from embed_plugins.engine import optimize as optimize_module
from embed_plugins.engine.session import run_session
from embed_plugins.errors import InferenceError
from embed_plugins.hub import MODELS_DIR_ENV, resolve_model_dir

MODELS = Path(__file__).parent / "fixtures" / "models"
TINY_BERT = MODELS / "tiny-bert"
TINY_XLMR = MODELS / "tiny-xlmr"
LONG = " ".join(["word"] * 200)  # far past the 64 positions of the tiny graphs
TEXTS = ["a short text", "another one, a little longer than the first"]


def edit_json(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def with_xlmr_tokenizer(src: Path, dst: Path) -> Path:
    """``src``'s graph and config with tiny-xlmr's tokenizer (1098 tokens; the graph has 801)."""
    shutil.copytree(src, dst)
    (dst / "vocab.txt").unlink(missing_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(TINY_XLMR / name, dst / name)
    return dst


def hide_position_table(graph: Path) -> None:
    """Rename the position-embedding initializer, so no check can find the table's size."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(graph))
    renamed = {}
    for init in model.graph.initializer:
        if "position_embeddings" in init.name:
            renamed[init.name] = f"table_{len(renamed)}"
            init.name = renamed[init.name]
    assert renamed
    for node in model.graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
    onnx.save(model, str(graph))


# -- load-time checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "load"),
    [
        (TINY_BERT, lambda folder: TextEmbedding(model_path=folder)),
        (MODELS / "tiny-cross-encoder", lambda folder: TextCrossEncoder(model_path=folder)),
        (MODELS / "tiny-splade", lambda folder: SparseTextEmbedding(model_path=folder)),
    ],
    ids=["dense", "cross-encoder", "splade"],
)
def test_tokenizer_larger_than_the_embedding_table_fails_at_load(
    tmp_path: Path, source: Path, load: Any
) -> None:
    folder = with_xlmr_tokenizer(source, tmp_path / "mismatch")
    with pytest.raises(ModelLoadError) as info:
        load(folder)
    message = str(info.value)
    for part in ("1098 tokens", "801", "model.onnx", "tokenizer.json", str(folder)):
        assert part in message


def test_config_vocab_size_is_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from embed_plugins.engine import graph_facts

    folder = with_xlmr_tokenizer(TINY_BERT, tmp_path / "mismatch")
    monkeypatch.setattr(
        graph_facts, "read_embedding_tables", lambda path: graph_facts.EmbeddingTables()
    )
    with pytest.raises(ModelLoadError, match=r"config\.json vocab_size"):
        TextEmbedding(model_path=folder)


@pytest.mark.parametrize("config", ["lies", "missing"])
def test_max_seq_length_past_the_graph_positions_fails_at_load(tmp_path: Path, config: str) -> None:
    folder = shutil.copytree(TINY_BERT, tmp_path / "long")
    edit_json(folder / "sentence_bert_config.json", max_seq_length=100)
    if config == "lies":
        edit_json(folder / "config.json", max_position_embeddings=512)
    else:
        (folder / "config.json").unlink()
    with pytest.raises(ModelLoadError) as info:
        TextEmbedding(model_path=folder)
    message = str(info.value)
    assert "100 tokens" in message and "64 positions" in message
    assert "max_length=64" in message and str(folder / "onnx" / "model.onnx") in message
    # A length that fits loads and runs.
    model = TextEmbedding(model_path=folder, max_length=64)
    assert len(list(model.embed([LONG]))) == 1


def test_colbert_query_length_past_the_graph_positions_fails_at_load(tmp_path: Path) -> None:
    from embed_plugins import ColbertSpec

    folder = shutil.copytree(MODELS / "tiny-colbert", tmp_path / "colbert")
    (folder / "config.json").unlink()
    spec = ColbertSpec(model="t/colbert", dim=16, output_name="output", query_length=80)
    with pytest.raises(ModelLoadError, match="80 tokens"):
        LateInteractionTextEmbedding(spec=spec, model_path=folder)


def test_matching_folders_still_load() -> None:
    TextEmbedding(model_path=TINY_BERT)
    # XLM-R numbers positions after the pad id: 62 of its 64 rows.
    TextEmbedding(spec=DenseSpec(model="t/xlmr", dim=32, pooling="cls"), model_path=TINY_XLMR)


# -- run-time errors ----------------------------------------------------------------------------


def unseen_position_limit(tmp_path: Path, source: Path, graph: str) -> Path:
    """A folder whose graph has 64 positions but says nothing checkable about it."""
    folder = shutil.copytree(source, tmp_path / "unchecked")
    hide_position_table(folder / graph)
    edit_json(folder / "config.json", max_position_embeddings=512)
    return folder


def test_run_time_failure_names_model_file_and_input(tmp_path: Path) -> None:
    folder = unseen_position_limit(tmp_path, TINY_BERT, "onnx/model.onnx")
    model = TextEmbedding("acme/unchecked", model_path=folder, max_length=100)

    with pytest.raises(InferenceError) as info:
        list(model.embed(["short", "also short", LONG, "short again"]))

    error = info.value
    assert isinstance(error, EmbedPluginsError)
    assert error.model == "acme/unchecked"
    assert error.indices == (2,)
    message = str(error)
    assert "acme/unchecked" in message
    assert str(folder / "onnx" / "model.onnx") in message
    assert "input 2" in message
    assert "input_ids (1, 100)" in message
    assert type(error.__cause__).__module__.startswith("onnxruntime")
    # The texts that fit still embed.
    assert len(list(model.embed(["short", "also short"]))) == 2


def test_run_time_failure_counts_inputs_past_blank_texts(tmp_path: Path) -> None:
    # SPLADE skips blank texts before running the graph; the error still numbers the
    # inputs as the caller does.
    folder = unseen_position_limit(tmp_path, MODELS / "tiny-splade", "model.onnx")
    model = SparseTextEmbedding(model_path=folder, max_length=100)
    with pytest.raises(InferenceError, match="input 3") as info:
        list(model.embed(["", "short", " ", LONG]))
    assert info.value.indices == (3,)


def test_inference_error_survives_a_worker(tmp_path: Path) -> None:
    error = InferenceError("m", "/x/model.onnx", (4, 9), "InvalidArgument: boom")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.indices) == (InferenceError, str(error), (4, 9))
    assert error.relocated([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]).indices == (14, 19)

    folder = unseen_position_limit(tmp_path, TINY_BERT, "onnx/model.onnx")
    model = TextEmbedding("acme/unchecked", model_path=folder, max_length=100)
    try:
        with pytest.raises(InferenceError, match="acme/unchecked") as info:
            list(model.embed(["short", LONG, "short"], parallel=2))
        assert str(folder / "onnx" / "model.onnx") in str(info.value)
    finally:
        model.close()


def test_indices_count_from_the_callers_first_input(tmp_path: Path) -> None:
    # Past the first window in-process, and inside a sorted chunk of a worker, the error
    # names the input's position in the caller's list.
    folder = unseen_position_limit(tmp_path, TINY_BERT, "onnx/model.onnx")
    model = TextEmbedding("acme/unchecked", model_path=folder, max_length=100)
    texts = ["short"] * 2100 + [LONG] + ["short"] * 5
    try:
        with pytest.raises(InferenceError) as info:
            list(model.embed(texts, batch_size=8))
        assert info.value.indices == (2100,)
        texts = [f"short {i}" for i in range(37)] + [LONG] + ["short"] * 20
        with pytest.raises(InferenceError) as info:
            list(model.embed(texts, batch_size=4, parallel=2))
        assert info.value.indices == (37,)
        assert "input 37" in str(info.value)
    finally:
        model.close()


def test_run_session_helper_wraps_any_session_error() -> None:
    class Broken:
        def run(self, names: Any, feeds: Any) -> Any:
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : out of memory")

    feeds = {"pixel_values": np.zeros((8, 3, 4, 4), dtype=np.float32)}
    with pytest.raises(InferenceError) as info:
        run_session(Broken(), None, feeds, model="m/img", onnx_file="v.onnx", indices=range(8, 16))  # type: ignore[arg-type]
    message = str(info.value)
    assert "m/img" in message and "v.onnx" in message and "inputs 8..15 (8 inputs)" in message
    assert "pixel_values (8, 3, 4, 4)" in message and "out of memory" in message


# -- missing files -------------------------------------------------------------------------------


def test_offline_folder_without_tokenizer_names_the_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shutil.copytree(TINY_BERT, tmp_path / "models" / "acme" / "tiny-bert")
    (folder / "tokenizer.json").unlink()
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    spec = DenseSpec(model="acme/tiny-bert", hf_repo="acme/tiny-bert", dim=32)
    spec = spec.replace(model_file="onnx/model.onnx")

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(spec)

    message = str(info.value)
    assert f"{folder} lacks tokenizer.json" in message
    assert "onnx/model.onnx (not found)" not in message


def test_model_path_without_tokenizer_names_the_missing_file(tmp_path: Path) -> None:
    folder = shutil.copytree(TINY_BERT, tmp_path / "model")
    (folder / "tokenizer.json").unlink()
    spec = DenseSpec(model="acme/tiny-bert", hf_repo="acme/tiny-bert", dim=32)
    spec = spec.replace(model_file="onnx/model.onnx")
    with pytest.raises(ModelNotFoundError, match=r"does not contain tokenizer\.json$"):
        resolve_model_dir(spec, model_path=folder)
    # A spec of local files only: loading names the file too.
    with pytest.raises(ModelLoadError, match=r"no tokenizer\.json"):
        TextEmbedding(model_path=folder)


# -- optimize=True and an unwritable cache ----------------------------------------------------


def plain_vectors() -> np.ndarray:
    return np.stack(list(TextEmbedding(model_path=TINY_BERT).embed(TEXTS)))


def test_optimize_with_a_cache_under_a_file_runs_the_plain_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, where a chmod'ed folder stays writable: a cache path under a
    # regular FILE cannot be created by anyone.
    pytest.importorskip("onnx")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(blocker / "cache"))

    with pytest.warns(RuntimeWarning) as record:
        model = TextEmbedding(model_path=TINY_BERT, optimize=True)

    message = " ".join(str(w.message) for w in record)
    assert str(blocker / "cache" / "optimized") in message
    assert "EMBED_PLUGINS_CACHE_DIR" in message and "plain graph" in message
    np.testing.assert_allclose(np.stack(list(model.embed(TEXTS))), plain_vectors(), atol=1e-6)


@pytest.mark.parametrize("seam", ["mkdtemp", "replace"])
def test_optimize_with_a_read_only_cache_runs_the_plain_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seam: str
) -> None:
    # The cache's write seams (the work folder, the final rename) refuse, as a read-only
    # filesystem does.
    pytest.importorskip("onnx")
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(tmp_path / "cache"))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(tmp_path / "cache"))

    if seam == "mkdtemp":
        monkeypatch.setattr(optimize_module.tempfile, "mkdtemp", refuse)
    else:
        monkeypatch.setattr(optimize_module.os, "replace", refuse)

    with pytest.warns(RuntimeWarning, match="EMBED_PLUGINS_CACHE_DIR"):
        model = TextEmbedding(model_path=TINY_BERT, optimize=True)

    assert not list((tmp_path / "cache").rglob("*.onnx"))
    np.testing.assert_allclose(np.stack(list(model.embed(TEXTS))), plain_vectors(), atol=1e-6)
