"""Disguised built-ins: the same optimizer written the ways a search writes it, to test and measure
the simplifier.

Three kinds, all pure functions of a program (or a built-in's name) and a ``numpy`` Generator:

* **exact** disguises (``disguise``): random semantics-preserving transformations composed to a
  given depth. Each transformation is a named function (``TRANSFORMS``), so a benchmark can group
  the failures by the transformation that defeated the simplifier. Every result is checked
  against its original with the reference executor (``verify``);
* **pre-transformed** built-ins (``pretransform``): the built-in applied to ``f(g)`` for a random
  unary ``f`` (``PRETRANSFORMS``): a different optimizer, which recognition should name as
  "family on f(g)";
* **approximate** disguises (``approximate``): near-identity input transforms at the tasks' step
  sizes and tiny additive terms, which only ablation can remove.

Transformations work on single-assignment (SSA) programs and return one (or None where the
program has no site for them); ``reuse_names`` is the exception and only runs last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsl import library, ops
from dsl.check import TENSOR, final_kinds
from dsl.program import INPUTS, Arg, Program, Statement
from simplify.equiv import compare
from simplify.ssa import definitions, is_ssa, to_ssa

BUILT_INS: tuple[str, ...] = ("sgd", "momentum", "nesterov", "signsgd", "signum", "adamw", "lion")
"""The built-ins the benchmark disguises (adam is adamw with an epsilon; discovered is no family)."""

Transform = Callable[[Program, np.random.Generator], "Program | None"]


@dataclass(frozen=True)
class Disguise:
    """A disguised built-in: the program, the transformations applied in order, and the program
    after each of them (``stages[-1] == program``), so a failure can be traced to the first
    transformation after which the simplifier no longer copes."""

    base: str
    program: Program
    chain: tuple[str, ...]
    stages: tuple[Program, ...]
    pretransform: str | None = None  # the f of a built-in on f(g), as text (pre-transformed kind)


# --- helpers ------------------------------------------------------------------------------------

_STEMS = ("t", "x", "a", "tmp", "h", "buf", "q", "z", "s", "k")


def _taken(p: Program) -> set[str]:
    return {st.dst for st in p.statements} | set(INPUTS) | set(p.returns)


def _fresh(p: Program, rng: np.random.Generator, taken: set[str] | None = None) -> str:
    """A name not used in ``p`` (nor in ``taken``, which it joins)."""
    taken = _taken(p) if taken is None else taken
    while True:
        name = f"{_STEMS[int(rng.integers(len(_STEMS)))]}{int(rng.integers(1, 10_000))}"
        if name not in taken and name not in ops.BY_NAME:
            taken.add(name)
            return name


def _ssa(p: Program) -> Program:
    return p if is_ssa(p) else to_ssa(p)


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def _splice(p: Program, index: int, new: list[Statement], drop: bool = True) -> Program:
    """``p`` with statement ``index`` replaced by ``new`` (inserted before it when not ``drop``)."""
    sts = list(p.statements)
    sts[index:index + (1 if drop else 0)] = new
    return Program(tuple(sts), p.returns)


def _redirect(p: Program, old: str, new: str, start: int, rng: np.random.Generator,
              share: float = 0.5) -> Program:
    """Reads of ``old`` in statements from ``start`` on (and in the returns) moved to ``new``,
    each with probability ``share``, at least one when there is one."""
    sites = [(i, j) for i in range(start, len(p.statements))
             for j, a in enumerate(p.statements[i].args) if a == old]
    sites += [(-1, j) for j, r in enumerate(p.returns) if r == old]
    if not sites:
        return p
    chosen = {s for s in sites if rng.random() < share} or {sites[int(rng.integers(len(sites)))]}
    sts = list(p.statements)
    returns = list(p.returns)
    for i, j in chosen:
        if i < 0:
            returns[j] = new
        else:
            args = list(sts[i].args)
            args[j] = new
            sts[i] = Statement(sts[i].dst, sts[i].op, tuple(args))
    return Program(tuple(sts), tuple(returns))  # type: ignore[arg-type]


def _uses(p: Program, name: str) -> list[int]:
    return [i for i, st in enumerate(p.statements) if name in st.names]


def _is_tensor(p: Program, name: str) -> bool:
    if name in INPUTS:
        return name != "lr"
    return final_kinds(p).get(name) == TENSOR


def _split_factor(rng: np.random.Generator) -> float:
    """A random factor for splitting a constant: not 1, of either sign, short to print."""
    return float(_pick(rng, [0.5, 2.0, 4.0, 0.25, 3.0, 10.0, -2.0, 0.1, 1.5, 8.0, -0.5, 5.0]))


# --- the transformations ------------------------------------------------------------------------

def dead_statement(p: Program, rng: np.random.Generator) -> Program | None:
    """A statement nobody reads, at a random place, on names defined there."""
    index = int(rng.integers(len(p.statements) + 1))
    names = list(INPUTS) + [st.dst for st in p.statements[:index]]
    op = _pick(rng, ["cosh", "exp", "sin", "mul", "add", "abs", "sqrt", "tanh", "square", "interp",
                     "arcsin", "div", "sign", "norm"])
    args: list[Arg] = [_pick(rng, names) for _ in range(ops.BY_NAME[op].arity)]
    if op in ("mul", "interp") and rng.random() < 0.5:
        args[-1] = float(np.round(rng.uniform(-2, 2), 3))
    return _splice(p, index, [Statement(_fresh(p, rng), op, tuple(args))], drop=False)


def _free_slots(p: Program) -> list[int]:
    """State slots (1: m, 2: v) that the program neither reads nor changes."""
    read = {a for st in p.statements for a in st.names}
    return [s for s, name in ((1, "m"), (2, "v")) if p.returns[s] == name and name not in read]


def dead_state(p: Program, rng: np.random.Generator) -> Program | None:
    """A state the program writes and never needs: its own accumulator, or a temporary parked in it."""
    free = _free_slots(p)
    if not free:
        return None
    slot = _pick(rng, free)
    state = ("m", "v")[slot - 1]
    taken = _taken(p)
    returns = list(p.returns)
    tensors = [st.dst for st in p.statements if _is_tensor(p, st.dst)]
    if tensors and rng.random() < 0.4:
        returns[slot] = _pick(rng, tensors)  # e.g. the inner interp of a split EMA
        return Program(p.statements, tuple(returns))  # type: ignore[arg-type]
    a, b = _fresh(p, rng, taken), _fresh(p, rng, taken)
    form = int(rng.integers(3))
    if form == 0:
        new = [Statement(a, "square", ("g",)), Statement(b, "interp", (a, state, 0.95))]
    elif form == 1:
        new = [Statement(a, "cosh", (p.returns[0],)), Statement(b, "add", (a, state))]
    else:
        new = [Statement(a, "mul", (state, 0.5)), Statement(b, "add", (a, "g"))]
    returns[slot] = b
    return Program(p.statements + tuple(new), tuple(returns))  # type: ignore[arg-type]


def rename(p: Program, rng: np.random.Generator) -> Program | None:
    """Every temporary gets a new random name."""
    if not p.statements:
        return None
    taken = set(INPUTS)
    mapping = {st.dst: _fresh(p, rng, taken | set(p.returns) | {st.dst for st in p.statements})
               for st in p.statements}
    sts = tuple(Statement(mapping[st.dst], st.op,
                          tuple(mapping.get(a, a) if isinstance(a, str) else a for a in st.args))
                for st in p.statements)
    return Program(sts, tuple(mapping.get(r, r) for r in p.returns))  # type: ignore[arg-type]


def copy(p: Program, rng: np.random.Generator) -> Program | None:
    """A copy of a value (``y = x * 1``, ``x + 0``, ``max(x, x)``), read by some of its readers."""
    sites = [i for i, st in enumerate(p.statements) if _uses(p, st.dst) or st.dst in p.returns]
    if not sites:
        return None
    i = _pick(rng, sites)
    x = p.statements[i].dst
    y = _fresh(p, rng)
    form = int(rng.integers(3))
    new = Statement(y, *(("mul", (x, 1.0)), ("add", (x, 0.0)), ("max", (x, x)))[form])
    q = _splice(p, i + 1, [new], drop=False)
    return _redirect(q, x, y, i + 2, rng)


def reorder(p: Program, rng: np.random.Generator) -> Program | None:
    """Independent statements in another order (a random topological order)."""
    sts = list(p.statements)
    defs = definitions(p)
    deps = [{defs[a] for a in st.names if a in defs and defs[a] < i} for i, st in enumerate(sts)]
    for _ in range(5):
        done: set[int] = set()
        order: list[int] = []
        while len(order) < len(sts):
            ready = [i for i in range(len(sts)) if i not in done and deps[i] <= done]
            i = _pick(rng, ready)
            done.add(i)
            order.append(i)
        if order != list(range(len(sts))):
            return Program(tuple(sts[i] for i in order), p.returns)
    return None


def split_constant(p: Program, rng: np.random.Generator) -> Program | None:
    """A constant ``c`` written as a product: ``x * c`` as ``(x * a) * (c / a)``, or ``c`` as a
    name computed from two constants."""
    sites = [(i, j) for i, st in enumerate(p.statements) for j, a in enumerate(st.args)
             if not isinstance(a, str) and a != 0.0]
    if not sites:
        return None
    i, j = _pick(rng, sites)
    st = p.statements[i]
    c = float(st.args[j])
    a = _split_factor(rng)
    b = c / a
    if st.op == "mul" and rng.random() < 0.5:
        x = st.args[1 - j]
        t = _fresh(p, rng)
        return _splice(p, i, [Statement(t, "mul", (x, a)), Statement(st.dst, "mul", (t, b))])
    k = _fresh(p, rng)
    args = list(st.args)
    args[j] = k
    return _splice(p, i, [Statement(k, "mul", (a, b)), Statement(st.dst, st.op, tuple(args))])


def _abs_form(x: str, p: Program, rng: np.random.Generator, taken: set[str]) -> tuple[list[Statement], str]:
    """|x| written one of three ways: abs(x), sqrt(square(x)), sqrt(x * x)."""
    d = _fresh(p, rng, taken)
    form = int(rng.integers(3))
    if form == 0:
        return [Statement(d, "abs", (x,))], d
    q = _fresh(p, rng, taken)
    first = Statement(q, "square", (x,)) if form == 1 else Statement(q, "mul", (x, x))
    return [first, Statement(d, "sqrt", (q,))], d


def sign_magnitude(p: Program, rng: np.random.Generator) -> Program | None:
    """``sign(x)`` written through the magnitude: ``x / |x|`` (|x| in one of its spellings), or
    ``(x * c) / (|x| * c)``. Safe division makes the zero case agree (0 / 0 = 0 = sign(0))."""
    sites = [i for i, st in enumerate(p.statements) if st.op == "sign"]
    if not sites:
        return None
    i = _pick(rng, sites)
    st = p.statements[i]
    (x,) = st.args
    if not isinstance(x, str):
        return None
    taken = _taken(p)
    new, d = _abs_form(x, p, rng, taken)
    if rng.random() < 0.3:
        c = float(_pick(rng, [2.0, 0.5, 3.0, 10.0]))
        n, d2 = _fresh(p, rng, taken), _fresh(p, rng, taken)
        new += [Statement(n, "mul", (x, c)), Statement(d2, "mul", (d, c)), Statement(st.dst, "div", (n, d2))]
    else:
        new.append(Statement(st.dst, "div", (x, d)))
    return _splice(p, i, new)


def interp_arithmetic(p: Program, rng: np.random.Generator) -> Program | None:
    """``interp(x, y, a)`` as arithmetic: ``x * (1 - a) + y * a``, ``x + (y - x) * a``, or
    ``interp(y, x, 1 - a)``."""
    sites = [i for i, st in enumerate(p.statements)
             if st.op == "interp" and not isinstance(st.args[2], str)]
    if not sites:
        return None
    i = _pick(rng, sites)
    st = p.statements[i]
    x, y, a = st.args
    taken = _taken(p)
    t1, t2 = _fresh(p, rng, taken), _fresh(p, rng, taken)
    form = int(rng.integers(3))
    if form == 0:
        new = [Statement(t1, "mul", (x, 1.0 - a)), Statement(t2, "mul", (y, a)), Statement(st.dst, "add", (t1, t2))]
    elif form == 1:
        new = [Statement(t1, "sub", (y, x)), Statement(t2, "mul", (t1, a)), Statement(st.dst, "add", (x, t2))]
    else:
        new = [Statement(st.dst, "interp", (y, x, 1.0 - a))]
    return _splice(p, i, new)


def ema_split(p: Program, rng: np.random.Generator) -> Program | None:
    """``interp(x, y, b)`` as two interps ``interp(x, interp(x, y, a), b / a)`` (weights multiply);
    the inner one may be parked in a free state slot, as the Lion paper's raw program does."""
    sites = [i for i, st in enumerate(p.statements)
             if st.op == "interp" and not isinstance(st.args[2], str) and 0.0 < st.args[2] < 1.0]
    if not sites:
        return None
    i = _pick(rng, sites)
    st = p.statements[i]
    x, y, b = st.args
    a = float(np.round(rng.uniform(b, 1.0), 3))
    if a <= 0.0 or a == b:
        a = (1.0 + b) / 2
    inner = _fresh(p, rng)
    q = _splice(p, i, [Statement(inner, "interp", (x, y, a)), Statement(st.dst, "interp", (x, inner, b / a))])
    free = _free_slots(q)
    if free and rng.random() < 0.5:
        returns = list(q.returns)
        returns[_pick(rng, free)] = inner
        q = Program(q.statements, tuple(returns))  # type: ignore[arg-type]
    return q


