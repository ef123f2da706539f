"""The registry of proxy tasks: name -> module with ``DEFAULTS[scale]`` and ``build(settings)``.

Importing this module does not import JAX: the names, scales and common settings are plain data,
and a task's module (and ``proxy_tasks.task``, both JAX) is imported when the task is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from proxy_tasks.schedules import SCHEDULES

if TYPE_CHECKING:  # pragma: no cover
    from proxy_tasks.task import Task

SCALES: tuple[str, ...] = ("proxy", "x10", "x100")
TASKS: dict[str, str] = {
    "quadratic": "proxy_tasks.tasks.quadratic",
    "logreg": "proxy_tasks.tasks.logreg",
    "mlp": "proxy_tasks.tasks.mlp",
    "char_lm": "proxy_tasks.tasks.char_lm",
    "vit": "proxy_tasks.tasks.vit",
}
"""Task name -> module path (imported on first use)."""
DEFAULT_TASKS: dict[str, float] = {"quadratic": 0.25, "logreg": 0.5, "mlp": 1.0, "char_lm": 1.0, "vit": 1.0}
"""Name -> weight: the evaluator's default tasks. The LM and ViT carry the signal for sign-momentum
(see docs/proxy_tasks.md)."""

COMMON_DEFAULTS: dict[str, Any] = {
    "steps": 200,          # optimizer steps
    "points": 10,          # validation-curve points (steps must be a multiple)
    "schedule": "cosine",  # constant | cosine | warmup_cosine
    "warmup": 0.05,        # warmup fraction for warmup_cosine
    "lr_peak": 1.0,        # schedule value at its peak (the program's lr input; 1.0 by convention)
    "param_scale": 1.0,    # optimizer sees w / param_scale: steps of size lr move the model param_scale x lr
    "blowup": 10.0,        # diverged if the final validation loss exceeds blowup x the initial one
    "baseline_lr": 1e-3,   # optax.adamw peak learning rate (times lr_peak)
    "baseline_wd": 0.01,   # optax.adamw decoupled weight decay
    "data_seed": 1234,     # fixes the problem (teacher, text split, validation set); not the run seed
    "sign_flip": False,    # programs see each parameter's sign flipped at random, per run (training.py)
}
"""Settings every task has; a task module's ``DEFAULTS[scale]`` adds its own and may override these."""

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
    from proxy_tasks.task import Task, scaled  # JAX: loaded with the first task, like the task modules

    s = settings(name, scale, **overrides)
    probe = Task(name, scale, s, None)  # type: ignore[arg-type]
    if probe.key not in _CACHE:
        _CACHE[probe.key] = Task(name, scale, s, scaled(module(name).build(s), float(s["param_scale"])))
    return _CACHE[probe.key]
