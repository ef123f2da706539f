"""A tiny vision transformer on procedurally generated shapes.

Six classes (disc, square, ring, horizontal bar, vertical bar, cross) drawn at a random centre
and size, with random brightness and Gaussian pixel noise; generated in jax inside the training
scan, so there is no dataset to store. Patch embedding, one or more attention blocks, mean pool.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from proxy_tasks.task import Problem
from proxy_tasks.tasks import _transformer as tf

CLASSES = 6
DEFAULTS = {
    "proxy": {"image": 12, "patch": 4, "d_model": 16, "layers": 1, "heads": 2, "batch_size": 32, "steps": 200,
              "noise": 0.3, "val_size": 512, "param_scale": 10.0, "schedule": "warmup_cosine"},
    # x10 and x100 cost about 10x and 100x a proxy run (measured: 10.3x and ~100x on CPU)
    "x10": {"image": 16, "patch": 4, "d_model": 32, "layers": 1, "heads": 2, "batch_size": 64, "steps": 500,
            "noise": 0.3, "val_size": 1024, "param_scale": 10.0, "schedule": "warmup_cosine"},
    "x100": {"image": 16, "patch": 4, "d_model": 32, "layers": 2, "heads": 2, "batch_size": 128, "steps": 1000,
             "noise": 0.3, "val_size": 2048, "param_scale": 10.0, "schedule": "warmup_cosine"},
}


def shapes(key, n: int, size: int, noise: float):
    """``n`` images [n, size, size] and their labels."""
    kc, kx, ks, kb, kn = jax.random.split(key, 5)
    label = jax.random.randint(kc, (n,), 0, CLASSES)
    centre = jax.random.uniform(kx, (n, 2, 1, 1), minval=0.3 * size, maxval=0.7 * size)
    r = jax.random.uniform(ks, (n, 1, 1), minval=0.15 * size, maxval=0.3 * size)
    yy, xx = jnp.meshgrid(jnp.arange(size) + 0.5, jnp.arange(size) + 0.5, indexing="ij")
    dy, dx = yy - centre[:, 0], xx - centre[:, 1]
    dist = jnp.sqrt(dx**2 + dy**2)
    box = jnp.maximum(jnp.abs(dx), jnp.abs(dy))
    thin = 0.12 * size
    masks = jnp.stack([
        dist < r,
        box < r,
        jnp.abs(dist - r) < thin,
        (jnp.abs(dy) < thin) & (jnp.abs(dx) < r + thin),
        (jnp.abs(dx) < thin) & (jnp.abs(dy) < r + thin),
        ((jnp.abs(dx) < thin) | (jnp.abs(dy) < thin)) & (box < r + thin),
    ], 1)
    mask = jnp.take_along_axis(masks, label[:, None, None, None], 1)[:, 0]
    bright = jax.random.uniform(kb, (n, 1, 1), minval=0.5, maxval=1.5)
    return mask * bright + noise * jax.random.normal(kn, (n, size, size)), label


def build(s) -> Problem:
    size, patch, d = int(s["image"]), int(s["patch"]), int(s["d_model"])
    n_layers, heads, grid = int(s["layers"]), int(s["heads"]), int(s["image"]) // int(s["patch"])

    def patches(img):
        n = img.shape[0]
        return img.reshape(n, grid, patch, grid, patch).transpose(0, 1, 3, 2, 4).reshape(n, grid * grid, patch * patch)

    def init(key):
        k = jax.random.split(key, n_layers + 3)
        return {"embed": tf.dense(k[0], patch * patch, d), "pos": jax.random.normal(k[1], (grid * grid, d)) * 0.1,
                "blocks": [tf.block_params(k[3 + i], d) for i in range(n_layers)],
                "ln": tf.layer_norm_params(d), "head": tf.dense(k[2], d, CLASSES)}

    def loss(p, batch):
        img, label = batch
        x = tf.apply_dense(p["embed"], patches(img)) + p["pos"]
        for bp in p["blocks"]:
            x = tf.block(bp, x, heads, causal=False)
        return tf.cross_entropy(tf.apply_dense(p["head"], tf.layer_norm(p["ln"], x).mean(1)), label)

    val = shapes(jax.random.PRNGKey(int(s["data_seed"])), int(s["val_size"]), size, float(s["noise"]))
    return Problem(init, loss, lambda key: shapes(key, int(s["batch_size"]), size, float(s["noise"])), val)
