"""TextCrossEncoder on the tiny cross-encoder fixture, against sentence-transformers' numbers.

The reference (tests/fixtures/reference/tiny-cross-encoder.{npz,json}) is
``sentence_transformers.CrossEncoder(max_length=32).predict`` on seven pairs,
two of which need longest-first truncation, one with an empty document.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    CrossEncoderSpec,
    InputTypeError,
    ModelLoadError,
    ModelNotFoundError,
    RerankResult,
    TextCrossEncoder,
)
from embed_plugins import catalog as catalog_module
from embed_plugins.families.rerank import rank_order, scores_from_logits, sigmoid

FIXTURES = Path(__file__).parent / "fixtures"
MODEL_DIR = FIXTURES / "models" / "tiny-cross-encoder"
ATOL = 1e-5

#: Every model of catalog/rerank.py, written out: the list must not shrink silently.
CATALOGUE = [
    "Xenova/ms-marco-MiniLM-L-6-v2",
    "Xenova/ms-marco-MiniLM-L-12-v2",
    "BAAI/bge-reranker-base",
    "jinaai/jina-reranker-v1-tiny-en",
    "jinaai/jina-reranker-v1-turbo-en",
    "jinaai/jina-reranker-v2-base-multilingual",
]


def load_reference() -> tuple[list[tuple[str, str]], dict[str, np.ndarray]]:
    meta = json.loads((FIXTURES / "reference" / "tiny-cross-encoder.json").read_text())
    with np.load(FIXTURES / "reference" / "tiny-cross-encoder.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    return [(q, d) for q, d in meta["pairs"]], arrays


PAIRS, REF = load_reference()
QUERY = PAIRS[0][0]  # pairs 0 and 1 share this query
DOCS = [
    PAIRS[1][1],
    PAIRS[0][1],
    "Sparse retrieval models score each token of the query.",
    "",
    "France is a country; its capital is Paris.",
]


@pytest.fixture(scope="module")
def model() -> Iterator[TextCrossEncoder]:
    encoder = TextCrossEncoder(model_path=MODEL_DIR)
    yield encoder
    encoder.close()


@pytest.fixture
def isolated_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Custom models registered by a test vanish after it."""
    monkeypatch.setattr(catalog_module, "_CUSTOM", {})


def scores(it: Iterator[float]) -> np.ndarray:
    return np.array(list(it), dtype=np.float64)


# -- parity with sentence-transformers -------------------------------------------------------


def test_pair_ids_and_segments_match_the_reference(model: TextCrossEncoder) -> None:
    pipeline: Any = model._runner.pipeline()
    batch = pipeline.tokenizer.pad(pipeline.tokenizer.encode_pairs(PAIRS))
    width = batch.input_ids.shape[1]
    assert width == REF["input_ids"].shape[1] == 32
    np.testing.assert_array_equal(batch.input_ids, REF["input_ids"])
    np.testing.assert_array_equal(batch.token_type_ids, REF["token_type_ids"])
    np.testing.assert_array_equal(batch.attention_mask, REF["attention_mask"])
    # pairs 5 and 6 were cut longest-first to exactly 32 tokens; both segments present
    for i in (5, 6):
        assert REF["attention_mask"][i].sum() == 32
        assert set(REF["token_type_ids"][i].tolist()) == {0, 1}


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_raw_scores_match_sentence_transformers(model: TextCrossEncoder, batch_size: int) -> None:
    got = scores(model.rerank_pairs(PAIRS, batch_size=batch_size, activation="none"))
    np.testing.assert_allclose(got, REF["scores_raw"], rtol=0, atol=ATOL)


def test_sigmoid_scores_match_sentence_transformers(model: TextCrossEncoder) -> None:
    got = scores(model.rerank_pairs(PAIRS, activation="sigmoid"))
    np.testing.assert_allclose(got, REF["scores_sigmoid"], rtol=0, atol=ATOL)


def test_constructor_activation_is_the_default_and_calls_override_it() -> None:
    sig = TextCrossEncoder(model_path=MODEL_DIR, activation="sigmoid")
    assert sig.activation == "sigmoid"
    np.testing.assert_allclose(scores(sig.rerank_pairs(PAIRS)), REF["scores_sigmoid"], atol=ATOL)
    raw = scores(sig.rerank_pairs(PAIRS, activation="none"))
    np.testing.assert_allclose(raw, REF["scores_raw"], atol=ATOL)
    ranked = sig.rank(QUERY, [PAIRS[0][1], PAIRS[1][1]])
    np.testing.assert_allclose([r.score for r in ranked], REF["scores_sigmoid"][:2], atol=ATOL)


