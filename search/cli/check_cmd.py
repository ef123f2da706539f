"""Parse and check a program: print its canonical source and its redundant statements.

Exit code 2 and the error with its line on bad input.
"""

from __future__ import annotations

from dsl import ProgramError, analyze
from dsl.printer import format_statement
from search.cli.common import fail, load_program

NAME = "check"
HELP = "check a program file: canonical source, kinds, redundant statements, fingerprint"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="a .train file (or a built-in name)")


def run(args) -> int:
    try:
        _, program = load_program(args.file)
        info = analyze(program)
    except ProgramError as exc:
        return fail(str(exc))
    print(program, end="")
    print()
    if info.redundant:
        print(f"redundant statements ({len(info.redundant)} of {len(program)}):")
        for i in info.redundant:
            print(f"  line {i + 2}: {format_statement(program.statements[i])}")
    else:
        print(f"redundant statements: none (of {len(program)})")
    dead = [label for label, live in zip(("m", "v"), info.state_live) if not live]
    if dead:
        print(f"unused state: {', '.join(dead)} (never read in a later step)")
    print(f"fingerprint: {info.fingerprint}")
    return 0
