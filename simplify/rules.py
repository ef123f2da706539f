"""The algebra pass's local rules: one entry per op in ``RULES``, like the op table.

Each rule rewrites the root of a tree whose children are already rewritten, under the DSL's own
conventions (``dsl/ops.py``): safe division makes ``x / |x|`` exactly ``sign(x)`` (zero
included), ``sqrt`` acts on ``|x|`` so ``sqrt(x * x)`` is ``|x|``, and the usual identities
(``x * 1``, ``x + 0``, ``--x``, ``interp(x, y, 0)`` ...). A rule returns the new tree and the
identity it used, or None; ``rule`` folds constants first, then asks the op's entry. Adding a
rule for an op means editing its one entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dsl import ops
from simplify.expr import Call, Expr, same

Rewrite = tuple[Expr, str]
"""A rewritten tree and the identity that justifies it (the derivation prints it)."""

DIGITS = 12
"""Constants computed by a rewrite keep 12 significant digits, as constant folding does
(``passes.FOLD_DIGITS``): ``0.992 * 0.9072580645161291`` reads ``0.9``, not ``0.8999999999999999``."""


def rounded(value: float) -> float:
    return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else value


def _c(e: Expr) -> float | None:
    return e if isinstance(e, float) else None


def _fold(e: Call) -> Expr:
    if all(isinstance(a, float) for a in e.args):
        with np.errstate(all="ignore"):
            val = np.asarray(ops.BY_NAME[e.op].np_fn(*e.args), dtype=float)
        if val.shape == () and math.isfinite(float(val)):
            return rounded(float(val))
    return e


# --- what several rules share -------------------------------------------------------------------

def _without_factor(e: Expr, x: Expr) -> Expr | None:
    """``e / x`` when ``x`` is a factor of the product tree ``e`` (1.0 when ``e`` is ``x``), else
    None. Sibling subtrees are kept whole, so named values are reused, not recomputed."""
    if same(e, x):
        return 1.0
    if isinstance(e, Call) and e.op == "mul":
        p, q = e.args
        for here, other in ((p, q), (q, p)):
            rest = _without_factor(here, x)
            if rest is not None:
                return other if rest == 1.0 else Call("mul", (rest, other))
    return None


def _factor_candidates(e: Expr) -> list[Expr]:
    """The non-constant factors of a product tree, outermost (named ones) first."""
    out: list[Expr] = []
    if isinstance(e, Call) and e.op == "mul":
        for a in e.args:
            if not isinstance(a, float):
                out.append(a)
        for a in e.args:
            if isinstance(a, Call) and a.op == "mul":
                out += _factor_candidates(a)
    return out


def _sign_through_magnitude(num: Expr, den: Expr) -> Rewrite | None:
    """``(x * k) / (|x| * c)`` is ``sign(x) * k / c`` (|x| in any spelling, k any product).

    Safe division makes the zero case agree: at x = 0 the left side is 0 / 0 = 0 and the right
    side sign(0) * k / c = 0."""
    scale = 1.0
    base = den
    if isinstance(den, Call) and den.op == "mul":
        for a, c in ((den.args[0], _c(den.args[1])), (den.args[1], _c(den.args[0]))):
            if c is not None and c != 0.0 and isinstance(a, Call) and _abs_of(a) is not None:
                base, scale = a, 1.0 / c
                break
    if not isinstance(base, Call):
        return None
    x = _abs_of(base)
    if x is None:
        return None
    rest = _without_factor(num, x)
    if rest is None:
        return None
    out: Expr = Call("sign", (x,))
    if rest != 1.0:
        out = Call("mul", (out, rest))
    if scale != 1.0:
        out = Call("mul", (out, rounded(scale)))
    return out, "(x * k) / |x| = sign(x) * k (safe division: 0 at 0)"


def _common_factor(op: str, a: Expr, b: Expr, weight: Expr | None = None) -> Rewrite | None:
    """``a * k (+ - interp) b * k`` as ``(a (+ - interp) b) * k``: the step size factored out of
    the update and the weight decay."""
    for f in _factor_candidates(a):
        if isinstance(f, float):
            continue
        ra, rb = _without_factor(a, f), _without_factor(b, f)
        if ra is None or rb is None:
            continue
        inner = Call(op, (ra, rb) if weight is None else (ra, rb, weight))
        return Call("mul", (inner, f)), "common factor: a * k + b * k = (a + b) * k"
    return None


def bound(e: Expr) -> float | None:
    """An upper bound of |e| that holds for every input, where one is evident (else None)."""
    if isinstance(e, float):
        return abs(e)
    if not isinstance(e, Call):
        return None
    if e.op in ("sign", "tanh", "sin", "cos"):
        return 1.0
    if e.op == "arctan":
        return math.pi / 2
    if e.op == "clip" and isinstance(e.args[1], float):
        return abs(e.args[1])
    if e.op in ("negative", "abs"):
        return bound(e.args[0])
    if e.op == "mul":
        x, y = bound(e.args[0]), bound(e.args[1])
        return None if x is None or y is None else x * y
    if e.op in ("add", "sub"):
        x, y = bound(e.args[0]), bound(e.args[1])
        return None if x is None or y is None else x + y
    if e.op == "interp" and isinstance(e.args[2], float) and 0.0 <= e.args[2] <= 1.0:
        x, y = bound(e.args[0]), bound(e.args[1])
        return None if x is None or y is None else max(x, y)
    return None


def _abs_of(e: Call) -> Expr | None:
    """x if ``e`` is |x| in one of its spellings: abs(x), sqrt(x * x), sqrt(square(x))."""
    if e.op == "abs":
        return e.args[0]
    if e.op == "sqrt" and isinstance(e.args[0], Call):
        return _square_of(e.args[0])
    return None


def _square_of(e: Call) -> Expr | None:
    if e.op == "square":
        return e.args[0]
    if e.op == "mul" and same(e.args[0], e.args[1]):
        return e.args[0]
    return None


# --- one entry per op ---------------------------------------------------------------------------

def _mul(e: Call) -> Rewrite | None:
    x, y = e.args
    if _c(y) == 1.0:
        return x, "x * 1 = x"
    if _c(x) == 1.0:
        return y, "1 * x = x"
    if _c(y) == -1.0:
        return Call("negative", (x,)), "x * -1 = -x"
    if _c(x) == -1.0:
        return Call("negative", (y,)), "-1 * x = -x"
    for inner, c in ((x, _c(y)), (y, _c(x))):
        if c is not None and isinstance(inner, Call) and inner.op == "mul":
            p, q = inner.args
            if _c(q) is not None:
                return Call("mul", (p, rounded(c * q))), "(x * a) * b = x * (a b)"
            if _c(p) is not None:
                return Call("mul", (q, rounded(c * p))), "(a * x) * b = x * (a b)"
    if all(isinstance(a, Call) and a.op == "negative" for a in e.args):
        return Call("mul", (x.args[0], y.args[0])), "(-a) * (-b) = a * b"
    return None


def _add_sub(e: Call) -> Rewrite | None:
    x, y = e.args
    add = e.op == "add"
    if _c(y) == 0.0:
        return x, "x + 0 = x" if add else "x - 0 = x"
    if _c(x) == 0.0:
        return (y, "0 + x = x") if add else (Call("negative", (y,)), "0 - x = -x")
    hit = _common_factor(e.op, x, y)
    if hit is not None:
        return hit
    if isinstance(y, Call) and y.op == "negative":
        if add:
            return Call("sub", (x, y.args[0])), "a + (-b) = a - b"
        return Call("add", (x, y.args[0])), "a - (-b) = a + b"
    return None


def _div(e: Call) -> Rewrite | None:
    x, y = e.args
    if _c(y) == 1.0:
        return x, "x / 1 = x"
    if isinstance(y, Call) and _abs_of(y) is not None and same(_abs_of(y), x):
        return Call("sign", (x,)), "x / |x| = sign(x) (safe division: 0 at 0)"
    return _sign_through_magnitude(x, y)


def _interp(e: Call) -> Rewrite | None:
    x, y, w = e.args
    if isinstance(w, float):
        hit = _common_factor("interp", x, y, w)
        if hit is not None:
            return hit
    if _c(w) == 0.0:
        return x, "interp(x, y, 0) = x"
    if _c(w) == 1.0:
        return y, "interp(x, y, 1) = y"
    if same(x, y):
        return x, "interp(x, x, a) = x"
    return None


def _clip(e: Call) -> Rewrite | None:
    x, c = e.args
    if isinstance(c, float):
        b = bound(x)
        if b is not None and b <= abs(c):
            return x, f"clip(x, c) = x where |x| <= {b:.6g} <= |c| (the bound never binds)"
    return None


def _negative(e: Call) -> Rewrite | None:
    x = e.args[0]
    if isinstance(x, Call) and x.op == "negative":
        return x.args[0], "--x = x"
    return None


def _sqrt(e: Call) -> Rewrite | None:
    x = e.args[0]
    if isinstance(x, Call):
        sq = _square_of(x)
        if sq is not None:
            return Call("abs", (sq,)), "sqrt(x * x) = |x|"
        if x.op == "abs":
            return Call("sqrt", (x.args[0],)), "sqrt(|x|) = sqrt(x) (sqrt acts on |x|)"
    return None


def _sign(e: Call) -> Rewrite | None:
    inner = e.args[0]
    if not isinstance(inner, Call):
        return None
    if inner.op == "sign":
        return inner, "sign(sign(x)) = sign(x)"
    if inner.op == "mul":
        p, q = inner.args
        for x, c in ((p, _c(q)), (q, _c(p))):
            if c is not None and c > 0:
                return Call("sign", (x,)), "sign(c x) = sign(x) for c > 0"
    return None


def _abs(e: Call) -> Rewrite | None:
    inner = e.args[0]
    op = inner.op if isinstance(inner, Call) else None
    if op == "abs":
        return inner, "abs(abs(x)) = abs(x)"
    if op == "negative":
        return Call("abs", inner.args), "|-x| = |x|"
    return None


def _idempotent(e: Call) -> Rewrite | None:
    if same(e.args[0], e.args[1]):
        return e.args[0], f"{e.op}(x, x) = x"
    return None


RULES: dict[str, Callable[[Call], Rewrite | None]] = {
    "mul": _mul,
    "add": _add_sub,
    "sub": _add_sub,
    "div": _div,
    "interp": _interp,
    "clip": _clip,
    "negative": _negative,
    "sqrt": _sqrt,
    "sign": _sign,
    "abs": _abs,
    "max": _idempotent,
    "min": _idempotent,
}
"""Op name -> its local rule; ops without an entry have none (beyond constant folding)."""


def rule(e: Call) -> Rewrite | None:
    """One local rewrite at the root of ``e`` (children already rewritten), or None."""
    if ops.BY_NAME[e.op].kind != ops.CONSTANT and all(isinstance(x, float) for x in e.args):
        folded = _fold(e)
        if folded is not e:
            return folded, "fold constants"
    entry = RULES.get(e.op)
    return None if entry is None else entry(e)
