"""Train a small MLP in JAX with Lion, exported as a standalone optax module.

The optimizer module beside this script was written by

    optsearch export lion --to optax -o examples/exported_lion_optax.py

and needs only jax and optax: ``lion(learning_rate)`` returns an ``optax.GradientTransformation``.

Run: python examples/train_optax.py [--steps N]
"""

import argparse

import jax
import jax.numpy as jnp
import optax
from exported_lion_optax import lion


def main(steps: int) -> None:
    kx, k1, k2, kt = jax.random.split(jax.random.PRNGKey(0), 4)
    x = jax.random.normal(kx, (256, 8))
    y = jnp.sin(x @ jax.random.normal(kt, (8, 1)))
    params = {
        "w1": jax.random.normal(k1, (8, 32)) / jnp.sqrt(8.0), "b1": jnp.zeros(32),
        "w2": jax.random.normal(k2, (32, 1)) / jnp.sqrt(32.0), "b2": jnp.zeros(1),
    }

    def loss_fn(p):
        return jnp.mean((jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"] - y) ** 2)

    # learning_rate is the schedule's value (1.0 = the program as found); lr_scale is the
    # program's own step size (1e-4 as found, for large models): a toy MLP takes a larger one.
    tx = lion(learning_rate=optax.cosine_decay_schedule(1.0, steps), lr_scale=3e-3)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params)  # the program reads the weights
        return optax.apply_updates(params, updates), state, loss

    state = tx.init(params)
    first = float(loss_fn(params))
    for _ in range(steps):
        params, state, _ = step(params, state)
    print(f"loss {first:.4f} -> {float(loss_fn(params)):.4f} after {steps} steps")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    main(parser.parse_args().steps)
