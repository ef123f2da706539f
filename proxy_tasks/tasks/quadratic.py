"""Noisy ill-conditioned linear regression (a stochastic quadratic).

Features have log-spaced scales (condition number ``cond``), targets come from a fixed teacher
plus noise; the loss is mean squared error. Cheap, and it rewards per-coordinate adaptivity; use
it as a sanity and divergence filter rather than as the main signal for sign-momentum.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from proxy_tasks.task import Problem

DEFAULTS = {
    "proxy": {"dim": 32, "batch_size": 32, "steps": 200, "cond": 100.0, "noise": 0.03, "teacher_scale": 0.1,
              "val_size": 512,
              "param_scale": 10.0},
    "x10": {"dim": 128, "batch_size": 128, "steps": 1000, "cond": 1000.0, "noise": 0.03, "teacher_scale": 0.1,
              "val_size": 2048,
            "param_scale": 10.0},
    "x100": {"dim": 512, "batch_size": 256, "steps": 4000, "cond": 1000.0, "noise": 0.03, "teacher_scale": 0.1,
              "val_size": 4096,
             "param_scale": 10.0},
}


def build(s) -> Problem:
    dim = int(s["dim"])
    kt, kv = jax.random.split(jax.random.PRNGKey(int(s["data_seed"])))
    scales = jnp.logspace(0.0, -0.5 * jnp.log10(s["cond"]), dim)
    teacher = jax.random.normal(kt, (dim,)) * s["teacher_scale"]

    def sample(key, n):
        kx, kn = jax.random.split(key)
        x = jax.random.normal(kx, (n, dim)) * scales
        y = x @ teacher + s["noise"] * jax.random.normal(kn, (n,))
        return x, y

    def init(key):
        return {"w": jnp.zeros((dim,)), "b": jnp.zeros(())}

    def loss(p, batch):
        x, y = batch
        return jnp.mean(jnp.square(x @ p["w"] + p["b"] - y))

    return Problem(init, loss, lambda key: sample(key, int(s["batch_size"])), sample(kv, int(s["val_size"])))
