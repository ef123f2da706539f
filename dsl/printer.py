"""Canonical source text of a program: what ``parse`` reads back to an equal program."""

from __future__ import annotations

from dsl import ops
from dsl.program import INPUTS, Arg, Program, Statement

HEADER = f"def train({', '.join(INPUTS)}):"


def format_arg(arg: Arg) -> str:
    """A name as is; a constant as the shortest repr that round-trips exactly."""
    return arg if isinstance(arg, str) else repr(float(arg))


def format_expr(st: Statement) -> str:
    """The right-hand side of a statement, infix where the op has a symbol."""
    op = ops.BY_NAME[st.op]
    args = [format_arg(a) for a in st.args]
    if op.infix:
        return f"{args[0]} {op.infix} {args[1]}"
    if st.op == "negative" and isinstance(st.args[0], str):
        return f"-{args[0]}"
    return f"{st.op}({', '.join(args)})"


def format_statement(st: Statement) -> str:
    return f"{st.dst} = {format_expr(st)}"


def to_source(program: Program, comment: str | None = None) -> str:
    """The canonical text: header, one statement per line (4-space indent), return line."""
    lines = []
    if comment:
        lines += [f"# {c}".rstrip() for c in comment.splitlines()]
    lines.append(HEADER)
    lines += [f"    {format_statement(st)}" for st in program.statements]
    lines.append(f"    return {', '.join(program.returns)}")
    return "\n".join(lines) + "\n"


def one_line(program: Program) -> str:
    """The statements joined by '; ' (for progress displays and tables)."""
    body = "; ".join(format_statement(st) for st in program.statements)
    return f"{body}; return {', '.join(program.returns)}"
