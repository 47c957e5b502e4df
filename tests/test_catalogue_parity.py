"""Our catalogues against fastembed 0.9.1's (the test peer), name by name.

For every family, the fastembed models we lack must be exactly the ones written out
below as left for later (each with the mechanism it still needs), so the test fails
when an entry is lost and when the list goes stale.  Every model both catalogues
have must agree with fastembed on its dimension and fetch fastembed's repository and
ONNX file, unless a documented alternative is written out here with its reason.
Fails, rather than skips, when fastembed is missing in CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    ImageEmbedding,
    LateInteractionMultimodalEmbedding,
    LateInteractionTextEmbedding,
    SparseTextEmbedding,
    TextCrossEncoder,
    TextEmbedding,
)
from embed_plugins import catalog as catalog_module
from embed_plugins.catalog.dense_constella import CONSTELLA_MODELS
from embed_plugins.catalog.dense_english import ENGLISH_MODELS
from embed_plugins.catalog.dense_long_context import LONG_CONTEXT_MODELS
from embed_plugins.catalog.dense_multilingual import MULTILINGUAL_MODELS
from embed_plugins.catalog.rerank import RERANK_MODELS
from embed_plugins.catalog.spec import DenseSpec, ModelSpec
from embed_plugins.hub import MODELS_DIR_ENV


def _fastembed() -> Any:
    try:
        import fastembed
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install fastembed 0.9.1 (see .ci/run)")
        pytest.skip("fastembed is not installed")
    return fastembed


def _custom_names() -> set[str]:
    """Models other tests and the benchmarks registered in fastembed at run time
    (``add_custom_model``): not part of its catalogue."""
    from fastembed.rerank.cross_encoder.custom_text_cross_encoder import CustomTextCrossEncoder
    from fastembed.text.custom_text_embedding import CustomTextEmbedding

    return {
        d.model.lower()
        for d in (*CustomTextEmbedding.SUPPORTED_MODELS, *CustomTextCrossEncoder.SUPPORTED_MODELS)
    }


def _theirs(family: str) -> list[dict[str, Any]]:
    custom = _custom_names() if _fastembed() else set()
    return [m for m in _all_theirs(family) if m["model"].lower() not in custom]


def _all_theirs(family: str) -> list[dict[str, Any]]:
    fastembed = _fastembed()
    if family == "rerank":
        from fastembed.rerank.cross_encoder import TextCrossEncoder as FastembedCrossEncoder

        return list(FastembedCrossEncoder.list_supported_models())
    classes = {
        "dense": fastembed.TextEmbedding,
        "sparse": fastembed.SparseTextEmbedding,
        "late_interaction": fastembed.LateInteractionTextEmbedding,
        "image": fastembed.ImageEmbedding,
        "multimodal": fastembed.LateInteractionMultimodalEmbedding,
    }
    return list(classes[family].list_supported_models())


OURS: dict[str, Any] = {
    "dense": TextEmbedding,
    "sparse": SparseTextEmbedding,
    "late_interaction": LateInteractionTextEmbedding,
    "rerank": TextCrossEncoder,
    "image": ImageEmbedding,
    "multimodal": LateInteractionMultimodalEmbedding,
}
FAMILIES = sorted(OURS)

#: fastembed 0.9.1 models we do not have yet, and the mechanism each one still needs.
LEFT_FOR_LATER: dict[str, dict[str, str]] = {
    # jina-embeddings-v3 (DenseSpec.tasks, catalog/dense_multitask.py) and the model2vec
    # potion models (kind="static", catalog/dense_static.py) are no longer left for later.
    "dense": {},
    # Qdrant/minicoil-v1 (MiniCoilSpec) and opensearch-neural-sparse-encoding-doc-v3-gte (a
    # SpladeSpec with query_idf_file) are in catalog/sparse_neural.py.
    "sparse": {},
    "late_interaction": {},
    "rerank": {},
    "image": {},
    "multimodal": {},
}

#: Models we have that fastembed 0.9.1 lacks.
OUR_EXTRAS: dict[str, set[str]] = {
    # BAAI/bge-m3 (catalog/bge_m3.py): dense, lexical weights and ColBERT from one graph.
    "dense": {"intfloat/multilingual-e5-small", "intfloat/multilingual-e5-base", "BAAI/bge-m3"},
    "sparse": {"BAAI/bge-m3"},
    "late_interaction": {"BAAI/bge-m3"},
    "rerank": set(),
    "image": set(),
    "multimodal": set(),
}

#: Shared models whose files we fetch from elsewhere than fastembed, and why (the entries'
#: comments cite the listings).  (repository, ONNX file) as our spec has them.
DOCUMENTED_ALTERNATIVES: dict[str, tuple[str | None, str]] = {
    # The authors' own full-precision graphs; fastembed fetches Qdrant's re-exports
    # (quantised for bge-small/base v1.5 and paraphrase-multilingual-MiniLM).
    "BAAI/bge-small-en-v1.5": ("BAAI/bge-small-en-v1.5", "onnx/model.onnx"),
    "BAAI/bge-base-en-v1.5": ("BAAI/bge-base-en-v1.5", "onnx/model.onnx"),
    "BAAI/bge-large-en-v1.5": ("BAAI/bge-large-en-v1.5", "onnx/model.onnx"),
    "sentence-transformers/all-MiniLM-L6-v2": (
        "sentence-transformers/all-MiniLM-L6-v2",
        "onnx/model.onnx",
    ),
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2": (
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        "onnx/model.onnx",
    ),
    "intfloat/multilingual-e5-large": ("intfloat/multilingual-e5-large", "onnx/model.onnx"),
    # BM25 needs no model: fastembed's repository holds only stopword lists, which ship
    # inside this package (catalog/sparse.py, families/bm25.py).
    "Qdrant/bm25": (None, "model.onnx"),
}

#: Shared models that fetch fastembed's graph but not all of its other files, and why.
DOCUMENTED_FILE_DIFFERENCES: dict[str, str] = {
    # The repository's stopwords.txt is not fetched: BM42 uses the English list shipped with
    # this package for BM25 (catalog/sparse.py explains the choice).
    "Qdrant/bm42-all-minilm-l6-v2-attentions": "stopwords ship with the package",
}


def _by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["model"].lower(): entry for entry in entries}


def _shared(family: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    ours = _by_name(OURS[family].list_supported_models())
    theirs = _by_name(_theirs(family))
    return [(ours[name], theirs[name]) for name in sorted(set(ours) & set(theirs))]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_models_we_lack_are_exactly_those_left_for_later(family: str) -> None:
    ours = {entry["model"].lower() for entry in OURS[family].list_supported_models()}
    theirs = {entry["model"].lower() for entry in _theirs(family)}
    assert sorted(theirs - ours) == sorted(name.lower() for name in LEFT_FOR_LATER[family])


@pytest.mark.parametrize("family", FAMILIES)
def test_the_models_fastembed_lacks_are_the_documented_ones(family: str) -> None:
    ours = {entry["model"].lower() for entry in OURS[family].list_supported_models()}
    theirs = {entry["model"].lower() for entry in _theirs(family)}
    assert sorted(ours - theirs) == sorted(name.lower() for name in OUR_EXTRAS[family])


@pytest.mark.parametrize("family", ["dense", "late_interaction", "image", "multimodal"])
def test_shared_models_have_fastembeds_dimension(family: str) -> None:
    for ours, theirs in _shared(family):
        assert ours["dim"] == theirs["dim"], ours["model"]
        assert OURS[family].get_embedding_size(theirs["model"]) == theirs["dim"]


@pytest.mark.parametrize("family", FAMILIES)
def test_shared_models_fetch_fastembeds_files_or_a_documented_alternative(family: str) -> None:
    alternatives = {name.lower(): files for name, files in DOCUMENTED_ALTERNATIVES.items()}
    for ours, theirs in _shared(family):
        name = ours["model"].lower()
        got = (ours["sources"]["hf"], ours["model_file"])
        if name in alternatives:
            assert got == alternatives[name], ours["model"]
            assert got != (theirs["sources"]["hf"], theirs["model_file"]), (
                f"{ours['model']} now fetches fastembed's files: drop its documented alternative"
            )
        else:
            assert got == (theirs["sources"]["hf"], theirs["model_file"]), ours["model"]
            # fastembed's older entries name external data without its folder.
            theirs_extra = [name.split("/")[-1] for name in theirs.get("additional_files") or []]
            ours_extra = [name.split("/")[-1] for name in ours["additional_files"]]
            if ours["model"] in DOCUMENTED_FILE_DIFFERENCES:
                assert ours_extra != theirs_extra, ours["model"]
            else:
                assert ours_extra == theirs_extra, ours["model"]


def test_every_documented_alternative_is_a_shared_model() -> None:
    shared = {
        ours["model"].lower() for family in FAMILIES for ours, _theirs_entry in _shared(family)
    }
    assert {name.lower() for name in DOCUMENTED_ALTERNATIVES} <= shared


# -- the entries added to match fastembed -------------------------------------------------

NEW_SPECS: list[ModelSpec] = [
    *[
        spec
        for spec in ENGLISH_MODELS
        if spec.model
        not in {
            "Snowflake/snowflake-arctic-embed-s",
            "Snowflake/snowflake-arctic-embed-m",
            "mixedbread-ai/mxbai-embed-large-v1",
            "thenlper/gte-base",
        }
    ],
    *[spec for spec in LONG_CONTEXT_MODELS if spec.model != "jinaai/jina-embeddings-v2-small-en"],
    *MULTILINGUAL_MODELS,
    *CONSTELLA_MODELS,
    *[spec for spec in RERANK_MODELS if spec.model.startswith("BAAI/bge-reranker-v2-m3")],
]


def test_the_new_entries_are_complete_and_cited() -> None:
    assert len(NEW_SPECS) == 24  # 22 dense models, 2 cross-encoders
    for spec in NEW_SPECS:
        entry = spec.describe()
        assert spec.hf_repo and spec.model_file.endswith(".onnx"), spec.model
        assert spec.license and spec.size_gb > 0 and spec.max_length, spec.model
        assert spec.description and "huggingface.co/" in spec.source, spec.model
        assert "qdrant/fastembed fastembed/" in spec.source, spec.model
        assert entry["sources"] == {"hf": spec.hf_repo, "url": None}
        if isinstance(spec, DenseSpec):
            assert spec.pooling in {"cls", "mean", "last_token", "none"}


def test_where_the_reference_and_fastembed_differ_we_follow_the_reference() -> None:
    def dense(name: str) -> DenseSpec:
        spec = catalog_module.find("dense", name)
        assert isinstance(spec, DenseSpec)
        return spec

    # Prompts fastembed names in its descriptions but does not apply.
    qwen = dense("Qwen/Qwen3-Embedding-0.6B")
    assert qwen.query_prefix == (
        "Instruct: Given a web search query, retrieve relevant passages that answer the query"
        "\nQuery:"
    )
    assert qwen.passage_prefix == "" and qwen.pooling == "last_token" and qwen.normalize
    assert dense("Qwen/Qwen3-Embedding-0.6B-Q").query_prefix == qwen.query_prefix
    gemma = dense("google/embeddinggemma-300m")
    assert (gemma.query_prefix, gemma.passage_prefix) == (
        "task: search result | query: ",
        "title: none | text: ",
    )
    assert (gemma.pooling, gemma.output_name) == ("none", "sentence_embedding")
    # Normalised as the model cards do (fastembed's pooled_embedding.py does not).
    assert dense("nomic-ai/nomic-embed-text-v1").normalize
    assert dense("nomic-ai/nomic-embed-text-v1.5-Q").matryoshka_layer_norm
    # The model's own truncation (fastembed: the tokenizer's 512).
    mpnet = dense("sentence-transformers/paraphrase-multilingual-mpnet-base-v2")
    assert (mpnet.max_length, mpnet.normalize) == (128, False)
    # The card's usage truncates pairs at 512 (fastembed: the tokenizer's limit).
    reranker = catalog_module.find("rerank", "BAAI/bge-reranker-v2-m3")
    assert reranker is not None and reranker.max_length == 512
    # Graphs that pool inside (a 2-D output) against graphs of token states.
    assert [dense(f"Qdrant/{n}").pooling for n in ("constella-nano", "constella-zero")] == [
        "mean",
        "none",
    ]
    assert dense("Qdrant/stella-en-400M-v5-doc-onnx").pooling == "none"
    granite = dense("ibm-granite/granite-embedding-small-english-r2")
    assert (granite.output_name, granite.normalize) == ("sentence_embedding", False)


# -- aliases ------------------------------------------------------------------------------

ALIAS = "prithvida/Splade_PP_en_v1"
CANONICAL = "prithivida/Splade_PP_en_v1"


def test_fastembeds_legacy_sparse_spelling_is_an_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "_CUSTOM", {})  # nothing registered leaks out
    listed = SparseTextEmbedding.list_supported_models()
    names = [entry["model"] for entry in listed]
    assert names.count(ALIAS) == 1 and names.index(ALIAS) > names.index(CANONICAL)
    by_name = {entry["model"]: entry for entry in listed}
    alias, canonical = by_name[ALIAS], by_name[CANONICAL]
    assert canonical["aliases"] == [ALIAS] and alias["aliases"] == []
    for key in ("sources", "model_file", "vocab_size", "kind", "license", "size_in_GB"):
        assert alias[key] == canonical[key], key
    assert alias["description"].startswith(f"Alias of {CANONICAL}.")
    for spelling in (ALIAS, ALIAS.upper(), ALIAS.lower()):
        spec = catalog_module.find("sparse", spelling)
        assert spec is not None and spec.model == CANONICAL
    assert catalog_module.find("dense", ALIAS) is None
    with pytest.raises(ValueError, match="already a built-in"):
        catalog_module.register(catalog_module.find("sparse", CANONICAL).replace(model=ALIAS))  # type: ignore[union-attr]
    assert all(entry["aliases"] == [] for entry in TextEmbedding.list_supported_models())


def test_aliases_must_be_a_tuple_of_names() -> None:
    with pytest.raises(TypeError, match="aliases"):
        ModelSpec(model="x/y", aliases="x/z")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="aliases"):
        ModelSpec(model="x/y", aliases=("",))


def test_an_alias_loads_the_models_own_files(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alias resolves to the canonical spec, so it reads the canonical folder (here a
    copy of the tiny SPLADE checkpoint standing in for SPLADE++)."""
    real = models_dir / "local" / "splade-tiny-msmarco"
    if not (real / "model.onnx").is_file():
        pytest.skip(f"{real} is missing (see ../shared/models/README.md)")
    shutil.copytree(real, tmp_path / CANONICAL)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    by_alias = SparseTextEmbedding(ALIAS)
    by_name = SparseTextEmbedding(CANONICAL)
    assert by_alias.model_name == CANONICAL
    texts = ["sparse vectors for hybrid search", "what is the capital of France?"]
    for a, b in zip(by_alias.embed(texts), by_name.embed(texts), strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.values, b.values)
