"""The one start-up failure with a known cause: a script with no ``__main__`` guard.

Workers are started with ``spawn`` (or ``forkserver``), which imports the main
script again in every new process before running the worker.  A script that
calls ``embed(..., parallel=N)`` at its top level, outside an
``if __name__ == "__main__":`` block, therefore calls it again inside each
worker while that worker is still importing the script, and the worker would
try to start a pool of its own (multiprocessing refuses, with a long
``RuntimeError`` about the "bootstrapping phase").

Here the worker notices that case before multiprocessing does
(:func:`refuse_while_bootstrapping`), prints one short line and exits at once
with :data:`MAIN_GUARD_EXIT_CODE`; the parent recognises that exit code
(:func:`start_failure`) and raises a :class:`WorkerError` that names the missing
guard and shows the fix.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from multiprocessing.process import BaseProcess

from ..errors import WorkerError

#: Exit code of a worker that found itself re-running the script's pool start-up
#: (EX_CONFIG from sysexits.h: a usage error, not a crash).
MAIN_GUARD_EXIT_CODE = 78


def bootstrapping() -> bool:
    """Whether this process is a spawned worker still importing the main script.

    multiprocessing sets ``_inheriting`` on the current process for exactly that
    phase (it is what its own "bootstrapping phase" check reads).
    """
    return bool(getattr(mp.current_process(), "_inheriting", False))


def refuse_while_bootstrapping() -> None:
    """In a worker importing the main script: say why, and exit with the agreed code."""
    if not bootstrapping():
        return
    print(
        f"{mp.current_process().name} stopped: the main script started a worker pool "
        'while the worker was importing it (no `if __name__ == "__main__":` guard); '
        "see the error in the parent process",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    # Not SystemExit: a forkserver child turns any exception into exit code 1. This
    # process only ever ran the script's top level by mistake: nothing of it is kept.
    os._exit(MAIN_GUARD_EXIT_CODE)


def missing_guard_message(start_method: str) -> str:
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    where = f"the script {script}" if script else "the main script"
    return (
        f"the worker processes could not start: {where} has no "
        '`if __name__ == "__main__":` guard around its parallel= call. parallel= starts '
        "its workers with "
        f"{start_method!r}, which imports the main script again in every worker; without "
        "the guard each worker re-runs the script's top-level code, reaches the "
        "parallel= call again and stops. Fix: move the code that runs at start-up under "
        "the guard, for example\n\n"
        '    if __name__ == "__main__":\n'
        "        vectors = list(model.embed(texts, parallel=2))\n\n"
        "(or drop parallel= to run in this process)."
    )


def start_failure(
    worker_name: str, process: BaseProcess, how: str, start_method: str
) -> WorkerError:
    """The error for a worker that ended (``how``) before it was ready."""
    if process.exitcode == MAIN_GUARD_EXIT_CODE:
        return WorkerError(missing_guard_message(start_method))
    return WorkerError(f"{worker_name} {how} before it was ready")
