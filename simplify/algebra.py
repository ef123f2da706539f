"""Pass 4: canonicalize the algebra, exactly under the DSL's conventions.

Each live statement is expanded into a small expression tree (its definition inlined a few
levels deep), the tree is rewritten bottom-up, and the statement is replaced by the rewritten
tree when that makes the program cheaper (``ssa.cost``: fewer live statements, or shorter
dependency chains). The trees are ``simplify.expr``'s. Two kinds of rewrite:

* local identities (``simplify.rules``, one entry per op) that hold under the DSL's own
  conventions and that a generic algebra system does not know: safe division makes
  ``x / sqrt(x * x)`` and ``x / abs(x)`` exactly ``sign(x)`` (zero included); ``sqrt`` acts on
  ``|x|`` so ``sqrt(x * x)`` is ``abs(x)``; ``x * 1``, ``x + 0``, ``--x``, ``interp(x, y, 0)``,
  ``sign(sign(x))``, ``sign(c * x)`` for c > 0 ...
* linear normalization with sympy: a subtree made of ``+ - *constant negative`` and ``interp``
  with a constant weight is a linear combination of its atoms; sympy expands it exactly and it is
  re-emitted in the shortest form (one ``interp`` when two coefficients sum to 1). This is what
  turns ``interp(g, interp(g, v, a), b)`` into ``interp(g, v, a * b)``.

Everything is exact in real arithmetic; in floats the results agree to rounding (and away from
overflow, e.g. ``x * x`` overflowing where ``sign(x)`` does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsl import ops
from dsl.check import SCALAR, TENSOR, infer_kinds
from dsl.program import INPUTS, Program, ProgramError, Statement, format_arg
from simplify.expr import DEPTH, Call, Expr, expand, key, origins, same, show
from simplify.rules import bound, rounded, rule
from simplify.ssa import cost, definitions, live_cost, live_program, replace_uses

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
            if same(known, x):
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
    used = [(x, rounded(c)) for x, c in used]
    const = rounded(const)
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
    hit = rule(e)
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
