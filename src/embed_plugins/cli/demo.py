"""``embed-plugins demo``: the README's main job, hybrid retrieval and reranking, end to end.

The job of ``examples/rag_langchain.py`` on the same bundled corpus (48 Python standard
library docstrings, ``data/corpus.jsonl``), with the public classes alone, so it runs
from an installed wheel with no LangChain or Qdrant:

1. every passage gets a dense vector (all-MiniLM-L6-v2, ``passage_embed``) and a BM25
   sparse vector (weighted by IDF over the corpus, as Qdrant's IDF modifier does);
2. each question retrieves ``--candidates`` passages by reciprocal rank fusion of the
   dense (cosine) and BM25 rankings;
3. the cross-encoder ms-marco-MiniLM-L-6-v2 reranks them and the best ``--top-k`` are
   printed, one line each.  Without the cross-encoder's files the hybrid results are
   printed unreranked, with a one-line notice.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from importlib import resources
from typing import Any

import numpy as np

from .embed_cmd import positive
from .errors import BAD_MODEL, CliError
from .loading import build

DENSE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SPARSE_MODEL = "Qdrant/bm25"
RERANKER_MODEL = "Xenova/ms-marco-MiniLM-L-6-v2"
QUESTIONS = (
    "How do I stop waiting for a coroutine after a timeout?",
    "How can I cache the results of an expensive function call?",
    "How do I check whether two floating point numbers are approximately equal?",
    "How do I find out how much free space is left on a disk?",
)
#: The constant of reciprocal rank fusion, ``1 / (k + rank)``.
RRF_K = 60


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "demo",
        help="hybrid retrieval + reranking on a bundled corpus (the README's main job)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("--questions", nargs="+", metavar="Q", default=list(QUESTIONS))
    p.add_argument("--top-k", type=positive, default=3, help="passages printed per question")
    p.add_argument("--candidates", type=positive, default=10, help="hybrid hits reranked")
    p.add_argument("--reranker", default=RERANKER_MODEL, help="cross-encoder model name")
    p.add_argument("--reranker-path", help="a local cross-encoder folder instead")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def load_corpus() -> list[dict[str, str]]:
    text = resources.files("embed_plugins.cli").joinpath("data/corpus.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run(args: argparse.Namespace) -> int:
    passages = load_corpus()
    texts = [p["text"] for p in passages]
    dense = build("dense", DENSE_MODEL)
    sparse = build("sparse", SPARSE_MODEL)
    reranker = _reranker(args)
    bar = not args.quiet and sys.stderr.isatty()
    doc_vectors = np.stack(list(dense.passage_embed(texts, show_progress=bar)))
    doc_terms = [
        dict(zip(v.indices.tolist(), v.values.tolist(), strict=True))
        for v in sparse.passage_embed(texts)
    ]
    idf = _idf(doc_terms)
    print(
        f"Indexed {len(passages)} passages: dense {DENSE_MODEL} + sparse {SPARSE_MODEL} "
        "(hybrid, RRF)" + (f"; reranking with {reranker.model_name}." if reranker else ".")
    )
    candidates = max(args.candidates, args.top_k)
    for question in args.questions:
        (query_vector,) = dense.query_embed([question])
        (query_terms,) = sparse.query_embed([question])
        bm25 = [
            sum(idf.get(t, 0.0) * terms.get(t, 0.0) for t in query_terms.indices.tolist())
            for terms in doc_terms
        ]
        fused = _rrf([doc_vectors @ query_vector, np.asarray(bm25)])[:candidates]
        if reranker is not None:
            ranked = reranker.rank(question, [texts[i] for i in fused], top_k=args.top_k)
            hits = [(fused[r.index], float(r.score), "rerank") for r in ranked]
        else:
            scores = _rrf_scores([doc_vectors @ query_vector, np.asarray(bm25)])
            hits = [(i, float(scores[i]), "hybrid") for i in fused[: args.top_k]]
        print(f"\nQ: {question}")
        for rank, (i, score, kind) in enumerate(hits, start=1):
            p = passages[i]
            print(f"  {rank}. {kind}={score:+.4f}  {p['id']}  {p['title']}: {_snippet(p['text'])}")
    return 0


def _reranker(args: argparse.Namespace) -> Any:
    """The cross-encoder, or ``None`` (with a notice) when its files are nowhere."""
    try:
        if args.reranker_path:
            return build("rerank", model_path=args.reranker_path)
        return build("rerank", args.reranker)
    except CliError as exc:
        if exc.code != BAD_MODEL or args.reranker_path or "not downloaded" not in str(exc):
            raise
        print(
            f"Reranker {args.reranker} not available (no local copy in $EMBED_PLUGINS_MODELS_DIR "
            "or the Hugging Face cache, and no Hub access): showing hybrid results unreranked."
        )
        return None


def _idf(docs: list[dict[int, float]]) -> dict[int, float]:
    """BM25's IDF, ``ln((N - n + 0.5) / (n + 0.5) + 1)``, as Qdrant's IDF modifier."""
    counts: dict[int, int] = {}
    for terms in docs:
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
    n = len(docs)
    return {t: math.log((n - c + 0.5) / (c + 0.5) + 1.0) for t, c in counts.items()}


def _rrf_scores(rankings: list[np.ndarray]) -> np.ndarray:
    fused = np.zeros(len(rankings[0]))
    for scores in rankings:
        order = np.argsort(-scores, kind="stable")
        fused[order] += 1.0 / (RRF_K + np.arange(1, len(order) + 1))
    return fused


def _rrf(rankings: list[np.ndarray]) -> list[int]:
    """Passage indices by reciprocal rank fusion of several score lists, best first."""
    return [int(i) for i in np.argsort(-_rrf_scores(rankings), kind="stable")]


def _snippet(text: str, width: int = 90) -> str:
    first = " ".join(text.split("\n\n", 1)[0].split())
    return first if len(first) <= width else first[: width - 3] + "..."
