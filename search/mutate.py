"""The Lion paper's three mutations (insert a statement, delete one, modify one argument), and a
fourth, ``split`` (gene duplication), that is off by default.

Each mutation is a pure function ``(program, rng, options) -> (child, description)`` that may
raise ``ProgramError`` when the draw is not applicable (deleting from an empty program, a name
used before it is defined...); ``options`` is the config's ``mutation:`` section as it is. The
table ``MUTATIONS`` names them with their default weights: a new mutation is a function and one
entry there, and the config gets its weight key ``mutation.<name>`` from the table. ``mutate``
draws mutations by weight and redraws until the child passes ``dsl.analyze`` and the length
limit, and reports how many draws were rejected: the search counts them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dsl import ops
from dsl.check import Analysis, analyze, scan_kinds
from dsl.program import INPUTS, Program, ProgramError, Statement, format_statement

# Constants the insert mutation favours: the values optimizers are made of.
NICE_CONSTANTS = (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0, 2.0)


class MutationOptions(Protocol):
    """What the mutations read of the config's ``mutation:`` section (``search.config.MutationSection``)."""

    max_length: int
    max_redraws: int
    constant_prob: float
    new_name_prob: float
    mutations_per_child: int
    inplace_prob: float
    interp_logit: bool
    ops: Sequence[str] | None


@dataclass(frozen=True)
class Child:
    program: Program
    analysis: Analysis
    mutation: str  # e.g. "insert 3: t1 = sin(g)"
    redraws: int   # rejected draws before this child


class MutationFailed(RuntimeError):
    """No valid child within ``max_redraws`` draws (the seed programs are probably broken)."""


def _names_before(program: Program, index: int) -> dict[str, str]:
    """Kind of each name visible just before statement ``index``."""
    return scan_kinds(program, index)[0]


def _fresh_name(program: Program) -> str:
    used = set(INPUTS) | {st.dst for st in program.statements} | set(program.returns)
    k = 1
    while f"t{k}" in used:
        k += 1
    return f"t{k}"


def random_constant(rng: np.random.Generator) -> float:
    """Half the time a 'nice' optimizer constant, else 10**U(-4, 1) with 4 significant digits."""
    if rng.random() < 0.5:
        return float(NICE_CONSTANTS[rng.integers(len(NICE_CONSTANTS))])
    x = 10.0 ** rng.uniform(-4.0, 1.0)
    return float(f"{x:.4g}")


def insert_statement(program: Program, rng: np.random.Generator, s: MutationOptions) -> tuple[Program, str]:
    """A random op at a random position; arguments are visible names or fresh constants.

    With probability ``inplace_prob`` (and a statement before the position) the new statement
    transforms the value just computed, in place: ``x = op(x, ...)`` where ``x`` is the previous
    statement's destination. Optimizers are built of such steps (normalize, clip, take the sign of
    the direction just formed); uniform draws make them rare (about one draw in
    ``ops x names x names``), so this prior is how a small budget can find them.
    """
    pos = int(rng.integers(len(program.statements) + 1))
    env = _names_before(program, pos)
    names = sorted(env)
    op_names = s.ops or tuple(op.name for op in ops.OPS)
    op = ops.BY_NAME[op_names[int(rng.integers(len(op_names)))]]
    inplace = s.inplace_prob > 0 and pos > 0 and op.arity > 0 and rng.random() < s.inplace_prob
    args = []
    for _ in range(op.arity):
        if rng.random() < s.constant_prob:
            args.append(random_constant(rng))
        else:
            args.append(names[int(rng.integers(len(names)))])
    if inplace:
        args[0] = program.statements[pos - 1].dst
    if op.arity and all(not isinstance(a, str) for a in args):
        # an all-constant statement is a constant fold: read a name so it can matter
        args[int(rng.integers(op.arity))] = names[int(rng.integers(len(names)))]
    if inplace:
        dst = program.statements[pos - 1].dst
    elif rng.random() < s.new_name_prob:
        dst = _fresh_name(program)
    else:
        dst = names[int(rng.integers(len(names)))]
    st = Statement(dst, op.name, tuple(args))
    stmts = list(program.statements)
    stmts.insert(pos, st)
    return program.replace(statements=stmts), f"insert {pos + 1}: {format_statement(st)}"


