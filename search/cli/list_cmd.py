"""List the built-in optimizers, one line each."""

from __future__ import annotations

from dsl import library, one_line

NAME = "list"
HELP = "list the built-in optimizers"


def add_arguments(parser) -> None:
    parser.add_argument("--source", action="store_true", help="print each program's source too")


def run(args) -> int:
    width = max(len(n) for n in library.NAMES)
    for name, desc in library.listing():
        print(f"{name:<{width}}  {desc}")
        if args.source:
            print(f"{'':<{width}}  {one_line(library.get(name))}")
    return 0
