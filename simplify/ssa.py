"""Small program utilities the passes share: SSA renaming, alias substitution, cost.

The exact passes work on programs in *SSA form*: every statement assigns a fresh name that no
other statement assigns and that is not an input. In that form a name means the same value
everywhere after its definition, so replacing a name by another one, or inlining a definition
into a later statement, needs no care about shadowing.
"""

from __future__ import annotations

from dsl.check import prune
from dsl.program import INPUTS, Arg, Program, Statement

STATE_INPUTS = ("m", "v")


def is_ssa(program: Program) -> bool:
    """True when no name is assigned twice and no input is assigned."""
    seen = set(INPUTS)
    for st in program.statements:
        if st.dst in seen:
            return False
        seen.add(st.dst)
    return True


def to_ssa(program: Program, prefix: str = "t") -> Program:
    """The same program with canonical fresh names: ``t1, t2, ...`` in statement order.

    The statement whose value is returned as the update is called ``update``; those returned as
    the next states ``m_next`` and ``v_next``. Reads are remapped to the binding they saw, so
    the program computes exactly what it did.
    """
    final = _final_defs(program)
    role_names = {}
    for slot, label in zip(range(3), ("update", "m_next", "v_next")):
        i = final[slot]
        if i is not None and i not in role_names:
            role_names[i] = label
    binding = {name: name for name in INPUTS}
    statements = []
    counter = 0
    for i, st in enumerate(program.statements):
        args = tuple(binding[a] if isinstance(a, str) else a for a in st.args)
        if i in role_names:
            dst = role_names[i]
        else:
            counter += 1
            dst = f"{prefix}{counter}"
        statements.append(Statement(dst, st.op, args))
        binding[st.dst] = dst
    returns = tuple(binding[r] for r in program.returns)
    return Program(tuple(statements), returns)


def _final_defs(program: Program) -> list[int | None]:
    """For each returned name, the index of the statement that defines its final value."""
    last: dict[str, int] = {}
    for i, st in enumerate(program.statements):
        last[st.dst] = i
    return [last.get(r) for r in program.returns]


def definitions(program: Program) -> dict[str, int]:
    """Name -> index of its (single, in SSA) defining statement."""
    return {st.dst: i for i, st in enumerate(program.statements)}


def users(program: Program) -> dict[str, list[int]]:
    """Name -> indices of the statements that read it (SSA)."""
    out: dict[str, list[int]] = {}
    for i, st in enumerate(program.statements):
        for a in st.names:
            out.setdefault(a, []).append(i)
    return out


def replace_uses(program: Program, name: str, value: Arg, drop: int | None = None) -> Program:
    """SSA program with every read of ``name`` replaced by ``value`` (a name or constant).

    ``drop`` removes that statement (normally the definition of ``name``). A returned ``name``
    becomes ``value`` (which must then be a name).
    """
    statements = []
    for i, st in enumerate(program.statements):
        if i == drop:
            continue
        args = tuple(value if a == name else a for a in st.args)
        statements.append(Statement(st.dst, st.op, args) if args != st.args else st)
    returns = tuple(value if r == name else r for r in program.returns)
    return Program(tuple(statements), returns)  # type: ignore[arg-type]


def live_program(program: Program) -> Program:
    """The program without statements that cannot affect the update in any step.

    ``dsl.prune``: a dead state slot whose definition goes returns the update instead.
    """
    return prune(program)


def cost(program: Program) -> tuple[int, int]:
    """A measure every exact rewrite must decrease: (live statements, total dependency cones).

    The second term is the sum, over live statements, of how many statements each one depends
    on transitively; it decreases when a rewrite shortens a chain (``interp`` of an ``interp``)
    without removing a statement. Lexicographic order makes the rewriting terminate.
    """
    return live_cost(live_program(program))


def live_cost(p: Program) -> tuple[int, int]:
    """``cost`` of a program that has no dead statements (``live_program`` already applied).

    Cones are bit sets (Python ints): a long chain has cones as long as itself, and set unions
    made this quadratic in the program's length with a large constant.
    """
    defs = definitions(p)
    cones: dict[str, int] = {}
    total = 0
    for i, st in enumerate(p.statements):
        cone = 0
        for a in st.names:
            j = defs.get(a)
            if j is not None and j < i:
                cone |= cones.get(a, 0) | (1 << j)
        cones[st.dst] = cone
        total += cone.bit_count()
    return len(p.statements), total
