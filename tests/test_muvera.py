"""MUVERA fixed dimensional encodings: parity with fastembed 0.9.1's ``Muvera``, the
paper's properties (arXiv:2405.19504), candidate retrieval + exact MaxSim rerank, bad
input and parameters, and the tiny ColBERT / ColPali fixtures."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from embed_plugins import (
    ArgumentTypeError,
    ColbertSpec,
    InputTypeError,
    InvalidArgumentError,
    InvalidInputError,
    LateInteractionMultimodalEmbedding,
    LateInteractionTextEmbedding,
    maxsim,
)
from embed_plugins.muvera import MAX_K_SIM, Muvera, nearest_occupied

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_COLBERT = FIXTURES / "models" / "tiny-colbert"
TINY_COLPALI = FIXTURES / "models" / "tiny-colpali"
#: Observed: queries equal, documents within ~5e-15 (an average rounded before or after
#: the +-1 projection); far inside float32, which is what vector stores keep.
PARITY_ATOL = 1e-10

PARAMETER_SETS: list[dict[str, int]] = [
    {"dim": 128},  # fastembed's defaults: k_sim=5, dim_proj=16, r_reps=20, random_seed=42
    {"dim": 128, "k_sim": 3, "dim_proj": 8, "r_reps": 4, "random_seed": 7},
    {"dim": 16, "k_sim": 4, "dim_proj": 16, "r_reps": 3, "random_seed": 0},  # no projection
    {"dim": 64, "k_sim": 0, "dim_proj": 32, "r_reps": 2, "random_seed": 1},  # one partition
    {"dim": 32, "k_sim": 7, "dim_proj": 4, "r_reps": 5, "random_seed": 123},  # mostly empty
]

FloatArray = npt.NDArray[np.float32]


def unit(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    normalised: npt.NDArray[Any] = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return normalised


def random_multivectors(
    rng: np.random.Generator, count: int, dim: int, low: int = 1, high: int = 60
) -> list[FloatArray]:
    return [
        unit(rng.standard_normal((int(rng.integers(low, high)), dim))).astype(np.float32)
        for _ in range(count)
    ]


@pytest.fixture(scope="module")
def fastembed_muvera() -> Any:
    return pytest.importorskip("fastembed.postprocess.muvera").Muvera


# -- (1) parity with fastembed ------------------------------------------------------------


@pytest.mark.parametrize("params", PARAMETER_SETS, ids=lambda p: "-".join(map(str, p.values())))
def test_equals_fastembed(params: dict[str, int], fastembed_muvera: Any) -> None:
    ours, theirs = Muvera(**params), fastembed_muvera(**params)
    assert ours.embedding_size == theirs.embedding_size
    np.testing.assert_array_equal(ours.dim_reduction_projections, theirs.dim_reduction_projections)
    for rep, simhash in enumerate(theirs.simhash_projections):
        np.testing.assert_array_equal(ours.simhash_vectors[rep], simhash.simhash_vectors)
    rng = np.random.default_rng(params["dim"] + params.get("k_sim", 5))
    multivectors = random_multivectors(rng, 25, params["dim"])
    multivectors.append(multivectors[0].astype(np.float64))  # any float dtype
    documents = ours.process_documents(multivectors)
    queries = ours.process_queries(multivectors)
    assert documents.shape == queries.shape == (len(multivectors), ours.embedding_size)
    assert documents.dtype == queries.dtype == np.float64  # as fastembed's
    want_documents = np.stack([theirs.process_document(m) for m in multivectors])
    want_queries = np.stack([theirs.process_query(m) for m in multivectors])
    np.testing.assert_allclose(documents, want_documents, rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(queries, want_queries, rtol=0, atol=PARITY_ATOL)
    # One at a time, and through fastembed's general entry point, the same.
    for i in (0, 7):
        np.testing.assert_allclose(ours.process_document(multivectors[i]), documents[i], atol=1e-12)
        np.testing.assert_allclose(ours.process_query(multivectors[i]), queries[i], atol=1e-12)
        for fill, average in ((True, False), (False, True)):
            np.testing.assert_allclose(
                ours.process(multivectors[i], fill, average),
                theirs.process(multivectors[i], fill, average),
                rtol=0,
                atol=PARITY_ATOL,
            )


def test_exported_from_the_package() -> None:
    import embed_plugins

    assert embed_plugins.Muvera is Muvera and "Muvera" in embed_plugins.__all__


def test_batch_forms(fastembed_muvera: Any) -> None:
    muvera = Muvera(16, k_sim=3, dim_proj=8, r_reps=2)
    rng = np.random.default_rng(3)
    cube = unit(rng.standard_normal((4, 9, 16))).astype(np.float32)  # a 3-D array is a batch
    from_cube = muvera.process_documents(cube)
    from_generator = muvera.process_documents(d for d in cube)
    np.testing.assert_array_equal(from_cube, from_generator)
    theirs = fastembed_muvera(16, 3, 8, 2)
    np.testing.assert_allclose(from_cube[2], theirs.process_document(cube[2]), atol=PARITY_ATOL)
    assert muvera.process_queries([]).shape == (0, muvera.embedding_size)
    np.testing.assert_array_equal(
        muvera.process_query(cube[0].tolist()), muvera.process_query(cube[0])
    )


def test_seed_and_parameters_define_the_encoder() -> None:
    a, b, c = Muvera(32), Muvera(32, 5, 16, 20, 42), Muvera(32, random_seed=43)
    assert a == b and hash(a) == hash(b) and a != c
    x = unit(np.random.default_rng(0).standard_normal((7, 32)))
    np.testing.assert_array_equal(a.process_document(x), b.process_document(x))
    assert not np.allclose(a.process_document(x), c.process_document(x))
    assert (a.num_partitions, a.embedding_size) == (32, 20 * 32 * 16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.k_sim = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        a.simhash_vectors[0, 0, 0] = 1.0  # read-only: the encoder cannot drift


# -- (2) the paper's properties -----------------------------------------------------------


def test_queries_sum_and_documents_average() -> None:
    # One partition and no projection: every repetition's block is the sum (query) or the
    # mean (document) of the tokens, so <F_q(Q), F_d(P)> = r_reps * sum(Q) . mean(P).
    muvera = Muvera(8, k_sim=0, dim_proj=8, r_reps=3)
    rng = np.random.default_rng(5)
    q, p = rng.standard_normal((4, 8)), rng.standard_normal((6, 8))
    np.testing.assert_allclose(muvera.process_query(q), np.tile(q.sum(0), 3), rtol=1e-12)
    np.testing.assert_allclose(muvera.process_document(p), np.tile(p.mean(0), 3), rtol=1e-12)


def test_fde_dot_product_tracks_maxsim_on_random_data() -> None:
    # Random unit tokens (dim 16, nothing structured): Pearson correlation between
    # <F_q, F_d> and MaxSim over 200 documents, per query; more repetitions, less noise.
    # Observed means: 0.27 (r_reps=1), 0.52 (5), 0.70 (20, the default), 0.76 (60).
    rng = np.random.default_rng(0)
    documents = random_multivectors(rng, 200, 16, low=10, high=40)
    queries = [unit(rng.standard_normal((8, 16))).astype(np.float32) for _ in range(10)]
    means = {}
    for r_reps in (1, 5, 20, 60):
        muvera = Muvera(16, r_reps=r_reps)
        fdes = muvera.process_documents(documents)
        means[r_reps] = np.mean(
            [
                np.corrcoef(maxsim(q, documents), fdes @ muvera.process_query(q))[0, 1]
                for q in queries
            ]
        )
    assert means[1] < means[5] < means[20] < means[60]
    assert means[20] > 0.6


def test_nearest_occupied_partition_by_hamming_distance() -> None:
    occupied = np.zeros((2, 8), dtype=bool)
    occupied[0, [3, 5]] = True  # 011 and 101
    occupied[1, 6] = True
    got = nearest_occupied(occupied)
    # 000: 2 from both -> lowest id 3; 100: 3 from 011, 1 from 101 -> 5; 110: tie -> 3.
    assert got[0].tolist() == [3, 3, 3, 3, 5, 5, 3, 3]
    assert got[1].tolist() == [6] * 8


def test_empty_partitions_of_a_document_take_the_nearest_first_token() -> None:
    # k_sim=1, no projection: two partitions per repetition, the blocks are raw vectors.
    muvera = Muvera(8, k_sim=1, dim_proj=8, r_reps=1, random_seed=3)
    normal = muvera.simhash_vectors[0, :, 0]
    rng = np.random.default_rng(1)
    side = unit(normal)
    tokens = np.stack([side + 0.1 * rng.standard_normal(8) for _ in range(3)])
    assert (tokens @ normal > 0).all()  # all three in partition 1, partition 0 empty
    document = muvera.process_document(tokens).reshape(2, 8)
    np.testing.assert_allclose(document[1], tokens.mean(0), rtol=1e-12)
    np.testing.assert_array_equal(document[0], tokens[0])  # first token, not the mean
    query = muvera.process_query(tokens).reshape(2, 8)
    np.testing.assert_allclose(query[1], tokens.sum(0), rtol=1e-12)
    assert not query[0].any()  # a query's empty partitions stay 0


def test_single_token_fills_every_partition_of_a_document() -> None:
    muvera = Muvera(24, k_sim=4, dim_proj=6, r_reps=3)
    token = unit(np.random.default_rng(2).standard_normal((1, 24)))
    blocks = muvera.process_document(token).reshape(3, 16, 6)
    projected = np.einsum("d,rdp->rp", token[0], muvera.dim_reduction_projections) / np.sqrt(6)
    np.testing.assert_allclose(blocks, np.repeat(projected[:, None], 16, axis=1), atol=1e-12)
    query = muvera.process_query(token).reshape(3, 16, 6)
    assert [int(query[r].any(axis=1).sum()) for r in range(3)] == [1, 1, 1]


# -- (3) retrieval: FDE candidates, exact MaxSim rerank -----------------------------------


def test_candidates_then_maxsim_rerank_recover_the_exact_top_10() -> None:
    # 300 documents of 20-59 tokens; each document mixes 3-6 of 100 random "topics",
    # every token a topic plus Gaussian noise of about the same norm x 0.8, normalised
    # (ColBERT-like: 128-d unit tokens). A query is 8 tokens of one document, re-noised.
    # Observed: mean recall@10 0.996 (min 0.9 over 50 queries); 0.972 with top-50.
    rng = np.random.default_rng(0)
    dim, noise = 128, 0.8
    topics = unit(rng.standard_normal((100, dim)))

    def noisy(vectors: npt.NDArray[Any]) -> FloatArray:
        jitter = noise * rng.standard_normal(vectors.shape) / np.sqrt(dim)
        return unit(vectors + jitter).astype(np.float32)

    documents = []
    for _ in range(300):
        mixture = rng.choice(100, size=int(rng.integers(3, 7)), replace=False)
        documents.append(noisy(topics[rng.choice(mixture, size=int(rng.integers(20, 60)))]))
    muvera = Muvera(dim)
    index = muvera.process_documents(documents)
    recalls = []
    for _ in range(50):
        source = documents[int(rng.integers(len(documents)))]
        query = noisy(source[rng.choice(len(source), size=8, replace=False)])
        exact = maxsim(query, documents)
        candidates = np.argsort(-(index @ muvera.process_query(query)), kind="stable")[:100]
        reranked = candidates[np.argsort(-exact[candidates], kind="stable")[:10]]
        truth = np.argsort(-exact, kind="stable")[:10]
        recalls.append(len(set(truth.tolist()) & set(reranked.tolist())) / 10)
    assert np.mean(recalls) >= 0.95, recalls
    assert min(recalls) >= 0.8, recalls


# -- (4) bad parameters and bad input -----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dim": 0},
        {"dim": 16, "dim_proj": 32},
        {"dim": 16, "dim_proj": 0},
        {"dim": 16, "k_sim": -1},
        {"dim": 16, "k_sim": MAX_K_SIM + 1},
        {"dim": 16, "r_reps": 0},
        {"dim": 16, "random_seed": -1},
    ],
)
def test_bad_parameter_values(kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        Muvera(**kwargs)
    assert isinstance(info.value, ValueError)  # what fastembed raises for dim_proj > dim
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dim": "16"},
        {"dim": 16.0},
        {"dim": 16, "k_sim": True},
        {"dim": 16, "dim_proj": 2.5},
        {"dim": 16, "r_reps": None},
        {"dim": 16, "random_seed": None},
    ],
)
def test_bad_parameter_types(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ArgumentTypeError, match=list(kwargs)[-1]):
        Muvera(**kwargs)


def test_numpy_integers_are_parameters() -> None:
    assert Muvera(np.int64(16), k_sim=np.int32(2)) == Muvera(16, k_sim=2)


@pytest.mark.parametrize(
    ("vectors", "error", "message"),
    [
        (np.zeros((0, 16)), InvalidInputError, "empty"),
        (np.zeros(16), InvalidInputError, "shape \\(1, 16\\)"),
        (np.zeros((2, 3, 16)), InvalidInputError, "2-D"),
        (np.zeros((4, 8)), InvalidInputError, "dimension 8"),
        (np.full((3, 16), np.nan), InvalidInputError, "NaN"),
        (np.array([[np.inf] * 16]), InvalidInputError, "infinite"),
        ([[0.0] * 16, [0.0] * 15], InvalidInputError, "not a"),
        (None, InputTypeError, "NoneType"),
        ("a text", InputTypeError, "str"),
        (np.array([["a"] * 16]), InputTypeError, "dtype"),
        (np.ones((2, 16), dtype=bool), InputTypeError, "dtype"),
    ],
)
def test_bad_input(vectors: Any, error: type[Exception], message: str) -> None:
    muvera = Muvera(16, k_sim=2, dim_proj=4, r_reps=2)
    for encode in (muvera.process_document, muvera.process_query):
        with pytest.raises(error, match=message):
            encode(vectors)
    with pytest.raises(error, match="document 1"):
        muvera.process_documents([np.ones((2, 16)), vectors])
    with pytest.raises(error, match="query 1"):
        muvera.process_queries([np.ones((2, 16)), vectors])


def test_bad_batches_and_models() -> None:
    muvera = Muvera(16, k_sim=2, dim_proj=4, r_reps=2)
    for batch in ("texts", b"bytes", 3, None):
        with pytest.raises(InputTypeError):
            muvera.process_documents(batch)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="process_document"):
        muvera.process_documents(np.ones((3, 16)))  # one document, not a batch
    with pytest.raises(InvalidInputError, match="process_query"):
        muvera.process_queries(np.ones((3, 16)))
    assert issubclass(InputTypeError, TypeError) and issubclass(InvalidInputError, ValueError)
    with pytest.raises(ArgumentTypeError, match="embedding_size"):
        Muvera.from_multivector_model(object())


# -- (5) real multivector models ----------------------------------------------------------


@pytest.fixture(scope="module")
def colbert() -> Iterator[LateInteractionTextEmbedding]:
    spec = ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")
    model = LateInteractionTextEmbedding(spec=spec, model_path=TINY_COLBERT)
    yield model
    model.close()


DOCS = [
    "Late interaction keeps one vector per token.",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France.",
    "",
    "What is late interaction? Late interaction!",
]


@pytest.mark.parametrize("dim_proj", [16, 8])
def test_tiny_colbert(
    colbert: LateInteractionTextEmbedding, fastembed_muvera: Any, dim_proj: int
) -> None:
    muvera = Muvera.from_multivector_model(colbert, k_sim=3, dim_proj=dim_proj, r_reps=4)
    assert (muvera.dim, muvera.dim_proj) == (colbert.embedding_size, dim_proj) == (16, dim_proj)
    assert Muvera.from_multivector_model(colbert) == Muvera(16)
    documents = list(colbert.embed(DOCS))
    (query,) = colbert.query_embed("what is late interaction?")
    fdes = muvera.process_documents(documents)
    fde_query = muvera.process_query(query)
    assert fdes.shape == (len(DOCS), 4 * 8 * dim_proj) and np.isfinite(fdes).all()
    theirs = fastembed_muvera(16, 3, dim_proj, 4)
    want = np.stack([theirs.process_document(d) for d in documents])
    np.testing.assert_allclose(fdes, want, rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(fde_query, theirs.process_query(query), rtol=0, atol=PARITY_ATOL)


def test_tiny_colpali(fastembed_muvera: Any) -> None:
    model = LateInteractionMultimodalEmbedding(model_path=TINY_COLPALI)
    try:
        muvera = Muvera.from_multivector_model(model, k_sim=2, dim_proj=8, r_reps=3)
        images = [FIXTURES / "images" / name for name in ("gray_50x30.png", "wide_120x40.jpg")]
        pages = list(model.embed_image([str(p) for p in images]))
        queries = list(model.embed_text(["a page", "what is on the page?"]))
    finally:
        model.close()
    assert muvera.dim == 16
    theirs = fastembed_muvera(16, 2, 8, 3)
    np.testing.assert_allclose(
        muvera.process_documents(pages),
        np.stack([theirs.process_document(p) for p in pages]),
        rtol=0,
        atol=PARITY_ATOL,
    )
    np.testing.assert_allclose(
        muvera.process_queries(queries),
        np.stack([theirs.process_query(q) for q in queries]),
        rtol=0,
        atol=PARITY_ATOL,
    )


def test_benchmark_script_runs_small(tmp_path: Path, fastembed_muvera: Any) -> None:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_muvera.py"
    out = tmp_path / "muvera.json"
    small = ["--docs", "6", "--tokens", "12", "--queries", "4", "--repeats", "1"]
    done = subprocess.run(
        [sys.executable, str(script), *small, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["max_abs_diff_vs_fastembed"] <= 1e-6
    assert set(report["results"]) >= {"ours documents (batch)", "fastembed documents (loop)"}
