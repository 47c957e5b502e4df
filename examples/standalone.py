"""Retrieval with the engine alone, no framework: embed, search by cosine, rerank.

The bundled corpus (Python standard library docstrings, ``data/corpus.jsonl``)
is embedded once with all-MiniLM-L6-v2; each question is embedded with the
model's query method, the passages are scored by cosine similarity, and the
best ``--candidates`` are reranked by the cross-encoder ms-marco-MiniLM-L-6-v2.
Without the cross-encoder's files (no local copy, no Hub access) the example
says so in one line and prints the cosine ranking.

Run it from the repository root::

    python examples/standalone.py
    python examples/standalone.py --questions "How do I run a shell command?" --top-k 5
    python examples/standalone.py --reranker-path /models/my-cross-encoder

Models resolve as everywhere in embed_plugins: ``$EMBED_PLUGINS_MODELS_DIR``,
then the Hugging Face cache, then a download from the Hub.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
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

from embed_plugins import ModelNotFoundError, TextCrossEncoder, TextEmbedding


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1, so a dot product is a cosine."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    scaled: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return scaled


def cosine_search(
    model: TextEmbedding, matrix: np.ndarray, passages: Sequence[Passage], question: str, k: int
) -> list[Hit]:
    query = unit_rows(next(iter(model.query_embed(question))))
    scores = matrix @ query
    best = np.argsort(-scores, kind="stable")[:k]
    return [Hit(passages[i], float(scores[i]), "cosine") for i in best]


def rerank(reranker: TextCrossEncoder, question: str, hits: Sequence[Hit], k: int) -> list[Hit]:
    ranked = reranker.rank(question, [h.passage.text for h in hits], top_k=k)
    return [Hit(hits[r.index].passage, r.score, "rerank") for r in ranked]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__ or "", argv)
    passages = load_corpus()
    try:
        model = TextEmbedding(DENSE_MODEL)
    except ModelNotFoundError as exc:
        exit_no_dense_model(exc)
    try:
        reranker: TextCrossEncoder | None = (
            TextCrossEncoder(model_path=args.reranker_path)
            if args.reranker_path
            else TextCrossEncoder(args.reranker)
        )
    except ModelNotFoundError as exc:
        say_no_reranker(args, exc, "cosine")
        reranker = None

    matrix = unit_rows(np.stack(list(model.passage_embed([p.text for p in passages]))))
    print(
        f"Embedded {len(passages)} passages with {DENSE_MODEL}"
        + (f"; reranking with {reranker.model_name}." if reranker else ".")
    )
    for question in args.questions:
        hits = cosine_search(model, matrix, passages, question, args.candidates)
        hits = rerank(reranker, question, hits, args.top_k) if reranker else hits[: args.top_k]
        print_hits(question, hits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
