"""lion: an optimizer program exported for optax by ``optsearch export``.

Standalone: needs jax and optax. ``lion(learning_rate)`` is an ``optax.GradientTransformation``::

    tx = lion(learning_rate=optax.cosine_decay_schedule(1.0, steps))
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)  # params are required
    params = optax.apply_updates(params, updates)

``learning_rate`` (a float or a schedule of the step count) is the program's ``lr`` input, the
schedule's value: 1.0 runs the program as found (its step size is one of its constants).

The program (no redundant statements; each literal is a keyword argument
listed in ``HYPERPARAMETERS``):

    def train(w, g, m, v, lr):
        update = interp(g, m, 0.9)
        update = sign(update)
        m = interp(g, m, 0.99)
        wd = w * 0.01
        update = update + wd
        lr = lr * 0.0001
        update = update * lr
        return update, m, v
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

HYPERPARAMETERS = {"update_beta": 0.9, "m_beta": 0.99, "wd_scale": 0.01, "lr_scale": 0.0001}
"""The program's constants, by keyword: defaults of the arguments below."""


def train(
    w,
    g,
    m,
    v,
    lr=1.0,
    *,
    update_beta: float = 0.9,
    m_beta: float = 0.99,
    wd_scale: float = 0.01,
    lr_scale: float = 0.0001,
):
    """One step of the program on jax arrays: returns ``(update, m, v)``; apply ``w = w - update``."""
    update = (1 - update_beta) * g + update_beta * m
    update = jnp.sign(update)
    m = (1 - m_beta) * g + m_beta * m
    wd = w * wd_scale
    update = update + wd
    lr = lr * lr_scale
    update = update * lr
    return update, m, v


class LionState(NamedTuple):
    """The step count and the program's state m, one tensor per parameter leaf."""

    count: jax.Array
    m: optax.Updates


def lion(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    *,
    update_beta: float = 0.9,
    m_beta: float = 0.99,
    wd_scale: float = 0.01,
    lr_scale: float = 0.0001,
) -> optax.GradientTransformation:
    """The program as an optax transformation; the keyword arguments are its constants.

    It reads the weights, so ``update`` needs ``params``; it returns ``-update`` (optax adds
    updates). Each parameter leaf runs the program separately.
    """
    hyper = {
        "update_beta": update_beta,
        "m_beta": m_beta,
        "wd_scale": wd_scale,
        "lr_scale": lr_scale,
    }

    def init_fn(params):
        return LionState(
            count=jnp.zeros([], jnp.int32),
            m=jax.tree.map(jnp.zeros_like, params),
        )

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("lion reads the weights: pass params to update()")
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        leaves, treedef = jax.tree.flatten(params)
        grads = treedef.flatten_up_to(updates)
        ms = treedef.flatten_up_to(state.m)
        vs = [None] * len(leaves)
        outs = [train(w, g, m, v, lr, **hyper) for w, g, m, v in zip(leaves, grads, ms, vs, strict=True)]
        new_updates = treedef.unflatten([-jnp.asarray(o[0], dtype=w.dtype) for o, w in zip(outs, leaves, strict=True)])
        new_m = treedef.unflatten([jnp.asarray(o[1], dtype=w.dtype) for o, w in zip(outs, leaves, strict=True)])
        return new_updates, LionState(count=optax.safe_increment(state.count), m=new_m)

    return optax.GradientTransformation(init_fn, update_fn)