def _lr_scalings(p: Program) -> dict[str, int]:
    """Names that are a positive multiple of lr (``lr``, ``lr * c``, ``c * lr`` with c > 0)."""
    out = {"lr": -1}
    for i, st in enumerate(p.statements):
        if st.op == "mul":
            a, b = st.args
            for x, c in ((a, b), (b, a)):
                if x in out and not isinstance(c, str) and c > 0:
                    out[st.dst] = i
    return out


def step_early(p: Program, rng: np.random.Generator) -> Program | None:
    """The step size applied early: ``(a + b) * k`` as ``a * k + b * k``, ``interp(a, b, c) * k``
    as ``interp(a * k, b * k, c)``, ``sign(x) * k`` as ``(x * k) / |x|``, ``(-a) * k`` as
    ``-(a * k)``."""
    defs = definitions(p)
    sites = []
    for i, st in enumerate(p.statements):
        if st.op != "mul":
            continue
        for e, k in ((st.args[0], st.args[1]), (st.args[1], st.args[0])):
            if isinstance(e, str) and e in defs and p.statements[defs[e]].op in (
                    "add", "sub", "interp", "sign", "negative"):
                sites.append((i, e, k))
    if not sites:
        return None
    i, e, k = _pick(rng, sites)
    st, inner = p.statements[i], p.statements[defs[e]]
    taken = _taken(p)
    fresh = lambda: _fresh(p, rng, taken)  # noqa: E731
    if inner.op in ("add", "sub"):
        a2, b2 = fresh(), fresh()
        new = [Statement(a2, "mul", (inner.args[0], k)), Statement(b2, "mul", (inner.args[1], k)),
               Statement(st.dst, inner.op, (a2, b2))]
    elif inner.op == "interp":
        if isinstance(inner.args[2], str) and inner.args[2] in defs and defs[inner.args[2]] > i:
            return None
        a2, b2 = fresh(), fresh()
        new = [Statement(a2, "mul", (inner.args[0], k)), Statement(b2, "mul", (inner.args[1], k)),
               Statement(st.dst, "interp", (a2, b2, inner.args[2]))]
    elif inner.op == "sign":
        (x,) = inner.args
        n = fresh()
        absolute, d = _abs_form(x, p, rng, taken) if isinstance(x, str) else ([], "")
        if not absolute:
            return None
        new = absolute + [Statement(n, "mul", (x, k)), Statement(st.dst, "div", (n, d))]
    else:
        n = fresh()
        new = [Statement(n, "mul", (inner.args[0], k)), Statement(st.dst, "negative", (n,))]
    return _splice(p, i, new)


