"""SparseTextEmbedding's public surface: catalogue, options, dtypes, bad input, workers.

The bad-input rule under test (documented in ``embed_plugins.models.sparse_embedding``):
non-``str`` items raise ``InputTypeError`` naming the index; empty and whitespace-only
text gives the empty vector for every model; punctuation- or stopword-only text gives
the empty vector for BM25 and BM42 and the model's expansion for SPLADE; long text is
truncated to ``max_length`` tokens by SPLADE and BM42 and read whole by BM25.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embed_plugins import (
    Bm25Spec,
    Bm42Spec,
    DenseSpec,
    InputTypeError,
    ModelLoadError,
    SparseSpec,
    SparseTextEmbedding,
    SparseVector,
    SpladeSpec,
)
from embed_plugins.catalog import sparse as sparse_catalog
from embed_plugins.families import bm25 as bm25_module

FIXTURES = Path(__file__).parent / "fixtures" / "models"
CATALOGUE = [
    "prithivida/Splade_PP_en_v1",
    "Qdrant/bm25",
    "Qdrant/bm42-all-minilm-l6-v2-attentions",
]
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "hello world",
]
ONE_MB = ("lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 18_000)[:1_000_000]


@pytest.fixture(scope="module")
def bm25() -> SparseTextEmbedding:
    return SparseTextEmbedding("Qdrant/bm25")


@pytest.fixture(scope="module")
def splade() -> SparseTextEmbedding:
    return SparseTextEmbedding(
        spec=SpladeSpec(model="tiny-splade"), model_path=FIXTURES / "tiny-splade"
    )


@pytest.fixture(scope="module")
def bm42() -> SparseTextEmbedding:
    return SparseTextEmbedding(
        spec=Bm42Spec(model="tiny-bert-attentions", output_name="attention_2"),
        model_path=FIXTURES / "tiny-bert-attentions",
    )


@pytest.fixture(params=["bm25", "splade", "bm42"])
def any_model(request: pytest.FixtureRequest) -> SparseTextEmbedding:
    model: SparseTextEmbedding = request.getfixturevalue(request.param)
    return model


def _check_vector(vec: object) -> SparseVector:
    assert isinstance(vec, SparseVector)
    assert vec.indices.dtype == np.int64 and vec.values.dtype == np.float32
    assert vec.indices.shape == vec.values.shape and vec.indices.ndim == 1
    assert np.all(np.diff(vec.indices) > 0)
    assert not vec.indices.flags.writeable and not vec.values.flags.writeable
    return vec


# --------------------------------------------------------------------------- catalogue


def test_catalogue() -> None:
    models = {m["model"]: m for m in SparseTextEmbedding.list_supported_models()}
    assert list(models)[: len(CATALOGUE)] == CATALOGUE
    assert models["prithivida/Splade_PP_en_v1"]["sources"]["hf"] == "Qdrant/Splade_PP_en_v1"
    assert models["Qdrant/bm25"]["sources"]["hf"] is None
    assert models["Qdrant/bm42-all-minilm-l6-v2-attentions"]["output_name"] == "attention_6"
    assert [models[n]["kind"] for n in CATALOGUE] == ["splade", "bm25", "bm42"]
    assert [models[n]["requires_idf"] for n in CATALOGUE] == [False, True, True]
    assert all(m["family"] == "sparse" for m in models.values())


def test_catalogue_languages_follow_bm25() -> None:
    assert sparse_catalog._BM25_LANGUAGES == bm25_module.SUPPORTED_LANGUAGES


def test_bm25_needs_no_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EMBED_PLUGINS_MODELS_DIR", raising=False)
    model = SparseTextEmbedding("Qdrant/bm25", cache_dir=tmp_path, local_files_only=True)
    (vec,) = model.embed("Sparse vectors for hybrid search")
    assert len(_check_vector(vec)) == 4
    assert list(tmp_path.iterdir()) == []


def test_bm25_equals_the_core(bm25: SparseTextEmbedding) -> None:
    core = bm25_module.Bm25()
    assert list(bm25.embed(TEXTS)) == core.embed_documents(TEXTS)
    assert list(bm25.query_embed(TEXTS)) == core.embed_queries(TEXTS)
    assert list(bm25.passage_embed(TEXTS)) == core.embed_documents(TEXTS)


def test_bm25_hash_two_to_the_31_does_not_overflow(bm25: SparseTextEmbedding) -> None:
    # abs(-2**31) overflows int32 (fastembed's old query path); int64 holds it.
    (query,) = bm25.query_embed("ad1u66pi")
    (doc,) = bm25.embed("ad1u66pi")
    assert query.indices.tolist() == doc.indices.tolist() == [2**31]


# --------------------------------------------------------------------------- options


def test_bm25_options_reach_the_spec_and_the_vectors(bm25: SparseTextEmbedding) -> None:
    text = "fox fox fox dog"
    tuned = SparseTextEmbedding("Qdrant/bm25", k=2.0, b=0.0, avg_len=10.0)
    assert isinstance(tuned.spec, Bm25Spec) and (tuned.spec.k, tuned.spec.b) == (2.0, 0.0)
    (vec,) = tuned.embed(text)
    weights = sorted(vec.values.tolist())
    assert weights == pytest.approx([1.0, 3 * 3.0 / (3 + 2.0)])  # tf*(k+1)/(tf+k) with b=0
    assert list(bm25.embed(text)) != [vec]


def test_bm25_language_option() -> None:
    german = SparseTextEmbedding("Qdrant/bm25", language="german")
    (vec,) = german.embed("Die Häuser und die Hunde")
    assert len(vec) == 2  # "die", "und" are German stopwords
    with pytest.raises(ValueError, match="supported: arabic"):
        SparseTextEmbedding("Qdrant/bm25", language="klingon")
    with pytest.raises(ValueError, match="b must be"):
        SparseTextEmbedding("Qdrant/bm25", b=2)


def test_family_options_are_refused_for_other_kinds(splade: SparseTextEmbedding) -> None:
    with pytest.raises(TypeError, match=r"'k' is a BM25 option.*SPLADE model"):
        SparseTextEmbedding(
            spec=SpladeSpec(model="tiny-splade"), model_path=FIXTURES / "tiny-splade", k=1.5
        )
    with pytest.raises(TypeError, match=r"'alpha' is a BM42 option.*BM25 model"):
        SparseTextEmbedding("Qdrant/bm25", alpha=0.3)


def test_bm42_refuses_graph_fusion() -> None:
    with pytest.raises(ValueError, match="attention output"):
        SparseTextEmbedding(
            spec=Bm42Spec(model="tiny-bert-attentions", output_name="attention_2"),
            model_path=FIXTURES / "tiny-bert-attentions",
            optimize=True,
        )


def test_unknown_keywords_are_errors(bm25: SparseTextEmbedding) -> None:
    with pytest.raises(TypeError, match="did you mean 'language'"):
        SparseTextEmbedding("Qdrant/bm25", lenguage="english")
    with pytest.raises(TypeError, match="batch_sise"):
        list(bm25.embed(["x"], batch_sise=3))
    with pytest.raises(TypeError, match=r"SparseTextEmbedding\.token_count"):
        bm25.token_count(["x"], parallel=2)


def test_spec_types_are_checked() -> None:
    # the message lists every runnable spec class (more as kinds are added)
    with pytest.raises(TypeError, match="spec must be a SpladeSpec, Bm25Spec, Bm42Spec"):
        SparseTextEmbedding(spec=DenseSpec(model="x", dim=3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="spec must be a SpladeSpec, Bm25Spec, Bm42Spec"):
        SparseTextEmbedding.add_custom_model(SparseSpec(model="x/plain"))
    with pytest.raises(ValueError, match="needs no model files"):
        Bm25Spec(model="x/bm25", hf_repo="org/repo")


def test_folder_that_is_not_splade_needs_a_spec() -> None:
    with pytest.raises(ModelLoadError, match="Bm42Spec"):
        SparseTextEmbedding(model_path=FIXTURES / "tiny-bert-attentions")


def test_custom_bm25_spec_by_name() -> None:
    SparseTextEmbedding.add_custom_model(Bm25Spec(model="custom/bm25-french", language="french"))
    model = SparseTextEmbedding("custom/bm25-french")
    assert model.spec.language == "french"  # type: ignore[attr-defined]
    (vec,) = model.embed("les chats et les chiens")
    assert len(vec) == 2


# --------------------------------------------------------------------------- results


def test_every_model_returns_sparse_vectors(any_model: SparseTextEmbedding) -> None:
    for method in (any_model.embed, any_model.query_embed, any_model.passage_embed):
        vectors = list(method(TEXTS, batch_size=2))
        assert len(vectors) == len(TEXTS)
        for vec in vectors:
            assert len(_check_vector(vec)) > 0
    (single,) = any_model.embed(TEXTS[0])  # a bare str is one document
    assert single == next(iter(any_model.embed([TEXTS[0]])))


def test_queries_mark_terms_with_one(bm25: SparseTextEmbedding, bm42: SparseTextEmbedding) -> None:
    for model in (bm25, bm42):
        for doc, query in zip(model.embed(TEXTS), model.query_embed(TEXTS), strict=True):
            assert set(query.values.tolist()) == {1.0}
            assert query.indices.tolist() == doc.indices.tolist()
            assert not np.all(doc.values == 1.0)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   ", " \t\n\u3000 "])
def test_blank_text_is_the_empty_vector(any_model: SparseTextEmbedding, text: str) -> None:
    for method in (any_model.embed, any_model.query_embed):
        (vec,) = method([text])
        assert len(_check_vector(vec)) == 0
    # Blank items do not disturb their neighbours.
    vectors = list(any_model.embed(["", TEXTS[0], "  ", TEXTS[1]]))
    assert [len(v) == 0 for v in vectors] == [True, False, True, False]
    assert vectors[1:4:2] == list(any_model.embed([TEXTS[0], TEXTS[1]]))


def test_punctuation_and_stopword_only_text(
    bm25: SparseTextEmbedding, bm42: SparseTextEmbedding, splade: SparseTextEmbedding
) -> None:
    for model in (bm25, bm42):
        for text in ["?!... --- ;", "the and of to in is it"]:
            assert len(next(iter(model.embed(text)))) == 0, text
            assert len(next(iter(model.query_embed(text)))) == 0, text
    # SPLADE runs the model: punctuation is text to it.
    assert len(next(iter(splade.embed("?!... --- ;")))) > 0


def test_one_megabyte_text(any_model: SparseTextEmbedding) -> None:
    (vec,) = any_model.embed([ONE_MB])
    assert len(_check_vector(vec)) > 0
    if any_model.spec.kind != "bm25":
        # Truncated: the vector is the one of the text's first max_length tokens.
        (prefix,) = any_model.embed([ONE_MB[:20_000]])
        np.testing.assert_array_equal(vec.indices, prefix.indices)
        np.testing.assert_allclose(vec.values, prefix.values, atol=1e-6)


def test_one_megabyte_text_is_read_whole_by_bm25(bm25: SparseTextEmbedding) -> None:
    text = ONE_MB + " zebra"
    (vec,) = bm25.embed([text])
    (zebra,) = bm25.query_embed("zebra")
    assert set(zebra.indices.tolist()) <= set(vec.indices.tolist())


@pytest.mark.parametrize("bad", [None, b"bytes", 3, 1.5, ["nested"]])
def test_non_string_items_are_errors(any_model: SparseTextEmbedding, bad: object) -> None:
    with pytest.raises(InputTypeError, match="input 1"):
        list(any_model.embed(["fine", bad]))  # type: ignore[list-item]
    with pytest.raises(TypeError):  # InputTypeError is a TypeError too
        list(any_model.query_embed(["fine", bad]))  # type: ignore[list-item]


def test_bad_arguments(bm25: SparseTextEmbedding) -> None:
    with pytest.raises(InputTypeError, match="got None"):
        bm25.embed(None)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="decode it first"):
        bm25.embed(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        list(bm25.embed(["x"], batch_size=0))


def test_token_count(bm25: SparseTextEmbedding, splade: SparseTextEmbedding) -> None:
    assert bm25.token_count("Hello, world! The end.") == 4  # words before any filter
    assert bm25.token_count(["a b", "c"]) == 3
    assert splade.token_count("hello world") == 4  # [CLS] hello world [SEP]
    assert splade.token_count(["hello world", "hello"]) == 7


# --------------------------------------------------------------------------- workers


def test_parallel_equals_in_process(bm25: SparseTextEmbedding, splade: SparseTextEmbedding) -> None:
    texts = [f"{t} number {i}" for i in range(12) for t in TEXTS[:2]] + ["", "?!"]
    for model in (bm25, splade):
        local = list(model.embed(texts, batch_size=5))
        try:
            remote = list(model.embed(texts, batch_size=5, parallel=2))
            remote_queries = list(model.query_embed(texts, batch_size=5, parallel=2))
        finally:
            model.close()
        assert len(remote) == len(local)
        for a, b in zip(local, remote, strict=True):
            np.testing.assert_array_equal(a.indices, b.indices)
            np.testing.assert_allclose(a.values, b.values, atol=1e-6)
        assert remote_queries == list(model.query_embed(texts, batch_size=5))
