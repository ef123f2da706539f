"""JAX's persistent compilation cache, on by default: each machine compiles a task's loop once.

Without it every process pays XLA's compilation again (``optsearch eval adamw``: minutes of
compiling for seconds of scoring), and so does every Ray worker. With it, the second process on
the machine, and every worker started after the first, loads the compiled loop from disk.

Where: ``$OPTSEARCH_COMPILE_CACHE`` if set (a directory, or ``off`` to switch the cache off),
else ``$OPTSEARCH_CACHE/xla``, else ``~/.cache/optsearch/xla``. Ray workers on the machine
inherit the environment, so they share the directory. The cache only saves time: a compiled
loop read back computes exactly what a fresh compilation would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import jax

OFF = ("off", "0", "false", "no", "none")
MAX_BYTES = 2 * 1024**3  # least recently used entries go beyond this (a full replay needs ~100 MB)
_enabled: Path | None = None


@dataclass
class Counts:
    """XLA compilations asked for in this process (``requests``, ``seconds`` spent in them, cache
    reads included), and how many of them the cache answered (``loaded``)."""

    requests: int = 0
    loaded: int = 0
    seconds: float = 0.0

    @property
    def compiled(self) -> int:
        """Compilations XLA really ran."""
        return self.requests - self.loaded


COUNTS = Counts()
_listening = False


def _on_event(event: str, **_kwargs) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        COUNTS.loaded += 1


def _on_duration(event: str, seconds: float, **_kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        COUNTS.requests += 1
        COUNTS.seconds += seconds


def count() -> Counts:
    """Start counting this process's compilations (idempotent); returns the live counts."""
    global _listening
    if not _listening:
        jax.monitoring.register_event_listener(_on_event)
        jax.monitoring.register_event_duration_secs_listener(_on_duration)
        _listening = True
    return COUNTS


def directory() -> Path | None:
    """The cache directory these settings give, None when the cache is switched off."""
    own = os.environ.get("OPTSEARCH_COMPILE_CACHE")
    if own is not None:
        return None if own.strip().lower() in OFF else Path(own).expanduser()
    root = os.environ.get("OPTSEARCH_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "optsearch") / "xla"


def enable() -> Path | None:
    """Point JAX at the cache directory (once per process; idempotent); returns it, or None when
    off. Every compilation is kept, however short: the proxy tasks' loops take 1-5 s each, and
    the small ones add up over tasks, buckets and scales."""
    global _enabled
    count()
    path = directory()
    if path is None or path == _enabled:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable cache costs time, never a run
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    _enabled = path
    return path
