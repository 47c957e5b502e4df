"""Every LangChain and LlamaIndex adapter as a drop-in: pickling, deep copies,
``model_validate(model_dump())``, ``specific_model_path``, fastembed's arguments.

All on the tiny fixture models, so nothing here needs the real models.  A copy
must build its own model (the ONNX session is never pickled) and give the same
numbers as the original.
"""

from __future__ import annotations

import copy
import multiprocessing
import operator
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_qdrant")
pytest.importorskip("llama_index.core")

from langchain_core.documents import Document
from llama_index.core.schema import ImageNode, NodeWithScore, TextNode
from pydantic import ValidationError

from embed_plugins import ColbertSpec, DenseSpec
from embed_plugins.integrations import langchain as lc
from embed_plugins.integrations import llama_index as li
from embed_plugins.integrations.langchain.sparse import EmbedPluginsSparseEmbeddings

MODELS = Path(__file__).parent / "fixtures" / "models"
IMAGES = sorted((Path(__file__).parent / "fixtures" / "images").glob("*.*"))
BERT = MODELS / "tiny-bert"
SPLADE = MODELS / "tiny-splade"
CE = MODELS / "tiny-cross-encoder"
COLBERT = MODELS / "tiny-colbert"
CLIP = MODELS / "tiny-clip"
COLPALI = MODELS / "tiny-colpali"
QUERY = "what is late interaction"
TEXTS = [
    "Late interaction keeps one vector per token.",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France.",
    "",
]
COLBERT_SPEC = ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")
CLIP_TEXT = DenseSpec(
    model="tiny-clip-text",
    model_file="text_model.onnx",
    dim=16,
    pooling="none",
    normalize=True,
    max_length=77,
)


# -- what each adapter computes, as plain Python data ---------------------------------------
def lc_dense(m: Any) -> Any:
    return m.embed_documents(TEXTS), m.embed_query(QUERY)


def lc_clip(m: Any) -> Any:
    return lc_dense(m), m.embed_image([str(p) for p in IMAGES[:2]])


def lc_sparse(m: Any) -> Any:
    return [(v.indices, v.values) for v in m.embed_documents(TEXTS)], m.embed_query(QUERY)


def lc_cross(m: Any) -> Any:
    return m.score([(QUERY, t) for t in TEXTS])


def lc_compress(m: Any) -> Any:
    docs = m.compress_documents([Document(page_content=t) for t in TEXTS], QUERY)
    return [(d.page_content, d.metadata["relevance_score"]) for d in docs]


def li_dense(m: Any) -> Any:
    return m.get_text_embedding_batch(TEXTS), m.get_query_embedding(QUERY)


def li_clip(m: Any) -> Any:
    return li_dense(m), m.get_image_embedding_batch([str(p) for p in IMAGES[:2]])


def li_post(m: Any) -> Any:
    nodes = [NodeWithScore(node=TextNode(text=t, id_=f"n{i}")) for i, t in enumerate(TEXTS)]
    return [(n.node.node_id, n.score) for n in m.postprocess_nodes(nodes, query_str=QUERY)]


def li_colpali(m: Any) -> Any:
    nodes = [NodeWithScore(node=ImageNode(image_path=str(p), id_=p.name)) for p in IMAGES[:3]]
    return [(n.node.node_id, n.score) for n in m.postprocess_nodes(nodes, query_str="red")]


