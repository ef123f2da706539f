"""Lion-K as optax transformations, leaf by leaf, in the explicit and the implicit decay forms.

The momentum ``mu`` is an average of +g (as in ``optax.lion``), the opposite sign of lion_k.md's
m; with an even K the updates are identical (see ``simplify.lionk.step``). With K = ‖·‖₁ and the
explicit form, ``lion_k`` is ``optax.lion`` (same formula, same state layout).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from simplify.lionk.kfuncs import KFunction
from simplify.lionk.step import DECAY_FORMS


class LionKState(NamedTuple):
    count: jax.Array
    mu: optax.Updates


def scale_by_lion_k(K: KFunction, b1: float = 0.9, b2: float = 0.99) -> optax.GradientTransformation:
    """Replaces g by ∇K(b1 mu + (1 − b1) g) and keeps mu ← b2 mu + (1 − b2) g (no step size)."""

    def init_fn(params):
        return LionKState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        direction = jax.tree.map(lambda g, m: K.grad((1.0 - b1) * g + b1 * m, xp=jnp), updates, state.mu)
        mu = jax.tree.map(lambda g, m: b2 * m + (1.0 - b2) * g, updates, state.mu)
        return direction, LionKState(optax.safe_increment(state.count), mu)

    return optax.GradientTransformation(init_fn, update_fn)


def _decay(learning_rate: optax.ScalarOrSchedule, weight_decay: float, decay: str) -> optax.GradientTransformation:
    """−ε(d + λx) (explicit) or −ε/(1 + ελ)(d + λx), i.e. x' = (x − εd)/(1 + ελ) (implicit)."""
    sched = learning_rate if callable(learning_rate) else (lambda _count: learning_rate)

    def init_fn(params):
        del params
        return optax.ScaleByScheduleState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        if params is None and weight_decay != 0.0:
            raise ValueError("lion_k with weight decay needs params in update()")
        eps = jnp.asarray(sched(state.count))
        factor = eps if decay == "explicit" else eps / (1.0 + eps * weight_decay)
        if weight_decay != 0.0:
            updates = jax.tree.map(lambda d, x: d + weight_decay * x, updates, params)
        updates = jax.tree.map(lambda d: (-factor * d).astype(d.dtype), updates)
        return updates, optax.ScaleByScheduleState(optax.safe_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


def lion_k(learning_rate: optax.ScalarOrSchedule, K: KFunction, b1: float = 0.9, b2: float = 0.99,
           weight_decay: float = 0.0, decay: str = "explicit") -> optax.GradientTransformation:
    """Lion-K: ``x ← x − ε(∇K(b1 mu + (1 − b1) g) + λx)`` (explicit) or with λx' (implicit).

    ``learning_rate`` is ε (a float or an optax schedule of the step count).
    """
    if decay not in DECAY_FORMS:
        raise ValueError(f"decay must be one of {DECAY_FORMS}, got {decay!r}")
    return optax.chain(scale_by_lion_k(K, b1, b2), _decay(learning_rate, weight_decay, decay))
