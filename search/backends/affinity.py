"""Pin an evaluator process to a core of its own.

XLA's CPU thread pool spins while it waits for work. On a 2-core machine, two single-threaded
evaluator processes left free together did no more than one pinned process; pinned to distinct
cores, two did 2.0x one (``docs/search.md``, "Speed"). A process
claims a core by holding an exclusive ``flock`` on a per-core lock file, so actors of one node
(started by any driver) pick distinct cores, and a dead process frees its core with its file
descriptors. Linux only; elsewhere nothing is pinned.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: nothing is pinned
    fcntl = None  # type: ignore[assignment]

_held: list[int] = []  # lock file descriptors kept open for the life of the process


def lock_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"optsearch-cores-{os.getuid()}"


def available_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def claim_core(cores: list[int] | None = None, directory: Path | None = None) -> int | None:
    """Claim the first free core of ``cores`` (default: this process's allowed cores); None if
    every core is held by another process (or on a platform without affinity)."""
    if fcntl is None:
        return None
    cores = available_cores() if cores is None else list(cores)
    directory = lock_dir() if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for core in cores:
        fd = os.open(directory / f"core{core}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held.append(fd)
        return core
    return None


def release_all() -> None:
    while _held:
        os.close(_held.pop())


def pin_process(core: int) -> None:
    """Restrict every thread of this process (and the threads it starts later) to ``core``."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), {core})
        except OSError:  # the thread ended meanwhile
            pass


def pin_to_free_core(wait_s: float = 5.0) -> int | None:
    """Claim a free core and pin this process to it: the core, or None (nothing pinned).

    Waits up to ``wait_s`` for a core to free up (a replaced actor's process may still be
    exiting); with more evaluator processes than cores the extra ones run unpinned."""
    if not hasattr(os, "sched_setaffinity") or not Path("/proc/self/task").is_dir():
        return None
    deadline = time.monotonic() + wait_s
    while (core := claim_core()) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if core is not None:
        pin_process(core)
    return core


def xla_started() -> bool:
    """Whether this process already built JAX's CPU backend (and with it XLA's thread pool)."""
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return bool(xla_bridge.backends_are_initialized())


def pin_before_xla() -> int | None:
    """Pin this process to a free core, but only while XLA has not started: its thread pool is
    sized by the cores allowed when it starts, and a pool of two confined to one core ran slower
    than no pinning at all (5.9 against 8.3 evaluations/s)."""
    if xla_started():
        warnings.warn("run.pin_core: XLA already started in this process; not pinning", stacklevel=2)
        return None
    return pin_to_free_core(wait_s=0.0)
