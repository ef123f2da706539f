"""Pass 4: canonicalize the algebra, exactly under the DSL's conventions.

Each live statement is expanded into a small expression tree (its definition inlined a few
levels deep), the tree is rewritten bottom-up, and the statement is replaced by the rewritten
tree when that makes the program cheaper (``ssa.cost``: fewer live statements, or shorter
dependency chains). Two kinds of rewrite:

* local identities that hold under the DSL's own conventions and that a generic algebra system
  does not know: safe division makes ``x / sqrt(x * x)`` and ``x / abs(x)`` exactly ``sign(x)``
  (zero included); ``sqrt`` acts on ``|x|`` so ``sqrt(x * x)`` is ``abs(x)``; ``x * 1``,
  ``x + 0``, ``--x``, ``interp(x, y, 0)``, ``sign(sign(x))``, ``sign(c * x)`` for c > 0 ...
* linear normalization with sympy: a subtree made of ``+ - *constant negative`` and ``interp``
  with a constant weight is a linear combination of its atoms; sympy expands it exactly and it is
  re-emitted in the shortest form (one ``interp`` when two coefficients sum to 1). This is what
  turns ``interp(g, interp(g, v, a), b)`` into ``interp(g, v, a * b)``.

Everything is exact in real arithmetic; in floats the results agree to rounding (and away from
overflow, e.g. ``x * x`` overflowing where ``sign(x)`` does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from dsl import ops
from dsl.check import SCALAR, TENSOR, infer_kinds
from dsl.printer import format_arg
from dsl.program import INPUTS, Program, ProgramError, Statement
from simplify.ssa import cost, definitions, live_cost, live_program, replace_uses

DEPTH = 3
"""How many levels of definitions are inlined into a statement's tree."""


@dataclass(frozen=True)
class Call:
    op: str
    args: tuple[Expr, ...]
    origin: str | None = field(default=None, compare=False)  # SSA name this subtree equals


Expr = Union[str, float, Call]


def show(e: Expr, names: frozenset[str] | set[str] = frozenset()) -> str:
    """Readable infix text of a tree; subtrees whose origin is in ``names`` print as that name."""
    if isinstance(e, str):
        return e
    if isinstance(e, float):
        return format_arg(e)
    if e.origin is not None and e.origin in names:
        return e.origin
    op = ops.BY_NAME[e.op]
    args = [show(a, names) for a in e.args]
    if op.infix:
        return f"({args[0]} {op.infix} {args[1]})"
    if e.op == "negative":
        return f"-{args[0]}"
    return f"{e.op}({', '.join(args)})"


def expand(program: Program, name: str, depth: int = DEPTH, defs=None) -> Expr:
    """The tree of ``name``'s value, definitions inlined ``depth`` levels (SSA programs)."""
    defs = definitions(program) if defs is None else defs
    if name in INPUTS or name not in defs or depth <= 0:
        return name
    st = program.statements[defs[name]]
    args = tuple(a if not isinstance(a, str) else expand(program, a, depth - 1, defs)
                 for a in st.args)
    return Call(st.op, args, origin=name)


# --- local rules --------------------------------------------------------------------------------

def _c(e: Expr) -> float | None:
    return e if isinstance(e, float) else None


def key(e: Expr):
    """A hashable identity of a value: its SSA name where known, else its structure.

    Inlining stops at different depths along different paths, so the same SSA value may appear
    as trees of different depth; the name identifies it.
    """
    if isinstance(e, Call):
        if e.origin is not None:
            return ("name", e.origin)
        return (e.op, tuple(key(a) for a in e.args))
    if isinstance(e, str):
        return ("name", e)
    return ("const", e)


def _same(a: Expr, b: Expr) -> bool:
    return key(a) == key(b)


def origins(e: Expr) -> set[str]:
    """SSA names of the named subtrees of ``e`` (outermost ones)."""
    if isinstance(e, str):
        return {e}
    if not isinstance(e, Call):
        return set()
    if e.origin is not None:
        return {e.origin}
    out: set[str] = set()
    for a in e.args:
        out |= origins(a)
    return out


DIGITS = 12
"""Constants computed by a rewrite keep 12 significant digits, as constant folding does
(``passes.FOLD_DIGITS``): ``0.992 * 0.9072580645161291`` reads ``0.9``, not ``0.8999999999999999``."""


def _round(value: float) -> float:
    return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else value


