"""The reference executor: one step of a program on numpy arrays (any float dtype)."""

from __future__ import annotations

import numpy as np

from dsl import ops
from dsl.program import Program


def execute(program: Program, w, g, m, v, lr) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the body once; returns ``(update, next_m, next_v)``. The caller does ``w -= update``.

    Statements run in order, dead ones included (they cannot change the result). NaN and Inf
    propagate silently; no op raises.
    """
    env = {"w": np.asarray(w), "g": np.asarray(g), "m": np.asarray(m), "v": np.asarray(v), "lr": lr}
    dtype = np.result_type(env["w"], env["g"])
    shape = env["w"].shape
    with np.errstate(all="ignore"):
        for st in program.statements:
            args = [env[a] if isinstance(a, str) else a for a in st.args]
            env[st.dst] = ops.BY_NAME[st.op].np_fn(*args)
        return tuple(_as_tensor(env[name], shape, dtype) for name in program.returns)  # type: ignore[return-value]


def _as_tensor(x, shape, dtype) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and np.dtype(dtype).kind == "f":
        arr = arr.astype(np.result_type(arr.dtype, dtype), copy=False)
    return np.array(np.broadcast_to(arr, shape))


def run(program: Program, w, grad_fn, steps: int, lr=1.0):
    """Train ``w`` for ``steps`` steps with ``grad_fn(w) -> g``; returns the trajectory of w.

    ``lr`` is a float or a function of the step index. A small helper for tests and examples.
    """
    w = np.array(w, dtype=np.result_type(np.asarray(w), np.float32))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    traj = [w.copy()]
    for t in range(steps):
        rate = lr(t) if callable(lr) else lr
        update, m, v = execute(program, w, grad_fn(w), m, v, rate)
        w = w - update
        traj.append(w.copy())
    return traj