def test_default_activation_is_raw_logits_like_fastembed(model: TextCrossEncoder) -> None:
    assert model.activation == "none"
    np.testing.assert_allclose(scores(model.rerank_pairs(PAIRS)), REF["scores_raw"], atol=ATOL)


def test_rerank_scores_one_query_against_documents(model: TextCrossEncoder) -> None:
    got = scores(model.rerank(QUERY, [PAIRS[0][1], PAIRS[1][1]]))
    np.testing.assert_allclose(got, REF["scores_raw"][:2], atol=ATOL)
    truncated_query, long_doc = PAIRS[6]
    np.testing.assert_allclose(
        scores(model.rerank(truncated_query, [long_doc])), REF["scores_raw"][6:], atol=ATOL
    )


def test_token_count_is_what_the_model_sees(model: TextCrossEncoder) -> None:
    assert model.token_count(PAIRS) == int(REF["attention_mask"].sum())
    assert model.token_count(PAIRS[0]) == int(REF["attention_mask"][0].sum())
    assert model.token_count([]) == 0
    with pytest.raises(InputTypeError, match="pair 1"):
        model.token_count([PAIRS[0], None])


# -- return types and ordering ---------------------------------------------------------------


def test_rerank_is_a_lazy_iterator_of_floats_in_input_order(model: TextCrossEncoder) -> None:
    it = model.rerank(QUERY, iter(DOCS))
    assert isinstance(it, Iterator)
    got = list(it)
    assert all(type(s) is float for s in got)
    want = [next(iter(model.rerank(QUERY, [d]))) for d in DOCS]
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_rank_sorts_by_score_with_original_indices(model: TextCrossEncoder) -> None:
    raw = list(model.rerank(QUERY, DOCS))
    ranked = model.rank(QUERY, DOCS)
    assert all(isinstance(r, RerankResult) for r in ranked)
    assert sorted(r.index for r in ranked) == list(range(len(DOCS)))
    assert [r.score for r in ranked] == sorted(raw, reverse=True)
    for r in ranked:
        assert r.score == raw[r.index]
        assert r.document is None


def test_rank_top_k_and_return_documents(model: TextCrossEncoder) -> None:
    full = model.rank(QUERY, DOCS)
    top2 = model.rank(QUERY, DOCS, top_k=2, return_documents=True)
    assert [(r.index, r.score) for r in top2] == [(r.index, r.score) for r in full[:2]]
    assert [r.document for r in top2] == [DOCS[r.index] for r in top2]
    assert model.rank(QUERY, DOCS, top_k=len(DOCS) + 10) == full  # larger than the list: all
    assert len(model.rank(QUERY, DOCS, top_k=np.int64(1))) == 1


def test_rank_ties_keep_input_order_and_generators_work(model: TextCrossEncoder) -> None:
    docs = ["same text", "other", "same text", "same text"]
    ranked = model.rank(QUERY, (d for d in docs), return_documents=True)
    same = [r.index for r in ranked if r.document == "same text"]
    assert same == [0, 2, 3]


def test_rank_order_puts_nan_last_and_keeps_ties_stable() -> None:
    assert rank_order([0.5, float("nan"), 2.0, 0.5], None) == [2, 0, 3, 1]
    assert rank_order([1.0, 3.0, 2.0], 2) == [1, 2]
    assert rank_order([], 3) == []


def test_bare_string_is_one_document_and_bare_tuple_one_pair(model: TextCrossEncoder) -> None:
    (one,) = list(model.rerank(QUERY, PAIRS[0][1]))
    (pair,) = list(model.rerank_pairs(PAIRS[0]))
    assert one == pytest.approx(float(REF["scores_raw"][0]), abs=ATOL)
    assert pair == pytest.approx(one, abs=1e-6)
    assert list(model.rerank_pairs([list(PAIRS[0])])) == [pair]  # [q, d] lists are pairs too


# -- parallel ---------------------------------------------------------------------------------


