"""The op table: the single source of truth for every operation of the DSL.

Everything that touches ops reads this table: the parser (names, arity), the checker (kinds),
the numpy and jax executors, the proxy-task interpreter (op code = position in ``OPS``), the
simplifier (sympy form) and the exporters. Adding an op means adding one row here.

Conventions shared by every implementation:

* ``x / y`` is *safe division*: the result is 0 wherever ``y == 0`` (instead of inf or nan).
  ``reciprocal(x)`` is ``1 / x`` with the same rule. With this rule ``m / sqrt(m * m)`` equals
  ``sign(m)`` everywhere, zero included.
* ``sqrt`` and the ``log`` family act on ``|x|`` so that they are defined on all reals
  (``log(0)`` is still ``-inf``).
* Other ops may produce NaN or Inf outside their domain (``arcsin(2)``, ``exp(1000)``); they never
  raise. The evaluator turns such results into the worst fitness.
* ``clip(x, c)`` clips to ``[-|c|, |c|]``; ``interp(x, y, a) = (1 - a) * x + a * y``.
* Reducing ops (``norm``, ``global_norm``, ``dot``, ``cosine_sim``) return a scalar.
  ``global_norm`` is the L2 norm of the whole tensor the program sees: with the per-tensor
  semantics of ``execute`` and ``to_optax`` (one parameter leaf at a time) it equals ``norm``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

CONSTANT = "constant"
ELEMENTWISE = "elementwise"
REDUCING = "reducing"

EPS = 1e-8


@dataclass(frozen=True)
class Op:
    """One row of the table.

    ``np_fn`` and ``jnp_fn`` take ``arity`` arrays (or Python floats) and return an array;
    ``sympy_fn`` builds the symbolic form used by the simplifier (None where sympy has no exact
    equivalent); ``infix`` is the operator symbol for ops printed infix. Ops that sum over the
    tensor (the reducing ones, ``clip_by_global_norm``) give ``jnp_by_total(total)``, their jax
    form over a sum function: ``jnp_fn`` is it with ``jnp.sum``; the proxy-task interpreter, which
    holds every parameter leaf in one vector, passes a per-leaf segment sum (and the identity for
    a scalar, which it stores as a row).
    """

    name: str
    arity: int
    kind: str
    np_fn: Callable[..., Any]
    jnp_fn: Callable[..., Any]
    sympy_fn: Callable[..., Any] | None
    domain: str
    infix: str | None = None
    jnp_by_total: Callable[[Callable[[Any], Any]], Callable[..., Any]] | None = None


# --- numpy implementations -------------------------------------------------------------------

def _np_div(a, b):
    a, b = np.asarray(a), np.asarray(b)
    zero = b == 0
    return np.where(zero, 0.0, a / np.where(zero, 1.0, b))


def _np_norm(x):
    return np.sqrt(np.sum(np.square(x)))


def _np_dot(x, y):
    return np.sum(np.asarray(x) * np.asarray(y))


def _np_cosine_sim(x, y):
    return _np_div(_np_dot(x, y), _np_norm(x) * _np_norm(y))


def _np_clip(x, c):
    c = np.abs(c)
    return np.clip(x, -c, c)


def _np_clip_by_global_norm(x, c):
    n = _np_norm(x)
    return np.asarray(x) * np.minimum(1.0, _np_div(np.abs(c), n) + (n == 0))


def _np_interp(x, y, a):
    return (1 - a) * x + a * y


# --- jax implementations ---------------------------------------------------------------------
# jax is imported lazily so that the parser, printer and checker work without it.

def _jnp():
    import jax.numpy as jnp

    return jnp


def _j(name: str) -> Callable[..., Any]:
    def fn(*args):
        return getattr(_jnp(), name)(*args)

    fn.__name__ = f"jnp_{name}"
    return fn


def _jnp_div(a, b):
    jnp = _jnp()
    a, b = jnp.asarray(a), jnp.asarray(b)
    zero = b == 0
    return jnp.where(zero, 0.0, a / jnp.where(zero, 1.0, b)).astype(jnp.result_type(a, b))


# The ops that sum over the tensor, written over ``total`` (see ``Op.jnp_by_total``).

def _norm_by(total):
    def norm(x):
        jnp = _jnp()
        return jnp.sqrt(total(jnp.square(x)))

    return norm


def _dot_by(total):
    def dot(x, y):
        return total(x * y)

    return dot


def _cosine_sim_by(total):
    norm, dot = _norm_by(total), _dot_by(total)

    def cosine_sim(x, y):
        return _jnp_div(dot(x, y), norm(x) * norm(y))

    return cosine_sim


def _clip_by_global_norm_by(total):
    norm = _norm_by(total)

    def clip_by_global_norm(x, c):
        jnp = _jnp()
        n = norm(x)
        return x * jnp.minimum(1.0, _jnp_div(jnp.abs(c), n) + (n == 0))

    return clip_by_global_norm


def _whole(by: Callable) -> Callable[..., Any]:
    """The jax form over the whole tensor: ``by`` with ``total = jnp.sum``."""
    def fn(*args):
        return by(_jnp().sum)(*args)

    fn.__name__ = f"jnp_{by.__name__.removeprefix('_').removesuffix('_by')}"
    return fn


def _jnp_clip(x, c):
    jnp = _jnp()
    c = jnp.abs(c)
    return jnp.clip(x, -c, c)


def _const(value: float) -> Callable[[], float]:
    return lambda: value


# --- sympy forms -------------------------------------------------------------------------------

def _sp():
    import sympy

    return sympy


def _s(name: str) -> Callable[..., Any]:
    def fn(*args):
        return getattr(_sp(), name)(*args)

    fn.__name__ = f"sympy_{name}"
    return fn


def _row(name, arity, kind, np_fn, jnp_fn, sympy_fn, domain, infix=None) -> Op:
    return Op(name, arity, kind, np_fn, jnp_fn, sympy_fn, domain, infix)


def _summing(name, arity, kind, np_fn, by, domain) -> Op:
    """A row for an op that sums over the tensor: its jax form comes from ``by`` (over a total)."""
    return Op(name, arity, kind, np_fn, _whole(by), None, domain, jnp_by_total=by)


E, U, R = CONSTANT, ELEMENTWISE, REDUCING

OPS: tuple[Op, ...] = (
    # constants
    _row("pi", 0, E, _const(math.pi), _const(math.pi), lambda: _sp().pi, "the constant pi"),
    _row("e", 0, E, _const(math.e), _const(math.e), lambda: _sp().E, "the constant e"),
    _row("eps", 0, E, _const(EPS), _const(EPS), lambda: _sp().Float(EPS), "the constant 1e-8"),
    # infix arithmetic
    _row("add", 2, U, np.add, _j("add"), lambda a, b: a + b, "all reals", "+"),
    _row("sub", 2, U, np.subtract, _j("subtract"), lambda a, b: a - b, "all reals", "-"),
    _row("mul", 2, U, np.multiply, _j("multiply"), lambda a, b: a * b, "all reals", "*"),
    _row("div", 2, U, _np_div, _jnp_div, None, "safe: 0 where the divisor is 0", "/"),
    _row("negative", 1, U, np.negative, _j("negative"), lambda a: -a, "all reals; printed -x"),
    # elementwise unary
    _row("abs", 1, U, np.abs, _j("abs"), _s("Abs"), "all reals"),
    _row("cos", 1, U, np.cos, _j("cos"), _s("cos"), "all reals"),
    _row("sin", 1, U, np.sin, _j("sin"), _s("sin"), "all reals"),
    _row("tan", 1, U, np.tan, _j("tan"), _s("tan"), "reals; inf near pi/2 + k pi"),
    _row("arcsin", 1, U, np.arcsin, _j("arcsin"), _s("asin"), "[-1, 1], NaN outside"),
    _row("arccos", 1, U, np.arccos, _j("arccos"), _s("acos"), "[-1, 1], NaN outside"),
    _row("arctan", 1, U, np.arctan, _j("arctan"), _s("atan"), "all reals"),
    _row("sinh", 1, U, np.sinh, _j("sinh"), _s("sinh"), "all reals; overflows past ~89 (f32)"),
    _row("cosh", 1, U, np.cosh, _j("cosh"), _s("cosh"), "all reals; overflows past ~89 (f32)"),
    _row("tanh", 1, U, np.tanh, _j("tanh"), _s("tanh"), "all reals"),
    _row("arcsinh", 1, U, np.arcsinh, _j("arcsinh"), _s("asinh"), "all reals"),
    _row("arccosh", 1, U, np.arccosh, _j("arccosh"), _s("acosh"), "[1, inf), NaN below"),
    _row("arctanh", 1, U, np.arctanh, _j("arctanh"), _s("atanh"), "(-1, 1), inf at +-1, NaN out"),
    _row("exp", 1, U, np.exp, _j("exp"), _s("exp"), "all reals; overflows past ~88 (f32)"),
    _row("exp2", 1, U, np.exp2, _j("exp2"), lambda a: 2**a, "all reals"),
    _row("exp10", 1, U, lambda a: np.power(10.0, a), lambda a: _jnp().power(10.0, a),
         lambda a: 10**a, "all reals"),
    _row("expm1", 1, U, np.expm1, _j("expm1"), lambda a: _sp().exp(a) - 1, "all reals"),
    _row("log", 1, U, lambda a: np.log(np.abs(a)), lambda a: _jnp().log(_jnp().abs(a)),
         lambda a: _sp().log(_sp().Abs(a)), "log |x|; -inf at 0"),
    _row("log10", 1, U, lambda a: np.log10(np.abs(a)), lambda a: _jnp().log10(_jnp().abs(a)),
         lambda a: _sp().log(_sp().Abs(a), 10), "log10 |x|; -inf at 0"),
    _row("log2", 1, U, lambda a: np.log2(np.abs(a)), lambda a: _jnp().log2(_jnp().abs(a)),
         lambda a: _sp().log(_sp().Abs(a), 2), "log2 |x|; -inf at 0"),
    _row("log1p", 1, U, lambda a: np.log1p(np.abs(a)), lambda a: _jnp().log1p(_jnp().abs(a)),
         lambda a: _sp().log(1 + _sp().Abs(a)), "log(1 + |x|)"),
    _row("square", 1, U, np.square, _j("square"), lambda a: a**2, "all reals"),
    _row("sqrt", 1, U, lambda a: np.sqrt(np.abs(a)), lambda a: _jnp().sqrt(_jnp().abs(a)),
         lambda a: _sp().sqrt(_sp().Abs(a)), "sqrt |x|"),
    _row("cube", 1, U, lambda a: np.power(a, 3), lambda a: _jnp().power(a, 3),
         lambda a: a**3, "all reals"),
    _row("cbrt", 1, U, np.cbrt, _j("cbrt"), lambda a: _sp().sign(a) * _sp().Abs(a) ** _sp().Rational(1, 3),
         "all reals (real cube root)"),
    _row("sign", 1, U, np.sign, _j("sign"), _s("sign"), "all reals; sign(0) = 0"),
    _row("reciprocal", 1, U, lambda a: _np_div(1.0, a), lambda a: _jnp_div(1.0, a), None,
         "safe: 0 at 0"),
    # binary elementwise
    _row("max", 2, U, np.maximum, _j("maximum"), _s("Max"), "all reals"),
    _row("min", 2, U, np.minimum, _j("minimum"), _s("Min"), "all reals"),
    _row("power", 2, U, np.power, _j("power"), lambda a, b: a**b,
         "x ** y; NaN for a negative base and a non-integer exponent"),
    _row("clip", 2, U, _np_clip, _jnp_clip, None, "x clipped to [-|c|, |c|]"),
    _row("interp", 3, U, _np_interp, _np_interp, lambda x, y, a: (1 - a) * x + a * y,
         "(1 - a) * x + a * y"),
    _summing("clip_by_global_norm", 2, U, _np_clip_by_global_norm, _clip_by_global_norm_by,
             "x scaled so that its L2 norm is at most |c|"),
    # reducing
    _summing("norm", 1, R, _np_norm, _norm_by, "L2 norm of the tensor (a scalar)"),
    _summing("global_norm", 1, R, _np_norm, _norm_by,
             "L2 norm of the whole tensor the program sees (= norm per parameter leaf)"),
    _summing("dot", 2, R, _np_dot, _dot_by, "sum of x * y (a scalar)"),
    _summing("cosine_sim", 2, R, _np_cosine_sim, _cosine_sim_by,
             "dot(x, y) / (norm(x) norm(y)); 0 if either is 0"),
)

BY_NAME: dict[str, Op] = {op.name: op for op in OPS}
OP_CODE: dict[str, int] = {op.name: i for i, op in enumerate(OPS)}
INFIX: dict[str, str] = {op.infix: op.name for op in OPS if op.infix}


def get(name: str) -> Op:
    """The op called ``name`` (KeyError if there is none)."""
    return BY_NAME[name]
