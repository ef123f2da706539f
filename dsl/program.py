"""Programs as immutable data: a tuple of statements and the three returned names.

The canonical text of a program (``str(program)``, what ``dsl.parse`` reads back to an equal
program) is defined here too, next to the data it writes; ``dsl.printer`` builds on it (comments,
one-line form) and this module imports nothing of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

from dsl import ops

INPUTS: tuple[str, ...] = ("w", "g", "m", "v", "lr")
"""The parameters of ``train``: weights, gradient, two states, learning-rate value."""

Arg = Union[str, float]
"""A statement argument: a variable name or a float constant."""


class ProgramError(ValueError):
    """A program is malformed; ``line`` (1-based, when known) says where."""

    def __init__(self, message: str, line: int | None = None, source: str | None = None):
        self.message = message
        self.line = line
        self.source = source
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        else:
            where = f"line {line}: " if line is not None else ""
        super().__init__(where + message)


@dataclass(frozen=True)
class Statement:
    """``dst = op(*args)``."""

    dst: str
    op: str
    args: tuple[Arg, ...]

    def __post_init__(self) -> None:
        if self.op not in ops.BY_NAME:
            raise ProgramError(f"unknown op {self.op!r}")
        arity = ops.BY_NAME[self.op].arity
        if len(self.args) != arity:
            raise ProgramError(f"{self.op} takes {arity} argument(s), got {len(self.args)}")
        _check_name(self.dst)
        fixed = []
        for a in self.args:
            if isinstance(a, str):
                _check_name(a)
                fixed.append(a)
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                if not math.isfinite(a):
                    raise ProgramError(f"constant {a!r} is not finite")
                fixed.append(float(a))
            else:
                raise ProgramError(f"argument {a!r} is neither a name nor a number")
        object.__setattr__(self, "args", tuple(fixed))
        # computed once: every pass over a program reads it for every statement
        object.__setattr__(self, "_names", tuple(a for a in fixed if isinstance(a, str)))

    @property
    def names(self) -> tuple[str, ...]:
        """The variable names this statement reads."""
        try:
            return self._names
        except AttributeError:  # unpickled from a version that did not store it
            return tuple(a for a in self.args if isinstance(a, str))


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        raise ProgramError(f"{name!r} is not a valid variable name")
    if name in ops.BY_NAME:
        raise ProgramError(f"{name!r} is an op and cannot be used as a variable name")
    if name == "train":
        raise ProgramError("'train' cannot be used as a variable name")


@dataclass(frozen=True)
class Program:
    """An optimizer ``train(w, g, m, v, lr) -> (update, m, v)``.

    Immutable and hashable; equality is structural (same statements, same returned names).
    Construction checks that every name is defined before it is read.
    """

    statements: tuple[Statement, ...]
    returns: tuple[str, str, str] = ("update", "m", "v")

    def __post_init__(self) -> None:
        object.__setattr__(self, "statements", tuple(self.statements))
        object.__setattr__(self, "returns", tuple(self.returns))
        if len(self.returns) != 3:
            raise ProgramError("a program returns exactly three names: update, m, v")
        defined = set(INPUTS)
        for i, st in enumerate(self.statements):
            if not isinstance(st, Statement):
                raise ProgramError(f"statement {i + 1} is not a Statement")
            for name in st.names:
                if name not in defined:
                    raise ProgramError(f"statement {i + 1}: name {name!r} is used before it is defined")
            defined.add(st.dst)
        for name in self.returns:
            _check_name(name)
            if name not in defined:
                raise ProgramError(f"returned name {name!r} is never defined")

    def __str__(self) -> str:
        """The canonical text: header, one statement per line (4-space indent), return line."""
        lines = [HEADER]
        lines += [f"    {format_statement(st)}" for st in self.statements]
        lines.append(f"    return {', '.join(self.returns)}")
        return "\n".join(lines) + "\n"

    def __len__(self) -> int:
        return len(self.statements)

    def replace(self, statements=None, returns=None) -> Program:
        """A copy with some fields changed (validated again)."""
        return Program(
            tuple(self.statements if statements is None else statements),
            tuple(self.returns if returns is None else returns),
        )


# --- canonical text -----------------------------------------------------------------------------

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