#: (name, class, constructor keywords, probe); the folder is the ``model_path`` value.
LANGCHAIN = [
    ("lc-dense", lc.EmbedPluginsEmbeddings, {"model_path": BERT}, lc_dense),
    (
        "lc-clip",
        lc.EmbedPluginsEmbeddings,
        {"spec": CLIP_TEXT, "model_path": CLIP, "image_model_path": CLIP},
        lc_clip,
    ),
    ("lc-splade", EmbedPluginsSparseEmbeddings, {"model_path": SPLADE}, lc_sparse),
    ("lc-bm25", EmbedPluginsSparseEmbeddings, {"k": 1.5}, lc_sparse),
    ("lc-cross-encoder", lc.EmbedPluginsCrossEncoder, {"model_path": CE}, lc_cross),
    ("lc-rerank", lc.EmbedPluginsRerank, {"model_path": CE, "top_n": 4}, lc_compress),
    (
        "lc-colbert",
        lc.EmbedPluginsColbertRerank,
        {"spec": COLBERT_SPEC, "model_path": COLBERT},
        lc_compress,
    ),
]
LLAMA_INDEX = [
    ("li-dense", li.EmbedPluginsEmbedding, {"model_path": BERT, "embed_batch_size": 3}, li_dense),
    (
        "li-clip",
        li.EmbedPluginsMultiModalEmbedding,
        {"spec": CLIP_TEXT, "model_path": CLIP, "image_model_path": CLIP},
        li_clip,
    ),
    ("li-splade", li.EmbedPluginsSparseEmbedding, {"model_path": SPLADE}, li_dense),
    ("li-bm25", li.EmbedPluginsSparseEmbedding, {"b": 0.5}, li_dense),
    ("li-rerank", li.EmbedPluginsRerank, {"model_path": CE, "top_n": 3}, li_post),
    (
        "li-colbert",
        li.EmbedPluginsColbertRerank,
        {"spec": COLBERT_SPEC, "model_path": COLBERT},
        li_post,
    ),
    ("li-colpali", li.EmbedPluginsColPaliRerank, {"model_path": COLPALI}, li_colpali),
]
ALL = LANGCHAIN + LLAMA_INDEX


def params(cases: list[Any]) -> Any:
    return pytest.mark.parametrize(
        ("cls", "kwargs", "probe"), [c[1:] for c in cases], ids=[c[0] for c in cases]
    )


def models_of(adapter: Any) -> list[Any]:
    return [m for m in (adapter.model, getattr(adapter, "image_model", None)) if m is not None]


def assert_rebuilt(original: Any, again: Any, probe: Callable[[Any], Any]) -> None:
    """``again`` is a fully working twin of ``original`` with models of its own."""
    assert type(again) is type(original)
    assert again.model_dump() == original.model_dump()
    assert len(models_of(again)) == len(models_of(original))
    for mine, theirs in zip(models_of(again), models_of(original), strict=True):
        assert mine is not theirs
        assert mine.spec == theirs.spec
    assert probe(again) == probe(original)


COPIES = {
    "pickle": lambda m: pickle.loads(pickle.dumps(m)),
    "pickle-protocol-2": lambda m: pickle.loads(pickle.dumps(m, protocol=2)),
    "deepcopy": copy.deepcopy,
    "model_copy-deep": lambda m: m.model_copy(deep=True),
}


@pytest.mark.parametrize("how", list(COPIES))
@params(ALL)
def test_pickle_and_deepcopy_rebuild_the_model(
    cls: Any, kwargs: dict[str, Any], probe: Callable[[Any], Any], how: str
) -> None:
    original = cls(**kwargs)
    assert_rebuilt(original, COPIES[how](original), probe)


def test_shallow_copies_still_share_the_model() -> None:
    original = lc.EmbedPluginsEmbeddings(model_path=BERT)
    assert copy.copy(original).model is original.model
    assert original.model_copy(update={"batch_size": 2}).model is original.model


def test_lazy_adapter_pickles_without_loading() -> None:
    original = li.EmbedPluginsRerank(model_path=CE, lazy_load=True)
    again = pickle.loads(pickle.dumps(original))
    assert again.model._runner.loaded is None and again.lazy_load
    assert li_post(again) == li_post(original)


def test_unpicklable_llama_index_field_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    """As LlamaIndex's BaseComponent: such a field comes back as its default."""
    from llama_index.core.callbacks import CallbackManager

    class Unpicklable(CallbackManager):
        def __reduce__(self) -> Any:
            raise TypeError("no pickling this")

    original = li.EmbedPluginsEmbedding(model_path=BERT, callback_manager=Unpicklable([]))
    again = pickle.loads(pickle.dumps(original))
    assert "callback_manager" in caplog.text
    assert type(again.callback_manager) is CallbackManager
    assert li_dense(again) == li_dense(original)


def test_adapters_cross_process_boundaries() -> None:
    """What Ray and multiprocessing do: pickle, rebuild in another process, embed there."""
    dense = lc.EmbedPluginsEmbeddings(model_path=BERT)
    rerank = li.EmbedPluginsRerank(model_path=CE, top_n=3)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        vectors = pool.submit(operator.methodcaller("embed_documents", TEXTS), dense)
        again = pool.submit(copy.deepcopy, rerank)  # the rebuilt object comes back
        assert vectors.result(timeout=120) == dense.embed_documents(TEXTS)
        assert li_post(again.result(timeout=120)) == li_post(rerank)


