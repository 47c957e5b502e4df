"""``embed-plugins rerank``: score a candidates file against one query, print the best.

Output: one JSON object a line, best first: ``{"rank", "id", "score", "text"}`` (ids as
in ``embed``: ``--id-field``, else the row number).  A cross-encoder by default; a
ColBERT model (``--kind colbert`` or a late-interaction name) ranks by MaxSim.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from . import readers
from .embed_cmd import add_model_options, engine_options, positive, show_bar
from .errors import BAD_OUTPUT, CliError
from .loading import load_model

RERANK_FAMILIES = ("rerank", "late_interaction")
DEFAULT_MODEL = "Xenova/ms-marco-MiniLM-L-6-v2"


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "rerank",
        help="rank a candidates file against a query (top-k as JSONL)",
        description="Score every candidate against the query; print the top-k, best first.",
    )
    p.add_argument("input", help="candidates: JSONL, CSV/TSV, Parquet or text; - for stdin")
    p.add_argument("--query", required=True, help="the query")
    p.add_argument("-k", "--top-k", type=positive, default=10, help="how many to keep (10)")
    p.add_argument("-o", "--output", help="write the JSONL here instead of stdout")
    p.add_argument("--input-format", choices=readers.FORMATS, help="default: from the suffix")
    p.add_argument("--text-field", help="JSONL key / column of the text (default: text)")
    p.add_argument("--id-field", help="JSONL key / column of the id (default: row number)")
    add_model_options(p, DEFAULT_MODEL, ("rerank", "cross-encoder", "colbert", "late"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = readers.open_source(args.input, args.input_format, args.text_field, args.id_field)
    rows = list(readers.read_rows(source))
    model, _ = load_model(
        args.model,
        args.model_path,
        args.kind,
        RERANK_FAMILIES,
        DEFAULT_MODEL,
        **engine_options(args),
    )
    options: dict[str, Any] = {"parallel": args.parallel, "show_progress": show_bar(args)}
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    try:
        best = model.rank(args.query, [text for _, text in rows], top_k=args.top_k, **options)
    finally:
        model.close()
    lines = [
        json.dumps(
            {
                "rank": rank,
                "id": rows[r.index][0],
                "score": float(r.score),
                "text": rows[r.index][1],
            }
        )
        for rank, r in enumerate(best, start=1)
    ]
    if args.output is None:
        _write(sys.stdout, lines)
        return 0
    try:
        with Path(args.output).open("w", encoding="utf-8") as f:
            _write(f, lines)
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror}", BAD_OUTPUT) from None
    return 0


def _write(stream: IO[str], lines: list[str]) -> None:
    for line in lines:
        stream.write(line + "\n")
    stream.flush()