def step_late(p: Program, rng: np.random.Generator) -> Program | None:
    """The step size's constant applied late: ``x * (lr * c)`` as ``(x * lr) * c`` or ``(x * c) * lr``."""
    scalings = _lr_scalings(p)
    sites = []
    for i, st in enumerate(p.statements):
        if st.op != "mul":
            continue
        for x, k in ((st.args[0], st.args[1]), (st.args[1], st.args[0])):
            if isinstance(k, str) and k != "lr" and k in scalings and scalings[k] >= 0 and _is_tensor(p, st.dst):
                ks = p.statements[scalings[k]]
                if "lr" in ks.args:
                    c = ks.args[1] if ks.args[0] == "lr" else ks.args[0]
                    sites.append((i, x, c))
    if not sites:
        return None
    i, x, c = _pick(rng, sites)
    st = p.statements[i]
    t = _fresh(p, rng)
    if rng.random() < 0.5:
        new = [Statement(t, "mul", (x, "lr")), Statement(st.dst, "mul", (t, c))]
    else:
        new = [Statement(t, "mul", (x, c)), Statement(st.dst, "mul", (t, "lr"))]
    return _splice(p, i, new)


def double_negation(p: Program, rng: np.random.Generator) -> Program | None:
    """A value read through two negations: ``-(-x)``, ``(-a) * (-b)`` or ``a - (-b)``."""
    sites = [i for i, st in enumerate(p.statements) if st.op in ("mul", "add")
             and all(isinstance(a, str) for a in st.args)]
    taken = _taken(p)
    if sites and rng.random() < 0.5:
        i = _pick(rng, sites)
        st = p.statements[i]
        a, b = st.args
        na, nb = _fresh(p, rng, taken), _fresh(p, rng, taken)
        if st.op == "mul":
            new = [Statement(na, "negative", (a,)), Statement(nb, "negative", (b,)), Statement(st.dst, "mul", (na, nb))]
        else:
            new = [Statement(nb, "negative", (b,)), Statement(st.dst, "sub", (a, nb))]
        return _splice(p, i, new)
    candidates = [i for i, st in enumerate(p.statements) if _uses(p, st.dst) or st.dst in p.returns]
    if not candidates:
        return None
    i = _pick(rng, candidates)
    x = p.statements[i].dst
    n1, n2 = _fresh(p, rng, taken), _fresh(p, rng, taken)
    q = _splice(p, i + 1, [Statement(n1, "negative", (x,)), Statement(n2, "negative", (n1,))], drop=False)
    return _redirect(q, x, n2, i + 3, rng)


