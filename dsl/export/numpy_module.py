"""The numpy target: a module with a pure step function ``train``."""

from __future__ import annotations

from dsl.export.codegen import Body, hyperparameter_table, import_block, indent, module_docstring

USAGE = """
Standalone: needs only numpy. ``train`` is a pure step function::

    m, v = np.zeros_like(w), np.zeros_like(w)
    for step in range(steps):
        update, m, v = train(w, grad(w), m, v, lr=schedule(step))
        w = w - update

``lr`` is the learning-rate schedule's value: 1.0 runs the program as found (its step size is
one of its constants).
"""


def module(body: Body, label: str) -> str:
    """Source of a standalone module whose ``train`` runs one step of the program on numpy arrays."""
    head = module_docstring(body, f"{label}: an optimizer program exported for numpy by ``optsearch export``.", USAGE)
    parts = [
        head + "\n\n" + import_block(body.imports, ["numpy as np"]) + "\n\n" + hyperparameter_table(body),
    ]
    if body.helpers:
        parts.append(body.helper_source())
    parts.append(f'''@np.errstate(all="ignore")
def train({body.signature()}):
    """One step of the program: returns ``(update, m, v)``; apply ``w = w - update``.

    ``w, g, m, v`` are arrays of one shape. NaN and Inf propagate without warnings, as in the
    program language.
    """
{indent(body.lines)}''')
    return "\n\n\n".join(parts) + "\n"
