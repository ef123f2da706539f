"""Executors: numpy reference, jax, and to_optax against optax and direct formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dsl import execute, library, to_optax


def _problem():
    rng = np.random.default_rng(0)
    params = {"a": jnp.asarray(rng.normal(size=(5, 3)), jnp.float32),
              "b": jnp.asarray(rng.normal(size=(3,)), jnp.float32),
              "c": {"d": jnp.asarray(rng.normal(size=(2, 2, 2)), jnp.float32)}}
    targets = jax.tree_util.tree_map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)

    def loss(p):
        return sum(jnp.sum(jnp.cosh(x - t)) for x, t in zip(jax.tree_util.tree_leaves(p),
                                                            jax.tree_util.tree_leaves(targets)))
    return params, jax.grad(loss)


def _trajectory(tx, steps=200):
    params, grad = _problem()

    @jax.jit
    def run(params):
        def body(carry, _):
            p, s = carry
            u, s = tx.update(grad(p), s, p)
            p = optax.apply_updates(p, u)
            return (p, s), p
        _, traj = jax.lax.scan(body, (params, tx.init(params)), None, length=steps)
        return traj
    return run(params)


def _max_rel_err(a, b):
    errs = jax.tree_util.tree_map(lambda x, y: float(jnp.max(jnp.abs(x - y)) / (jnp.max(jnp.abs(y)) + 1e-12)), a, b)
    return max(jax.tree_util.tree_leaves(errs))


def test_lion_matches_optax_lion():
    # lion.train: b1 0.9, b2 0.99, weight decay 0.01, lr scale 1e-4; a larger schedule value
    # makes the trajectory move visibly in 200 steps.
    schedule = 50.0
    ours = _trajectory(to_optax(library.get("lion"), schedule=schedule))
    ref = _trajectory(optax.lion(learning_rate=1e-4 * schedule, b1=0.9, b2=0.99, weight_decay=0.01))
    moved = _max_rel_err(ref, jax.tree_util.tree_map(lambda x: x[:1], ref))
    assert moved > 0.05  # the test would notice a do-nothing optimizer
    assert _max_rel_err(ours, ref) <= 1e-5


def test_schedule_function_is_passed_as_lr():
    sched = optax.cosine_decay_schedule(50.0, 200)
    ours = _trajectory(to_optax(library.get("lion"), schedule=sched), steps=50)
    ref = _trajectory(optax.lion(learning_rate=lambda c: 1e-4 * sched(c), b1=0.9, b2=0.99,
                                 weight_decay=0.01), steps=50)
    assert _max_rel_err(ours, ref) <= 1e-5


def test_adamw_matches_its_formula():
    rng = np.random.default_rng(1)
    program = library.get("adamw")
    w = rng.normal(size=(4, 3))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    tx = to_optax(program, schedule=0.7)
    params = jnp.asarray(w)
    state = tx.init(params)
    for _ in range(20):
        g = rng.normal(size=w.shape)
        m_ref = 0.1 * g + 0.9 * m
        v_ref = 0.001 * g * g + 0.999 * v
        upd_ref = 0.7 * 0.001 * (m_ref / np.sqrt(v_ref) + 0.01 * w)
        upd, m, v = execute(program, w, g, m, v, 0.7)
        np.testing.assert_allclose(upd, upd_ref, rtol=1e-12)
        np.testing.assert_allclose(m, m_ref, rtol=1e-12)
        np.testing.assert_allclose(v, v_ref, rtol=1e-12)
        jupd, state = tx.update(jnp.asarray(g, jnp.float32), state, params)
        np.testing.assert_allclose(-np.asarray(jupd), upd_ref, rtol=2e-4, atol=1e-9)
        params = jnp.asarray(w - upd_ref, jnp.float32)
        w = w - upd_ref


@pytest.mark.parametrize("name", library.NAMES)
def test_numpy_and_jax_executors_agree(name):
    from dsl.jax_exec import step

    program = library.get(name)
    rng = np.random.default_rng(2)
    w = rng.normal(size=(6,)).astype(np.float32)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    jm, jv = jnp.asarray(m), jnp.asarray(v)
    for _ in range(10):
        g = rng.normal(size=w.shape).astype(np.float32)
        upd, m, v = execute(program, w, g, m, v, np.float32(1.0))
        jupd, jm, jv = step(program, jnp.asarray(w), jnp.asarray(g), jm, jv, jnp.float32(1.0))
        np.testing.assert_allclose(np.asarray(jupd), upd, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.asarray(jv), v, rtol=1e-5, atol=1e-7)
        w = w - upd


def test_execute_float64_and_scalar_update_broadcast():
    from dsl import parse

    program = parse("def train(w, g, m, v, lr):\n    s = norm(g)\n    update = g * s\n    return update, m, v\n")
    g = np.array([3.0, 4.0])
    upd, m, v = execute(program, np.zeros(2), g, np.zeros(2), np.zeros(2), 1.0)
    assert upd.dtype == np.float64
    assert upd.tolist() == [15.0, 20.0]


def test_to_optax_requires_params():
    tx = to_optax(library.get("sgd"))
    state = tx.init(jnp.zeros(3))
    with pytest.raises(ValueError, match="params"):
        tx.update(jnp.ones(3), state)