def reuse_names(p: Program, rng: np.random.Generator) -> Program | None:
    """Names reassigned, as people write (``lr = lr * c``, ``update = update * lr``): a
    statement takes the name of an argument that nothing reads after it."""
    sts = list(p.statements)
    sites = []
    for i, st in enumerate(sts):
        for a in st.names:
            if a in ("w", "g", "lr") or a in p.returns[1:]:
                continue
            if not any(a in s.names for s in sts[i + 1:]) and a not in p.returns:
                sites.append((i, a))
    if not sites:
        return None
    chosen = [s for s in sites if rng.random() < 0.6] or [sites[0]]
    for i, a in chosen:
        old = sts[i].dst
        if any(s.dst == a for s in sts[i + 1:]) or any(a in s.names for s in sts[i + 1:]):
            continue
        sts = sts[:i] + [Statement(a, sts[i].op, sts[i].args)] + [
            Statement(s.dst, s.op, tuple(a if x == old else x for x in s.args)) for s in sts[i + 1:]]
        p = Program(tuple(sts), tuple(a if r == old else r for r in p.returns))  # type: ignore[arg-type]
        sts = list(p.statements)
    return p


TRANSFORMS: dict[str, Transform] = {
    "dead statement": dead_statement,
    "dead state": dead_state,
    "rename": rename,
    "copy": copy,
    "reorder": reorder,
    "split constant": split_constant,
    "sign through magnitude": sign_magnitude,
    "interp as arithmetic": interp_arithmetic,
    "ema split": ema_split,
    "step size early": step_early,
    "step size late": step_late,
    "double negation": double_negation,
}
"""The exact transformations, by name; ``reuse_names`` (not here) only ever runs last."""


