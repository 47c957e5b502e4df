"""``embed-plugins``: the command-line tool.

::

    embed-plugins models list | info NAME | download NAME... | path NAME
    embed-plugins embed corpus.jsonl -o vectors.parquet -m BAAI/bge-small-en-v1.5 --passage
    embed-plugins rerank candidates.jsonl --query "..." --top-k 5
    embed-plugins demo

Every failure is one line on stderr and an exit code from :mod:`.errors` (bad input 3,
unknown or missing model 4, output problem 5, interrupted 130/143); ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ..errors import EmbedPluginsError
from . import demo, embed_cmd, models_cmd, rerank_cmd
from .errors import FAILED, INTERRUPTED, TERMINATED, CliError, Terminated
from .loading import as_cli_error

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="embed-plugins",
        description="Local retrieval models on ONNX Runtime: embed corpora, rerank, manage models.",
    )
    parser.add_argument("--version", action="version", version=f"embed-plugins {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    models_cmd.add_parser(commands)
    embed_cmd.add_parser(commands)
    rerank_cmd.add_parser(commands)
    demo.add_parser(commands)
    _accept_debug_anywhere(commands)
    return parser


def _accept_debug_anywhere(commands: Any) -> None:
    """``--debug`` after the command too (``embed-plugins embed ... --debug``)."""
    for sub in commands.choices.values():
        sub.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        for action in sub._actions:  # nested commands: `models list --debug`
            if isinstance(action, argparse._SubParsersAction):
                _accept_debug_anywhere(action)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code (argparse exits 2 itself on a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_raises():
            code: int = args.run(args)
            return code
    except CliError as exc:
        return _fail(args, exc, str(exc), exc.code)
    except EmbedPluginsError as exc:
        error = as_cli_error(exc)
        return _fail(args, exc, str(error), error.code)
    except KeyboardInterrupt as exc:
        return _fail(args, exc, "interrupted", INTERRUPTED)
    except Terminated as exc:
        return _fail(args, exc, "terminated", TERMINATED)
    except BrokenPipeError:  # `embed-plugins models list | head`
        sys.stderr.close()
        return FAILED
    except Exception as exc:  # a bug, or an error no command foresaw: still one line
        return _fail(args, exc, f"{type(exc).__name__}: {exc}".splitlines()[0], FAILED)


def _fail(args: argparse.Namespace, exc: BaseException, message: str, code: int) -> int:
    if args.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"embed-plugins: error: {message}", file=sys.stderr)
    return code


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in the main thread, so clean-up runs and the
    work done so far is kept, as with Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> Any:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
