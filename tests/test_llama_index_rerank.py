"""LlamaIndex rerank postprocessors on the tiny fixtures: scores, top_n, events, async."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
from pydantic import Field, ValidationError

from embed_plugins import (
    ColbertSpec,
    InputTypeError,
    LateInteractionTextEmbedding,
    TextCrossEncoder,
)
from embed_plugins.integrations.llama_index import EmbedPluginsColbertRerank, EmbedPluginsRerank

FIXTURES = Path(__file__).parent / "fixtures" / "models"
TINY_CE = FIXTURES / "tiny-cross-encoder"
TINY_COLBERT = FIXTURES / "tiny-colbert"
QUERY = "what is late interaction"
TEXTS = [
    "Paris is the capital and most populous city of France.",
    "Late interaction keeps one vector per token.",
    "The quick brown fox jumps over the lazy dog.",
    "Sparse retrieval models score each token of the query.",
    "",
    "hello world",
]


def colbert_spec() -> ColbertSpec:
    return ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")


def nodes() -> list[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(text=t, id_=f"n{i}", metadata={"i": i}), score=0.5 - i / 100)
        for i, t in enumerate(TEXTS)
    ]


@pytest.fixture(scope="module")
def rerank() -> EmbedPluginsRerank:
    return EmbedPluginsRerank(model_path=TINY_CE)


@pytest.fixture(scope="module")
def colbert() -> EmbedPluginsColbertRerank:
    return EmbedPluginsColbertRerank(spec=colbert_spec(), model_path=TINY_COLBERT)


def reference(which: str) -> list[Any]:
    """The engine's ranking of what LlamaIndex embeds: the text with its metadata."""
    texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes()]
    assert texts[0].startswith("i: 0")
    if which == "rerank":
        return TextCrossEncoder(model_path=TINY_CE).rank(QUERY, texts)
    model = LateInteractionTextEmbedding(spec=colbert_spec(), model_path=TINY_COLBERT)
    return model.rank(QUERY, texts)