def delete_statement(program: Program, rng: np.random.Generator, s: MutationOptions) -> tuple[Program, str]:
    """Remove a random statement (invalid if a later statement or a return needed its name)."""
    if not program.statements:
        raise ProgramError("nothing to delete")
    pos = int(rng.integers(len(program.statements)))
    st = program.statements[pos]
    stmts = list(program.statements)
    del stmts[pos]
    return program.replace(statements=stmts), f"delete {pos + 1}: {format_statement(st)}"


def perturb_weight(a: float, rng: np.random.Generator) -> float:
    """An interpolation weight in (0, 1) moved by N(0, 1) on the logit scale.

    What matters in a moving average is ``1 - a`` (its horizon) near 1 and ``a`` near 0; scaling
    ``a`` itself by 2**N(0, 1) moves 0.9 into [0.93, 0.97] about 2% of the time and past 1 (out
    of the family) half the time. On the logit scale that window is about one draw in four, and
    the weight stays a weight.
    """
    z = math.log(a / (1.0 - a)) + rng.normal()
    new = float(f"{1.0 / (1.0 + math.exp(-z)):.4g}")
    if not 0.0 < new < 1.0:
        raise ProgramError("interpolation weight rounded to 0 or 1")
    return new


def modify_argument(program: Program, rng: np.random.Generator, s: MutationOptions) -> tuple[Program, str]:
    """Swap one name argument for another visible name of the same kind, or scale a constant
    by 2**N(0, 1) (with ``interp_logit``, an interp weight in (0, 1) moves on the logit scale:
    ``perturb_weight``)."""
    slots = [(i, j) for i, st in enumerate(program.statements) for j in range(len(st.args))]
    if not slots:
        raise ProgramError("no argument to modify")
    i, j = slots[int(rng.integers(len(slots)))]
    st = program.statements[i]
    old = st.args[j]
    if isinstance(old, str):
        env = _names_before(program, i)
        kind = env[old]
        same = sorted(n for n, k in env.items() if k == kind and n != old)
        if not same:
            raise ProgramError(f"no other {kind} name to swap {old!r} for")
        new = same[int(rng.integers(len(same)))]
    elif s.interp_logit and st.op == "interp" and j == 2 and 0.0 < old < 1.0:
        new = perturb_weight(old, rng)
    else:
        new = float(f"{old * 2.0 ** rng.normal():.4g}")
        if not math.isfinite(new):
            raise ProgramError("constant overflow")
    args = list(st.args)
    args[j] = new
    new_st = Statement(st.dst, st.op, tuple(args))
    stmts = list(program.statements)
    stmts[i] = new_st
    detail = f"modify {i + 1}: {format_statement(st)} -> {format_statement(new_st)}"
    return program.replace(statements=stmts), detail


def _uses(program: Program, index: int) -> list[tuple[int, int]]:
    """Argument slots that read the value statement ``index`` assigns: ``(k, j)`` for argument
    ``j`` of statement ``k``, ``(-1, j)`` for return slot ``j``; up to the name's next assignment."""
    name = program.statements[index].dst
    out = []
    for k in range(index + 1, len(program.statements)):
        st = program.statements[k]
        out += [(k, j) for j, a in enumerate(st.args) if a == name]
        if st.dst == name:
            return out
    return out + [(-1, j) for j, r in enumerate(program.returns) if r == name]


