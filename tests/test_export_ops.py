"""Exporter templates: every op of the table, in every target, agrees with the op's ``np_fn``.

Each op runs in a one-statement program through the generated module (written to a file and
imported), with tensor arguments, scalar arguments (``lr``, literals) and mixes of both, over
values that exercise the special rules: safe division by 0, sqrt/log of negatives, clip by a
negative bound, domains that give NaN, reducing ops returning scalars.
"""

from __future__ import annotations

import importlib.util
import itertools
import string
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dsl import ops
from dsl.export import HELPERS, INSTALL_HINT, NUMPY, OPTAX, PYTORCH, TARGETS, TEMPLATES, export
from dsl.program import Program, Statement

try:
    import torch

    # Tiny tensors: one thread avoids OpenMP spin-waiting on CI's two shared cores (measured
    # 45 ms against 0.1 ms per forward/backward of a small MLP).
    torch.set_num_threads(1)
except ImportError:  # the PyTorch exporter is an optional extra
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason=INSTALL_HINT)

_counter = itertools.count()


def load_module(source: str, directory: Path, stem: str = "exported"):
    """Write ``source`` to ``directory`` and import it from that path (as users would)."""
    name = f"{stem}_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_train(module, target: str, w, g, m, v, lr):
    """``module.train`` on numpy inputs converted for ``target``; numpy outputs (None stays None)."""
    if target == NUMPY:
        outs = module.train(w, g, m, v, lr)
    elif target == OPTAX:
        outs = module.train(*(jnp.asarray(x) for x in (w, g, m, v)), lr)
    else:
        outs = module.train(*(torch.from_numpy(np.array(x)) for x in (w, g, m, v)), lr)
    return tuple(np.asarray(o) for o in outs)


G = np.array([-2.5, -1.0, -0.3, 0.0, 0.4, 1.0, 3.0, 0.0, 0.9, -0.9])
M = np.array([0.5, 0.0, -0.7, 2.0, 0.0, -1.5, 0.25, 1.0, -0.2, 0.6])
V = np.array([0.1, 1.5, 0.0, 0.3, 2.2, 0.0, 0.8, np.nan, np.inf, -np.inf])  # NaN and Inf propagate
LR = 0.7

VARIANTS = {  # argument tuples per arity: tensors, scalars (lr, literals) and mixes
    0: [()],
    1: [("g",), ("v",), ("lr",), (-0.4,), (0.0,)],
    2: [("g", "m"), ("g", "lr"), ("lr", "g"), ("g", 0.0), ("g", -0.4), (2.5, "m"), ("lr", -0.4),
        ("m", "v")],
    3: [("g", "m", "v"), ("g", "m", 0.3), ("lr", "g", -0.4), ("lr", 2.5, "lr")],
}


def _program(op: str, args: tuple) -> Program:
    # w is zero in these tests, so update = t + w is exactly t (broadcast to a tensor).
    return Program((Statement("t", op, args), Statement("update", "add", ("t", "w"))))


def _reference(op: str, args: tuple, dtype) -> np.ndarray:
    """The op's np_fn on the same values, plus the zero w (as the program does)."""
    env = {"g": G.astype(dtype), "m": M.astype(dtype), "v": V.astype(dtype), "lr": LR}
    vals = [env[a] if isinstance(a, str) else a for a in args]
    with np.errstate(all="ignore"):
        return ops.BY_NAME[op].np_fn(*vals) + np.zeros_like(G, dtype=dtype)


def test_every_op_has_a_template_in_every_target():
    names = {op.name for op in ops.OPS}
    for target in TARGETS:
        assert set(TEMPLATES[target]) == names, target
        for name, template in TEMPLATES[target].items():
            assert set(template.helpers) <= set(HELPERS[target])
            fields = {f for _, f, _, _ in string.Formatter().parse(template.code) if f is not None}
            assert fields == {str(i) for i in range(ops.BY_NAME[name].arity)}, (target, name)


def _check(target: str, op: str, tmp_path: Path, dtype, rtol: float, atol: float) -> None:
    for args in VARIANTS[ops.BY_NAME[op].arity]:
        program = _program(op, args)
        module = load_module(export(program, target), tmp_path, f"{target}_{op}")
        w = np.zeros_like(G, dtype=dtype)
        update, _, _ = run_train(module, target, w, G.astype(dtype), M.astype(dtype), V.astype(dtype), LR)
        ref = _reference(op, args, dtype)
        where = f"{target}: {op}{args} in {np.dtype(dtype).name}"
        assert update.shape == G.shape, where
        if rtol == 0:
            np.testing.assert_array_equal(update, ref, err_msg=where)
        else:
            np.testing.assert_allclose(update, ref, rtol=rtol, atol=atol, err_msg=where)


@pytest.mark.parametrize("op", [op.name for op in ops.OPS])
def test_numpy_template_is_the_op(op, tmp_path):
    # Bit for bit in float64. In float32 numpy's promotion differs in one respect: arithmetic on
    # Python numbers (lr, constants) stays a weak Python float in the module, where np_fn makes
    # an np.float64 that promotes the tensors to float64; so they agree to float32 rounding.
    _check(NUMPY, op, tmp_path, np.float64, 0.0, 0.0)
    _check(NUMPY, op, tmp_path, np.float32, 1e-6, 1e-30)


@pytest.mark.parametrize("op", [op.name for op in ops.OPS])
def test_jax_template_agrees_with_the_op(op, tmp_path):
    with jax.enable_x64(True):
        _check(OPTAX, op, tmp_path, np.float64, 1e-12, 1e-300)
    _check(OPTAX, op, tmp_path, np.float32, 2e-6, 1e-7)


@needs_torch
@pytest.mark.parametrize("op", [op.name for op in ops.OPS])
def test_torch_template_agrees_with_the_op(op, tmp_path):
    _check(PYTORCH, op, tmp_path, np.float64, 1e-12, 1e-300)
    _check(PYTORCH, op, tmp_path, np.float32, 2e-6, 1e-7)
