"""fastembed code keeps working after the import swap: prefixes and migrating a fastembed
collection, model folders and specs that do not fit the class.

Where fastembed 0.9.1 (installed as the comparison peer) can run the same call on the same
folder, the test runs both and compares the numbers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import (
    DenseSpec,
    EmbedPluginsError,
    LateInteractionTextEmbedding,
    ModelSource,
    SparseEmbedding,
    SparseTextEmbedding,
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
