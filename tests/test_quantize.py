"""quantize="int8": every transformer family, the cache, the probe check, workers, published files.

All on the tiny random-weight fixtures (tests/fixtures/models), so int8 and fp32 agree
closely (the stated bound below); the real MiniLM's figures are in benchmarks/README.md.
Each test gets its own cache folder, so "built once" is observable.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    Bm42Spec,
    ColbertSpec,
    DenseSpec,
    ImageEmbedding,
    InvalidArgumentError,
    LateInteractionTextEmbedding,
    ModelLoadError,
    Quantization,
    SparseTextEmbedding,
    SpladeSpec,
    TextCrossEncoder,
    TextEmbedding,
)
from embed_plugins.engine import quantize as q
from embed_plugins.engine import quantize_files

MODELS = Path(__file__).parent / "fixtures" / "models"
TINY_BERT = MODELS / "tiny-bert"
TEXTS = ["hello world", "a longer sentence about int8 weights", "short", "one more text here"]
#: The bound the tests state: on the tiny fixtures int8 vectors stay this close to fp32.
MIN_COSINE = 0.99
_QUANTIZE = q._quantize  # the real one, for making int8 fixtures (tests count the calls)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(folder))
    return folder / "quantized"


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every quantisation this process runs (the graph it quantised)."""
    seen: list[Path] = []
    real = q._quantize

    def counting(source: Path, candidate: Path, settings: Quantization) -> None:
        seen.append(source)
        real(source, candidate, settings)

    monkeypatch.setattr(q, "_quantize", counting)
    return seen


def _graph_of(model: Any) -> Path:
    return Path(model.model.session._model_path)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)))


def _dense(vectors: Any) -> np.ndarray:
    return np.stack(list(vectors))


# -- each family ------------------------------------------------------------------------


def test_dense_runs_the_cached_int8_graph_close_to_fp32(cache: Path, builds: list[Path]) -> None:
    fp32 = TextEmbedding(model_path=TINY_BERT)
    int8 = TextEmbedding(model_path=TINY_BERT, quantize="int8")
    graph = _graph_of(int8)
    assert graph.parent == cache and quantize_files.is_quantized(graph)
    assert len(builds) == 1
    cosines = _cos(_dense(int8.embed(TEXTS)), _dense(fp32.embed(TEXTS)))
    assert cosines.min() >= MIN_COSINE
    assert not np.array_equal(_dense(int8.embed(TEXTS)), _dense(fp32.embed(TEXTS)))


def test_splade_int8_weights_close_to_fp32() -> None:
    spec = SpladeSpec(model="tiny-splade")
    fp32 = SparseTextEmbedding(spec=spec, model_path=MODELS / "tiny-splade")
    int8 = SparseTextEmbedding(spec=spec, model_path=MODELS / "tiny-splade", quantize="int8")
    assert quantize_files.is_quantized(_graph_of(int8))
    for a, b in zip(fp32.embed(TEXTS), int8.embed(TEXTS), strict=True):
        width = int(max(a.indices.max(), b.indices.max())) + 1
        va, vb = np.zeros(width), np.zeros(width)
        va[a.indices], vb[b.indices] = a.values, b.values
        assert _cos(va, vb) >= MIN_COSINE


def test_bm42_int8_keeps_the_attention_output() -> None:
    spec = Bm42Spec(model="tiny-bert-attentions", output_name="attention_2")
    folder = MODELS / "tiny-bert-attentions"
    fp32 = list(SparseTextEmbedding(spec=spec, model_path=folder).embed(TEXTS))
    model = SparseTextEmbedding(spec=spec, model_path=folder, quantize="int8")
    int8 = list(model.embed(TEXTS))
    assert quantize_files.is_quantized(_graph_of(model))
    for a, b in zip(fp32, int8, strict=True):
        assert sorted(a.indices.tolist()) == sorted(b.indices.tolist())  # same words
        assert np.allclose(a.values, b.values, atol=0.05)


def test_colbert_int8_token_vectors_close_to_fp32() -> None:
    spec = ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")
    folder = MODELS / "tiny-colbert"
    fp32 = list(LateInteractionTextEmbedding(spec=spec, model_path=folder).embed(TEXTS))
    model = LateInteractionTextEmbedding(spec=spec, model_path=folder, quantize="int8")
    assert quantize_files.is_quantized(_graph_of(model))
    for a, b in zip(fp32, model.embed(TEXTS), strict=True):
        assert a.shape == b.shape and _cos(a, b).min() >= MIN_COSINE


def test_cross_encoder_int8_scores_close_to_fp32() -> None:
    folder = MODELS / "tiny-cross-encoder"
    fp32 = np.array(list(TextCrossEncoder(model_path=folder).rerank("a query", TEXTS)))
    model = TextCrossEncoder(model_path=folder, quantize="int8")
    int8 = np.array(list(model.rerank("a query", TEXTS)))
    assert quantize_files.is_quantized(_graph_of(model))
    # Scores are compared as the probe compares them: the same order, centred cosine >= bound.
    assert np.argsort(int8).tolist() == np.argsort(fp32).tolist()
    assert _cos(int8 - int8.mean(), fp32 - fp32.mean()) >= MIN_COSINE


