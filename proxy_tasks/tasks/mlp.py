"""An MLP classifier on teacher-student data: inputs are Gaussian, labels the argmax of a fixed
random teacher network (plus label noise), the student a ReLU MLP trained with cross-entropy."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from proxy_tasks.task import Problem

DEFAULTS = {
    "proxy": {"in_dim": 16, "hidden": 32, "classes": 4, "batch_size": 64, "steps": 200, "val_size": 1024,
              "label_noise": 0.5, "param_scale": 10.0},
    "x10": {"in_dim": 32, "hidden": 128, "classes": 8, "batch_size": 256, "steps": 1000, "val_size": 4096,
            "label_noise": 0.5, "param_scale": 10.0},
    "x100": {"in_dim": 64, "hidden": 512, "classes": 10, "batch_size": 1024, "steps": 3000, "val_size": 8192,
             "label_noise": 0.5, "param_scale": 10.0},
}


def _dense(key, n_in, n_out):
    return {"w": jax.random.normal(key, (n_in, n_out)) / jnp.sqrt(n_in), "b": jnp.zeros((n_out,))}


def build(s) -> Problem:
    d, h, c = int(s["in_dim"]), int(s["hidden"]), int(s["classes"])
    kt1, kt2, kv = jax.random.split(jax.random.PRNGKey(int(s["data_seed"])), 3)
    t1 = jax.random.normal(kt1, (d, 2 * h)) / jnp.sqrt(d)
    t2 = jax.random.normal(kt2, (2 * h, c)) * 2.0 / jnp.sqrt(2 * h)

    def sample(key, n):
        kx, kn = jax.random.split(key)
        x = jax.random.normal(kx, (n, d))
        logits = jnp.tanh(x @ t1) @ t2 + s["label_noise"] * jax.random.gumbel(kn, (n, c))
        return x, jnp.argmax(logits, -1)

    def init(key):
        k1, k2 = jax.random.split(key)
        return {"l1": _dense(k1, d, h), "l2": _dense(k2, h, c)}

    def loss(p, batch):
        x, y = batch
        z = jax.nn.relu(x @ p["l1"]["w"] + p["l1"]["b"]) @ p["l2"]["w"] + p["l2"]["b"]
        return jnp.mean(jax.nn.logsumexp(z, -1) - jnp.take_along_axis(z, y[:, None], -1)[:, 0])

    return Problem(init, loss, lambda key: sample(key, int(s["batch_size"])), sample(kv, int(s["val_size"])))
