"""The registry of proxy tasks: name -> module with ``DEFAULTS[scale]`` and ``build(settings)``."""

from __future__ import annotations

import importlib
from typing import Any

from proxy_tasks.schedules import SCHEDULES
from proxy_tasks.task import COMMON_DEFAULTS, Task, scaled

SCALES: tuple[str, ...] = ("proxy", "x10", "x100")
TASKS: dict[str, str] = {
    "quadratic": "proxy_tasks.tasks.quadratic",
    "logreg": "proxy_tasks.tasks.logreg",
    "mlp": "proxy_tasks.tasks.mlp",
    "char_lm": "proxy_tasks.tasks.char_lm",
    "vit": "proxy_tasks.tasks.vit",
}
"""Task name -> module path (imported on first use)."""

_CACHE: dict[str, Task] = {}


def module(name: str):
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r} (choose from {', '.join(TASKS)})")
    return importlib.import_module(TASKS[name])


def settings(name: str, scale: str = "proxy", **overrides: Any) -> dict[str, Any]:
    """The full settings of ``name`` at ``scale`` with ``overrides`` applied (unknown keys: error)."""
    if scale not in SCALES:
        raise KeyError(f"unknown scale {scale!r} (choose from {', '.join(SCALES)})")
    mod = module(name)
    out = {**COMMON_DEFAULTS, **mod.DEFAULTS[scale]}
    unknown = set(overrides) - set(out)
    if unknown:
        raise KeyError(f"task {name}: unknown setting(s) {', '.join(sorted(unknown))}; "
                       f"known: {', '.join(sorted(out))}")
    out.update(overrides)
    if out["schedule"] not in SCHEDULES:
        raise ValueError(f"task {name}: unknown schedule {out['schedule']!r}")
    if int(out["steps"]) % int(out["points"]):
        raise ValueError(f"task {name}: steps ({out['steps']}) must be a multiple of points ({out['points']})")
    return out


def get_task(name: str, scale: str = "proxy", **overrides: Any) -> Task:
    """The task ``name`` at ``scale`` (built once per distinct settings, then reused)."""
    s = settings(name, scale, **overrides)
    probe = Task(name, scale, s, None)  # type: ignore[arg-type]
    if probe.key not in _CACHE:
        _CACHE[probe.key] = Task(name, scale, s, scaled(module(name).build(s), float(s["param_scale"])))
    return _CACHE[probe.key]