def _fold(e: Call) -> Expr:
    if all(isinstance(a, float) for a in e.args):
        with np.errstate(all="ignore"):
            val = np.asarray(ops.BY_NAME[e.op].np_fn(*e.args), dtype=float)
        if val.shape == () and math.isfinite(float(val)):
            return _round(float(val))
    return e


def _without_factor(e: Expr, x: Expr) -> Expr | None:
    """``e / x`` when ``x`` is a factor of the product tree ``e`` (1.0 when ``e`` is ``x``), else
    None. Sibling subtrees are kept whole, so named values are reused, not recomputed."""
    if _same(e, x):
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


def _sign_through_magnitude(num: Expr, den: Expr) -> tuple[Expr, str] | None:
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
        out = Call("mul", (out, _round(scale)))
    return out, "(x * k) / |x| = sign(x) * k (safe division: 0 at 0)"


def _common_factor(op: str, a: Expr, b: Expr, weight: Expr | None = None) -> tuple[Expr, str] | None:
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


def _rule(e: Call) -> tuple[Expr, str] | None:
    """One local rewrite at the root of ``e`` (children already rewritten), or None."""
    op, a = e.op, e.args
    if ops.BY_NAME[op].kind != ops.CONSTANT and all(isinstance(x, float) for x in a):
        folded = _fold(e)
        if folded is not e:
            return folded, "fold constants"
    if op == "mul":
        x, y = a
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
                    return Call("mul", (p, _round(c * q))), "(x * a) * b = x * (a b)"
                if _c(p) is not None:
                    return Call("mul", (q, _round(c * p))), "(a * x) * b = x * (a b)"
    if op == "add":
        x, y = a
        if _c(y) == 0.0:
            return x, "x + 0 = x"
        if _c(x) == 0.0:
            return y, "0 + x = x"
    if op == "sub":
        x, y = a
        if _c(y) == 0.0:
            return x, "x - 0 = x"
        if _c(x) == 0.0:
            return Call("negative", (y,)), "0 - x = -x"
    if op == "div":
        x, y = a
        if _c(y) == 1.0:
            return x, "x / 1 = x"
        if isinstance(y, Call) and _abs_of(y) is not None and _same(_abs_of(y), x):
            return Call("sign", (x,)), "x / |x| = sign(x) (safe division: 0 at 0)"
        hit = _sign_through_magnitude(x, y)
        if hit is not None:
            return hit
    if op in ("add", "sub"):
        hit = _common_factor(op, a[0], a[1])
        if hit is not None:
            return hit
    if op == "interp" and isinstance(a[2], float):
        hit = _common_factor(op, a[0], a[1], a[2])
        if hit is not None:
            return hit
    if op == "clip" and isinstance(a[1], float):
        b = bound(a[0])
        if b is not None and b <= abs(a[1]):
            return a[0], f"clip(x, c) = x where |x| <= {b:.6g} <= |c| (the bound never binds)"
    if op == "negative" and isinstance(a[0], Call) and a[0].op == "negative":
        return a[0].args[0], "--x = x"
    if op == "mul" and all(isinstance(x, Call) and x.op == "negative" for x in a):
        return Call("mul", (a[0].args[0], a[1].args[0])), "(-a) * (-b) = a * b"
    if op in ("add", "sub") and isinstance(a[1], Call) and a[1].op == "negative":
        if op == "add":
            return Call("sub", (a[0], a[1].args[0])), "a + (-b) = a - b"
        return Call("add", (a[0], a[1].args[0])), "a - (-b) = a + b"
    if op == "sqrt" and isinstance(a[0], Call):
        sq = _square_of(a[0])
        if sq is not None:
            return Call("abs", (sq,)), "sqrt(x * x) = |x|"
        if a[0].op == "abs":
            return Call("sqrt", (a[0].args[0],)), "sqrt(|x|) = sqrt(x) (sqrt acts on |x|)"
    if op in ("sign", "abs") and isinstance(a[0], Call):
        inner = a[0]
        if inner.op == op:
            return inner, f"{op}({op}(x)) = {op}(x)"
        if op == "abs" and inner.op == "negative":
            return Call("abs", inner.args), "|-x| = |x|"
        if inner.op == "mul":
            p, q = inner.args
            for x, c in ((p, _c(q)), (q, _c(p))):
                if c is not None and c > 0:
                    if op == "sign":
                        return Call("sign", (x,)), "sign(c x) = sign(x) for c > 0"
    if op == "interp":
        x, y, w = a
        if _c(w) == 0.0:
            return x, "interp(x, y, 0) = x"
        if _c(w) == 1.0:
            return y, "interp(x, y, 1) = y"
        if _same(x, y):
            return x, "interp(x, x, a) = x"
    if op in ("max", "min") and _same(a[0], a[1]):
        return a[0], f"{op}(x, x) = x"
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
    if e.op == "mul" and _same(e.args[0], e.args[1]):
        return e.args[0]
    return None


