"""Retrieval with LlamaIndex: a ``VectorStoreIndex`` and a cross-encoder reranker, no LLM.

The bundled corpus (Python standard library docstrings, ``data/corpus.jsonl``)
becomes one ``TextNode`` per passage, embedded with all-MiniLM-L6-v2
(:class:`EmbedPluginsEmbedding`) into LlamaIndex's in-memory vector store.  A
query engine retrieves the ``--candidates`` nearest passages, reranks them with
the cross-encoder ms-marco-MiniLM-L-6-v2 (:class:`EmbedPluginsRerank`, a node
postprocessor) and answers with the passages alone (``response_mode="no_text"``;
``Settings.llm`` is a ``MockLLM``, never called).  Without the
cross-encoder's files (no local copy, no Hub access) the example says so in one
line and prints the vector search results unreranked.

Run it from the repository root::

    python examples/rag_llama_index.py
    python examples/rag_llama_index.py --questions "How do I run a shell command?" --top-k 5

Models resolve as everywhere in embed_plugins: ``$EMBED_PLUGINS_MODELS_DIR``,
then the Hugging Face cache, then a download from the Hub.  For generated
answers, drop ``response_mode="no_text"`` and pass a real LLM, for example
``llm=Ollama(model="llama3.2")`` (``pip install llama-index-llms-ollama``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from _common import (
    DENSE_MODEL,
    Hit,
    Passage,
    exit_no_dense_model,
    load_corpus,
    parse_args,
    print_hits,
    say_no_reranker,
)
from llama_index.core import Settings, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, TextNode

from embed_plugins import ModelNotFoundError
from embed_plugins.integrations.llama_index import EmbedPluginsEmbedding, EmbedPluginsRerank

METADATA_KEYS = ["id", "title", "source"]


def to_nodes(passages: Sequence[Passage]) -> list[TextNode]:
    """One node per passage; the metadata is shown to neither the embedder nor the reranker."""
    return [
        TextNode(
            id_=p.id,
            text=p.text,
            metadata={"id": p.id, "title": p.title, "source": p.source},
            excluded_embed_metadata_keys=METADATA_KEYS,
            excluded_llm_metadata_keys=METADATA_KEYS,
        )
        for p in passages
    ]


def to_hits(nodes: Sequence[NodeWithScore], kind: str) -> list[Hit]:
    return [
        Hit(
            Passage(
                n.node.metadata["id"],
                n.node.metadata["title"],
                n.node.get_content(),
                n.node.metadata["source"],
            ),
            float(n.score if n.score is not None else float("nan")),
            kind,
        )
        for n in nodes
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__ or "", argv)
    passages = load_corpus()
    try:
        embed_model = EmbedPluginsEmbedding(model_name=DENSE_MODEL)
    except ModelNotFoundError as exc:
        exit_no_dense_model(exc)
    try:
        reranker: EmbedPluginsRerank | None = (
            EmbedPluginsRerank(model_path=args.reranker_path, top_n=args.top_k)
            if args.reranker_path
            else EmbedPluginsRerank(model_name=args.reranker, top_n=args.top_k)
        )
    except ModelNotFoundError as exc:
        say_no_reranker(args, exc, "vector search")
        reranker = None

    index = VectorStoreIndex(to_nodes(passages), embed_model=embed_model)
    postprocessors: list[BaseNodePostprocessor] = [reranker] if reranker else []
    # No LLM is called with response_mode="no_text", but LlamaIndex resolves one anyway
    # (its default is OpenAI's): a MockLLM keeps it from looking.
    Settings.llm = MockLLM()
    query_engine = index.as_query_engine(
        response_mode="no_text",
        similarity_top_k=args.candidates if reranker else args.top_k,
        node_postprocessors=postprocessors,
    )

    print(
        f"Indexed {len(passages)} passages with {DENSE_MODEL}"
        + (f"; reranking with {reranker.model_name}." if reranker else ".")
    )
    for question in args.questions:
        response = query_engine.query(question)
        print_hits(question, to_hits(response.source_nodes, "rerank" if reranker else "cosine"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
