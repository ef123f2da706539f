"""A character-level transformer language model on the Python standard library's own source.

The text is read from the running interpreter's installation (the stdlib's top-level ``*.py``
files sorted by name, then its packages' files if more text is needed; never site-packages;
bytes mapped to 7-bit ASCII), so nothing is downloaded; the first 90% is
the training split, the last 10% the validation split. Different Python versions ship different
files, so absolute losses are comparable only on one interpreter version.
"""

from __future__ import annotations

import sysconfig
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from proxy_tasks.task import Problem
from proxy_tasks.tasks import _transformer as tf

VOCAB = 128
DEFAULTS = {
    "proxy": {"d_model": 32, "layers": 1, "heads": 2, "context": 16, "batch_size": 16, "steps": 200,
              "text_chars": 200_000, "val_windows": 64, "param_scale": 10.0, "schedule": "warmup_cosine"},
    # x10 and x100 cost about 10x and 100x-200x a proxy run (measured on CPU: 10.1x; x100 ~200x)
    "x10": {"d_model": 48, "layers": 1, "heads": 2, "context": 32, "batch_size": 16, "steps": 500,
            "text_chars": 500_000, "val_windows": 128, "param_scale": 10.0, "schedule": "warmup_cosine"},
    "x100": {"d_model": 64, "layers": 2, "heads": 4, "context": 64, "batch_size": 32, "steps": 1000,
             "text_chars": 1_000_000, "val_windows": 256, "param_scale": 10.0, "schedule": "warmup_cosine"},
}


@lru_cache(maxsize=4)
def stdlib_text(n_chars: int) -> np.ndarray:
    """The first ``n_chars`` bytes of the sorted stdlib sources as int32 codes < 128."""
    root = Path(sysconfig.get_paths()["stdlib"])
    top = sorted(root.glob("*.py"))
    deeper = sorted(p for p in root.rglob("*.py") if p.parent != root
                    and not {"site-packages", "dist-packages"} & set(p.relative_to(root).parts))
    parts, total = [], 0
    for path in top + deeper:  # top-level modules first, then packages (for the larger scales)
        data = path.read_bytes()
        parts.append(data)
        total += len(data)
        if total >= n_chars:
            break
    raw = np.frombuffer(b"".join(parts)[:n_chars], np.uint8)
    if raw.size < n_chars:
        raise RuntimeError(f"only {raw.size} characters of stdlib text under {root}; need {n_chars}")
    return np.minimum(raw, VOCAB - 1).astype(np.int32)


def build(s) -> Problem:
    d, n_layers, heads, ctx = int(s["d_model"]), int(s["layers"]), int(s["heads"]), int(s["context"])
    text = stdlib_text(int(s["text_chars"]))
    split = int(0.9 * text.size)
    train, val = jnp.asarray(text[:split]), text[split:]
    starts = np.linspace(0, val.size - ctx - 2, int(s["val_windows"])).astype(np.int64)
    val_tokens = np.stack([val[i: i + ctx + 1] for i in starts])

    def sample(key):
        idx = jax.random.randint(key, (int(s["batch_size"]), 1), 0, train.size - ctx - 1) + jnp.arange(ctx + 1)
        return train[idx]

    def init(key):
        k = jax.random.split(key, n_layers + 3)
        return {"embed": jax.random.normal(k[0], (VOCAB, d)) * 0.1, "pos": jax.random.normal(k[1], (ctx, d)) * 0.1,
                "blocks": [tf.block_params(k[3 + i], d) for i in range(n_layers)],
                "ln": tf.layer_norm_params(d), "head": tf.dense(k[2], d, VOCAB)}

    def loss(p, tokens):
        x = p["embed"][tokens[:, :-1]] + p["pos"]
        for bp in p["blocks"]:
            x = tf.block(bp, x, heads, causal=True)
        return tf.cross_entropy(tf.apply_dense(p["head"], tf.layer_norm(p["ln"], x)), tokens[:, 1:])

    return Problem(init, loss, sample, jnp.asarray(val_tokens))
