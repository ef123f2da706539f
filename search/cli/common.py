"""Helpers shared by subcommands: loading a program from a file or a built-in name, errors, Ctrl-C."""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
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


STOP_GRACE_S = 5.0  # the loop's own checkpoint-and-return; then the work in flight is dropped
_STOPS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def graceful_stop(what: str, resume: str | None = None,
                  grace_s: float = STOP_GRACE_S) -> Iterator[Callable[[], bool]]:
    """Within the block, the first Ctrl-C (SIGINT) or SIGTERM raises a flag, which the long loop
    polls to checkpoint and return; a second one aborts at once.

    Why a watchdog thread: a Python signal handler only runs when the main thread is between
    bytecodes, and an evaluation in flight (one jitted XLA call on the local backend, the funnel's
    x10 runs, the replay's final comparison) can hold it for minutes. The OS writes every signal
    to a wakeup pipe the moment it arrives; the watchdog reads it, says so, and if the block has not
    ended ``grace_s`` after the first stop (or at a second one) exits the process (status 130)
    dropping the evaluation in flight: everything finished is already fsynced in the run's logs,
    which ``resume`` continues from, as after a kill. ``resume`` is the command it prints.

    A process started in the background by a non-interactive shell ignores SIGINT; the handler is
    installed anyway, so ``kill -INT`` stops it as Ctrl-C would."""
    flag = {"stop": False}

    def handler(signum, frame):
        flag["stop"] = True

    r, w = os.pipe()
    os.set_blocking(w, False)
    watchdog = threading.Thread(target=_watch, args=(r, flag, what, resume, grace_s), daemon=True,
                                name="graceful-stop")
    watchdog.start()  # before the handlers: it must not block the signals it waits for
    old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    old = {sig: signal.signal(sig, handler) for sig in _STOPS}
    try:
        yield lambda: flag["stop"]
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        signal.set_wakeup_fd(old_fd)
        os.write(w, b"\0")  # not a signal number: the watchdog's cue to end
        watchdog.join()
        os.close(r)
        os.close(w)


def _watch(r: int, flag: dict, what: str, resume: str | None, grace_s: float) -> None:
    """The watchdog of ``graceful_stop``: signal numbers arrive as bytes on ``r``; 0 ends it."""
    deadline = None
    hint = f" Continue with: {resume}" if resume else ""
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([r], [], [], wait)[0]:
            _exit(f"stopping: {what} did not stop within {grace_s:g} s; dropping the evaluation in flight "
                  f"(everything finished is in the logs).{hint}")
        for signum in os.read(r, 64):
            if signum == 0:
                return
            if signum not in _STOPS:
                continue
            if deadline is not None:
                _exit(f"aborted: dropping the evaluation in flight (everything finished is in the logs).{hint}")
            flag["stop"] = True
            deadline = time.monotonic() + grace_s
            _say(f"\nstopping: checkpointing {what} (Ctrl-C again to abort now)")


def _say(message: str) -> None:
    try:
        os.write(2, (message + "\n").encode())
    except OSError:
        pass


def _exit(message: str) -> None:
    """Leave now from the watchdog thread: the main thread is stuck in native code."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    _say(message)
    os._exit(130)