# --- checking -----------------------------------------------------------------------------------

def verify(original: Program, disguised: Program, steps: int = 30, seeds: tuple[int, ...] = (0, 1)) -> bool:
    """Does ``disguised`` give ``original``'s updates along random trajectories (each program
    carrying its own states, since disguises may move or add state)?"""
    return all(compare(original, disguised, steps=steps, seed=s, size=8, states_from="own",
                       rtol=1e-7, atol=1e-9, relative_atol=True) is None for s in seeds)


# --- the three kinds ----------------------------------------------------------------------------

def _compose(p: Program, depth: int, rng: np.random.Generator,
             transforms: dict[str, Transform]) -> tuple[Program, list[str], list[Program]]:
    """``depth`` transformations applied in turn, each drawn among those with a site in the
    program; returns the result, their names and the program after each."""
    chain: list[str] = []
    stages: list[Program] = []
    names = list(transforms)
    while len(chain) < depth:
        for k in rng.permutation(len(names)):
            out = transforms[names[k]](_ssa(p), rng)
            if out is not None and out != p:
                p = out
                chain.append(names[k])
                stages.append(p)
                break
        else:  # pragma: no cover - dead statement always applies
            break
    return p, chain, stages


def disguise(name: str, depth: int, rng: np.random.Generator,
             transforms: dict[str, Transform] = TRANSFORMS, reuse: float = 0.3) -> Disguise:
    """Built-in ``name`` disguised by ``depth`` random transformations (each drawn among those
    with a site in the program), then, with probability ``reuse``, names reassigned.

    ``ValueError`` if the composition fails the executor check (a bug in a transformation)."""
    base = library.get(name)
    p = to_ssa(base)
    p, chain, stages = _compose(p, depth, rng, transforms)
    if rng.random() < reuse:
        out = reuse_names(p, rng)
        if out is not None and out != p:
            p = out
            stages[-1:] = [p]  # renaming is part of the last stage, not a stage of its own
    if not verify(base, p):
        raise ValueError(f"disguise of {name} by {chain} changed the optimizer:\n{p}")
    return Disguise(name, p, tuple(chain), tuple(stages))


