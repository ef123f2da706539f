"""Hypothesis strategies for random programs, shared by the test modules."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from dsl import ops
from dsl.check import TENSOR, final_kinds
from dsl.program import INPUTS, Program, Statement

TEMPS = ("t0", "t1", "t2", "t3", "update", "u", "wd")
CONSTANTS = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False,
                      allow_subnormal=False)


@st.composite
def programs(draw, max_statements: int = 12, op_names: tuple[str, ...] | None = None,
             valid: bool = True) -> Program:
    """A random program whose names are defined before use.

    With ``valid=True`` the returned update/m/v are tensors (what ``dsl.analyze`` accepts).
    """
    names = list(INPUTS)
    pool = op_names or tuple(op.name for op in ops.OPS)
    n = draw(st.integers(0, max_statements))
    statements = []
    for _ in range(n):
        op = ops.BY_NAME[draw(st.sampled_from(pool))]
        args = tuple(
            draw(st.one_of(st.sampled_from(names), CONSTANTS)) for _ in range(op.arity))
        dst = draw(st.sampled_from(TEMPS + tuple(n for n in names if n != "lr")))
        statements.append(Statement(dst, op.name, args))
        if dst not in names:
            names.append(dst)
    program = Program(tuple(statements), ("w", "m", "v"))
    kinds = final_kinds(program)
    candidates = [n for n in names if kinds[n] == TENSOR] if valid else names
    assume(candidates)  # every tensor name may have been overwritten by a scalar
    returns = tuple(draw(st.sampled_from(candidates)) for _ in range(3))
    return Program(tuple(statements), returns)
