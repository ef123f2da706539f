"""A simplification's derivation as text: each step with its detail and diff, then the result.

Shared by ``optsearch simplify`` and the replay's report, so both print the same derivation.
"""

from __future__ import annotations

import difflib

from dsl.program import format_statement

LONG = 200
"""From this many statements on, the unchanged head and tail of a step are skipped unprinted."""


def step_diff(before, after) -> list[str]:
    """Changed statement lines of one step (unified diff without headers).

    A step of a long program changes a few lines: its unchanged head and tail (the same
    statements) are cut before anything is printed or diffed, which would otherwise cost the
    program's length per step."""
    if min(len(before.statements), len(after.statements)) >= LONG:
        return _trimmed_diff(before, after)
    return _diff_lines(str(before).splitlines()[1:], str(after).splitlines()[1:])


def _trimmed_diff(before, after) -> list[str]:
    sa, sb = before.statements, after.statements
    shortest = min(len(sa), len(sb))
    head = 0
    while head < shortest and sa[head] == sb[head]:
        head += 1
    tail = 0
    while tail < shortest - head and sa[-1 - tail] == sb[-1 - tail]:
        tail += 1
    a = [f"    {format_statement(st)}" for st in sa[head:len(sa) - tail]]
    b = [f"    {format_statement(st)}" for st in sb[head:len(sb) - tail]]
    if before.returns != after.returns:
        a.append(f"    return {', '.join(before.returns)}")
        b.append(f"    return {', '.join(after.returns)}")
    return _diff_lines(a, b)


def _diff_lines(a: list[str], b: list[str]) -> list[str]:
    out = []
    for line in difflib.unified_diff(a, b, lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        out.append("    " + line)
    return out


def render(result, full: bool = False) -> str:
    """The derivation as text: each step with its detail and diff, then the final program."""
    lines = ["original:", str(result.original).rstrip()]
    for i, step in enumerate(result.steps, 1):
        head = f"step {i}: {step.name}"
        if not step.exact:
            head += f" (fitness {step.fitness_before:.4f} -> {step.fitness_after:.4f})"
        lines += ["", head, f"  {step.detail}"]
        lines += str(step.after).rstrip().splitlines() if full else step_diff(step.before, step.after)
    lines += ["", f"final ({len(result.program)} statements, was {len(result.original)}):",
              str(result.program).rstrip()]
    for note in getattr(result, "notes", ()):
        lines.append(f"note: {note}")
    rec = result.recognition
    lines.append("")
    lines.append(f"recognized: {rec.describe()}" if rec else "recognized: no known optimizer")
    return "\n".join(lines) + "\n"
