"""What the three examples share: the corpus, the questions, the options and the printout.

Nothing here runs a model; each example builds its own models through its own
framework.  The printout is one line per passage, so the examples' tests (and
people) can read it::

    Q: How can I cache the results of an expensive function call?
      1. rerank=+7.1234  py-22  functools.lru_cache: Least-recently-used cache decorator.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

CORPUS = Path(__file__).resolve().parent / "data" / "corpus.jsonl"

DENSE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SPARSE_MODEL = "Qdrant/bm25"
RERANKER_MODEL = "Xenova/ms-marco-MiniLM-L-6-v2"

#: Questions with one clear answer each in the corpus (its title in the comment).
DEFAULT_QUESTIONS = (
    "How do I stop waiting for a coroutine after a timeout?",  # asyncio.wait_for
    "How can I cache the results of an expensive function call?",  # functools.lru_cache
    "How do I check whether two floating point numbers are approximately equal?",  # math.isclose
    "How do I find out how much free space is left on a disk?",  # shutil.disk_usage
)

MODELS_DIR_ENV = "EMBED_PLUGINS_MODELS_DIR"


@dataclass(frozen=True)
class Passage:
    """One corpus entry: ``id``, ``title`` (the documented Python name), ``text``, ``source``."""

    id: str
    title: str
    text: str
    source: str


@dataclass(frozen=True)
class Hit:
    """A retrieved passage and its score; ``kind`` names the score (cosine, hybrid, rerank)."""

    passage: Passage
    score: float
    kind: str


def load_corpus(path: Path = CORPUS) -> list[Passage]:
    """The bundled corpus: Python standard library docstrings (see data/README.md)."""
    with path.open(encoding="utf-8") as f:
        return [Passage(**json.loads(line)) for line in f if line.strip()]


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options every example takes."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--questions",
        nargs="+",
        metavar="Q",
        default=list(DEFAULT_QUESTIONS),
        help="questions to ask (default: four questions about the bundled corpus)",
    )
    parser.add_argument(
        "--top-k", type=int, default=3, metavar="K", help="passages to print per question (3)"
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=10,
        metavar="N",
        help="passages retrieved per question before reranking (10)",
    )
    parser.add_argument(
        "--reranker",
        default=RERANKER_MODEL,
        metavar="NAME",
        help=f"cross-encoder model name, resolved like every model ({RERANKER_MODEL})",
    )
    parser.add_argument(
        "--reranker-path",
        metavar="PATH",
        help="a local cross-encoder folder (ONNX + tokenizer); overrides --reranker",
    )
    args = parser.parse_args(argv)
    if args.top_k < 1 or args.candidates < 1:
        parser.error("--top-k and --candidates must be positive")
    args.candidates = max(args.candidates, args.top_k)
    return args


def say_no_reranker(args: argparse.Namespace, error: BaseException, unreranked: str) -> None:
    """Say in one line that the reranker's files cannot be found, so results stay unreranked.

    Only for a known model whose files are nowhere (the resolver's "could not find the
    files" error); a wrong ``--reranker-path`` or an unknown ``--reranker`` name is a
    mistake, reported with exit status 2.
    """
    if args.reranker_path or "could not find the files" not in str(error):
        option = "--reranker-path" if args.reranker_path else "--reranker"
        print(f"error: {option}: {error}", file=sys.stderr)
        raise SystemExit(2)
    print(
        f"Reranker {args.reranker} not available (no local copy in ${MODELS_DIR_ENV} or the "
        f"Hugging Face cache, and no Hub access): showing {unreranked} results unreranked."
    )


def exit_no_dense_model(error: BaseException) -> NoReturn:
    """Say exactly what to do when the dense model cannot be found, and exit with status 2."""
    print(
        f"error: the embedding model {DENSE_MODEL} could not be loaded.\n"
        f"{error}\n\n"
        "To run this example, do one of:\n"
        f"  - point {MODELS_DIR_ENV} at a folder holding {DENSE_MODEL}/\n"
        "    (one sub-folder per Hub repository id), for example\n"
        f"      {MODELS_DIR_ENV}=../shared/models python {sys.argv[0]}\n"
        "  - or allow downloads from the Hugging Face Hub: unset HF_HUB_OFFLINE and make\n"
        "    huggingface.co (or $HF_ENDPOINT) reachable; the files are cached for next time.",
        file=sys.stderr,
    )
    raise SystemExit(2)


def snippet(text: str, width: int = 90) -> str:
    """The passage's first line, cut to ``width`` characters."""
    first = " ".join(text.split("\n\n", 1)[0].split())
    return first if len(first) <= width else first[: width - 3] + "..."


def print_hits(question: str, hits: Sequence[Hit]) -> None:
    print(f"\nQ: {question}")
    for rank, hit in enumerate(hits, start=1):
        p = hit.passage
        print(f"  {rank}. {hit.kind}={hit.score:+.4f}  {p.id}  {p.title}: {snippet(p.text)}")