# -- LlamaIndex: model_validate(model_dump()) -------------------------------------------------
@params(LLAMA_INDEX)
def test_llama_index_model_validate_of_model_dump(
    cls: Any, kwargs: dict[str, Any], probe: Callable[[Any], Any]
) -> None:
    original = cls(**kwargs)
    dump = original.model_dump()
    assert dump["class_name"] == cls.class_name()
    assert_rebuilt(original, cls.model_validate(dump), probe)
    assert_rebuilt(original, cls.model_validate_json(original.model_dump_json()), probe)


def test_llama_index_model_validate_refuses_another_class_name() -> None:
    dump = li.EmbedPluginsRerank(model_path=CE).model_dump()
    with pytest.raises(ValidationError, match="class_name is 'EmbedPluginsRerank'"):
        li.EmbedPluginsColbertRerank.model_validate(dump)


@params(LANGCHAIN)
def test_langchain_model_validate_of_model_dump(
    cls: Any, kwargs: dict[str, Any], probe: Callable[[Any], Any]
) -> None:
    original = cls(**kwargs)
    assert_rebuilt(original, cls.model_validate(original.model_dump()), probe)


# -- one default sparse model ------------------------------------------------------------------
def test_sparse_adapters_share_the_default_model() -> None:
    lc_default = EmbedPluginsSparseEmbeddings.model_fields["model_name"].default
    li_default = li.EmbedPluginsSparseEmbedding.model_fields["model_name"].default
    assert lc_default == li_default == "Qdrant/bm25"
    a, b = EmbedPluginsSparseEmbeddings(), li.EmbedPluginsSparseEmbedding()
    assert a.model_name == b.model_name == "Qdrant/bm25"
    assert a.requires_idf and b.requires_idf
    lc_vectors = [dict(zip(v.indices, v.values, strict=True)) for v in a.embed_documents(TEXTS)]
    assert lc_vectors == b.get_text_embedding_batch(TEXTS)


# -- specific_model_path (fastembed's name for a local folder) ------------------------------
@params([c for c in ALL if "model_path" in c[2]])
def test_specific_model_path(cls: Any, kwargs: dict[str, Any], probe: Callable[[Any], Any]) -> None:
    by_model_path = cls(**kwargs)
    folder = kwargs["model_path"]
    given = {k: v for k, v in kwargs.items() if k != "model_path"}
    adapter = cls(**given, specific_model_path=folder)
    assert adapter.specific_model_path == str(folder) and adapter.model_path is None
    assert adapter.model_name == by_model_path.model_name
    assert adapter.model.spec == by_model_path.model.spec
    assert probe(adapter) == probe(by_model_path)
    assert_rebuilt(adapter, pickle.loads(pickle.dumps(adapter)), probe)
    with pytest.raises(ValueError, match="pass one of them"):
        cls(**kwargs, specific_model_path=folder)


# -- fastembed's constructor arguments, as the framework counterparts take them ------------------
#: What every fastembed model class takes (the counterparts pass them on as **kwargs).
FASTEMBED_MODEL = {
    "threads": 1,
    "providers": ["CPUExecutionProvider"],
    "cuda": False,
    "device_ids": None,
    "lazy_load": True,
    "local_files_only": True,
}
COUNTERPARTS = [
    # langchain_community FastEmbedEmbeddings (its fields)
    (lc.EmbedPluginsEmbeddings, BERT, {"max_length": 16, "doc_embed_type": "default"}, lc_dense),
    (lc.EmbedPluginsEmbeddings, BERT, {"batch_size": 2, "parallel": None}, lc_dense),
    # langchain_qdrant FastEmbedSparse (its arguments, the rest to SparseTextEmbedding)
    (EmbedPluginsSparseEmbeddings, SPLADE, {"batch_size": 2, "parallel": None}, lc_sparse),
    # llama-index FastEmbedEmbedding (fields, then **kwargs to TextEmbedding)
    (li.EmbedPluginsEmbedding, BERT, {"doc_embed_type": "default", "max_length": 16}, li_dense),
    (
        li.EmbedPluginsMultiModalEmbedding,
        CLIP,
        {"spec": CLIP_TEXT, "image_model_path": CLIP},
        li_clip,
    ),
    # llama-index FastEmbedSparseEmbedding
    (li.EmbedPluginsSparseEmbedding, SPLADE, {"max_length": 16}, li_dense),
    # fastembed's TextCrossEncoder / LateInteractionTextEmbedding / ColPali arguments
    (lc.EmbedPluginsCrossEncoder, CE, {}, lc_cross),
    (lc.EmbedPluginsRerank, CE, {}, lc_compress),
    (lc.EmbedPluginsColbertRerank, COLBERT, {"spec": COLBERT_SPEC}, lc_compress),
    (li.EmbedPluginsRerank, CE, {}, li_post),
    (li.EmbedPluginsColbertRerank, COLBERT, {"spec": COLBERT_SPEC}, li_post),
    (li.EmbedPluginsColPaliRerank, COLPALI, {}, li_colpali),
]


