"""AdamW baselines (optax, bias-corrected), computed once per task/scale/seed/settings, cached on disk.

The cache is a directory of small JSON files keyed by a digest of the task's full settings, so a
changed setting never reads a stale baseline. Default directory: ``$OPTSEARCH_CACHE/baselines``
or ``~/.cache/optsearch/baselines``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from proxy_tasks import training
from proxy_tasks.task import Task

_RUNS: dict[str, Callable[[int, float], np.ndarray]] = {}


def default_cache_dir() -> Path:
    root = os.environ.get("OPTSEARCH_CACHE")
    return Path(root) / "baselines" if root else Path.home() / ".cache" / "optsearch" / "baselines"


def _path(cache_dir: Path, task: Task, seed: int, which: str, lr_scale: float = 1.0) -> Path:
    digest = hashlib.blake2b(task.key.encode(), digest_size=8).hexdigest()
    lr = "" if lr_scale == 1.0 else f"-lr{lr_scale:g}"
    return cache_dir / f"{which}-{task.name}-{task.scale}-seed{seed}{lr}-{digest}.json"


def _read(path: Path, task: Task) -> np.ndarray | None:
    """A cached curve, or None to recompute it: missing, torn by a killed writer, or damaged in any
    way (not JSON, not an object, a curve of the wrong shape): a cache only saves time."""
    try:
        values = np.asarray(json.loads(path.read_bytes())["curve"], np.float64)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return values if values.shape == (task.points + 1,) else None


def curve(task: Task, seed: int, cache_dir: str | os.PathLike | None = None, which: str = "adamw",
          lr_scale: float = 1.0) -> np.ndarray:
    """The validation curve of the ``which`` baseline ("adamw" or "lion"), from cache or computed.

    ``lr_scale`` multiplies the baseline's learning rate (the evaluator's learning-rate grid).
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = _path(cache, task, seed, which, lr_scale)
    cached = _read(path, task)
    if cached is not None:
        return cached
    key = f"{which}:{task.key}"
    if key not in _RUNS:  # one compiled loop per baseline and task: seeds and grid values are arguments
        _RUNS[key] = training.make_baseline_run(task, which)
    values = np.asarray(_RUNS[key](seed, lr_scale), np.float64)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"task": task.name, "scale": task.scale, "seed": seed, "which": which,
                               "lr_scale": lr_scale,
                               "settings": dict(task.settings), "curve": values.tolist()}))
    os.replace(tmp, path)
    return values
