"""Train a logistic regression in plain numpy with Lion, exported as a standalone module.

The optimizer module beside this script was written by

    optsearch export lion --to numpy -o examples/exported_lion_numpy.py

and needs only numpy: ``train(w, g, m, v, lr)`` is one pure step of the program.

Run: python examples/train_numpy.py [--steps N]
"""

import argparse
import math

import numpy as np
from exported_lion_numpy import train


def main(steps: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 10))
    y = (x @ rng.normal(size=10) + 0.3 * rng.normal(size=512) > 0).astype(float)
    params = {"w": np.zeros(10), "b": np.zeros(1)}
    state = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in params.items()}  # m, v start at 0

    def loss_and_grads(p):
        z = x @ p["w"] + p["b"]
        err = (1 / (1 + np.exp(-z)) - y) / len(y)
        return np.mean(np.logaddexp(0, z) - y * z), {"w": x.T @ err, "b": np.array([err.sum()])}

    first, _ = loss_and_grads(params)
    for step in range(steps):
        lr = 0.5 * (1 + math.cos(math.pi * step / steps))  # the schedule's value: cosine 1 -> 0
        _, grads = loss_and_grads(params)
        for k in params:
            m, v = state[k]
            # lr_scale is the program's own step size (1e-4 as found, for large models); a toy
            # problem takes a larger one. The other constants keep the program's values.
            update, m, v = train(params[k], grads[k], m, v, lr, lr_scale=0.02)
            params[k] = params[k] - update
            state[k] = (m, v)
    final, _ = loss_and_grads(params)
    print(f"loss {first:.4f} -> {final:.4f} after {steps} steps")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    main(parser.parse_args().steps)