def test_bge_m3_int8_three_outputs_close_to_fp32() -> None:
    import json

    from embed_plugins import BgeM3Embedding, catalog

    meta = json.loads((MODELS.parent / "reference" / "tiny-bge-m3.json").read_text())
    spec = catalog.find("bge_m3", "BAAI/bge-m3").replace(  # type: ignore[union-attr]
        dim=meta["hidden"], colbert_dim=meta["colbert_dim"]
    )
    folder = MODELS / "tiny-bge-m3"  # its weights are an external-data file
    fp32 = list(BgeM3Embedding(spec=spec, model_path=folder).embed(TEXTS))
    model = BgeM3Embedding(spec=spec, model_path=folder, quantize="int8")
    assert quantize_files.is_quantized(_graph_of(model))
    for a, b in zip(fp32, model.embed(TEXTS), strict=True):
        assert _cos(a.dense, b.dense) >= MIN_COSINE
        assert _cos(a.colbert, b.colbert).min() >= MIN_COSINE


def test_optimize_and_quantize_quantise_the_fused_graph(builds: list[Path]) -> None:
    model = TextEmbedding(model_path=TINY_BERT, optimize=True, quantize="int8")
    assert builds and builds[0].parent.name == "optimized"  # the fused graph was the source
    fp32 = TextEmbedding(model_path=TINY_BERT)
    assert _cos(_dense(model.embed(TEXTS)), _dense(fp32.embed(TEXTS))).min() >= MIN_COSINE


# -- the cache and the probe check ------------------------------------------------------------


def test_second_load_reuses_the_cached_graph(cache: Path, builds: list[Path]) -> None:
    first = _graph_of(TextEmbedding(model_path=TINY_BERT, quantize="int8"))
    stamp = first.stat().st_mtime_ns
    second = _graph_of(TextEmbedding(model_path=TINY_BERT, quantize="int8"))
    assert first == second and second.stat().st_mtime_ns == stamp
    assert len(builds) == 1
    report = (cache / f"{first.stem}.json").read_text()
    assert '"min_cosine"' in report and '"probe_texts": 16' in report


def test_other_settings_are_another_cache_entry(builds: list[Path]) -> None:
    a = _graph_of(TextEmbedding(model_path=TINY_BERT, quantize="int8"))
    b = _graph_of(
        TextEmbedding(
            model_path=TINY_BERT, quantize=Quantization(per_channel=False, fp32_layers=())
        )
    )
    assert a != b and len(builds) == 2
    # The bound is checked, not part of the key: a different bound reuses the graph.
    c = _graph_of(TextEmbedding(model_path=TINY_BERT, quantize=Quantization(min_cosine=0.5)))
    assert c == a and len(builds) == 2


def test_probe_check_refuses_a_graph_past_the_bound(builds: list[Path]) -> None:
    # int8 weights never reproduce fp32 exactly, so a bound of 1.0 cannot be met.
    with pytest.raises(ModelLoadError, match=r"lowest cosine 0\.9\d+ .*< bound 1\.0"):
        TextEmbedding(model_path=TINY_BERT, quantize=Quantization(min_cosine=1.0))
    # The graph and its report were kept: a load with the default bound does not quantise again.
    TextEmbedding(model_path=TINY_BERT, quantize="int8")
    assert len(builds) == 1


def test_probe_cosines_of_a_graph_with_itself_are_one() -> None:
    graph = TINY_BERT / "onnx" / "model.onnx"
    report = q.probe_cosines(graph, graph, TINY_BERT)
    assert report["min_cosine"] == pytest.approx(1.0) and report["probe_texts"] == 16


def test_unwritable_cache_quantises_privately_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(blocker))
    with pytest.warns(RuntimeWarning, match="cannot write the int8 graph cache"):
        model = TextEmbedding(model_path=TINY_BERT, quantize="int8")
    assert quantize_files.is_quantized(_graph_of(model))


# -- workers ------------------------------------------------------------------------------------


def test_workers_load_the_graph_the_parent_built(cache: Path, builds: list[Path]) -> None:
    model = TextEmbedding(model_path=TINY_BERT, quantize="int8", lazy_load=True)
    assert model.model is None and not cache.exists()  # nothing built yet
    with model:
        pooled = _dense(model.embed(TEXTS * 4, batch_size=1, parallel=2))
        assert len(builds) == 1  # the parent quantised, before starting the workers
        graphs = list(cache.glob("*.onnx"))
        assert len(graphs) == 1
        inode = graphs[0].stat().st_ino  # a worker that rebuilt would have replaced the file
        pooled_again = _dense(model.embed(TEXTS * 4, batch_size=1, parallel=2))
    assert graphs[0].stat().st_ino == inode and list(cache.glob("*.onnx")) == graphs
    # One text per batch: dynamic quantisation picks one activation scale per batch, so
    # only the same batches give the same vectors (README, "int8 on CPU").
    local = _dense(TextEmbedding(model_path=TINY_BERT, quantize="int8").embed(TEXTS * 4, 1))
    np.testing.assert_allclose(pooled, local, atol=1e-6)
    np.testing.assert_allclose(pooled_again, local, atol=1e-6)


