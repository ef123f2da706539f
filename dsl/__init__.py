"""The optimizer-program language: ops, programs, parser, printer, checker and executors.

This package imports nothing else of optsearch. ``to_optax`` (which needs jax) is loaded on
first use so that parsing and checking stay cheap.
"""

from dsl import library
from dsl.check import Analysis, analyze, check, fingerprint, prune
from dsl.execute import execute
from dsl.parse import parse, parse_file
from dsl.printer import one_line, to_source
from dsl.program import INPUTS, Program, ProgramError, Statement

__all__ = [
    "INPUTS", "Analysis", "Program", "ProgramError", "Statement", "analyze", "check", "execute",
    "fingerprint", "one_line", "parse", "parse_file", "prune", "to_optax", "to_source", "library",
]


def __getattr__(name):
    if name == "to_optax":
        from dsl.jax_exec import to_optax

        return to_optax
    raise AttributeError(name)
