"""Ray Data callables on a real local Ray runtime (``ray.init(num_cpus=2)``), no mocks.

Thousands of passages go through ``map_batches`` on an actor pool; every row's vectors
must be the ones the in-process engine gives for its text (rows carry their ids, since
an actor pool may reorder blocks), and a Parquet dataset written by Ray must read back
equal.  The callables' own checks run in this process, without Ray.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_support import TINY_BERT, TINY_CE, TINY_SPLADE, colbert_folder, passages
from embed_plugins import (
    ImageEmbedding,
    LateInteractionTextEmbedding,
    SparseTextEmbedding,
    TextCrossEncoder,
    TextEmbedding,
)
from embed_plugins.errors import ArgumentTypeError, InputTypeError, InvalidArgumentError
from embed_plugins.integrations.ray import (
    ImageEmbedder,
    LateInteractionEmbedder,
    Reranker,
    SparseEmbedder,
    TextEmbedder,
)

ray = pytest.importorskip("ray")

N = 3000
TEXTS = passages(N)
IMAGES = sorted((Path(__file__).parent / "fixtures" / "images").glob("*.*"))
CLIP = Path(__file__).parent / "fixtures" / "models" / "tiny-clip"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def embedded(local_ray: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One Ray pipeline: dense, sparse, ColBERT and rerank columns for N passages, on a pool
    of two actors each; its rows by id, and the same dataset written to Parquet."""
    folder = colbert_folder(tmp_path_factory.mktemp("colbert"))
    # Four actor pools at once on 2 CPUs: fractions of a CPU each (threads: 1 per actor).
    dense_pool = {"compute": ray.data.ActorPoolStrategy(size=2), "num_cpus": 0.5}
    pool = {"compute": ray.data.ActorPoolStrategy(size=1), "num_cpus": 0.25}
    ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(TEXTS)])
    ds = ds.map_batches(
        TextEmbedder,
        fn_constructor_kwargs={"model_path": str(TINY_BERT), "task": "passage"},
        batch_size=200,
        **dense_pool,
    )
    ds = ds.map_batches(SparseEmbedder, fn_constructor_kwargs={"model_name": "Qdrant/bm25"}, **pool)
    ds = ds.map_batches(
        LateInteractionEmbedder,
        fn_constructor_kwargs={"model_path": str(folder), "output_column": "tokens"},
        **pool,
    )
    ds = ds.map_batches(
        Reranker, fn_constructor_kwargs={"model_path": str(TINY_CE), "query": "alpha"}, **pool
    )
    ds = ds.materialize()
    out = tmp_path_factory.mktemp("ray-parquet") / "vectors"
    ds.write_parquet(str(out))
    rows = {row["id"]: row for row in ds.take_all()}
    return {"rows": rows, "parquet": out, "colbert": folder}


def test_dense_rows_equal_the_in_process_engine(embedded: dict[str, Any]) -> None:
    rows = embedded["rows"]
    assert sorted(rows) == list(range(N))  # every row, once
    expected = list(TextEmbedding(model_path=TINY_BERT).passage_embed(TEXTS))
    got = np.stack([rows[i]["embedding"] for i in range(N)])
    assert got.dtype == np.float32 and got.shape == (N, 32)
    assert all(rows[i]["text"] == TEXTS[i] for i in range(N))
    # Ray cuts other batches than one in-process call: equal to float32 rounding.
    np.testing.assert_allclose(got, np.stack(expected), rtol=0, atol=1e-6)


def test_sparse_late_interaction_and_rerank_rows(embedded: dict[str, Any]) -> None:
    rows = embedded["rows"]
    for i, vector in enumerate(SparseTextEmbedding("Qdrant/bm25").embed(TEXTS)):
        np.testing.assert_array_equal(rows[i]["indices"], vector.indices)
        np.testing.assert_array_equal(rows[i]["values"], vector.values)
    colbert = LateInteractionTextEmbedding(model_path=embedded["colbert"])
    sample = list(range(0, N, 97))
    for i, vectors in zip(sample, colbert.embed([TEXTS[i] for i in sample]), strict=True):
        np.testing.assert_allclose(rows[i]["tokens"], vectors, rtol=0, atol=1e-6)
    scores = list(TextCrossEncoder(model_path=TINY_CE).rerank("alpha", TEXTS))
    got = np.array([rows[i]["score"] for i in range(N)])
    np.testing.assert_allclose(got, np.array(scores, dtype=np.float32), rtol=0, atol=1e-5)


