"""The exact passes 1 to 3: dead code, constant folding, copies and canonical names.

Each pass is a pure function ``Program -> (Program, detail) | None`` (None: nothing to do). All
of them keep what the program computes: the update of every step and every state that a later
step reads (a state nobody reads is dead and may change).
"""

from __future__ import annotations

import math

import numpy as np

from dsl import ops
from dsl.check import TENSOR, final_kinds, liveness
from dsl.program import INPUTS, Program, Statement, format_statement
from simplify.ssa import STATE_INPUTS, definitions, is_ssa, to_ssa


def dead_code(program: Program) -> tuple[Program, str] | None:
    """Pass 1: drop statements that cannot affect the update in any later step.

    Uses the checker's liveness across steps (a state the next step overwrites before reading
    it is dead). A dead returned state is returned unchanged (the input name) when the body does
    not reassign that name, so the program stops computing it; otherwise, if its definition was
    dropped, the slot returns the update (as ``dsl.prune`` does), which is always a tensor.
    """
    live, state_live = liveness(program)
    live_set = set(live)
    kept = [program.statements[i] for i in live]
    removed = [st for i, st in enumerate(program.statements) if i not in live_set]
    assigned = {st.dst for st in kept}
    kinds = None  # computed only when a dead state slot needs it (one scan less per round)
    returns = list(program.returns)
    notes = []
    for slot, name in ((1, "m"), (2, "v")):
        if state_live[slot - 1] or returns[slot] == name:
            continue
        if name not in assigned:
            notes.append(f"state {name} is never read: returned unchanged")
            returns[slot] = name
            continue
        if kinds is None:
            kinds = final_kinds(program.replace(statements=kept, returns=(program.returns[0],) * 3))
        if kinds.get(returns[slot]) != TENSOR:
            returns[slot] = returns[0]
    if not removed and tuple(returns) == program.returns:
        return None
    new = Program(tuple(kept), tuple(returns))
    parts = [f"removed {len(removed)} statement(s): " + "; ".join(format_statement(s) for s in removed)
             ] if removed else []
    return new, "; ".join(parts + notes)


# A folded constant keeps 12 significant digits: ``lr * 0.0006783862500000001`` reads as
# ``lr * 0.00067838625``. The difference (< 1e-12 relative) is far below float32's resolution, in
# which every proxy task trains, and below the equivalence checks' tolerance.
FOLD_DIGITS = 12


def _fold_value(st: Statement) -> float | None:
    """The value of a statement whose arguments are all constants, if finite (``FOLD_DIGITS``)."""
    op = ops.BY_NAME[st.op]
    with np.errstate(all="ignore"):
        try:
            value = op.np_fn(*st.args)
        except (ValueError, ZeroDivisionError, OverflowError):  # pragma: no cover - numpy is quiet
            return None
    arr = np.asarray(value, dtype=float)
    if arr.shape != ():
        return None
    value = float(arr)
    return float(f"{value:.{FOLD_DIGITS}g}") if math.isfinite(value) else None


def fold_constants(program: Program) -> tuple[Program, str] | None:
    """Pass 2: evaluate statements whose arguments are all constants and substitute the values.

    Works on any program (not only SSA): a name bound to a constant is substituted only while
    that binding is current. Non-finite results are left alone (a constant must be finite).
    Folding is done in float64, as the reference executor computes in float64, and the result
    keeps ``FOLD_DIGITS`` significant digits.
    """
    returns = program.returns
    if all(st.names or st.dst in returns for st in program.statements):
        return None  # nothing reads only constants: the sweep below would change nothing
    env: dict[str, float] = {}
    statements = []
    folded = []
    changed = False
    for st in program.statements:
        args = tuple(env[a] if isinstance(a, str) and a in env else a for a in st.args)
        if args != st.args:
            changed = True
            st = Statement(st.dst, st.op, args)
        env.pop(st.dst, None)
        if all(not isinstance(a, str) for a in st.args) and st.dst not in program.returns:
            value = _fold_value(st)
            if value is not None:
                env[st.dst] = value
                folded.append(f"{format_statement(st)} -> {value!r}")
                changed = True
                continue
        statements.append(st)
    if not changed:
        return None
    # A folded name that is still returned (never happens for valid programs: returns are
    # tensors and folded values are scalars) would be undefined; keep the program valid.
    new = Program(tuple(statements), program.returns)
    detail = "; ".join(folded) if folded else "substituted constants"
    return new, detail