PRETRANSFORMS: tuple[tuple[str, tuple[tuple[str, str, tuple], ...]], ...] = (
    ("tanh(g)", (("f1", "tanh", ("g",)),)),
    ("arctan(g)", (("f1", "arctan", ("g",)),)),
    ("arcsinh(g)", (("f1", "arcsinh", ("g",)),)),
    ("sin(g)", (("f1", "sin", ("g",)),)),
    ("cbrt(g)", (("f1", "cbrt", ("g",)),)),
    ("clip(g, 0.5)", (("f1", "clip", ("g", 0.5)),)),
    ("clip(g, lr)", (("f1", "clip", ("g", "lr")),)),
    ("arcsin(clip(g, lr))", (("f0", "clip", ("g", "lr")), ("f1", "arcsin", ("f0",)))),
    ("sinh(g)", (("f1", "sinh", ("g",)),)),
    ("g * |g|", (("f0", "abs", ("g",)), ("f1", "mul", ("g", "f0")))),
)
"""Unary pre-transforms ``f``: (how it reads, statements from g to ``f1``)."""


def apply_to_gradient(program: Program, lines: tuple[tuple[str, str, tuple], ...]) -> Program:
    """``program`` fed ``f(g)`` instead of ``g``: the lines (last one's name is f(g)) first."""
    p = to_ssa(program)
    taken = _taken(p)
    rename = {}
    for dst, _, _ in lines:
        k = 0
        name = dst
        while name in taken:
            k += 1
            name = f"{dst}_{k}"
        rename[dst] = name
        taken.add(name)
    head = [Statement(rename[d], op, tuple(rename.get(a, a) if isinstance(a, str) else a for a in args))
            for d, op, args in lines]
    out = rename[lines[-1][0]]
    body = [Statement(st.dst, st.op, tuple(out if a == "g" else a for a in st.args)) for st in p.statements]
    return Program(tuple(head + body), p.returns)


