"""Simplify a program and show the derivation step by step, then name it if it is known.

Without --task only the exact rewrites run (the optimizer is unchanged); with --task, ablation
deletes what the fitness on those proxy tasks does not need (within --tolerance).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dsl import ProgramError
from dsl.printer import to_source
from search.cli.common import fail, load_program
from simplify import simplify
from simplify.derivation import render

NAME = "simplify"
HELP = "simplify a program step by step (exact rewrites, ablation with --task) and recognize it"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="a .train file (or a built-in name)")
    parser.add_argument("--task", action="append", default=[], metavar="T",
                        help="proxy task for ablation (repeatable); none: exact passes only")
    parser.add_argument("--tolerance", type=float, default=0.01, metavar="X",
                        help="largest fitness drop ablation may accept (default 0.01)")
    parser.add_argument("--seed", type=int, action="append", default=None,
                        help="evaluation seed (repeatable; default 0)")
    parser.add_argument("--scale", default="proxy", help="task scale (default proxy)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="task setting override for ablation, e.g. steps=500 (repeatable)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the final program here")
    parser.add_argument("--full", action="store_true",
                        help="print the whole program after every step, not only the diff")


def run(args) -> int:
    if args.tolerance < 0:
        return fail(f"--tolerance must be >= 0, got {args.tolerance}")
    try:
        _, program = load_program(args.file)
    except ProgramError as exc:
        return fail(str(exc))
    seeds = tuple(args.seed) if args.seed else (0,)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            return fail(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    if overrides and not args.task:
        return fail("--set needs --task (it overrides task settings for ablation)")
    try:
        result = simplify(program, tasks=args.task or None, tolerance=args.tolerance, seeds=seeds,
                          scale=args.scale, **overrides)
    except ProgramError as exc:
        return fail(f"{args.file}: {exc}")
    except (KeyError, ValueError) as exc:  # unknown task or scale
        return fail(str(exc).strip("'\""))
    print(render(result, args.full), end="")
    if args.output:
        rec = result.recognition
        comment = f"Simplified from {args.file}" + (f"; recognized: {rec.describe()}" if rec else "")
        try:
            Path(args.output).write_text(to_source(result.program, comment), encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {args.output}: {exc.strerror}", 1)
    return 0
