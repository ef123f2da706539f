"""The op table: coverage of the paper's search space, and numpy == jax for every op."""

from __future__ import annotations

import numpy as np
import pytest

from dsl import ops

PAPER_OPS = {
    "pi", "e", "eps", "abs", "cos", "sin", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "exp", "exp2", "exp10", "expm1", "log", "log10",
    "log2", "log1p", "square", "sqrt", "cube", "cbrt", "sign", "reciprocal", "negative", "norm",
    "global_norm", "dot", "cosine_sim", "clip_by_global_norm", "power", "add", "sub", "mul", "div",
    "max", "min", "interp", "clip",
}


def test_table_covers_the_paper_search_space():
    names = [op.name for op in ops.OPS]
    assert len(names) == len(set(names))
    assert PAPER_OPS <= set(names)
    assert len(PAPER_OPS) == 45
    assert {ops.INFIX[s] for s in "+-*/"} == {"add", "sub", "mul", "div"}
    assert all(ops.OP_CODE[op.name] == i for i, op in enumerate(ops.OPS))
    for op in ops.OPS:
        assert op.kind in (ops.CONSTANT, ops.ELEMENTWISE, ops.REDUCING)
        assert (op.arity == 0) == (op.kind == ops.CONSTANT)
        assert op.domain


def _inputs(rng, arity, shape=(4, 3)):
    # mostly inside common domains, with exact zeros and a few large values to hit edge cases
    out = []
    for _ in range(arity):
        x = rng.uniform(-1.5, 1.5, size=shape)
        x.flat[0] = 0.0
        x.flat[1] = 3.0
        out.append(x.astype(np.float32))
    return out


@pytest.mark.parametrize("op", ops.OPS, ids=lambda op: op.name)
def test_numpy_and_jax_agree(op):
    import jax.numpy as jnp

    rng = np.random.default_rng(ops.OP_CODE[op.name])
    for trial in range(3):
        args = _inputs(rng, op.arity)
        if trial == 2 and op.arity:
            args[-1] = np.float32(rng.uniform(-2, 2))  # a scalar operand broadcasts
        with np.errstate(all="ignore"):
            want = np.asarray(op.np_fn(*args), dtype=np.float64)
        got = np.asarray(op.jnp_fn(*[jnp.asarray(a) for a in args]), dtype=np.float64)
        assert got.shape == want.shape
        finite = np.isfinite(want)
        assert np.array_equal(finite, np.isfinite(got)), op.name
        np.testing.assert_allclose(got[finite], want[finite], rtol=2e-5, atol=1e-6, err_msg=op.name)


@pytest.mark.parametrize("op", ops.OPS, ids=lambda op: op.name)
def test_no_op_raises_on_extreme_inputs(op):
    import jax.numpy as jnp

    x = np.array([0.0, -0.0, 1e38, -1e38, np.inf, -np.inf, np.nan, 1e-45], dtype=np.float32)
    args = [x] * op.arity
    with np.errstate(all="ignore"):
        np.asarray(op.np_fn(*args))
    np.asarray(op.jnp_fn(*[jnp.asarray(a) for a in args]))


def test_documented_conventions():
    div, sqrt, log, clip = (ops.get(n).np_fn for n in ("div", "sqrt", "log", "clip"))
    assert div(np.array([1.0, 2.0]), np.array([0.0, 4.0])).tolist() == [0.0, 0.5]
    assert sqrt(np.array(-4.0)) == 2.0
    assert log(np.array(-np.e)) == pytest.approx(1.0)
    assert clip(np.array([-3.0, 0.5, 3.0]), -1.0).tolist() == [-1.0, 0.5, 1.0]
    interp = ops.get("interp").np_fn
    assert interp(2.0, 4.0, 0.25) == pytest.approx(2.5)
    m = np.array([-2.0, 0.0, 3.0])
    assert div(m, sqrt(m * m)).tolist() == np.sign(m).tolist()
    assert np.ndim(ops.get("norm").np_fn(np.ones((3, 2)))) == 0
    assert ops.get("clip_by_global_norm").np_fn(np.array([3.0, 4.0]), 1.0).tolist() == pytest.approx([0.6, 0.8])