def test_parallel_equals_in_process_for_every_method(model: TextCrossEncoder) -> None:
    rng = random.Random(0)
    many_pairs = [PAIRS[rng.randrange(len(PAIRS))] for _ in range(40)]
    docs = [d for _, d in many_pairs]
    local_pairs = scores(model.rerank_pairs(many_pairs, batch_size=4))
    local_rerank = scores(model.rerank(QUERY, docs, batch_size=4))
    local_rank = model.rank(QUERY, docs, top_k=5)

    par_pairs = scores(model.rerank_pairs(many_pairs, batch_size=4, parallel=2))
    par_rerank = scores(model.rerank(QUERY, iter(docs), batch_size=4, parallel=2))
    par_rank = model.rank(QUERY, docs, top_k=5, parallel=2, batch_size=4)
    par_sigmoid = scores(model.rerank_pairs(PAIRS, parallel=2, activation="sigmoid"))
    pool = model._runner._pool
    assert pool is not None and pool.size == 2  # it really ran on workers

    np.testing.assert_allclose(par_pairs, local_pairs, atol=1e-6)
    np.testing.assert_allclose(par_rerank, local_rerank, atol=1e-6)
    assert [r.index for r in par_rank] == [r.index for r in local_rank]
    np.testing.assert_allclose(
        [r.score for r in par_rank], [r.score for r in local_rank], atol=1e-6
    )
    np.testing.assert_allclose(par_sigmoid, REF["scores_sigmoid"], atol=ATOL)
    with pytest.raises(InputTypeError, match="document 2"):
        list(model.rerank(QUERY, ["a", "b", None], parallel=2))
    model.close()


# -- bad input --------------------------------------------------------------------------------


def test_empty_query_is_scored(model: TextCrossEncoder) -> None:
    got = list(model.rerank("", DOCS))
    assert len(got) == len(DOCS) and all(math.isfinite(s) for s in got)
    np.testing.assert_allclose(got, scores(model.rerank_pairs([("", d) for d in DOCS])), atol=1e-6)
    pipeline: Any = model._runner.pipeline()
    (enc,) = pipeline.tokenizer.encode_pairs([("", "paris")])
    assert enc.tokens[:2] == ["[CLS]", "[SEP]"]  # [CLS] [SEP] document [SEP]


def test_empty_document_list_gives_nothing(model: TextCrossEncoder) -> None:
    assert list(model.rerank(QUERY, [])) == []
    assert list(model.rerank(QUERY, iter([]))) == []
    assert model.rank(QUERY, [], top_k=3) == []
    assert list(model.rerank_pairs([])) == []


@pytest.mark.parametrize("bad", [None, 3, b"bytes"])
def test_none_inside_documents_names_its_index(model: TextCrossEncoder, bad: Any) -> None:
    with pytest.raises(InputTypeError, match=f"document 2: expected str, got {type(bad).__name__}"):
        list(model.rerank(QUERY, ["a", "b", bad, "d"]))
    with pytest.raises(InputTypeError, match="document 1"):
        model.rank(QUERY, ["a", bad])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "pair 1: expected a \\(query, document\\) tuple"),
        (("q", None), "pair 1: document must be str, got NoneType"),
        ((None, "d"), "pair 1: query must be str, got NoneType"),
        (("q", "d", "x"), "pair 1: .*tuple of length 3"),
        ("qd", "pair 1: .*got str"),
    ],
)
def test_bad_pair_names_its_index(model: TextCrossEncoder, bad: Any, message: str) -> None:
    with pytest.raises(InputTypeError, match=message):
        list(model.rerank_pairs([PAIRS[0], bad]))


@pytest.mark.parametrize("bad", [None, 42, b"query", ["a", "list"]])
def test_non_str_query_raises_at_the_call(model: TextCrossEncoder, bad: Any) -> None:
    with pytest.raises(InputTypeError, match="query must be str"):
        model.rerank(bad, DOCS)  # raised before iteration
    with pytest.raises(InputTypeError, match="query must be str"):
        model.rank(bad, DOCS)


@pytest.mark.parametrize("bad", [None, 5, b"x", {"q": "d"}])
def test_bad_top_level_arguments(model: TextCrossEncoder, bad: Any) -> None:
    with pytest.raises(InputTypeError, match="pairs must be an iterable"):
        model.rerank_pairs(bad)
    if bad is not None and not isinstance(bad, dict):
        with pytest.raises(InputTypeError, match="documents must be"):
            model.rerank(QUERY, bad)


def test_a_str_instead_of_pairs_is_refused(model: TextCrossEncoder) -> None:
    with pytest.raises(InputTypeError, match="use rerank\\(query, documents\\)"):
        model.rerank_pairs("not pairs")


