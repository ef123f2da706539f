"""Logistic regression on heavy-tailed sparse synthetic features.

Feature j fires with probability ~ 1/(j+1) (Zipf) and a Pareto-distributed value; labels come
from a fixed teacher through a logistic link. Rare features are where per-coordinate step sizes
(Adam) and sign updates (Lion) differ from SGD.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from proxy_tasks.task import Problem

DEFAULTS = {
    "proxy": {"dim": 64, "batch_size": 32, "steps": 200, "val_size": 1024, "param_scale": 30.0},
    "x10": {"dim": 256, "batch_size": 128, "steps": 1000, "val_size": 4096, "param_scale": 30.0},
    "x100": {"dim": 512, "batch_size": 256, "steps": 4000, "val_size": 8192, "param_scale": 30.0},
}


def build(s) -> Problem:
    dim = int(s["dim"])
    kt, kv = jax.random.split(jax.random.PRNGKey(int(s["data_seed"])))
    rate = jnp.minimum(1.0, 4.0 / (jnp.arange(dim) + 1.0))
    teacher = jax.random.normal(kt, (dim,)) * 1.5

    def sample(key, n):
        kb, kp, ky = jax.random.split(key, 3)
        on = jax.random.bernoulli(kb, rate, (n, dim))
        x = on * jax.random.pareto(kp, 3.0, (n, dim))
        y = jax.random.bernoulli(ky, jax.nn.sigmoid(x @ teacher)).astype(jnp.float32)
        return x, y

    def init(key):
        return {"w": jnp.zeros((dim,)), "b": jnp.zeros(())}

    def loss(p, batch):
        x, y = batch
        z = x @ p["w"] + p["b"]
        return jnp.mean(jax.nn.softplus(z) - y * z)

    return Problem(init, loss, lambda key: sample(key, int(s["batch_size"])), sample(kv, int(s["val_size"])))
