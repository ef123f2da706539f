"""Helpers shared by subcommands: loading a program from a file or a built-in name, errors, Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dsl import ProgramError, library, parse_file
from dsl.program import Program


def load_program(spec: str) -> tuple[str, Program]:
    """``spec`` is a built-in name (``lion``) or a path to a ``.train`` file; returns (label, program).

    Every bad spec is a ``ProgramError`` (the commands print it and exit 2): a missing file, a
    path the system refuses, and a file that is not a regular one or too large
    (``dsl.parse.read_source`` never reads more than the size limit, nor waits on a pipe).
    """
    path = Path(spec)
    exists = os.path.lexists(path)  # False, not an exception, for a NUL byte or a name too long
    if spec in library.NAMES and not exists:
        return spec, library.get(spec)
    if not exists:
        raise ProgramError(
            f"{spec}: no such file, and not a built-in optimizer ({', '.join(library.NAMES)})")
    return path.stem, parse_file(path)


def fail(message: str, code: int = 2) -> int:
    print(f"optsearch: error: {message}", file=sys.stderr)
    return code


@contextmanager
def graceful_stop(what: str) -> Iterator[Callable[[], bool]]:
    """Within the block, the first Ctrl-C (SIGINT) or SIGTERM only raises a flag, which the long
    loop polls to checkpoint and return; a second Ctrl-C aborts at once (KeyboardInterrupt).

    A process started in the background by a non-interactive shell ignores SIGINT; the handler is
    installed anyway, so ``kill -INT`` stops it as Ctrl-C would."""
    flag = {"stop": False}

    def handler(signum, frame):
        if flag["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["stop"] = True
        print(f"\nstopping: checkpointing {what} (Ctrl-C again to abort now)", file=sys.stderr, flush=True)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: flag["stop"]
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
