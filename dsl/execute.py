"""The reference executor: one step of a program on numpy arrays (any float dtype), and ``roll``,
the steps of a program over a sequence of gradients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Rollout:
    """What ``roll`` saw and produced. ``ws``, ``ms`` and ``vs`` hold the values before each step
    and after the last one (one more than the steps); ``gs`` and ``updates`` one per step."""

    ws: list[np.ndarray]
    gs: list[np.ndarray]
    updates: list[np.ndarray]
    ms: list[np.ndarray]
    vs: list[np.ndarray]


def roll(program: Program, grads, w, lr=1.0, *, steps: int | None = None, descend: bool = False,
         m=None, v=None, until: Callable[[np.ndarray], bool] | None = None) -> Rollout:
    """Step ``program`` over a sequence of gradients, carrying its states (zeros by default).

    ``grads`` is a sequence of gradients, or a function of the current ``w`` called once per step
    (``steps`` says how many). ``lr`` is a float or a function of the step index. With
    ``descend`` the weights move (``w = w - update`` after each step), as in training; otherwise
    every step sees the same ``w``; ``until(w)`` ends the roll after the first step whose new
    weights it accepts (e.g. not finite). The one loop behind the callers that run a program over
    gradients, so they all compute in the same order.
    """
    n = steps if callable(grads) else len(grads)
    if n is None:
        raise TypeError("roll: steps is required when grads is a function of w")
    m = np.zeros_like(w) if m is None else m
    v = np.zeros_like(w) if v is None else v
    out = Rollout([w], [], [], [m], [v])
    for t in range(n):
        rate = lr(t) if callable(lr) else lr
        g = grads(w) if callable(grads) else grads[t]
        update, m, v = execute(program, w, g, m, v, rate)
        if descend:
            w = w - update
        out.ws.append(w)
        out.gs.append(g)
        out.updates.append(update)
        out.ms.append(m)
        out.vs.append(v)
        if until is not None and until(w):
            break
    return out


def run(program: Program, w, grad_fn, steps: int, lr=1.0):
    """Train ``w`` for ``steps`` steps with ``grad_fn(w) -> g``; returns the trajectory of w.

    ``lr`` is a float or a function of the step index. A small helper for tests and examples.
    """
    w = np.array(w, dtype=np.result_type(np.asarray(w), np.float32))
    return [x.copy() for x in roll(program, grad_fn, w, lr, steps=steps, descend=True).ws]
