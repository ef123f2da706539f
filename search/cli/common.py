"""Helpers shared by subcommands: loading a program from a file or a built-in name, errors."""

from __future__ import annotations

import sys
from pathlib import Path

from dsl import ProgramError, library, parse_file
from dsl.program import Program


def load_program(spec: str) -> tuple[str, Program]:
    """``spec`` is a built-in name (``lion``) or a path to a ``.train`` file; returns (label, program)."""
    if spec in library.NAMES and not Path(spec).exists():
        return spec, library.get(spec)
    path = Path(spec)
    if not path.exists():
        raise ProgramError(
            f"{spec}: no such file, and not a built-in optimizer ({', '.join(library.NAMES)})")
    return path.stem, parse_file(path)


def fail(message: str, code: int = 2) -> int:
    print(f"optsearch: error: {message}", file=sys.stderr)
    return code
