"""The simplifier: from a raw discovered program to a small, named, understood optimizer.

``simplify(program, tasks=...)`` runs the exact passes (dead code, constant folding, copies and
canonical names, algebra) to a fixed point, then, when tasks are given, ablation on the proxy
tasks, then recognition of known optimizers. Every change is a ``Step`` with the program before
and after, so the derivation can be shown and checked.
"""

from simplify.exact import Step, exact_steps, simplify_exact
from simplify.pipeline import Simplification, simplify

__all__ = ["Simplification", "Step", "exact_steps", "simplify", "simplify_exact"]
# Recognition lives in ``simplify.recognize`` (``from simplify.recognize import recognize``).
