"""A simplification's derivation as text: each step with its detail and diff, then the result.

Shared by ``optsearch simplify`` and the replay's report, so both print the same derivation.
"""

from __future__ import annotations

import difflib


def step_diff(before, after) -> list[str]:
    """Changed statement lines of one step (unified diff without headers)."""
    a = str(before).splitlines()[1:]
    b = str(after).splitlines()[1:]
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
    rec = result.recognition
    lines.append("")
    lines.append(f"recognized: {rec.describe()}" if rec else "recognized: no known optimizer")
    return "\n".join(lines) + "\n"
