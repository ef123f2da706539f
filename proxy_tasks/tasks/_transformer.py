"""A minimal pre-LayerNorm transformer block shared by the char LM and the ViT."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def dense(key, n_in, n_out, scale=None):
    std = (1.0 / n_in) ** 0.5 if scale is None else scale
    return {"w": jax.random.normal(key, (n_in, n_out)) * std, "b": jnp.zeros((n_out,))}


def apply_dense(p, x):
    return x @ p["w"] + p["b"]


def layer_norm_params(d):
    return {"g": jnp.ones((d,)), "b": jnp.zeros((d,))}


def layer_norm(p, x):
    mu = x.mean(-1, keepdims=True)
    var = jnp.square(x - mu).mean(-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + 1e-5) * p["g"] + p["b"]


def block_params(key, d):
    k = jax.random.split(key, 4)
    return {"ln1": layer_norm_params(d), "qkv": dense(k[0], d, 3 * d), "proj": dense(k[1], d, d),
            "ln2": layer_norm_params(d), "fc1": dense(k[2], d, 4 * d), "fc2": dense(k[3], 4 * d, d)}


def block(p, x, heads: int, causal: bool):
    """x: [batch, tokens, d] -> same shape."""
    b, t, d = x.shape
    qkv = apply_dense(p["qkv"], layer_norm(p["ln1"], x)).reshape(b, t, 3, heads, d // heads)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    att = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(d // heads)
    if causal:
        att = jnp.where(jnp.tril(jnp.ones((t, t), bool)), att, -1e9)
    out = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(att, -1), v).reshape(b, t, d)
    x = x + apply_dense(p["proj"], out)
    return x + apply_dense(p["fc2"], jax.nn.gelu(apply_dense(p["fc1"], layer_norm(p["ln2"], x))))


def cross_entropy(logits, labels):
    return jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, labels[..., None], -1)[..., 0])
