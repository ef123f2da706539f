"""Canonical source text of a program: what ``parse`` reads back to an equal program.

The text itself is ``str(program)`` (defined with the data in ``dsl.program``, which knows
nothing of this module); here are the forms built on it: with a leading comment, and on one line.
``HEADER`` and the ``format_*`` helpers are re-exported from ``dsl.program``.
"""

from __future__ import annotations

from dsl.program import HEADER, Program, format_arg, format_expr, format_statement

__all__ = ["HEADER", "format_arg", "format_expr", "format_statement", "one_line", "to_source"]


def to_source(program: Program, comment: str | None = None) -> str:
    """The canonical text (``str(program)``), after ``comment`` as ``#`` lines if given."""
    lines = [f"# {c}".rstrip() for c in comment.splitlines()] if comment else []
    return "".join(line + "\n" for line in lines) + str(program)


def one_line(program: Program) -> str:
    """The statements joined by '; ' (for progress displays and tables)."""
    body = "; ".join(format_statement(st) for st in program.statements)
    return f"{body}; return {', '.join(program.returns)}"