@pytest.mark.parametrize("bad", [0, -1, -100])
def test_top_k_must_be_positive(model: TextCrossEncoder, bad: int) -> None:
    with pytest.raises(ValueError, match="top_k must be a positive int or None"):
        model.rank(QUERY, DOCS, top_k=bad)


@pytest.mark.parametrize("bad", ["3", 2.5, True, [1]])
def test_top_k_must_be_an_int(model: TextCrossEncoder, bad: Any) -> None:
    with pytest.raises(TypeError, match="top_k must be a positive int or None"):
        model.rank(QUERY, DOCS, top_k=bad)


def test_rerank_refuses_rank_arguments_with_a_pointer(model: TextCrossEncoder) -> None:
    with pytest.raises(TypeError, match="use rank\\(query, documents, top_k"):
        model.rerank(QUERY, DOCS, top_k=2)
    with pytest.raises(TypeError, match="return_documents"):
        model.rerank(QUERY, DOCS, return_documents=True)


def test_unknown_keywords_are_refused(model: TextCrossEncoder) -> None:
    with pytest.raises(TypeError, match="'batchsize' \\(did you mean 'batch_size'\\?\\)"):
        model.rerank(QUERY, DOCS, batchsize=4)
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.rerank_pairs(PAIRS, top_k=3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.rank(QUERY, DOCS, topk=3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.token_count(PAIRS, parallel=2)
    with pytest.raises(TypeError, match="'activaton' \\(did you mean 'activation'\\?\\)"):
        TextCrossEncoder(model_path=MODEL_DIR, activaton="sigmoid")


@pytest.mark.parametrize("bad", ["softmax", "Sigmoid", 1])
def test_bad_activation(model: TextCrossEncoder, bad: Any) -> None:
    with pytest.raises(ValueError, match="activation must be one of"):
        model.rerank_pairs(PAIRS, activation=bad)
    with pytest.raises(ValueError, match="activation must be one of"):
        TextCrossEncoder(model_path=MODEL_DIR, activation=bad)
    with pytest.raises(ValueError, match="activation must be one of"):
        CrossEncoderSpec(model="x", activation=bad)


@pytest.mark.parametrize("bad", [0, -1, True, 2.0])
def test_bad_batch_size(model: TextCrossEncoder, bad: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        model.rerank(QUERY, DOCS, batch_size=bad)
    with pytest.raises(ValueError, match="batch_size"):
        model.rerank_pairs(PAIRS, batch_size=bad)


def test_one_megabyte_document(model: TextCrossEncoder) -> None:
    rng = random.Random(3)
    words = [
        rng.choice(["late", "interaction", "token", "query", "vector"]) for _ in range(200_000)
    ]
    doc = " ".join(words)[: 1 << 20]
    list(model.rerank(QUERY, ["warm up"]))
    start = time.perf_counter()
    (got,) = list(model.rerank(QUERY, [doc]))
    elapsed = time.perf_counter() - start
    # 100 words are far more than the 32 - 3 - 7 = 22 slots the query leaves the document
    (want,) = list(model.rerank(QUERY, [" ".join(words[:100])]))
    assert got == pytest.approx(want, abs=1e-6)
    assert elapsed < 1.0, f"scoring a 1 MB document took {elapsed:.2f}s"


def test_lone_surrogates_are_scored_as_replacement_chars(model: TextCrossEncoder) -> None:
    got = scores(model.rerank("q \ud800", ["doc \udfff", "pair \ud83d\ude00"]))
    want = scores(model.rerank("q \ufffd", ["doc \ufffd", "pair 😀"]))
    np.testing.assert_allclose(got, want, atol=1e-6)


# -- pure functions ---------------------------------------------------------------------------


def test_sigmoid_is_stable_at_both_ends() -> None:
    assert sigmoid(0.0) == 0.5
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(-1000.0) == 0.0
    assert math.isnan(sigmoid(float("nan")))
    for x in (-3.5, -0.1, 0.7, 12.0):
        assert sigmoid(x) == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-12)


def test_scores_from_logits_accepts_one_logit_per_pair() -> None:
    np.testing.assert_array_equal(scores_from_logits(np.array([[1.0], [2.0]])), [1.0, 2.0])
    assert scores_from_logits(np.array([1.5, 2.5])).dtype == np.float32
    with pytest.raises(ModelLoadError, match="one logit per pair"):
        scores_from_logits(np.zeros((2, 3), dtype=np.float32), "two-label")


# -- catalogue, specs, custom models ----------------------------------------------------------


def test_list_supported_models_has_the_catalogue() -> None:
    listed = TextCrossEncoder.list_supported_models()
    names = [m["model"] for m in listed]
    assert names[: len(CATALOGUE)] == CATALOGUE
    for entry in listed[: len(CATALOGUE)]:
        assert entry["family"] == "rerank"
        assert entry["license"] and entry["size_gb"] > 0 and entry["max_length"]
        assert entry["model_file"] == "onnx/model.onnx"
        assert entry["sources"]["hf"] == entry["model"]
        assert entry["source"].startswith("https://huggingface.co/")
    by_name = {m["model"]: m for m in listed}
    assert by_name["jinaai/jina-reranker-v2-base-multilingual"]["license"] == "cc-by-nc-4.0"
    assert by_name["BAAI/bge-reranker-base"]["max_length"] == 512
    assert TextCrossEncoder.default_model == CATALOGUE[0]


def test_catalogue_lookup_is_case_insensitive() -> None:
    spec = catalog_module.find("rerank", "baai/BGE-reranker-BASE")
    assert isinstance(spec, CrossEncoderSpec) and spec.model == "BAAI/bge-reranker-base"
    assert spec.family == "rerank"


def test_catalogue_model_missing_offline_is_not_downloaded() -> None:
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE"):
        TextCrossEncoder("Xenova/ms-marco-MiniLM-L-6-v2")


def test_unknown_model_lists_supported() -> None:
    with pytest.raises(ModelNotFoundError, match="Xenova/ms-marco-MiniLM-L-6-v2"):
        TextCrossEncoder("nobody/no-such-reranker")


def test_custom_spec_with_explicit_fields(tmp_path: Path) -> None:
    folder = tmp_path / "renamed"
    shutil.copytree(MODEL_DIR, folder)
    (folder / "model.onnx").rename(folder / "graph.onnx")
    spec = CrossEncoderSpec(model="me/tiny", model_file="graph.onnx", output_name="logits")
    encoder = TextCrossEncoder(spec=spec, model_path=folder)
    assert encoder.model_name == "me/tiny"
    np.testing.assert_allclose(scores(encoder.rerank_pairs(PAIRS)), REF["scores_raw"], atol=ATOL)
    with pytest.raises(ModelNotFoundError, match=r"does not contain missing\.onnx"):
        TextCrossEncoder(spec=spec.replace(model_file="missing.onnx"), model_path=folder)


def test_max_length_override_changes_truncation(model: TextCrossEncoder) -> None:
    short = TextCrossEncoder(model_path=MODEL_DIR, max_length=12)
    assert short.token_count(PAIRS[5]) == 12
    assert model.token_count(PAIRS[5]) == 32


def test_wrong_output_name_is_a_load_error() -> None:
    spec = CrossEncoderSpec(model="tiny", model_file="model.onnx", output_name="scores")
    with pytest.raises(ModelLoadError, match="no output 'scores'"):
        TextCrossEncoder(spec=spec, model_path=MODEL_DIR)


def test_folder_with_several_labels_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "three-labels"
    shutil.copytree(MODEL_DIR, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b", "2": "c"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="one output label"):
        TextCrossEncoder(model_path=folder)


def test_add_custom_model(
    isolated_catalog: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    offline = tmp_path / "models"
    shutil.copytree(MODEL_DIR, offline / "me" / "tiny-ce")
    monkeypatch.setenv("EMBED_PLUGINS_MODELS_DIR", str(offline))
    spec = CrossEncoderSpec(
        model="me/tiny-ce", hf_repo="me/tiny-ce", model_file="model.onnx", activation="sigmoid"
    )
    TextCrossEncoder.add_custom_model(spec)
    assert "me/tiny-ce" in [m["model"] for m in TextCrossEncoder.list_supported_models()]
    encoder = TextCrossEncoder("me/tiny-ce")
    assert encoder.spec == spec and encoder.activation == "sigmoid"
    np.testing.assert_allclose(
        scores(encoder.rerank_pairs(PAIRS)), REF["scores_sigmoid"], atol=ATOL
    )
    with pytest.raises(ValueError, match="already a built-in"):
        TextCrossEncoder.add_custom_model(CrossEncoderSpec(model=CATALOGUE[0]))
    with pytest.raises(TypeError, match="CrossEncoderSpec"):
        TextCrossEncoder.add_custom_model(catalog_module.DenseSpec(model="x/y", dim=3))