@pytest.mark.parametrize(("cls", "folder", "own", "probe"), COUNTERPARTS)
def test_fastembed_arguments_take_effect(
    cls: Any, folder: Path, own: dict[str, Any], probe: Callable[[Any], Any], tmp_path: Path
) -> None:
    given = {**FASTEMBED_MODEL, **own, "cache_dir": tmp_path, "specific_model_path": folder}
    adapter = cls(**given)
    model = adapter.model
    assert model._runner.loaded is None  # lazy_load
    assert model._recipe.session.threads == 1
    assert model._recipe.session.providers == ("CPUExecutionProvider",)
    assert adapter.cache_dir == str(tmp_path) and adapter.local_files_only
    if "max_length" in own:
        assert model.spec.max_length == 16
    assert adapter.model_name == own.get("spec", model.spec).model
    assert probe(adapter)  # it works, having loaded its model on first use
    assert model._runner.loaded is not None


@params(ALL)
def test_model_errors_pass_through_unwrapped(
    cls: Any, kwargs: dict[str, Any], probe: Callable[[Any], Any], tmp_path: Path
) -> None:
    """The model's own error, as a direct call of the model class raises it: pydantic
    would make a ValidationError of it (they subclass ValueError)."""
    from embed_plugins import ModelNotFoundError

    given = {**kwargs, "model_path": tmp_path / "missing"}
    with pytest.raises(ModelNotFoundError, match="missing") as info:
        cls(**given)
    assert not isinstance(info.value, ValidationError)


@pytest.mark.parametrize("cls", [lc.EmbedPluginsEmbeddings, li.EmbedPluginsSparseEmbedding])
def test_misspelt_arguments_stay_errors(cls: Any) -> None:
    with pytest.raises(ValidationError, match="specific_model_pth"):
        cls(specific_model_pth=BERT)


def test_prefixes_and_engine_options_reach_the_model() -> None:
    """``prefixes=False`` gives fastembed's vectors through both dense adapters, and the
    engine options fastembed takes (``device_id``, ``enable_cpu_mem_arena``, ``threads=0``)
    reach the model."""
    from embed_plugins import DenseSpec, TextEmbedding
    from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings
    from embed_plugins.integrations.llama_index import EmbedPluginsEmbedding

    folder = Path(__file__).parent / "fixtures" / "models" / "tiny-bert"
    spec = DenseSpec(
        model="t/prefixed", dim=32, model_file="onnx/model.onnx", query_prefix="query: "
    )
    plain = next(TextEmbedding(spec=spec, model_path=folder).embed("where"))
    prefixed = next(TextEmbedding(spec=spec, model_path=folder).query_embed("where"))
    for cls in (EmbedPluginsEmbeddings, EmbedPluginsEmbedding):
        off = cls(
            spec=spec, model_path=str(folder), prefixes=False, threads=0, enable_cpu_mem_arena=False
        )
        on = cls(spec=spec, model_path=str(folder))
        query = (
            off.embed_query("where")
            if cls is EmbedPluginsEmbeddings
            else (off.get_query_embedding("where"))
        )
        query_on = (
            on.embed_query("where")
            if cls is EmbedPluginsEmbeddings
            else (on.get_query_embedding("where"))
        )
        np.testing.assert_allclose(query, plain, atol=1e-6)
        np.testing.assert_allclose(query_on, prefixed, atol=1e-6)
        session = off.model.model.session
        assert session.get_session_options().enable_cpu_mem_arena is False
