"""fastembed code keeps working after the import swap: its public API, taken as fastembed
takes it (class methods, keyword registration, model descriptions, result type, errors).

Where fastembed 0.9.1 (installed as the comparison peer) can run the same call on the same
folder, the test runs both and compares the numbers.
"""

from __future__ import annotations

import shutil
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


# -- prefixes ----------------------------------------------------------------------------


def test_prefixes_false_matches_a_collection_fastembed_built(isolated_catalog: None) -> None:
    spec = DenseSpec(
        model="dropin/prefixed",
        dim=32,
        query_prefix="query: ",
        passage_prefix="passage: ",
        model_file="onnx/model.onnx",
    )
    with_prefix = TextEmbedding(spec=spec, model_path=TINY_BERT)
    without = TextEmbedding(spec=spec, model_path=TINY_BERT, prefixes=False)
    assert without.prefixes == {"query": "", "passage": ""}
    q = "where is paris"
    plain = next(with_prefix.embed(q))
    np.testing.assert_array_equal(next(without.query_embed(q)), plain)
    np.testing.assert_array_equal(next(without.passage_embed(q)), plain)
    np.testing.assert_array_equal(
        next(with_prefix.query_embed(q)), next(with_prefix.embed("query: " + q))
    )
    assert not np.array_equal(next(with_prefix.query_embed(q)), plain)

    from fastembed.common.model_description import ModelSource as FeSource
    from fastembed.common.model_description import PoolingType as FePooling

    fe_name = "dropin/fastembed-tiny-bert-mean"
    if fe_name.lower() not in {
        m["model"].lower() for m in fastembed.TextEmbedding.list_supported_models()
    }:
        fastembed.TextEmbedding.add_custom_model(
            model=fe_name,
            pooling=FePooling.MEAN,
            normalization=True,
            sources=FeSource(hf="x/y"),
            dim=32,
            model_file="onnx/model.onnx",
        )
    theirs = fastembed.TextEmbedding(fe_name, specific_model_path=str(TINY_BERT))
    np.testing.assert_allclose(next(without.query_embed(q)), next(theirs.query_embed(q)), atol=1e-6)
    with pytest.raises(TypeError, match="prefixes"):
        TextEmbedding(spec=spec, model_path=TINY_BERT, prefixes="no")


# -- folders and specs that do not fit the class ------------------------------------------


def test_colbert_folder_loads_from_its_own_files(tmp_path: Path) -> None:
    folder = tmp_path / "my-colbert"
    shutil.copytree(TINY_COLBERT, folder)
    with pytest.raises(EmbedPluginsError, match=r"dim=.*query_marker=.*query_length="):
        LateInteractionTextEmbedding(model_path=folder)
    (folder / "artifact.metadata").write_text(
        '{"dim": 16, "query_token_id": "[unused0]", "doc_token_id": "[unused1]", '
        '"query_maxlen": 32, "doc_maxlen": 40, "mask_punctuation": true, '
        '"attend_to_mask_tokens": false}'
    )
    loaded = LateInteractionTextEmbedding(model_path=folder)
    assert (loaded.spec.dim, loaded.spec.query_length, loaded.spec.max_length) == (16, 32, 40)
    explicit = LateInteractionTextEmbedding(
        spec=catalog_module.late_interaction.ColbertSpec(
            model="x/c", dim=16, output_name="output", max_length=40
        ),
        model_path=TINY_COLBERT,
    )
    for a, b in zip(loaded.embed(TEXTS), explicit.embed(TEXTS), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(next(loaded.query_embed("q")), next(explicit.query_embed("q")))


def test_an_embedding_model_is_refused_by_the_reranker_at_construction(
    offline_models: Path, minilm_dir: Path
) -> None:
    with pytest.raises(EmbedPluginsError, match="not a cross-encoder"):
        TextCrossEncoder("sentence-transformers/all-MiniLM-L6-v2", lazy_load=True)
    from embed_plugins import CrossEncoderSpec

    with pytest.raises(EmbedPluginsError, match="not a cross-encoder"):
        TextCrossEncoder(
            spec=CrossEncoderSpec(model="x/y", model_file="onnx/model.onnx"), model_path=minilm_dir
        )


def test_a_dim_the_graph_contradicts_is_refused_at_load() -> None:
    with pytest.raises(EmbedPluginsError, match=r"dim=384.*width 32"):
        TextEmbedding(spec=SPEC.replace(dim=384), model_path=TINY_BERT)


def test_migration_recipe_reproduces_fastembeds_vectors(minilm_dir: Path) -> None:
    """The README's recipe for a collection fastembed built: ``max_length=512`` (fastembed's
    truncation for all-MiniLM-L6-v2) and ``prefixes=False`` give fastembed's vectors, long
    passages included; our default (the model's own 256) differs on those."""
    from fastembed.common.model_description import ModelSource as FeSource
    from fastembed.common.model_description import PoolingType as FePooling

    fe_name = "dropin/fastembed-real-minilm"
    if fe_name.lower() not in {
        m["model"].lower() for m in fastembed.TextEmbedding.list_supported_models()
    }:
        fastembed.TextEmbedding.add_custom_model(
            model=fe_name,
            pooling=FePooling.MEAN,
            normalization=True,
            sources=FeSource(hf="x/y"),
            dim=384,
            model_file="onnx/model.onnx",
        )
    theirs = fastembed.TextEmbedding(fe_name, specific_model_path=str(minilm_dir))
    long_text = " ".join(["retrieval models read long passages about many topics"] * 60)
    texts = ["short passage", long_text]
    fe = list(theirs.passage_embed(texts))
    migrated = TextEmbedding(model_path=minilm_dir, max_length=512, prefixes=False)
    for a, b in zip(migrated.passage_embed(texts), fe, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    default = list(TextEmbedding(model_path=minilm_dir).passage_embed(texts))
    np.testing.assert_allclose(default[0], fe[0], atol=1e-5)
    assert np.abs(default[1] - fe[1]).max() > 1e-3  # truncated at 256, as sentence-transformers


def test_sparse_keyword_form_and_bad_bm25_language(isolated_catalog: None) -> None:
    splade_dir = FIXTURES / "tiny-splade"
    SparseTextEmbedding.add_custom_model(
        model="dropin/tiny-splade", sources=ModelSource(hf="x/s"), model_file="model.onnx"
    )
    model = SparseTextEmbedding("dropin/tiny-splade", specific_model_path=splade_dir)
    (vector,) = model.embed("hello world")
    assert isinstance(vector, SparseEmbedding) and len(vector) > 0
    with pytest.raises(ValueError) as info:
        SparseTextEmbedding("Qdrant/bm25", language="klingon")
    assert isinstance(info.value, EmbedPluginsError)
