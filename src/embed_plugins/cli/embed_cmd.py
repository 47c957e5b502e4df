"""``embed-plugins embed``: a corpus file (or stdin) to vectors on disk, resumable.

Rows are read in parts of ``--checkpoint-rows``; each part is one engine call (so its
batches, and therefore its vectors, are the same whether the run was resumed or not),
written to the work folder and recorded in the manifest (:mod:`.checkpoint`).  An
interrupted run (Ctrl-C, SIGTERM, a kill) re-run with the same arguments skips the
recorded parts and goes on; the output appears, complete, only at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import chain, islice
from pathlib import Path
from typing import Any

from ..engine.progress import Progress, forward_to
from . import readers, writers
from .checkpoint import Checkpoint, Part, rows_digest
from .errors import INTERRUPTED, TERMINATED, CliError, Terminated
from .loading import load_model

EMBED_FAMILIES = ("dense", "sparse", "late_interaction")
DEFAULT_MODEL = "BAAI/bge-small-en-v1.5"
DEFAULT_CHECKPOINT_ROWS = 4096


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "embed",
        help="embed a corpus file into Parquet, .npy or JSONL (resumable)",
        description=(
            "Embed the passages of a JSONL, CSV/TSV, Parquet or plain-text file (or stdin: "
            "-) and write ids and vectors. Interrupted, the same command resumes where it "
            "stopped; the output file appears only when complete."
        ),
    )
    p.add_argument("input", help="input file, or - for stdin")
    p.add_argument("-o", "--output", required=True, help="output: .parquet, .npy or .jsonl")
    add_model_options(p, DEFAULT_MODEL, ("dense", "sparse", "late", "colbert"))
    p.add_argument("--input-format", choices=readers.FORMATS, help="default: from the suffix")
    p.add_argument("--format", choices=writers.FORMATS, help="default: from the suffix")
    p.add_argument("--text-field", help="JSONL key / column of the text (default: text)")
    p.add_argument("--id-field", help="JSONL key / column of the id (default: row number)")
    task = p.add_mutually_exclusive_group()
    task.add_argument("--query", action="store_true", help="apply the model's query prefix")
    task.add_argument("--passage", action="store_true", help="apply the passage prefix")
    p.add_argument(
        "--checkpoint-rows",
        type=positive,
        default=DEFAULT_CHECKPOINT_ROWS,
        metavar="N",
        help=f"rows per checkpointed part ({DEFAULT_CHECKPOINT_ROWS})",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the output, start over")
    p.set_defaults(run=run)


def add_model_options(p: argparse.ArgumentParser, default: str, kinds: tuple[str, ...]) -> None:
    p.add_argument("-m", "--model", help=f"model name (default: {default})")
    p.add_argument("--model-path", help="a local model folder instead of a name")
    p.add_argument("--kind", choices=kinds, help="model family (for --model-path)")
    p.add_argument("--batch-size", type=positive, default=None, help="texts per ONNX batch")
    p.add_argument("--parallel", type=non_negative, help="worker processes (0: one per core)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--threads", type=positive, help="ONNX Runtime threads per session")
    p.add_argument("--max-length", type=positive, help="truncate texts to this many tokens")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("--progress", action="store_true", help="a progress bar even if not a TTY")


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


def non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def show_bar(args: argparse.Namespace) -> bool:
    return bool(args.progress or (not args.quiet and sys.stderr.isatty()))


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """Constructor options from the command line (``None``: the model's default)."""
    return {
        "device": args.device,
        "threads": args.threads,
        "max_length": args.max_length,
        # With workers, they load the model; this process needs none.
        "lazy_load": True if args.parallel is not None else None,
    }


def run(args: argparse.Namespace) -> int:
    source = readers.open_source(args.input, args.input_format, args.text_field, args.id_field)
    out = Path(args.output)
    fmt = writers.output_format(out, args.format)
    model, family = load_model(
        args.model,
        args.model_path,
        args.kind,
        EMBED_FAMILIES,
        DEFAULT_MODEL,
        **engine_options(args),
    )
    writers.check_format(fmt, family)
    rows = readers.read_rows(source)
    first = list(islice(rows, 1))  # a missing field or bad header fails here, before any file
    rows = chain(first, rows)
    task = "query" if args.query else "passage" if args.passage else "document"
    settings = {
        "model": model.model_name,
        "model_path": str(Path(args.model_path).resolve()) if args.model_path else None,
        "family": family,
        "task": task,
        "max_length": args.max_length,
        "input_format": source.format,
        "text_field": source.text_field,
        "id_field": source.id_field,
        "format": fmt,
        "rows_per_part": args.checkpoint_rows,
    }
    checkpoint = Checkpoint.open(
        out,
        settings,
        writers.final_files(out, fmt),
        overwrite=args.overwrite,
        part_exists=lambda stem: all(p.is_file() for p in writers.part_files(stem, fmt)),
    )
    dim = None if family == "sparse" else int(model.embedding_size)
    method = {"query": model.query_embed, "passage": model.passage_embed}.get(task, model.embed)
    options = {"parallel": args.parallel}
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    started = time.monotonic()
    checkpoint.check_input(rows)
    resumed = checkpoint.rows_done
    bar = show_bar(args)
    progress = Progress(
        readers.count_rows(source) if bar else None,
        bar=bar,
        desc="embed",
        unit="text",
        initial=resumed,
    )
    progress.start()
    try:
        while chunk := list(islice(rows, checkpoint.rows_per_part)):
            ids = [ident for ident, _ in chunk]
            texts = [text for _, text in chunk]
            vectors = list(method(texts, show_progress=forward_to(progress), **options))
            index = len(checkpoint.parts)
            writers.write_part(
                checkpoint.stem(index), fmt, family, dim, source.id_field is not None, ids, vectors
            )
            checkpoint.add(Part(index, len(chunk), rows_digest(chunk)))
    except (KeyboardInterrupt, Terminated) as exc:
        code = TERMINATED if isinstance(exc, Terminated) else INTERRUPTED
        if not checkpoint.parts:
            checkpoint.finish()
            raise CliError("interrupted before the first checkpoint: nothing saved", code) from None
        raise CliError(
            f"interrupted: {checkpoint.rows_done} rows are saved in {checkpoint.folder}; run "
            "the same command again to resume",
            code,
        ) from None
    except BaseException:
        if not checkpoint.parts:
            checkpoint.finish()  # nothing worth resuming
        raise
    finally:
        progress.close()
        model.close()
    stems = [checkpoint.stem(p.index) for p in checkpoint.parts]
    writers.assemble(stems, fmt, family, dim, source.id_field is not None, out)
    checkpoint.finish()
    if not args.quiet:
        total = checkpoint.rows_done
        shape = "sparse" if dim is None else f"{family.replace('_', '-')}, {dim} dims"
        again = f", {resumed} of them from an earlier run" if resumed else ""
        print(
            f"embed-plugins: {total} rows ({shape}) -> {out}{again} "
            f"[{time.monotonic() - started:.1f} s]",
            file=sys.stderr,
        )
    return 0
