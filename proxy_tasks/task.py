"""The ``Task`` record: one seeded, deterministic training problem at one scale.

A task module (``proxy_tasks/tasks/*.py``) provides per-scale default settings and a ``build``
function returning the pieces below; everything is a pure jax function so that a whole training
run (batches, forward, gradient, optimizer, validation) traces into one ``lax.scan``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from proxy_tasks.schedules import make_schedule


@dataclass(frozen=True)
class Problem:
    """What a task module builds: init(key) -> params, loss(params, batch), batch(key), val."""

    init: Callable[[jax.Array], Any]
    loss: Callable[[Any, Any], jax.Array]
    batch: Callable[[jax.Array], Any]
    val: Any


def scaled(problem: Problem, alpha: float) -> Problem:
    """The same problem with parameters stored divided by ``alpha`` (a parameter multiplier).

    The model computes with ``alpha * w``, so an optimizer step of size ``lr`` on the stored
    ``w`` moves the model by ``alpha * lr``. This lets programs keep the DSL's convention (``lr``
    peaks at 1.0, the program bakes its own step size in) while the built-ins' step sizes (AdamW
    1e-3, Lion 1e-4) still learn within a few hundred steps. Scale-invariant optimizers (Adam,
    sign methods) see exactly a larger learning rate; SGD sees ``alpha**2`` times its own.
    """
    if alpha == 1.0:
        return problem
    mul = lambda p, a: jax.tree_util.tree_map(lambda x: x * a, p)
    return Problem(lambda key: mul(problem.init(key), 1.0 / alpha),
                   lambda p, batch: problem.loss(mul(p, alpha), batch), problem.batch, problem.val)


@dataclass(frozen=True)
class Task:
    name: str
    scale: str
    settings: Mapping[str, Any] = field(hash=False)
    problem: Problem = field(hash=False, compare=False)

    @property
    def steps(self) -> int:
        return int(self.settings["steps"])

    @property
    def points(self) -> int:
        return int(self.settings["points"])

    @property
    def chunk(self) -> int:
        return self.steps // self.points

    @property
    def key(self) -> str:
        """Identity of the task, scale and settings (runner and baseline cache key)."""
        return f"{self.name}/{self.scale}/" + json.dumps(dict(self.settings), sort_keys=True)

    def lr(self, count) -> jax.Array:
        """The program's ``lr`` input at step ``count`` (float32)."""
        sched = make_schedule(self.settings["schedule"], self.steps, self.settings["warmup"])
        return jnp.asarray(self.settings["lr_peak"] * sched(count), jnp.float32)

    def val_loss(self, params) -> jax.Array:
        return self.problem.loss(params, self.problem.val)

    def keys(self, seed) -> tuple[jax.Array, jax.Array]:
        """(init key, batch key) of a run; seeds vary init and batch order, not the problem."""
        k = jax.random.PRNGKey(seed)
        return jax.random.split(k)[0], jax.random.split(k)[1]