# --- linear normalization with sympy ------------------------------------------------------------

_LINEAR = frozenset({"add", "sub", "negative", "mul", "interp", "div"})


def _is_linear_node(e: Expr) -> bool:
    if not isinstance(e, Call) or e.op not in _LINEAR:
        return False
    if e.op == "mul":
        return any(isinstance(x, float) for x in e.args)
    if e.op == "div":
        return isinstance(e.args[1], float) and e.args[1] != 0.0
    if e.op == "interp":
        return isinstance(e.args[2], float)
    return True


def _linear_size(e: Expr) -> int:
    """Number of linear ops in the maximal linear subtree rooted at ``e``."""
    if not _is_linear_node(e):
        return 0
    return 1 + sum(_linear_size(x) for x in e.args)


def _linear_form(e: Expr) -> tuple[dict, float, list] | None:
    """(atom -> coefficient, constant, atoms in order) of a linear subtree, via sympy."""
    import sympy

    atoms: list[Expr] = []
    symbols: list = []

    def to_sym(x: Expr):
        if isinstance(x, float):
            return sympy.Float(x)
        if _is_linear_node(x):
            args = [to_sym(a) for a in x.args]
            if x.op == "div":
                return args[0] * sympy.Float(1.0 / x.args[1])
            return ops.BY_NAME[x.op].sympy_fn(*args)
        for i, known in enumerate(atoms):
            if _same(known, x):
                return symbols[i]
        atoms.append(x)
        symbols.append(sympy.Symbol(f"a{len(atoms)}"))
        return symbols[-1]

    expr = sympy.expand(to_sym(e))
    coeffs = {}
    for i, s in enumerate(symbols):
        c = expr.coeff(s)
        if c.free_symbols:
            return None
        coeffs[i] = float(c)
    const = expr.subs({s: 0 for s in symbols})
    if const.free_symbols:
        return None
    return coeffs, float(const), atoms


def _emit_linear(coeffs: dict, const: float, atoms: list) -> Expr:
    terms: list[Expr] = []
    used = [(atoms[i], c) for i, c in coeffs.items() if c != 0.0]
    used = [(x, _round(c)) for x, c in used]
    const = _round(const)
    if len(used) == 2 and const == 0.0 and math.isclose(used[0][1] + used[1][1], 1.0,
                                                        rel_tol=0, abs_tol=1e-12):
        (x, cx), (y, cy) = used
        return Call("interp", (x, y, cy))
    for x, c in used:
        if c == 1.0:
            terms.append(x)
        elif c == -1.0:
            terms.append(Call("negative", (x,)))
        else:
            terms.append(Call("mul", (x, c)))
    if not terms:
        return const
    out = terms[0]
    for t in terms[1:]:
        if isinstance(t, Call) and t.op == "negative":
            out = Call("sub", (out, t.args[0]))
        else:
            out = Call("add", (out, t))
    if const != 0.0:
        out = Call("add", (out, const))
    return out


def _size(e: Expr) -> int:
    return 0 if not isinstance(e, Call) else 1 + sum(_size(a) for a in e.args)


def linear_normalize(e: Expr) -> tuple[Expr, str] | None:
    """Shorter form of a linear subtree with at least two linear ops, or None."""
    if _linear_size(e) < 2:
        return None
    form = _linear_form(e)
    if form is None:
        return None
    new = _emit_linear(*form)
    if _size(new) < _size(e):
        return new, "linear combination (sympy)"
    return None


# --- driving the rewrite ------------------------------------------------------------------------

def kind(e: Expr, kinds: dict[str, str]) -> str:
    """scalar or tensor, as the checker infers it (reductions and constants are scalars)."""
    if isinstance(e, float):
        return "scalar"
    if isinstance(e, str):
        return kinds.get(e, "scalar" if e == "lr" else "tensor")
    if ops.BY_NAME[e.op].kind in (ops.REDUCING, ops.CONSTANT):
        return "scalar"
    return "tensor" if any(kind(a, kinds) == "tensor" for a in e.args) else "scalar"


