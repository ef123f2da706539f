"""Forms of a program's canonical text: with a leading comment, and on one line.

The canonical text itself (``str(program)``, what ``parse`` reads back to an equal program) and
its pieces (``HEADER``, the ``format_*`` helpers) have one home, ``dsl.program``, next to the data
they write; that module knows nothing of this one. Import the pieces from there.
"""

from __future__ import annotations

from dsl.program import Program, format_statement

__all__ = ["one_line", "to_source"]


def to_source(program: Program, comment: str | None = None) -> str:
    """The canonical text (``str(program)``), after ``comment`` as ``#`` lines if given."""
    lines = [f"# {c}".rstrip() for c in comment.splitlines()] if comment else []
    return "".join(line + "\n" for line in lines) + str(program)


def one_line(program: Program) -> str:
    """The statements joined by '; ' (for progress displays and tables)."""
    body = "; ".join(format_statement(st) for st in program.statements)
    return f"{body}; return {', '.join(program.returns)}"