def test_parquet_written_by_ray_reads_back_equal(embedded: dict[str, Any]) -> None:
    back = {row["id"]: row for row in ray.data.read_parquet(str(embedded["parquet"])).take_all()}
    rows = embedded["rows"]
    assert sorted(back) == list(range(N))
    for i in range(0, N, 7):
        for column in ("embedding", "indices", "values", "tokens"):
            np.testing.assert_array_equal(back[i][column], rows[i][column])
        assert back[i]["score"] == rows[i]["score"] and back[i]["text"] == rows[i]["text"]


def test_images_and_per_row_queries(local_ray: Any) -> None:
    paths = [str(p) for p in IMAGES] * 4
    ds = ray.data.from_items([{"id": i, "image": p} for i, p in enumerate(paths)])
    rows = ds.map_batches(
        ImageEmbedder,
        fn_constructor_kwargs={"model_path": str(CLIP)},
        compute=ray.data.ActorPoolStrategy(size=1),
        num_cpus=1,
        batch_size=4,
    ).take_all()
    expected = list(ImageEmbedding(model_path=CLIP).embed(paths))
    for row in rows:
        np.testing.assert_allclose(row["embedding"], expected[row["id"]], rtol=0, atol=1e-6)
    pairs = [{"id": i, "q": f"query {i % 3}", "text": t} for i, t in enumerate(TEXTS[:50])]
    scored = (
        ray.data.from_items(pairs)
        .map_batches(
            Reranker,
            fn_constructor_kwargs={"model_path": str(TINY_CE), "query_column": "q"},
            compute=ray.data.ActorPoolStrategy(size=1),
            num_cpus=1,
        )
        .take_all()
    )
    reference = list(
        TextCrossEncoder(model_path=TINY_CE).rerank_pairs([(p["q"], p["text"]) for p in pairs])
    )
    for row in scored:
        assert row["score"] == pytest.approx(reference[row["id"]], abs=1e-5)


# -- without Ray: the callables themselves --------------------------------------------------
def test_call_in_process_with_dict_and_pandas_batches() -> None:
    embedder = TextEmbedder(model_path=str(TINY_BERT))
    batch = {"id": np.arange(3), "text": np.array(TEXTS[:3])}
    out = embedder(batch)
    assert set(out) == {"id", "text", "embedding"} and out["embedding"].shape == (3, 32)
    np.testing.assert_array_equal(out["embedding"], np.stack(list(embedder.model.embed(TEXTS[:3]))))
    pd = pytest.importorskip("pandas")
    frame = embedder(pd.DataFrame({"text": TEXTS[:3]}))
    assert list(frame.columns) == ["text", "embedding"] and len(frame) == 3
    empty = embedder({"text": np.array([], dtype=object)})
    assert empty["embedding"].shape == (0, 32)
    sparse = SparseEmbedder(model_path=str(TINY_SPLADE))({"text": np.array(TEXTS[:2])})
    assert sparse["indices"].dtype == object and sparse["indices"][0].dtype == np.int64


def test_callables_pickle_and_keep_their_settings() -> None:
    embedder = SparseEmbedder("Qdrant/bm25", text_column="body", task="query")
    clone = pickle.loads(pickle.dumps(embedder))
    assert clone.text_column == "body" and clone.task == "query"
    batch = {"body": np.array(["a query about gamma"])}
    assert clone(batch)["values"][0].tolist() == embedder(batch)["values"][0].tolist()


def test_bad_input() -> None:
    embedder = TextEmbedder(model_path=str(TINY_BERT))
    with pytest.raises(InvalidArgumentError, match=r"no column 'text' \(columns: body\)"):
        embedder({"body": np.array(["x"])})
    with pytest.raises(InputTypeError, match="expected a batch of columns"):
        embedder(["a", "b"])
    with pytest.raises(InputTypeError, match="input 1"):
        embedder({"text": np.array(["ok", None], dtype=object)})
    with pytest.raises(InvalidArgumentError, match="task must be"):
        TextEmbedder(model_path=str(TINY_BERT), task="queries")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="output_column"):
        TextEmbedder(model_path=str(TINY_BERT), output_column="")
    with pytest.raises(InvalidArgumentError, match=r"either query= .* or query_column="):
        Reranker(model_path=str(TINY_CE))
    with pytest.raises(ArgumentTypeError, match="query must be a str"):
        Reranker(model_path=str(TINY_CE), query=3)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="unexpected keyword"):
        TextEmbedder(model_path=str(TINY_BERT), tasks="query")