def rewrite(e: Expr, notes: list[str], kinds: dict[str, str] | None = None) -> Expr:
    """``e`` rewritten bottom-up to a fixed point; rule names are appended to ``notes``.

    A rewrite must keep the kind of the subtree: ``interp(w, lr, 1)`` equals ``lr`` everywhere
    but is a tensor, and a reduction over it (``norm``) sees the difference.
    """
    kinds = {} if kinds is None else kinds
    if not isinstance(e, Call):
        return e
    args = tuple(rewrite(a, notes, kinds) for a in e.args)
    if args != e.args:
        e = Call(e.op, args)
    hit = _rule(e)
    if hit is None or kind(hit[0], kinds) != kind(e, kinds):
        hit = linear_normalize(e)
    if hit is None or kind(hit[0], kinds) != kind(e, kinds):
        return e
    new, why = hit
    notes.append(why)
    # every rule makes the tree smaller or trades an op for a cheaper one, so this terminates
    return rewrite(new, notes, kinds) if isinstance(new, Call) else new


class _Taken:
    """Names in use: a base shared by every candidate of one scan, plus this candidate's own.

    Copying the base per candidate made each rewrite attempt cost the program's length."""

    def __init__(self, base: set[str] | frozenset[str]):
        self.base = base
        self.extra: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self.base or name in self.extra

    def add(self, name: str) -> None:
        self.extra.add(name)


def _emit(e: Expr, dst: str, taken) -> tuple[list[Statement], str | float]:
    """Statements computing ``e`` (the last one assigns ``dst``); reuse named subtrees.

    ``taken`` (a set or ``_Taken``) holds the names in use; fresh names are added to it."""
    out: list[Statement] = []
    counter = [0]

    def fresh() -> str:
        while True:
            counter[0] += 1
            name = f"{dst}_{counter[0]}"
            if name not in taken:
                taken.add(name)
                return name

    def go(x: Expr, target: str | None):
        if isinstance(x, (str, float)):
            return x
        if x.origin is not None and target is None:
            return x.origin
        args = tuple(go(a, None) for a in x.args)
        name = target or fresh()
        out.append(Statement(name, x.op, args))
        return name

    if isinstance(e, (str, float)) or (e.origin is not None):
        return [], (e if not isinstance(e, Call) else e.origin)
    go(e, dst)
    return out, dst


@dataclass
class _Scan:
    """What every rewrite attempt on one program shares, computed once per program.

    Recomputing these per attempt (definitions, kinds, names, the program's cost) made each
    attempt cost the program's length, and a long program quadratic to simplify."""

    program: Program
    defs: dict[str, int]
    kinds: dict[str, str]
    names: frozenset[str]
    _cost: tuple[int, int] | None = None

    @classmethod
    def of(cls, program: Program, defs: dict[str, int] | None = None,
           kinds: dict[str, str] | None = None) -> _Scan:
        defs = definitions(program) if defs is None else defs
        if kinds is None:
            kinds = dict(zip((s.dst for s in program.statements), infer_kinds(program)))
        names = frozenset(s.dst for s in program.statements) | frozenset(INPUTS)
        return cls(program, defs, kinds, names)

    def cost(self) -> tuple[int, int]:
        if self._cost is None:
            self._cost = cost(self.program)
        return self._cost


def rewrite_statement(program: Program, index: int, defs: dict[str, int] | None = None,
                      kinds: dict[str, str] | None = None,
                      scan: _Scan | None = None) -> tuple[Program, str] | None:
    """Try to rewrite statement ``index`` of an SSA program; the new program if it is cheaper."""
    if scan is None or scan.program is not program:
        scan = _Scan.of(program, defs, kinds)
    st = program.statements[index]
    tree = expand(program, st.dst, DEPTH, scan.defs)
    notes: list[str] = []
    new = rewrite(tree, notes, scan.kinds)
    if not notes or key(new) == key(tree):
        return None
    if isinstance(new, Call) and new.origin == st.dst:
        return None
    emitted, value = _emit(new, st.dst, _Taken(scan.names))
    try:
        if not emitted:
            if isinstance(value, float) and st.dst in program.returns:
                return None
            candidate = replace_uses(program, st.dst, value, drop=index)
        else:
            statements = program.statements[:index] + tuple(emitted) + program.statements[index + 1:]
            candidate = program.replace(statements=statements)
    except ProgramError:
        return None
    # Same kind as before means every later kind is unchanged, so the returned values are
    # still tensors (what ``analyze`` checks) and only the emitted statements need a look.
    if not _same_kind(scan.kinds[st.dst], _emitted_kinds(emitted, scan.kinds), value):
        return None
    live = live_program(candidate)
    if live_cost(live) >= scan.cost():
        return None
    kept = origins(new)
    detail = f"{st.dst} = {_show_root(tree, kept)} -> {show(new, kept)}"
    detail += f"  [{'; '.join(dict.fromkeys(notes))}]"
    return live, detail