def split_statement(program: Program, rng: np.random.Generator, s: MutationOptions) -> tuple[Program, str]:
    """Gene duplication: copy a statement whose value is read twice or more into a fresh name just
    before it, and point one of those reads at the copy.

    The child computes the same function (so the search's cache scores it for free), but its two
    readers now have separate statements, which later mutations can change apart. This is how
    one moving average becomes two (Lion's ``sign(interp(g, m, b1))`` beside
    ``m = interp(g, m, b2)``) without a harmful step in between: Adam's ``m`` feeds both the
    update and the returned state.
    """
    shared = {i: u for i in range(len(program.statements)) if len(u := _uses(program, i)) >= 2}
    if not shared:
        raise ProgramError("no statement whose value is read twice")
    i = list(shared)[int(rng.integers(len(shared)))]
    k, j = shared[i][int(rng.integers(len(shared[i])))]
    st = program.statements[i]
    fresh = _fresh_name(program)
    stmts = list(program.statements)
    returns = list(program.returns)
    if k < 0:
        returns[j] = fresh
    else:
        args = list(stmts[k].args)
        args[j] = fresh
        stmts[k] = Statement(stmts[k].dst, stmts[k].op, tuple(args))
    copy = Statement(fresh, st.op, st.args)
    stmts.insert(i, copy)
    where = "return" if k < 0 else f"statement {k + 2}"
    detail = f"split {i + 1}: {format_statement(copy)} (read by {where})"
    return program.replace(statements=stmts, returns=returns), detail


MutationFn = Callable[[Program, np.random.Generator, MutationOptions], tuple[Program, str]]


@dataclass(frozen=True)
class Mutation:
    """One entry of the registry: the function, its default weight (``mutation.<name>`` in the
    config, 0: off) and the sentence the config schema documents it with."""

    fn: MutationFn
    weight: float
    doc: str


# THE mutation table: a new mutation is a function above and one entry here; the config's
# ``mutation:`` section gets a weight key of the same name (``search.config``). Draw order is
# table order, so appending an entry leaves the draws of existing configs unchanged.
MUTATIONS: dict[str, Mutation] = {
    "insert": Mutation(insert_statement, 0.4, "probability weight of inserting a random statement"),
    "delete": Mutation(delete_statement, 0.3, "probability weight of deleting a random statement"),
    "modify": Mutation(modify_argument, 0.3, "probability weight of modifying one argument"),
    "split": Mutation(split_statement, 0.0, "probability weight of gene duplication: copy a statement read twice "
                                            "into a fresh name and point one read at the copy (same function; "
                                            "free in the cache)"),
}


def weights(options) -> dict[str, float]:
    """The weight of every registered mutation in ``options`` (its default where it has none)."""
    return {name: float(getattr(options, name, m.weight)) for name, m in MUTATIONS.items()}


def draw_kind(rng: np.random.Generator, w: Mapping[str, float]) -> str:
    """A mutation name drawn with probability proportional to its weight (one uniform draw)."""
    u = rng.random() * sum(w.values())
    total = 0.0
    for name, x in w.items():
        total += x
        if u < total:
            return name
    return [name for name, x in w.items() if x > 0][-1]  # u rounded up to the sum


def mutate(parent: Program, rng: np.random.Generator, s: MutationOptions) -> Child:
    """A valid child of ``parent``: ``mutations_per_child`` mutations, redrawn until the child
    parses, passes ``dsl.analyze`` and has at most ``max_length`` statements."""
    w = weights(s)
    if not all(math.isfinite(x) and x >= 0 for x in w.values()) or not sum(w.values()) > 0:
        # NaN weights would make every draw fall through draw_kind; the config refuses them first
        raise MutationFailed(f"mutation weights must be finite, >= 0 and not all 0, got {w}")
    redraws = 0
    while redraws <= s.max_redraws:
        program, parts = parent, []
        try:
            for _ in range(s.mutations_per_child):
                program, detail = MUTATIONS[draw_kind(rng, w)].fn(program, rng, s)
                parts.append(detail)
            if len(program.statements) > s.max_length:
                raise ProgramError(f"longer than {s.max_length} statements")
            analysis = analyze(program)
        except ProgramError:
            redraws += 1
            continue
        return Child(program, analysis, "; ".join(parts), redraws)
    text = str(parent)
    text = text if len(text) <= 1000 else text[:997] + "..."  # a message, not a dump (max_length <= 10,000)
    raise MutationFailed(f"no valid child after {s.max_redraws} draws (mutation.max_length {s.max_length}) "
                         f"from a parent of {len(parent.statements)} statements:\n{text}")


__all__ = [
    "Child", "MUTATIONS", "Mutation", "MutationFailed", "MutationOptions", "delete_statement", "draw_kind",
    "insert_statement", "modify_argument", "mutate", "perturb_weight", "random_constant", "split_statement", "weights",
]
