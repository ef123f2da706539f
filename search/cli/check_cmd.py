"""Parse and check a program: print its canonical source, its redundant statements and its costs.

Exit code 2 and the error with its line on bad input.
"""

from __future__ import annotations

from dsl import ProgramError, analyze
from dsl.program import format_statement
from search.cli import jsonout
from search.cli.common import fail, load_program
from simplify.costs import costs

NAME = "check"
HELP = "check a program file: canonical source, kinds, redundant statements, fingerprint, costs"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="a .train file (or a built-in name)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args) -> int:
    try:
        _, program = load_program(args.file)
        info = analyze(program)
    except ProgramError as exc:
        return fail(str(exc))
    c = costs(program)
    dead = [label for label, live in zip(("m", "v"), info.state_live) if not live]
    if getattr(args, "json", False):
        print(jsonout.dumps({"source": str(program), "fingerprint": info.fingerprint,
                             "redundant": [i + 2 for i in info.redundant], "unused_states": dead,
                             "costs": c.to_json()}, indent=1))
        return 0
    print(program, end="")
    print()
    if info.redundant:
        print(f"redundant statements ({len(info.redundant)} of {len(program)}):")
        for i in info.redundant:
            print(f"  line {i + 2}: {format_statement(program.statements[i])}")
    else:
        print(f"redundant statements: none (of {len(program)})")
    if dead:
        print(f"unused state: {', '.join(dead)} (never read in a later step)")
    print(f"fingerprint: {info.fingerprint}")
    print(f"costs: states: {c.states} (moving averages that reach a later update), length: {c.length} "
          f"(statements after exact simplification), ops: {c.ops} (tensor ops per step)")
    return 0
