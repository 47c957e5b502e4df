"""Hybrid RAG retrieval with LangChain: dense + BM25 in Qdrant, a cross-encoder reranker, a prompt.

The main job of embed_plugins, end to end, on the bundled corpus (Python
standard library docstrings, ``data/corpus.jsonl``):

1. ``QdrantVectorStore`` in embedded local mode (``location=":memory:"``, no
   server) holds every passage twice: a dense vector from all-MiniLM-L6-v2
   (:class:`EmbedPluginsEmbeddings`) and a BM25 sparse vector
   (:class:`EmbedPluginsSparseEmbeddings`, with Qdrant's IDF modifier);
   ``RetrievalMode.HYBRID`` fuses the two rankings (reciprocal rank fusion).
2. A ``ContextualCompressionRetriever`` reranks the ``--candidates`` hybrid
   hits with the cross-encoder ms-marco-MiniLM-L-6-v2 (:class:`EmbedPluginsRerank`)
   and keeps the best ``--top-k``.  Without the cross-encoder's files (no
   local copy, no Hub access) the demo says so in one line and prints the hybrid
   results unreranked.
3. An LCEL chain formats the passages into a ``ChatPromptTemplate``; the chain
   stops at the prompt, which is printed for the first question.

Run it from the repository root (``--help`` lists the options)::

    python examples/rag_langchain.py
    python examples/rag_langchain.py --questions "How do I run a shell command?" --top-k 5
    python examples/rag_langchain.py --reranker-path /models/my-cross-encoder

Models resolve as everywhere in embed_plugins: ``$EMBED_PLUGINS_MODELS_DIR``,
then the Hugging Face cache, then a download from the Hub.  BM25 needs no files.

**Plugging in a real LLM.**  The chain ends at the prompt so that it runs
anywhere; an answer is one more step, any LangChain chat model::

    from langchain_core.output_parsers import StrOutputParser
    from langchain_openai import ChatOpenAI          # pip install langchain-openai
    # or: from langchain_ollama import ChatOllama    # pip install langchain-ollama

    llm = ChatOpenAI(model="gpt-4o-mini")            # or ChatOllama(model="llama3.2")
    rag = build_chain(retriever, answer=llm | StrOutputParser())
    result = rag.invoke("How do I stop waiting for a coroutine after a timeout?")
    print(result["answer"])                          # result["docs"]: the passages used

(``langchain_core.language_models.fake_chat_models.FakeListChatModel`` stands in
for ``llm`` in tests.)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from _common import (
    DENSE_MODEL,
    SPARSE_MODEL,
    Hit,
    Passage,
    exit_no_dense_model,
    load_corpus,
    parse_args,
    print_hits,
    say_no_reranker,
)
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_qdrant import QdrantVectorStore, RetrievalMode

from embed_plugins import ModelNotFoundError
from embed_plugins.integrations.langchain import (
    EmbedPluginsEmbeddings,
    EmbedPluginsRerank,
    EmbedPluginsSparseEmbeddings,
)

PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "You answer questions about the Python standard library. Use only the "
            "documentation excerpts below and name the function you recommend. If they do "
            "not answer the question, say so.\n\n{context}",
        ),
        ("human", "{question}"),
    ]
)


class HybridRetriever(BaseRetriever):
    """The store's hybrid search, with each fused (RRF) score kept in ``metadata["hybrid_score"]``.

    ``QdrantVectorStore.as_retriever()`` drops the scores; this keeps them so the
    unreranked results can be printed with theirs.
    """

    store: QdrantVectorStore
    k: int = 10

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=doc.page_content, metadata={**doc.metadata, "hybrid_score": score}
            )
            for doc, score in self.store.similarity_search_with_score(query, k=self.k)
        ]


def build_store(passages: Sequence[Passage], dense: EmbedPluginsEmbeddings) -> QdrantVectorStore:
    """An in-process Qdrant collection with a dense and a BM25 vector per passage."""
    docs = [
        Document(page_content=p.text, metadata={"id": p.id, "title": p.title, "source": p.source})
        for p in passages
    ]
    sparse = EmbedPluginsSparseEmbeddings(model_name=SPARSE_MODEL)
    return QdrantVectorStore.from_documents(
        docs,
        embedding=dense,
        sparse_embedding=sparse,
        retrieval_mode=RetrievalMode.HYBRID,
        # BM25 vectors carry term weights without IDF: Qdrant's IDF modifier supplies it.
        sparse_vector_params=sparse.sparse_vector_params(),
        location=":memory:",
        collection_name="python-stdlib-docs",
    )


def format_docs(docs: Sequence[Document]) -> str:
    return "\n\n".join(f"[{d.metadata['title']}]\n{d.page_content}" for d in docs)


def build_chain(
    retriever: BaseRetriever, answer: Runnable[Any, Any] | None = None
) -> Runnable[str, dict[str, Any]]:
    """question -> {"question", "docs", "prompt"[, "answer"]}: retrieve, format, prompt (, LLM)."""
    prompt = {
        "context": itemgetter("docs") | RunnableLambda(format_docs),
        "question": itemgetter("question"),
    } | PROMPT
    chain = RunnableParallel(docs=retriever, question=RunnablePassthrough()).assign(prompt=prompt)
    if answer is not None:
        chain = chain.assign(answer=itemgetter("prompt") | answer)
    return chain


def to_hits(docs: Sequence[Document]) -> list[Hit]:
    hits = []
    for d in docs:
        reranked = "relevance_score" in d.metadata
        kind, score = ("rerank", "relevance_score") if reranked else ("hybrid", "hybrid_score")
        passage = Passage(
            d.metadata["id"], d.metadata["title"], d.page_content, d.metadata["source"]
        )
        hits.append(Hit(passage, float(d.metadata[score]), kind))
    return hits


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__ or "", argv)
    passages = load_corpus()
    try:
        dense = EmbedPluginsEmbeddings(model_name=DENSE_MODEL)
    except ModelNotFoundError as exc:
        exit_no_dense_model(exc)
    try:
        reranker: EmbedPluginsRerank | None = (
            EmbedPluginsRerank(model_path=args.reranker_path, top_n=args.top_k)
            if args.reranker_path
            else EmbedPluginsRerank(model_name=args.reranker, top_n=args.top_k)
        )
    except ModelNotFoundError as exc:
        say_no_reranker(args, exc, "hybrid")
        reranker = None

    store = build_store(passages, dense)
    retriever: BaseRetriever
    if reranker is not None:
        retriever = ContextualCompressionRetriever(
            base_compressor=reranker,
            base_retriever=HybridRetriever(store=store, k=args.candidates),
        )
    else:
        retriever = HybridRetriever(store=store, k=args.top_k)
    chain = build_chain(retriever)

    print(
        f"Indexed {len(passages)} passages: dense {DENSE_MODEL} + sparse {SPARSE_MODEL} "
        "(hybrid, RRF)" + (f"; reranking with {reranker.model_name}." if reranker else ".")
    )
    first_prompt = None
    for question in args.questions:
        result = chain.invoke(question)
        print_hits(question, to_hits(result["docs"]))
        first_prompt = first_prompt or result["prompt"].to_string()
    print(f"\nPrompt for the first question (send it to any chat model):\n{first_prompt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
