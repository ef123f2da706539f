"""How the simplifier's time grows with the program's length.

Long valid programs (``long_program``: chains of elementwise ops over g, m and v, with dead
statements mixed in and rewrites for every pass) are simplified with the exact passes and
recognition, as ``optsearch simplify FILE`` does, derivation text included; the table gives the
seconds per length, then the ratio time(2n) / time(n) measured side by side in this run
(about 2 for linear growth, 4 for quadratic). The last line is JSON.

    python benchmarks/simplify_scaling.py [--sizes 250 500 1000 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import time

from dsl.check import analyze
from dsl.program import Program, Statement

UNARY = ("sign", "abs", "sqrt", "square", "negative")
BINARY = ("add", "sub", "mul", "div", "max", "min")
BLOCK = 25
"""Statements per block: a program of 2n statements is one of n plus as many blocks again."""


def _block(rng: random.Random, prev: str, tag: int) -> tuple[list[Statement], str]:
    """One block: a live chain from ``prev`` with side reads, constants to fold, dead statements."""
    recent = ["g", "m", "v", prev]
    out: list[Statement] = []
    for j in range(BLOCK):
        name = f"b{tag}_{j}"

        def other() -> str:  # never the chain's own value: x - x would cut the chain
            return rng.choice(recent[-6:-1] + ["g", "m", "v"])

        r = rng.random()
        if r < 0.15:  # dead: nothing reads it
            out.append(Statement(f"dead{tag}_{j}", rng.choice(BINARY), (other(), other())))
            continue
        first = recent[-1]
        if r < 0.35:
            st = Statement(name, rng.choice(UNARY), (first,))
        elif r < 0.55:
            st = Statement(name, rng.choice(BINARY), (first, other()))
        elif r < 0.75:
            st = Statement(name, "mul", (first, rng.choice((0.5, 2.0, 1.0, -1.0, 0.1))))
        elif r < 0.8:  # a constant to fold, then used
            out.append(Statement(f"c{tag}_{j}", "mul", (rng.choice((2.0, 0.5)), 3.0)))
            st = Statement(name, "add", (first, f"c{tag}_{j}"))
        else:
            st = Statement(name, "interp", (first, other(), rng.choice((0.9, 0.99, 0.5))))
        out.append(st)
        recent.append(name)
    return out, recent[-1]


def long_program(n: int, seed: int = 0) -> Program:
    """A valid program of about ``n`` statements (whole blocks), the same for a given seed.

    The program of 2n statements begins with the program of n statements' blocks, so doubling
    the length doubles the work an ideal (linear) simplifier has to do.
    """
    statements: list[Statement] = []
    prev = "g"
    for tag in range(max(1, round((n - 3) / BLOCK))):
        block, prev = _block(random.Random(f"{seed}:{tag}"), prev, tag)
        statements += block
    statements += [Statement("update", "add", (prev, "g")),
                   Statement("m", "interp", ("g", "m", 0.9)),
                   Statement("v", "interp", (prev, "v", 0.999))]
    program = Program(tuple(statements), ("update", "m", "v"))
    analyze(program)  # valid: the returned values are tensors
    return program


def measure(n: int, seed: int = 0) -> dict:
    """Seconds to simplify (exact passes, recognition) and render a program of about n statements."""
    from simplify import simplify
    from simplify.derivation import render

    program = long_program(n, seed)
    start = time.perf_counter()
    result = simplify(program)
    render(result)
    seconds = time.perf_counter() - start
    return {"statements": len(program), "seconds": round(seconds, 3), "steps": len(result.steps),
            "final": len(result.program)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    measure(30, args.seed)  # imports (sympy) and caches outside the timings
    rows = [measure(n, args.seed) for n in args.sizes]
    print(f"{'statements':>10s} {'seconds':>8s} {'steps':>6s} {'final':>6s}")
    for r in rows:
        print(f"{r['statements']:10d} {r['seconds']:8.2f} {r['steps']:6d} {r['final']:6d}")
    by_n = {n: r for n, r in zip(args.sizes, rows)}
    ratios = {f"{2 * n}/{n}": round(by_n[2 * n]["seconds"] / max(by_n[n]["seconds"], 1e-9), 2)
              for n in args.sizes if 2 * n in by_n}
    for k, v in ratios.items():
        print(f"time({k.split('/')[0]}) / time({k.split('/')[1]}) = {v:.2f}  (2: linear, 4: quadratic)")
    out = {"rows": rows, "ratios": ratios}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