def canonical_names(program: Program) -> tuple[Program, str] | None:
    """Pass 3: propagate copies, merge duplicate statements, rename to canonical SSA names.

    A program that assigns a name twice (or assigns an input) is renamed to single assignment:
    ``t1, t2, ...`` in statement order, ``update``, ``m_next``, ``v_next``. Duplicate statements
    (same op, same arguments, commutative ops in either order) are computed once. Copies made
    by the algebra (``t = x * 1``) are propagated by the algebra pass itself.
    """
    renamed = not is_ssa(program)
    p = to_ssa(program) if renamed else program
    merged, p = _merge_duplicates(p)
    if p == program:
        return None
    detail = "; ".join(merged + (["renamed to single-assignment names"] if renamed else []))
    return p, detail


def _merge_duplicates(p: Program) -> tuple[list[str], Program]:
    """Every statement equal to an earlier one (after earlier merges) replaced by that one (SSA).

    One forward pass with an alias map: the same merges, in the same order, as repeatedly
    merging the first duplicate and rescanning, which was quadratic in the program's length.
    """
    alias: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    merged: list[str] = []
    statements: list[Statement] = []
    for st in p.statements:
        if alias and any(a in alias for a in st.names):
            st = Statement(st.dst, st.op, tuple(alias.get(a, a) if isinstance(a, str) else a
                                                for a in st.args))
        key = _key(st)
        earlier = seen.get(key)
        if earlier is not None:
            merged.append(f"{st.dst} duplicates {earlier}")
            alias[st.dst] = earlier
            continue
        seen[key] = st.dst
        statements.append(st)
    if not merged:
        return merged, p
    returns = tuple(alias.get(r, r) for r in p.returns)
    return merged, Program(tuple(statements), returns)  # type: ignore[arg-type]


_COMMUTATIVE = frozenset({"add", "mul", "max", "min", "dot"})


def _key(st: Statement) -> tuple:
    args = st.args
    if st.op in _COMMUTATIVE:
        args = tuple(sorted(args, key=repr))
    return (st.op, args)


def pretty_names(program: Program) -> tuple[Program, str] | None:
    """Final naming: temporaries ``t1, t2, ...``; the new states are called ``m``/``v`` where legal.

    A state's new value can take the input's name when no statement after it reads the input;
    the update is called ``update``. Other temporaries keep their canonical names.
    """
    if not is_ssa(program):
        return None
    original = program
    program = to_ssa(program)
    defs = definitions(program)
    rename: dict[str, str] = {}
    for slot, name in ((1, "m"), (2, "v")):
        ret = program.returns[slot]
        if ret not in defs or ret in rename:
            continue
        i = defs[ret]
        later_reads = any(name in st.names for st in program.statements[i + 1:])
        if not later_reads and name not in program.returns:
            rename[ret] = name
    statements = []
    for st in program.statements:
        args = tuple(rename.get(a, a) if isinstance(a, str) and a not in INPUTS else a
                     for a in st.args)
        statements.append(Statement(rename.get(st.dst, st.dst), st.op, args))
    returns = tuple(rename.get(r, r) if r not in INPUTS else r for r in program.returns)
    new = Program(tuple(statements), returns)
    if new == original:
        return None
    detail = ", ".join(f"{a} -> {b}" for a, b in rename.items())
    return new, "temporaries numbered in order" + (f"; state names: {detail}" if detail else "")


__all__ = ["dead_code", "fold_constants", "canonical_names", "pretty_names", "STATE_INPUTS"]
