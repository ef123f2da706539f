"""Lion-K members written as DSL programs (where the op set can express ∇K).

DSL convention: ``m`` is an average of +g and the caller does ``w -= update``. The explicit form
is ``update = lr*s*(∇K(interp(g, m, β1)) + λw)``; the implicit form x' = (x − ε∇K)/(1 + ελ) is
the explicit form with step ε/(1 + ελ), which the program computes from ``lr`` (ε = lr*s), so a
schedule value other than 1 stays exact.
"""

from __future__ import annotations

from dsl.parse import parse
from dsl.program import Program
from simplify.lionk.kfuncs import KFunction
from simplify.lionk.step import DECAY_FORMS


def expressible(K: KFunction) -> bool:
    """Whether ∇K can be written with the DSL's ops (all but top-k: no order statistic)."""
    return K.dsl_lines("c", "k") is not None


def lionk_program(K: KFunction, *, beta1: float = 0.9, beta2: float = 0.99, weight_decay: float = 0.0,
                  lr_scale: float = 1e-4, decay: str = "explicit") -> Program:
    """The DSL program of Lion-K; ValueError if ∇K is not expressible or the form is unknown."""
    if decay not in DECAY_FORMS:
        raise ValueError(f"decay must be one of {DECAY_FORMS}, got {decay!r}")
    body = K.dsl_lines("c", "k")
    if body is None:
        raise ValueError(f"grad K of {K.label} cannot be written with the DSL's ops")
    lines = [f"c = interp(g, m, {float(beta1)!r})", *body, f"m = interp(g, m, {float(beta2)!r})"]
    out = "k"
    if weight_decay != 0.0:
        lines += [f"wd = w * {float(weight_decay)!r}", "update = k + wd"]
        out = "update"
    lines.append(f"eps_ = lr * {float(lr_scale)!r}")
    if decay == "implicit" and weight_decay != 0.0:
        lines += [f"den = eps_ * {float(weight_decay)!r}", "den = den + 1.0", "eps_ = eps_ / den"]
    lines.append(f"update = {out} * eps_")
    text = "def train(w, g, m, v, lr):\n" + "".join(f"    {x}\n" for x in lines) + "    return update, m, v\n"
    return parse(text)
