"""Memory a task needs, estimated from its settings before anything is built.

Why: a size setting such as ``mlp: {hidden: 1e8}`` is a valid integer, but building the task
(or the first batched run) would exhaust the machine's memory long after the config was accepted.
``check`` estimates the bytes of a task at one scale and of the runs the evaluator batches (the
register file of every run: ``params x slots``, plus gradients and activations), and refuses with
the config key that makes it too large, the estimate and the limit. Plain arithmetic: no JAX.

The estimate is a lower bound of what XLA allocates (it leaves out temporaries), so it refuses
only what cannot fit; the limit is the machine's available memory (``MemAvailable``) on the
machine validating the config.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

FLOAT = 4             # bytes: every array is float32 or int32
HARD_CAP_FACTOR = 1000  # a task size setting may be at most this many times its largest default
STATEMENT_BYTES = 512   # a population member's program, per statement (Python objects, generous)


class SizeError(ValueError):
    """Too large; ``key`` is the config key to blame (``evaluator.overrides.mlp.hidden``)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Footprint:
    """Element counts (not bytes): one model's parameters, the data held once per task, and the
    activations of one training step of one run."""

    params: int
    data: int
    activations: int


@dataclass(frozen=True)
class Runs:
    """What multiplies a task's per-run memory in one evaluator call: runs vmapped together
    (programs x task seeds x lr grid, at most ``batch_size``) and register slots per run."""

    programs: int
    seeds: int
    lr_grid: int
    batch_size: int
    slots: int

    @property
    def width(self) -> int:
        return min(self.batch_size, self.programs * self.seeds * self.lr_grid)


def _block(d: int) -> int:
    """Parameters of one transformer block (``proxy_tasks/tasks/_transformer.py``)."""
    return 12 * d * d + 13 * d


def _quadratic(s: Mapping[str, Any]) -> Footprint:
    d, b, v = int(s["dim"]), int(s["batch_size"]), int(s["val_size"])
    return Footprint(d, v * (d + 1) + 2 * d, 3 * b * (d + 1))


def _logreg(s: Mapping[str, Any]) -> Footprint:
    d, b, v = int(s["dim"]), int(s["batch_size"]), int(s["val_size"])
    return Footprint(d + 1, v * (d + 1) + 2 * d, 3 * b * (d + 1))


def _mlp(s: Mapping[str, Any]) -> Footprint:
    d, h, c = int(s["in_dim"]), int(s["hidden"]), int(s["classes"])
    b, v = int(s["batch_size"]), int(s["val_size"])
    return Footprint(d * h + h + h * c + c, 2 * d * h + 2 * h * c + v * (d + 1), 3 * b * (d + 2 * h + 2 * c))


def _char_lm(s: Mapping[str, Any]) -> Footprint:
    vocab = 128
    d, n, heads, t = int(s["d_model"]), int(s["layers"]), int(s["heads"]), int(s["context"])
    b = int(s["batch_size"])
    params = 2 * vocab * d + t * d + n * _block(d) + 2 * d + vocab
    data = int(s["text_chars"]) + int(s["val_windows"]) * (t + 1)
    return Footprint(params, data, 3 * b * t * (n * (16 * d + heads * t) + 2 * vocab))


def _vit(s: Mapping[str, Any]) -> Footprint:
    size, patch, d = int(s["image"]), int(s["patch"]), int(s["d_model"])
    n, heads, b = int(s["layers"]), int(s["heads"]), int(s["batch_size"])
    tokens = (size // max(patch, 1)) ** 2
    params = patch * patch * d + d + tokens * d + n * _block(d) + 2 * d + 7 * d + 6
    data = int(s["val_size"]) * (size * size + 1)
    return Footprint(params, data, 3 * b * (size * size + tokens * n * (16 * d + heads * tokens)))


FOOTPRINTS: dict[str, Callable[[Mapping[str, Any]], Footprint]] = {
    "quadratic": _quadratic, "logreg": _logreg, "mlp": _mlp, "char_lm": _char_lm, "vit": _vit}
"""Task name -> its footprint (kept beside the task registry; a new task adds one)."""


def task_bytes(name: str, settings: Mapping[str, Any], runs: Runs) -> int:
    """Bytes of task ``name`` with ``settings`` and one evaluator call's batched runs: the data once,
    per run the register file (``slots`` x params), parameters, gradients and activations."""
    f = FOOTPRINTS[name](settings)
    per_run = f.params * (runs.slots + 2) + f.activations
    return FLOAT * (f.data + runs.width * per_run)


def available_bytes() -> int:
    """Memory available to a new allocation now (``MemAvailable``), else the physical total."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # pragma: no cover - no way to tell: do not refuse
        return 2**62


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def hard_cap(defaults: list[Mapping[str, Any]], key: str) -> int | None:
    """The most a task size setting may be: ``HARD_CAP_FACTOR`` times its largest default."""
    values = [d[key] for d in defaults if isinstance(d.get(key), int) and not isinstance(d.get(key), bool)]
    return HARD_CAP_FACTOR * max(values) if values and not key.endswith("seed") and key != "steps" else None


def check_task(name: str, scale: str, settings: Mapping[str, Any], defaults: Mapping[str, Any],
               given: Mapping[str, str], runs: Runs, run_keys: Mapping[str, str], limit: int) -> int:
    """Refuse (``SizeError``) task ``name`` at ``scale`` if its estimate exceeds ``limit`` bytes.

    ``given``: setting -> the config key that set it; ``run_keys``: ``programs``, ``seeds``,
    ``lr_grid`` -> their config keys. The key blamed is the one whose reset (a setting to its
    default, a multiplier to 1) shrinks the estimate most. Returns the estimate."""
    need = task_bytes(name, settings, runs)
    if need <= limit:
        return need
    options: dict[str, int] = {}
    for k, key in given.items():
        if k in defaults:
            options[key] = task_bytes(name, {**settings, k: defaults[k]}, runs)
    for field, key in run_keys.items():
        options[key] = task_bytes(name, settings, Runs(**{**runs.__dict__, field: 1}))
    key = min(options, key=options.__getitem__) if options else f"evaluator.tasks.{name}"
    f = FOOTPRINTS[name](settings)
    raise SizeError(key, f"task {name} at scale {scale} needs about {human(need)} (params {f.params:,} x "
                         f"({runs.slots} registers + 2) x {runs.width} batched runs, data {human(FLOAT * f.data)}), "
                         f"more than the {human(limit)} of memory available")


def check_population(population: int, max_length: int, limit: int) -> int:
    """Refuse a population whose programs alone would not fit in ``limit`` bytes."""
    need = population * max_length * STATEMENT_BYTES
    if need > limit:
        raise SizeError("search.population", f"{population:,} programs of up to {max_length} statements need about "
                                             f"{human(need)}, more than the {human(limit)} of memory available")
    return need