def _emitted_kinds(emitted: list[Statement], kinds: dict[str, str]) -> dict[str, str]:
    """Kinds of the emitted statements' names, the rest of the program's kinds being ``kinds``."""
    env: dict[str, str] = {}
    for s in emitted:
        if ops.BY_NAME[s.op].kind != ops.ELEMENTWISE:
            env[s.dst] = SCALAR
            continue
        tensor = False
        for a in s.names:
            k = env.get(a) or kinds.get(a) or (SCALAR if a == "lr" else TENSOR)
            tensor = tensor or k == TENSOR
        env[s.dst] = TENSOR if tensor else SCALAR
    return env


def _show_root(tree: Expr, names: set[str]) -> str:
    if isinstance(tree, Call):
        return show(Call(tree.op, tree.args), names)
    return show(tree, names)


def _same_kind(kb: str, after_kinds: dict[str, str], value) -> bool:
    """The rewritten value must keep its kind ``kb`` (a tensor stays a tensor: reductions see it)."""
    if isinstance(value, float):
        return kb == "scalar"
    if value in INPUTS:
        return kb == ("scalar" if value == "lr" else "tensor")
    return after_kinds.get(value, kb) == kb


def algebra_step(program: Program, start: int = 0) -> tuple[Program, str, int] | None:
    """The first profitable rewrite of a live statement of an SSA program, or None.

    The scan begins at statement ``start`` and wraps around (the driver passes the position of
    the previous rewrite, so long programs are not rescanned from the top each time); the
    third value is the position of this rewrite.
    """
    p = live_program(program)
    n = len(p.statements)
    scan = _Scan.of(p)
    for k in range(n):
        i = (start + k) % n
        hit = rewrite_statement(p, i, scan=scan)
        if hit is not None:
            return hit[0], hit[1], i
    return None


# --- flags that are not rewrites ------------------------------------------------------------------

INERT_CLIP = 100.0
"""A constant clip bound at least this large binds only on gradients far beyond the tasks' scale."""


def clip_notes(program: Program) -> list[str]:
    """Clips whose bound can never bind at the schedule's values (lr in [0, 1], the proxy tasks'
    schedules peak at 1), or binds only far beyond the tasks' scale: flagged, not rewritten
    (the first kind is exact only for those lr values; ablation decides the second)."""
    p = live_program(program)
    defs = definitions(p)
    notes = []
    lrs = np.linspace(0.0, 1.0, 101)
    for st in p.statements:
        if st.op != "clip":
            continue
        x, c = st.args
        tree = expand(p, x, 4, defs) if isinstance(x, str) else x
        b = bound(tree)
        text = f"{st.dst} = clip({format_arg(x)}, {format_arg(c)})"
        if isinstance(c, float):
            if b is None and abs(c) >= INERT_CLIP:
                notes.append(f"{text} binds only where |{format_arg(x)}| > {abs(c):.6g}: likely inert "
                             "at the tasks' gradient scale (ablation can test it)")
            continue
        values = _of_lr(expand(p, c, 8, defs), lrs)
        if b is not None and values is not None and np.all(np.abs(values) >= b):
            notes.append(f"{text} never binds for lr in [0, 1]: |{format_arg(x)}| <= {b:.6g} <= |{c}|")
    return notes


def _of_lr(e: Expr, lrs: np.ndarray) -> np.ndarray | None:
    """The values of a tree of lr and constants at ``lrs`` (None if it reads anything else)."""
    if isinstance(e, float):
        return np.full_like(lrs, e)
    if isinstance(e, str):
        return lrs if e == "lr" else None
    args = [_of_lr(a, lrs) for a in e.args]
    if any(a is None for a in args) or ops.BY_NAME[e.op].kind != ops.ELEMENTWISE:
        return None
    with np.errstate(all="ignore"):
        return np.asarray(ops.BY_NAME[e.op].np_fn(*args), dtype=float)