def pretransform(name: str, rng: np.random.Generator, depth: int = 0) -> Disguise:
    """Built-in ``name`` applied to ``f(g)`` for a random ``f`` of ``PRETRANSFORMS``, then
    ``depth`` exact disguises on top."""
    text, lines = PRETRANSFORMS[int(rng.integers(len(PRETRANSFORMS)))]
    base = apply_to_gradient(library.get(name), lines)
    p, chain, stages = _compose(base, depth, rng, TRANSFORMS)
    if not verify(base, p):
        raise ValueError(f"disguise of {name} on {text} changed the optimizer:\n{p}")
    return Disguise(name, p, tuple(chain), tuple(stages), pretransform=text)


APPROXIMATIONS: tuple[str, ...] = ("sin(g * s) / s", "g + tiny tanh(g)", "arcsin(clip(g, lr))",
                                   "update + tiny w", "update + tiny sign(g)")
"""Near-identity changes at the proxy tasks' scales (gradients ~1e-3..1, lr ~1), by name."""


def approximate(name: str, rng: np.random.Generator) -> Disguise:
    """Built-in ``name`` with one near-identity change that only ablation can remove: an input
    transform that is the identity to first order at the tasks' gradient sizes, or a tiny term
    added to the update. Not exact (no executor check): the point is that behaviour changes."""
    kind = APPROXIMATIONS[int(rng.integers(len(APPROXIMATIONS)))]
    base = library.get(name)
    if kind == "sin(g * s) / s":
        s = float(_pick(rng, [1e-2, 1e-3]))
        lines = (("f0", "mul", ("g", s)), ("f2", "sin", ("f0",)), ("f1", "div", ("f2", s)))
        return Disguise(name, apply_to_gradient(base, lines), (kind,), ())
    if kind == "g + tiny tanh(g)":
        lines = (("f0", "tanh", ("g",)), ("f2", "mul", ("f0", 1e-6)), ("f1", "add", ("g", "f2")))
        return Disguise(name, apply_to_gradient(base, lines), (kind,), ())
    if kind == "arcsin(clip(g, lr))":
        lines = (("f0", "clip", ("g", "lr")), ("f1", "arcsin", ("f0",)))
        return Disguise(name, apply_to_gradient(base, lines), (kind,), ())
    p = to_ssa(base)
    taken = _taken(p)
    u = p.returns[0]
    t, d, u2 = _fresh(p, rng, taken), _fresh(p, rng, taken), _fresh(p, rng, taken)
    src = ("mul", ("w", 1e-9)) if kind == "update + tiny w" else ("sign", ("g",))
    new = [Statement(t, *src)]
    if kind != "update + tiny w":
        new.append(Statement(d, "mul", (t, 1e-9)))
        t = d
    new.append(Statement(u2, "add", (u, t)))
    returns = (u2,) + tuple(p.returns[1:])
    return Disguise(name, Program(p.statements + tuple(new), returns), (kind,), ())  # type: ignore[arg-type]


__all__ = ["APPROXIMATIONS", "BUILT_INS", "Disguise", "PRETRANSFORMS", "TRANSFORMS", "apply_to_gradient",
           "approximate", "disguise", "pretransform", "reuse_names", "verify"]
