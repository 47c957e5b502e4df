"""Image adapters: LangChain ``embed_image``, LlamaIndex ``MultiModalEmbedding`` and ColPali rerank.

All on the tiny CLIP / ColPali fixtures; vectors are compared with the public
classes, whose parity with transformers is pinned in test_image_embedding.py and
test_multimodal.py.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import (
    DenseSpec,
    ImageEmbedding,
    LateInteractionMultimodalEmbedding,
    TextEmbedding,
    maxsim,
)
from embed_plugins.errors import InputTypeError
from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings
from embed_plugins.integrations.llama_index import (
    EmbedPluginsColPaliRerank,
    EmbedPluginsMultiModalEmbedding,
)

FIXTURES = Path(__file__).parent / "fixtures"
CLIP = FIXTURES / "models" / "tiny-clip"
COLPALI = FIXTURES / "models" / "tiny-colpali"
PATHS = sorted((FIXTURES / "images").glob("*.*"))
TEXT_SPEC = DenseSpec(
    model="tiny-clip-text",
    model_file="text_model.onnx",
    dim=16,
    pooling="none",
    normalize=True,
    max_length=77,
)
QUERY = "a photo of a cat"


@pytest.fixture(scope="module")
def image_vectors() -> np.ndarray:
    return np.stack(list(ImageEmbedding(model_path=CLIP).embed(PATHS)))


@pytest.fixture(scope="module")
def query_vector() -> np.ndarray:
    return next(TextEmbedding(spec=TEXT_SPEC, model_path=CLIP).query_embed(QUERY))


# -- LangChain --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lc() -> EmbedPluginsEmbeddings:
    return EmbedPluginsEmbeddings(spec=TEXT_SPEC, model_path=CLIP, image_model_path=CLIP)


def test_langchain_embed_image(lc: EmbedPluginsEmbeddings, image_vectors: np.ndarray) -> None:
    vectors = lc.embed_image(uris=[str(p) for p in PATHS])
    assert all(type(x) is float for x in vectors[0])
    np.testing.assert_allclose(np.array(vectors), image_vectors, atol=1e-7)
    assert lc.embed_image([]) == []
    assert lc.image_model is not None and lc.image_model.model_name == "tiny-clip"


def test_langchain_text_queries_share_the_space(
    lc: EmbedPluginsEmbeddings, image_vectors: np.ndarray, query_vector: np.ndarray
) -> None:
    query = np.array(lc.embed_query(QUERY))
    np.testing.assert_allclose(query, query_vector, atol=1e-7)
    images = np.array(lc.embed_image([str(p) for p in PATHS]))
    assert list(np.argsort(-(images @ query))) == list(np.argsort(-(image_vectors @ query_vector)))


def test_langchain_async_embed_image(lc: EmbedPluginsEmbeddings) -> None:
    got = asyncio.run(lc.aembed_image([str(PATHS[0])]))
    assert got == lc.embed_image([str(PATHS[0])])


def test_langchain_without_image_model_says_how() -> None:
    text_only = EmbedPluginsEmbeddings(spec=TEXT_SPEC, model_path=CLIP)
    assert text_only.image_model is None
    with pytest.raises(ValueError, match="image_model_name="):
        text_only.embed_image([str(PATHS[0])])


def test_langchain_embed_image_bad_input(lc: EmbedPluginsEmbeddings) -> None:
    with pytest.raises(InputTypeError, match="list of images"):
        lc.embed_image(str(PATHS[0]))  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="input 1"):
        lc.embed_image([str(PATHS[0]), 5])  # type: ignore[list-item]


def test_langchain_text_options_stay_with_the_text_model() -> None:
    both = EmbedPluginsEmbeddings(
        spec=TEXT_SPEC, model_path=CLIP, image_model_path=CLIP, max_length=16, threads=1
    )
    assert both.model.spec.max_length == 16
    assert both.image_model is not None
    assert both.image_model._recipe.session.threads == 1


def test_colpali_rerank_refuses_text_only_options() -> None:
    with pytest.raises(ValueError, match="max_length"):
        EmbedPluginsColPaliRerank(model_path=COLPALI, max_length=16)


# -- LlamaIndex -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def li() -> EmbedPluginsMultiModalEmbedding:
    return EmbedPluginsMultiModalEmbedding(spec=TEXT_SPEC, model_path=CLIP, image_model_path=CLIP)


def test_llama_index_defaults_are_clip_vit_b_32() -> None:
    fields = EmbedPluginsMultiModalEmbedding.model_fields
    assert fields["model_name"].default == "Qdrant/clip-ViT-B-32-text"
    assert fields["image_model_name"].default == "Qdrant/clip-ViT-B-32-vision"


def test_llama_index_image_methods(
    li: EmbedPluginsMultiModalEmbedding, image_vectors: np.ndarray
) -> None:
    path = str(PATHS[0])
    from_path = li.get_image_embedding(path)
    from_bytes = li.get_image_embedding(io.BytesIO(PATHS[0].read_bytes()))
    assert from_path == from_bytes
    np.testing.assert_allclose(from_path, image_vectors[0], atol=1e-7)
    batch = li.get_image_embedding_batch([str(p) for p in PATHS])
    np.testing.assert_allclose(np.array(batch), image_vectors, atol=1e-7)
    assert asyncio.run(li.aget_image_embedding(path)) == from_path
    assert li.image_model_name == "tiny-clip"


def test_llama_index_multimodal_index_retrieves_images(
    li: EmbedPluginsMultiModalEmbedding, image_vectors: np.ndarray, query_vector: np.ndarray
) -> None:
    from llama_index.core.indices import MultiModalVectorStoreIndex
    from llama_index.core.schema import ImageDocument

    docs = [ImageDocument(image_path=str(p), metadata={"file_name": p.name}) for p in PATHS]
    index = MultiModalVectorStoreIndex.from_documents(docs, embed_model=li, image_embed_model=li)
    found = index.as_retriever(image_similarity_top_k=3).text_to_image_retrieve(QUERY)
    expected = [PATHS[i].name for i in np.argsort(-(image_vectors @ query_vector))[:3]]
    assert [Path(n.node.image_path).name for n in found] == expected  # type: ignore[attr-defined]


# -- ColPali rerank (LlamaIndex) ------------------------------------------------------------
def test_colpali_rerank_orders_image_nodes_by_maxsim() -> None:
    from llama_index.core.schema import ImageNode, NodeWithScore, QueryBundle

    pages = PATHS[:4]
    nodes = [NodeWithScore(node=ImageNode(image_path=str(p)), score=0.0) for p in pages]
    reranker = EmbedPluginsColPaliRerank(model_path=COLPALI, top_n=3)
    out = reranker.postprocess_nodes(nodes, QueryBundle(query_str="red circle"))
    model = LateInteractionMultimodalEmbedding(model_path=COLPALI)
    scores = maxsim(next(model.embed_text("red circle")), list(model.embed_image(pages)))
    order = list(np.argsort(-scores, kind="stable")[:3])
    assert [n.node.image_path for n in out] == [str(pages[i]) for i in order]  # type: ignore[attr-defined]
    np.testing.assert_allclose([n.score for n in out], scores[order], atol=1e-5)


def test_colpali_rerank_refuses_text_nodes() -> None:
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    reranker = EmbedPluginsColPaliRerank(model_path=COLPALI)
    with pytest.raises(ValueError, match=r"node 0 .* has no image"):
        reranker.postprocess_nodes(
            [NodeWithScore(node=TextNode(text="hi"))], QueryBundle(query_str="q")
        )