# -- bad values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("int4", InvalidArgumentError, "quantize='int4' is not a quantisation"),
        (True, TypeError, "use quantize='int8'"),
        (8, TypeError, "quantize must be None, 'int8' or a Quantization"),
    ],
)
def test_bad_values_are_clear_errors(value: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        TextEmbedding(model_path=TINY_BERT, quantize=value)


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="min_cosine must be a number in"):
        Quantization(min_cosine=2)
    with pytest.raises(TypeError, match="fp32_layers must be a tuple"):
        Quantization(fp32_layers=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="op_types must be a non-empty tuple"):
        Quantization(op_types="MatMul")  # type: ignore[arg-type]


def test_models_without_a_transformer_graph_refuse_quantize() -> None:
    with pytest.raises(InvalidArgumentError, match="bm25 model with none to quantise"):
        SparseTextEmbedding("Qdrant/bm25", quantize="int8")
    with pytest.raises(TypeError, match="quantize"):
        ImageEmbedding(model_path=MODELS / "tiny-clip", quantize="int8")


def test_layers_that_cannot_be_found_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot tell the encoder layers"):
        TextEmbedding(model_path=TINY_BERT, quantize=Quantization(op_types=("Gemm",)))


# -- graphs that are int8 already ----------------------------------------------------------------


def _folder_with_int8_graph(tmp_path: Path, name: str) -> Path:
    """A copy of tiny-bert whose folder also holds an int8 graph under ``onnx/<name>``."""
    folder = tmp_path / "tiny-bert-int8"
    shutil.copytree(TINY_BERT, folder)
    _QUANTIZE(TINY_BERT / "onnx" / "model.onnx", folder / "onnx" / name, Quantization())
    return folder


def test_an_int8_graph_is_used_as_it_is(tmp_path: Path, builds: list[Path]) -> None:
    folder = _folder_with_int8_graph(tmp_path, "model_quantized.onnx")
    spec = DenseSpec(
        model="local/int8", dim=32, pooling="mean", model_file="onnx/model_quantized.onnx"
    )
    model = TextEmbedding(spec=spec, model_path=folder, quantize="int8")
    assert _graph_of(model) == folder / "onnx" / "model_quantized.onnx"
    assert builds == []


def test_a_published_int8_file_is_picked_without_quantising(
    tmp_path: Path, builds: list[Path], cache: Path
) -> None:
    folder = _folder_with_int8_graph(tmp_path, "model_int8.onnx")
    spec = DenseSpec(
        model="local/published-int8",
        hf_repo="local/published-int8",
        model_file="onnx/model.onnx",
        dim=32,
        pooling="mean",
        int8_files={"any": "onnx/model_int8.onnx"},
    )
    model = TextEmbedding(spec=spec, model_path=folder, quantize="int8")
    assert model.spec.model_file == "onnx/model_int8.onnx"
    assert _graph_of(model) == folder / "onnx" / "model_int8.onnx"
    assert builds == [] and not cache.exists()
    # Explicit settings always quantise the fp32 graph here.
    ours = TextEmbedding(spec=spec, model_path=folder, quantize=Quantization())
    assert ours.spec.model_file == "onnx/model.onnx" and _graph_of(ours).parent == cache
    # Without the published file (a folder of the fp32 graph only), int8 falls back to ours.
    fallback = TextEmbedding(spec=spec, model_path=TINY_BERT, quantize="int8")
    assert fallback.spec.model_file == "onnx/model.onnx" and _graph_of(fallback).parent == cache


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("avx512_vnni", "onnx/model_qint8_avx512_vnni.onnx"),
        ("avx512", "onnx/model_qint8_avx512.onnx"),
        ("avx2", "onnx/model_quint8_avx2.onnx"),
        ("arm64", "onnx/model_qint8_arm64.onnx"),
        ("other", None),
    ],
)
def test_the_published_file_for_this_cpu(
    kind: str, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = TextEmbedding.list_supported_models()
    files = next(m["int8_files"] for m in spec if m["model"].endswith("all-MiniLM-L6-v2"))
    monkeypatch.setattr(quantize_files, "cpu_kind", lambda: kind)
    assert quantize_files.pick_int8_file(files) == expected
    assert quantize_files.pick_int8_file({"any": "x.onnx"}) == "x.onnx"


def test_no_warnings_on_the_plain_path(recwarn: pytest.WarningsRecorder) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextEmbedding(model_path=TINY_BERT, quantize="int8")


def test_the_langchain_adapter_passes_quantize_on() -> None:
    pytest.importorskip("langchain_core")
    from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings

    adapter = EmbedPluginsEmbeddings(model_path=str(TINY_BERT), quantize="int8")
    fp32 = EmbedPluginsEmbeddings(model_path=str(TINY_BERT))
    a, b = np.array(adapter.embed_documents(TEXTS)), np.array(fp32.embed_documents(TEXTS))
    assert _cos(a, b).min() >= MIN_COSINE and not np.array_equal(a, b)
