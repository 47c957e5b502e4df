"""fastembed code keeps working after the import swap: its public API, taken as fastembed
takes it (class methods, keyword registration, model descriptions, result type, errors).

Where fastembed 0.9.1 (installed as the comparison peer) can run the same call on the same
folder, the test runs both and compares the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embed_plugins
from embed_plugins import (
    ArgumentTypeError,
    DenseSpec,
    EmbedPluginsError,
    ImageEmbedding,
    InvalidArgumentError,
    LateInteractionMultimodalEmbedding,
    LateInteractionTextEmbedding,
    ModelNotFoundError,
    ModelSource,
    PoolingType,
    ProviderError,
    SparseEmbedding,
    SparseTextEmbedding,
    SparseVector,
    TextCrossEncoder,
    TextEmbedding,
)
from embed_plugins import catalog as catalog_module

FIXTURES = Path(__file__).parent / "fixtures" / "models"
TINY_BERT = FIXTURES / "tiny-bert"
TINY_CE = FIXTURES / "tiny-cross-encoder"
TINY_COLBERT = FIXTURES / "tiny-colbert"
SPEC = DenseSpec(model="d/a", dim=32, model_file="onnx/model.onnx")
TEXTS = ["hello world", "the cat sat on the mat", "paris is a city"]

fastembed = pytest.importorskip("fastembed")


@pytest.fixture
def isolated_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "_CUSTOM", {})


# -- get_embedding_size ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "name", "dim"),
    [
        (TextEmbedding, "sentence-transformers/all-MiniLM-L6-v2", 384),
        (TextEmbedding, "BAAI/bge-small-en-v1.5", 384),
        (LateInteractionTextEmbedding, "colbert-ir/colbertv2.0", 128),
        (ImageEmbedding, "Qdrant/clip-ViT-B-32-vision", 512),
        (LateInteractionMultimodalEmbedding, "Qdrant/colpali-v1.3-fp16", 128),
    ],
)
def test_get_embedding_size_is_a_class_method(cls: Any, name: str, dim: int) -> None:
    assert cls.get_embedding_size(name) == dim
    assert cls.get_embedding_size(name.upper()) == dim  # case-insensitive, as lookups are


def test_get_embedding_size_agrees_with_fastembed_on_shared_models() -> None:
    ours = {m["model"].lower(): m["dim"] for m in TextEmbedding.list_supported_models()}
    theirs = {m["model"].lower(): m["dim"] for m in fastembed.TextEmbedding.list_supported_models()}
    shared = sorted(set(ours) & set(theirs))
    assert len(shared) >= 10
    for name in shared:
        assert TextEmbedding.get_embedding_size(name) == theirs[name], name


def test_get_embedding_size_errors() -> None:
    with pytest.raises(ValueError, match="not a supported dense model"):  # fastembed's except
        TextEmbedding.get_embedding_size("nobody/nothing")
    with pytest.raises(InvalidArgumentError, match="no fixed embedding size"):
        SparseTextEmbedding.get_embedding_size("Qdrant/bm25")
    with pytest.raises(TypeError):
        TextEmbedding.get_embedding_size(None)  # type: ignore[arg-type]


# -- add_custom_model, fastembed's keyword form -------------------------------------------


def test_keyword_registration_matches_fastembed(isolated_catalog: None) -> None:
    name = "dropin/tiny-bert-cls"
    kwargs: dict[str, Any] = {
        "model": name,
        "pooling": PoolingType.CLS,
        "normalization": True,
        "sources": ModelSource(hf="dropin/tiny-bert"),
        "dim": 32,
        "model_file": "onnx/model.onnx",
        "description": "tiny",
        "license": "apache-2.0",
        "size_in_gb": 0.001,
        "additional_files": [],
    }
    TextEmbedding.add_custom_model(**kwargs)
    ours = TextEmbedding(name, specific_model_path=TINY_BERT)
    assert ours.spec.pooling == "cls" and ours.spec.hf_repo == "dropin/tiny-bert"

    from fastembed.common.model_description import ModelSource as FeSource
    from fastembed.common.model_description import PoolingType as FePooling

    fe_name = "dropin/fastembed-tiny-bert-cls"
    if fe_name.lower() not in {
        m["model"].lower() for m in fastembed.TextEmbedding.list_supported_models()
    }:
        fastembed.TextEmbedding.add_custom_model(
            **{
                **kwargs,
                "model": fe_name,
                "pooling": FePooling.CLS,
                "sources": FeSource(hf="dropin/tiny-bert"),
            }
        )
    theirs = fastembed.TextEmbedding(fe_name, specific_model_path=str(TINY_BERT))
    for a, b in zip(ours.embed(TEXTS), theirs.embed(TEXTS), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_keyword_registration_positional_and_with_fastembeds_source(isolated_catalog: None) -> None:
    from fastembed.common.model_description import ModelSource as FeSource

    TextEmbedding.add_custom_model("dropin/pos", PoolingType.MEAN, False, FeSource(hf="a/b"), 32)
    spec = TextEmbedding(  # found by name; a fastembed ModelSource is read too
        "dropin/pos", specific_model_path=TINY_BERT, lazy_load=True
    ).spec
    assert (spec.pooling, spec.normalize, spec.hf_repo, spec.dim) == ("mean", False, "a/b", 32)


def test_registering_an_existing_name_is_a_value_error(isolated_catalog: None) -> None:
    TextEmbedding.add_custom_model(
        model="dropin/once",
        pooling="mean",
        normalization=True,
        sources=ModelSource(hf="a/b"),
        dim=4,
    )
    with pytest.raises(ValueError, match="already registered"):  # used to replace it silently
        TextEmbedding.add_custom_model(
            model="DROPIN/once",
            pooling="cls",
            normalization=True,
            sources=ModelSource(hf="c/d"),
            dim=8,
        )
    assert TextEmbedding.get_embedding_size("dropin/once") == 4
    with pytest.raises(ValueError, match="built-in"):
        TextEmbedding.add_custom_model(
            DenseSpec(model="sentence-transformers/all-MiniLM-L6-v2", dim=384)
        )


def test_keyword_registration_mistakes_fail_loudly(isolated_catalog: None) -> None:
    good: dict[str, Any] = {
        "model": "dropin/x",
        "pooling": PoolingType.MEAN,
        "normalization": True,
        "sources": ModelSource(hf="a/b"),
        "dim": 4,
    }
    with pytest.raises(TypeError, match=r"normalisation.*normalization"):
        TextEmbedding.add_custom_model(**{**good, "normalisation": True})
    with pytest.raises(InvalidArgumentError, match="PoolingType"):
        TextEmbedding.add_custom_model(**{**good, "pooling": "max"})
    with pytest.raises(InvalidArgumentError, match="Hugging Face"):
        TextEmbedding.add_custom_model(**{**good, "sources": ModelSource(url="https://x/y.tgz")})
    with pytest.raises(ValueError):
        ModelSource()
    with pytest.raises(TypeError, match="takes a ImageSpec"):
        ImageEmbedding.add_custom_model(model="x/y", dim=3)
    assert catalog_module.list_specs("dense") == list(catalog_module._builtin("dense"))


def test_cross_encoder_and_colbert_keyword_forms(isolated_catalog: None) -> None:
    TextCrossEncoder.add_custom_model(
        model="dropin/tiny-ce", sources=ModelSource(hf="x/tiny-ce"), model_file="model.onnx"
    )
    ce = TextCrossEncoder("dropin/tiny-ce", specific_model_path=TINY_CE)
    scores = list(ce.rerank("query", ["a document", "another"]))
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)

    LateInteractionTextEmbedding.add_custom_model(
        model="dropin/tiny-colbert", sources=ModelSource(hf="x/c"), dim=16, model_file="model.onnx"
    )
    colbert = LateInteractionTextEmbedding("dropin/tiny-colbert", specific_model_path=TINY_COLBERT)
    (doc,) = colbert.embed("a document")
    assert doc.shape[1] == 16


# -- list_supported_models ---------------------------------------------------------------

FASTEMBED_KEYS = {
    "model",
    "description",
    "license",
    "size_in_GB",
    "sources",
    "model_file",
    "additional_files",
}


@pytest.mark.parametrize(
    "cls",
    [
        TextEmbedding,
        SparseTextEmbedding,
        LateInteractionTextEmbedding,
        TextCrossEncoder,
        ImageEmbedding,
        LateInteractionMultimodalEmbedding,
    ],
)
def test_descriptions_carry_fastembeds_keys(cls: Any) -> None:
    for entry in cls.list_supported_models():
        assert set(entry) >= FASTEMBED_KEYS, entry["model"]
        assert isinstance(entry["size_in_GB"], float)
        assert set(entry["sources"]) == {"hf", "url"} and entry["sources"]["url"] is None
        assert isinstance(entry["additional_files"], list)
        if cls is not SparseTextEmbedding and cls is not TextCrossEncoder:
            assert isinstance(entry["dim"], int)
    if cls is TextEmbedding:  # fastembed's key; only the multitask model has tasks
        tasks = {e["model"]: e["tasks"] for e in cls.list_supported_models() if e["tasks"]}
        assert list(tasks) == ["jinaai/jina-embeddings-v3"]


# -- SparseEmbedding ---------------------------------------------------------------------


def test_sparse_embedding_is_our_sparse_vector() -> None:
    assert SparseEmbedding is SparseVector
    (vector,) = SparseTextEmbedding("Qdrant/bm25").embed("the quick brown fox")
    assert isinstance(vector, SparseEmbedding)
    again = SparseEmbedding.from_dict(vector.as_dict())
    assert again == vector
    assert set(vector.as_object()) == {"indices", "values"}
    assert SparseEmbedding.from_dict({}) == SparseVector.empty()


# -- constructor arguments ---------------------------------------------------------------


def test_enable_cpu_mem_arena_reaches_the_session() -> None:
    on = TextEmbedding(spec=SPEC, model_path=TINY_BERT)
    off = TextEmbedding(spec=SPEC, model_path=TINY_BERT, enable_cpu_mem_arena=False)
    assert on.model.session.get_session_options().enable_cpu_mem_arena is True
    assert off.model.session.get_session_options().enable_cpu_mem_arena is False
    np.testing.assert_array_equal(next(on.embed("x")), next(off.embed("x")))
    with pytest.raises(TypeError, match="enable_cpu_mem_arena"):
        TextEmbedding(spec=SPEC, model_path=TINY_BERT, enable_cpu_mem_arena="no")


def test_threads_zero_is_onnxruntimes_default() -> None:
    model = TextEmbedding(spec=SPEC, model_path=TINY_BERT, threads=0)
    assert model.model.session.get_session_options().intra_op_num_threads == 0
    assert next(model.embed("x")).shape == (32,)


def test_device_id_selects_the_gpu() -> None:
    from embed_plugins.models.base import session_config

    def config(**kw: Any) -> Any:
        args: dict[str, Any] = {
            "threads": None,
            "providers": None,
            "cuda": False,
            "device_ids": None,
            "device": None,
            "graph_optimization": "all",
        }
        args.update(kw)
        device_id = args.pop("device_id", None)
        return session_config(**args, device_id=device_id)

    assert config(cuda=True, device_id=1).device == "cuda:1"
    assert config(cuda=True, device_ids=[2]).device == "cuda:2"
    assert config(device="cuda", device_id=3).device == "cuda:3"
    assert config(providers=["CUDAExecutionProvider"], device_id=1).providers == (
        ("CUDAExecutionProvider", {"device_id": 1}),
    )
    with pytest.raises(InvalidArgumentError, match="different devices"):
        config(device="cuda:0", device_id=1)
    with pytest.raises(InvalidArgumentError, match="cuda=True"):
        config(device_id=0)
    with pytest.raises(ArgumentTypeError):
        config(cuda=True, device_id=-1)


def test_lazy_load_is_observable_as_model_none() -> None:
    model = TextEmbedding(spec=SPEC, model_path=TINY_BERT, lazy_load=True)
    assert model.model is None
    next(model.embed("x"))
    assert model.model is not None
    eager = TextEmbedding(spec=SPEC, model_path=TINY_BERT)
    assert eager.model is not None


# -- call-time keywords ------------------------------------------------------------------


def test_task_id_and_typos_at_call_time() -> None:
    model = TextEmbedding(spec=SPEC, model_path=TINY_BERT)
    np.testing.assert_array_equal(next(model.embed("x", task_id=None)), next(model.embed("x")))
    with pytest.raises(InvalidArgumentError, match="not a multitask model"):
        list(model.embed("x", task_id=1))
    with pytest.raises(TypeError, match=r"batchsize.*did you mean 'batch_size'") as info:
        list(model.query_embed("x", batchsize=4))
    assert isinstance(info.value, EmbedPluginsError)


# -- errors, catchable the fastembed way -------------------------------------------------


def test_errors_are_ours_and_pythons() -> None:
    with pytest.raises(ValueError) as unknown:
        TextEmbedding("nobody/nothing-at-all")
    assert isinstance(unknown.value, ModelNotFoundError)
    assert isinstance(unknown.value, LookupError)
    spec = SPEC
    for bad in (
        lambda: TextEmbedding(spec=spec, model_path=TINY_BERT, truncate_dim=0),
        lambda: TextEmbedding(spec=spec, model_path=TINY_BERT, device="quantum"),
        lambda: DenseSpec(model="d/b", dim=4, pooling="max"),  # type: ignore[arg-type]
        lambda: TextEmbedding(spec=spec, model_path=TINY_BERT, threads=-1),
        lambda: TextEmbedding(spec=spec, model_path=TINY_BERT, graph_optimization="max"),
    ):
        with pytest.raises(ValueError) as info:
            bad()
        assert isinstance(info.value, EmbedPluginsError), info.value
    with pytest.raises(TypeError) as typo:
        TextEmbedding(spec=spec, model_path=TINY_BERT, max_lenght=3)
    assert isinstance(typo.value, EmbedPluginsError)
    assert issubclass(ProviderError, ValueError)


def test_public_names() -> None:
    for name in (
        "PoolingType",
        "ModelSource",
        "SparseEmbedding",
        "InvalidArgumentError",
        "ArgumentTypeError",
        "Muvera",
    ):
        assert name in embed_plugins.__all__
        assert getattr(embed_plugins, name) is not None
