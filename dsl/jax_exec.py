"""Programs in JAX: a traced executor and ``to_optax``.

``step`` traces the statements as ordinary jax operations, so that a program jitted here is
compiled once per program; this is right for training with one found optimizer. The search
never uses it (see ``proxy_tasks.interpreter``, which compiles once for all programs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Union

import jax
import jax.numpy as jnp
import optax

from dsl import ops
from dsl.program import Program

Schedule = Union[float, Callable[[jax.Array], jax.Array]]


def step(program: Program, w, g, m, v, lr):
    """One step on jax arrays: ``(update, next_m, next_v)``, each of w's shape and dtype."""
    env = {"w": w, "g": g, "m": m, "v": v, "lr": lr}
    for st in program.statements:
        args = [env[a] if isinstance(a, str) else a for a in st.args]
        env[st.dst] = ops.BY_NAME[st.op].jnp_fn(*args)
    return tuple(jnp.broadcast_to(jnp.asarray(env[n]), w.shape).astype(w.dtype) for n in program.returns)


class ProgramState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    v: optax.Updates


def to_optax(program: Program, schedule: Schedule = 1.0) -> optax.GradientTransformation:
    """An optax transformation that runs ``program`` on every parameter leaf.

    ``schedule`` is the value passed as ``lr`` (a float, or a function of the step count, e.g.
    an ``optax`` schedule); the program's own constants set the actual step size. The update
    returned to optax is ``-update`` (optax adds updates). Requires ``params`` in ``update``.
    """
    sched = schedule if callable(schedule) else (lambda _count: schedule)

    def init_fn(params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return ProgramState(jnp.zeros([], jnp.int32), zeros, jax.tree_util.tree_map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("optsearch programs read the weights: pass params to update()")
        lr = jnp.asarray(sched(state.count), dtype=jnp.float32)
        leaves, treedef = jax.tree_util.tree_flatten(params)
        grads = treedef.flatten_up_to(updates)
        ms = treedef.flatten_up_to(state.m)
        vs = treedef.flatten_up_to(state.v)
        outs = [step(program, w, g, m, v, lr.astype(w.dtype)) for w, g, m, v in zip(leaves, grads, ms, vs)]
        new_updates = treedef.unflatten([-o[0] for o in outs])
        new_m = treedef.unflatten([o[1] for o in outs])
        new_v = treedef.unflatten([o[2] for o in outs])
        return new_updates, ProgramState(optax.safe_increment(state.count), new_m, new_v)

    return optax.GradientTransformation(init_fn, update_fn)
