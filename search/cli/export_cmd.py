"""Write a program as a standalone Python module for optax, PyTorch or numpy.

The module does not import optsearch: copy it into any project. It holds the program's ``train``
function (one line per statement of the pruned program, the program's source in the docstring)
and, for optax, a function returning an ``optax.GradientTransformation``; for PyTorch, a
``torch.optim.Optimizer`` subclass; for numpy, ``train`` is the pure step function. The program's
constants become keyword arguments with the program's values as defaults.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from dsl import ProgramError
from dsl.export import INSTALL_HINT, export
from search.cli.common import fail, load_program

NAME = "export"
HELP = "write a program as a standalone optax, PyTorch or numpy module"
TARGETS = ("optax", "pytorch", "numpy")


def add_arguments(parser) -> None:
    parser.add_argument("program", metavar="PROGRAM_OR_NAME",
                        help="a .train file or a built-in name (lion, adamw, ...)")
    parser.add_argument("--to", required=True, choices=TARGETS, help="the framework to write for")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the module here (default: standard output)")
    parser.add_argument("--name", help="name of the optax function or PyTorch class "
                        "(default: from the program's name; numpy: unused)")


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def run(args) -> int:
    try:
        label, program = load_program(args.program)
        source = export(program, args.to, label=label, name=args.name)
    except ProgramError as exc:
        return fail(str(exc))
    except ValueError as exc:  # a bad --name
        return fail(str(exc))
    if args.output:
        path = Path(args.output)
        try:
            path.write_text(source, encoding="utf-8")
        except OSError as exc:
            return fail(f"{path}: cannot write: {exc.strerror or exc}")
        print(f"wrote {path} ({args.to} module for {label})", file=sys.stderr)
    else:
        sys.stdout.write(source)
    if args.to == "pytorch" and not torch_available():
        print(f"note: {INSTALL_HINT}", file=sys.stderr)
    return 0
