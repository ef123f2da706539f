"""The algebra pass's expression trees: a statement's value with its definitions inlined.

A tree is a name, a float constant or a ``Call`` of an op on trees. Each ``Call`` remembers the
SSA name it equals (``origin``), so a rewritten tree reuses named values instead of recomputing
them, and two trees of the same value inlined to different depths are still known to be equal
(``key``). The rules (``simplify.rules``) and the rewrite driver (``simplify.algebra``) work on
these trees; recognition prints them (``show``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from dsl import ops
from dsl.program import INPUTS, Program, format_arg
from simplify.ssa import definitions

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


def same(a: Expr, b: Expr) -> bool:
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