class Recorder(BaseEventHandler):
    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Recorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    handler = Recorder(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        yield handler
    finally:
        root.event_handlers.remove(handler)


@pytest.mark.parametrize(("which", "top_n"), [("rerank", 2), ("colbert", 5)])
def test_orders_scores_and_top_n(which: str, top_n: int, request: pytest.FixtureRequest) -> None:
    post = request.getfixturevalue(which)
    assert isinstance(post, BaseNodePostprocessor)
    assert post.top_n == top_n  # SentenceTransformerRerank's / ColbertRerank's default
    given = nodes()
    out = post.postprocess_nodes(given, query_str=QUERY)
    want = reference(which)[:top_n]
    assert [n.node.node_id for n in out] == [f"n{r.index}" for r in want]
    assert [n.score for n in out] == pytest.approx([r.score for r in want])
    assert all(type(n.score) is float for n in out)
    # Inputs untouched: their scores are still the retriever's.
    assert [n.score for n in given] == [n.score for n in nodes()]
    assert all("retrieval_score" not in n.node.metadata for n in out)


@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_top_n_none_and_large(which: str, request: pytest.FixtureRequest) -> None:
    post = request.getfixturevalue(which)
    assert len(
        post.model_copy(update={"top_n": None}).postprocess_nodes(nodes(), query_str=QUERY)
    ) == len(TEXTS)
    assert len(
        post.model_copy(update={"top_n": 100}).postprocess_nodes(nodes(), query_str=QUERY)
    ) == len(TEXTS)
    assert (
        len(post.model_copy(update={"top_n": 1}).postprocess_nodes(nodes(), query_str=QUERY)) == 1
    )


@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_keep_retrieval_score(which: str, request: pytest.FixtureRequest) -> None:
    post = request.getfixturevalue(which).model_copy(update={"keep_retrieval_score": True})
    given = nodes()
    out = post.postprocess_nodes(given, query_str=QUERY)
    for n in out:
        i = n.node.metadata["i"]
        assert n.node.metadata["retrieval_score"] == pytest.approx(0.5 - i / 100)
    # The original nodes' metadata is not modified.
    assert all("retrieval_score" not in n.node.metadata for n in given)


@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_events_and_callbacks(
    which: str, request: pytest.FixtureRequest, recorder: Recorder
) -> None:
    debug = LlamaDebugHandler()
    post = request.getfixturevalue(which).model_copy(
        update={"callback_manager": CallbackManager([debug])}
    )
    out = post.postprocess_nodes(nodes(), query_bundle=QueryBundle(QUERY))
    starts = [e for e in recorder.events if isinstance(e, ReRankStartEvent)]
    ends = [e for e in recorder.events if isinstance(e, ReRankEndEvent)]
    assert len(starts) == 1 and len(ends) == 1
    assert starts[0].model_name == post.model_name
    assert starts[0].top_n == post.top_n
    assert len(starts[0].nodes) == len(TEXTS)
    assert [n.node.node_id for n in ends[0].nodes] == [n.node.node_id for n in out]
    pairs = debug.get_event_pairs(CBEventType.RERANKING)
    assert len(pairs) == 1


def test_empty_nodes_fire_events(rerank: EmbedPluginsRerank, recorder: Recorder) -> None:
    assert rerank.postprocess_nodes([], query_str=QUERY) == []
    assert [
        type(e) for e in recorder.events if isinstance(e, (ReRankStartEvent, ReRankEndEvent))
    ] == [
        ReRankStartEvent,
        ReRankEndEvent,
    ]


@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_bad_input(which: str, request: pytest.FixtureRequest) -> None:
    post = request.getfixturevalue(which)
    with pytest.raises(ValueError, match="needs the query"):
        post.postprocess_nodes(nodes())
    with pytest.raises(ValidationError, match="topn"):
        type(post)(topn=3)
    with pytest.raises(ValidationError):
        type(post)(top_n=0)
    with pytest.raises(InputTypeError):
        post.postprocess_nodes(nodes(), query_bundle=QueryBundle(None))  # type: ignore[arg-type]


def one_node() -> NodeWithScore:
    return NodeWithScore(node=TextNode(text="a", id_="n0"), score=0.5)


BAD_NODES = [
    (b"bytes", "got bytes"),
    ("one string", "got str"),
    (None, "got NoneType"),
    (5, "got int"),
    ([one_node(), None], r"nodes\[1\] must be a NodeWithScore, got NoneType"),
    ([[one_node()]], r"nodes\[0\] must be a NodeWithScore, got list \(pass one"),
    ([TextNode(text="bare")], r"nodes\[0\] must be a NodeWithScore, got TextNode"),
]


@pytest.mark.parametrize(("bad", "match"), BAD_NODES)
@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_rejects_what_is_not_a_list_of_scored_nodes(
    which: str, bad: Any, match: str, request: pytest.FixtureRequest, recorder: Recorder
) -> None:
    post = request.getfixturevalue(which)
    with pytest.raises(InputTypeError, match=match) as info:
        post.postprocess_nodes(bad, query_str=QUERY)
    assert type(post).__name__ in str(info.value)
    assert not [e for e in recorder.events if isinstance(e, ReRankStartEvent)]


@pytest.mark.parametrize("which", ["rerank", "colbert"])
async def test_async_runs_off_the_loop(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = request.getfixturevalue(which)
    sync = post.postprocess_nodes(nodes(), query_str=QUERY)
    got = await post.apostprocess_nodes(nodes(), query_str=QUERY)
    assert [(n.node.node_id, n.score) for n in got] == [(n.node.node_id, n.score) for n in sync]

    loop_thread = threading.get_ident()
    seen: list[int] = []
    real = post.model.rank

    def slow(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(post.model, "rank", slow)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await post.apostprocess_nodes(nodes(), query_str=QUERY)
    done.set()
    await task
    assert ticks >= 10 and seen and seen[0] != loop_thread


def test_to_dict_round_trip(rerank: EmbedPluginsRerank) -> None:
    data = rerank.to_dict()
    assert data["class_name"] == "EmbedPluginsRerank"
    again = EmbedPluginsRerank.from_dict(data)
    assert again.model_name == rerank.model_name == "tiny-cross-encoder"
    out = again.postprocess_nodes(nodes(), query_str=QUERY)
    assert [n.score for n in out] == [
        n.score for n in rerank.postprocess_nodes(nodes(), query_str=QUERY)
    ]
    spec_post = EmbedPluginsColbertRerank(spec=colbert_spec(), model_path=TINY_COLBERT, top_n=2)
    back = EmbedPluginsColbertRerank.from_json(spec_post.to_json())
    assert back.spec == spec_post.spec and back.top_n == 2


def test_in_a_query_engine(rerank: EmbedPluginsRerank, monkeypatch: pytest.MonkeyPatch) -> None:
    """The postprocessor inside a retriever query engine (retrieval only, no LLM)."""
    from llama_index.core import Settings
    from llama_index.core.llms.mock import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.retrievers import BaseRetriever

    # The synthesizer reads Settings.llm even in "no_text" mode: a mock, restored afterwards.
    monkeypatch.setattr(Settings, "_llm", MockLLM())

    class Fixed(BaseRetriever):
        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            return nodes()

    engine = RetrieverQueryEngine.from_args(
        Fixed(), llm=MockLLM(), response_mode="no_text", node_postprocessors=[rerank]
    )
    response = engine.query(QUERY)
    want = reference("rerank")[:2]
    assert [n.node.node_id for n in response.source_nodes] == [f"n{r.index}" for r in want]
