"""Exit codes a script can rely on, and the one error type the commands raise.

Every failure ends in one line on stderr (``embed-plugins: error: ...``) and one of
these codes; a traceback is printed only with ``--debug``.
"""

from __future__ import annotations

#: Success.
OK = 0
#: Anything else that went wrong (inference failed, a worker died, a bug).
FAILED = 1
#: Bad command line (argparse's own code for a usage error).
USAGE = 2
#: The input cannot be read: no such file, malformed line, missing field, wrong type.
BAD_INPUT = 3
#: The model is unknown, or its files are not found (offline, not downloaded).
BAD_MODEL = 4
#: The output cannot be written, exists already, or belongs to a run with other settings.
BAD_OUTPUT = 5
#: Stopped by Ctrl-C (128 + SIGINT) or SIGTERM (128 + SIGTERM); the work done is kept.
INTERRUPTED = 130
TERMINATED = 143


class CliError(Exception):
    """A failure to report in one line, with its exit code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives (so ``finally`` blocks run)."""
