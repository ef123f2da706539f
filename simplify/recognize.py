"""Recognition: is this program a known optimizer, and with which constants?

Text matching would break on renamed temporaries, reordered or dead statements and equivalent
algebra, so recognition probes *behaviour* instead. For each family (most specific first) an
estimator feeds the program chosen inputs with the reference executor and solves for the
family's constants (lr scale, weight decay, betas, eps); a template program of the family is
built with them and must then give the same updates as the program along 50 steps of random
inputs. Only a confirmed match is reported, so a wrong estimate can never name a program.

The estimates are snapped to the shortest decimals within 1e-9 (re-verified), so that the
family's canonical program prints ``0.9`` rather than ``0.8999999999999997``. With
``pretransform=True`` a program that is a family applied to ``f(g)`` (``f`` a sub-expression of
``g`` and ``lr``, e.g. the Lion paper's ``arcsin(clip(g, lr))``) is named as both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dsl.check import TENSOR, analyze, final_kinds
from dsl.execute import roll
from dsl.parse import parse
from dsl.program import Program, ProgramError, Statement
from simplify.equiv import compare
from simplify.expr import expand, show
from simplify.ssa import definitions, live_program, replace_uses, to_ssa


@dataclass(frozen=True)
class Recognition:
    """A known optimizer: its family name, constants, and the canonical program they give.

    For a family applied to a transformed gradient, ``pretransform`` is ``f`` as text and
    ``name`` reads "lion on arcsin(clip(g, lr))", so that code testing ``name == "lion"`` never
    takes a Lion on ``f(g)`` for Lion; ``family`` is the family alone either way."""

    name: str
    params: dict[str, float]
    template: Program | None = field(default=None, compare=False)
    detail: str = ""
    pretransform: str | None = None

    @property
    def family(self) -> str:
        return self.name.split(" on ", 1)[0] if self.pretransform else self.name

    def describe(self) -> str:
        params = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        extra = f"; {self.detail}" if self.detail else ""
        on = f" on {self.pretransform}" if self.pretransform else ""
        return f"{self.family} ({params}{extra}){on}"


# --- templates ----------------------------------------------------------------------------------

def _finish(lines: list[str], base: str, p: dict[str, float]) -> Program:
    wd = p.get("weight_decay", 0.0)
    if wd != 0.0:
        lines += [f"wd = w * {wd!r}", f"update = {base} + wd"]
        base = "update"
    lines += [f"lr = lr * {p['lr_scale']!r}", f"update = {base} * lr"]
    body = "\n".join(f"    {x}" for x in lines)
    return parse(f"def train(w, g, m, v, lr):\n{body}\n    return update, m, v\n")


def template(name: str, params: dict[str, float]) -> Program:
    """The canonical program of family ``name`` with ``params`` (as in ``dsl/library``)."""
    p = params
    if name == "sgd":
        return _finish([], "g", p)
    if name == "signsgd":
        return _finish(["s = sign(g)"], "s", p)
    if name == "momentum":
        return _finish([f"m = interp(g, m, {p['beta']!r})"], "m", p)
    if name == "nesterov":
        b = repr(p["beta"])
        return _finish([f"m = interp(g, m, {b})", f"n = interp(g, m, {b})"], "n", p)
    if name == "signum":
        return _finish([f"m = interp(g, m, {p['beta']!r})", "s = sign(m)"], "s", p)
    if name == "lion":
        return _finish([f"c = interp(g, m, {p['beta1']!r})", "s = sign(c)",
                        f"m = interp(g, m, {p['beta2']!r})"], "s", p)
    if name in ("adamw", "adam"):
        lines = ["g2 = square(g)", f"m = interp(g, m, {p['beta1']!r})",
                 f"v = interp(g2, v, {p['beta2']!r})", "d = sqrt(v)"]
        if p.get("eps", 0.0) != 0.0:
            lines.append(f"d = d + {p['eps']!r}")
        lines.append("r = m / d")
        return _finish(lines, "r", p)
    raise KeyError(name)


# --- probing ------------------------------------------------------------------------------------

def _run(program: Program, gs: list, w: float = 0.0, size: int = 1) -> list[np.ndarray]:
    """Updates for a sequence of gradient probes (arrays or floats) at weights ``w``, states from
    zero, lr = 1."""
    grads = [np.broadcast_to(np.asarray(g, dtype=float), (size,)).copy() for g in gs]
    weights = np.broadcast_to(np.asarray(w, float), (size,)).copy()
    return [np.asarray(u, dtype=float) for u in roll(program, grads, weights, 1.0).updates]


def _scalar(x: np.ndarray) -> float:
    return float(np.asarray(x).reshape(-1)[0])


def _decay_term(program: Program) -> float:
    """The update for w = 1, g = 0 at zero state: lr_scale * weight_decay in every family."""
    return _scalar(_run(program, [0.0], w=1.0)[0])


def _scale_and_decay(program: Program) -> tuple[float, float]:
    """(lr_scale, weight_decay) of families whose first update for g = 1 is the lr scale."""
    s = _scalar(_run(program, [1.0])[0])
    swd = _decay_term(program)
    if not np.isfinite(s) or s == 0.0 or not np.isfinite(swd):
        raise ValueError("no usable scale")
    return s, swd / s


def _threshold(positive: Callable[[np.ndarray], np.ndarray], lo: float, hi: float,
               rounds: int = 12, points: int = 101) -> float:
    """Where ``positive(x)`` turns from True to False on [lo, hi] (vectorized zooming)."""
    for _ in range(rounds):
        xs = np.linspace(lo, hi, points)
        ok = positive(xs)
        if ok.all() or not ok.any():
            raise ValueError("no sign change in the bracket")
        j = int(np.argmin(ok))  # first False
        if j == 0:
            raise ValueError("no sign change in the bracket")
        lo, hi = xs[j - 1], xs[j]
    return float((lo + hi) / 2)


def _flip(program: Program, prefix: list[float], s: float, hi: float = 1e3) -> float:
    """Threshold x where the update for steps ``prefix + [-x]`` changes sign."""
    n = 101

    def positive(xs):
        u = _run(program, [*prefix, -xs], size=len(xs))[-1]
        return np.sign(u) == np.sign(s)

    return _threshold(positive, 0.0, hi, points=n)


def _est_sgd(p: Program) -> dict[str, float]:
    s, wd = _scale_and_decay(p)
    return {"lr_scale": s, "weight_decay": wd}


def _est_momentum(p: Program) -> dict[str, float]:
    u1, u2 = (_scalar(x) for x in _run(p, [1.0, 0.0]))
    b = u2 / u1
    s = u1 / (1 - b)
    return {"beta": b, "lr_scale": s, "weight_decay": _decay_term(p) / s}


def _est_nesterov(p: Program) -> dict[str, float]:
    _, u2, u3 = (_scalar(x) for x in _run(p, [1.0, 0.0, 0.0]))
    b = u3 / u2
    s = u2 / (b * b * (1 - b))
    return {"beta": b, "lr_scale": s, "weight_decay": _decay_term(p) / s}


def _est_lion(p: Program) -> dict[str, float]:
    s, wd = _scale_and_decay(p)
    x1 = _flip(p, [1.0], s)
    x2 = _flip(p, [1.0, 0.0], s)
    b2 = x2 / x1
    r = x1 / (1 - b2)
    b1 = r / (1 + r)
    return {"beta1": b1, "beta2": b2, "weight_decay": wd, "lr_scale": s}


def _est_signum(p: Program) -> dict[str, float]:
    est = _est_lion(p)
    return {"beta": est["beta2"], "lr_scale": est["lr_scale"], "weight_decay": est["weight_decay"]}


def _est_adam(p: Program) -> dict[str, float]:
    big, small = 1e8, 1e-6  # eps / sqrt(v) must vanish at big: b2 amplifies its error 1e3-fold
    swd = _decay_term(p)
    u1 = _scalar(_run(p, [big])[0])
    b1 = _flip(p, [big], u1, hi=10 * big) / big
    r = _scalar(_run(p, [big, big])[1]) / u1  # (b1 + 1) / sqrt(b2 + 1)
    b2 = ((b1 + 1) / r) ** 2 - 1
    s = u1 * np.sqrt(1 - b2) / (1 - b1)
    us = _scalar(_run(p, [small])[0])
    eps = s * (1 - b1) * small / us - np.sqrt(1 - b2) * small
    if abs(eps) < 1e-14:
        eps = 0.0
    return {"beta1": b1, "beta2": float(b2), "weight_decay": swd / s, "lr_scale": float(s),
            "eps": float(eps)}


FAMILIES: tuple[tuple[str, Callable[[Program], dict[str, float]]], ...] = (
    ("sgd", _est_sgd),
    ("signsgd", _est_sgd),
    ("momentum", _est_momentum),
    ("nesterov", _est_nesterov),
    ("signum", _est_signum),
    ("lion", _est_lion),
    ("adamw", _est_adam),
)


def _clean(params: dict[str, float]) -> dict[str, float]:
    """Snap estimates that are zero to float noise to exactly zero."""
    return {k: (0.0 if abs(float(v)) < 1e-12 else float(v)) for k, v in params.items()}


SNAP_RTOL = 1e-9
"""Estimates are accurate to about 1e-12; a decimal this close is taken to be the constant."""


def snap(value: float, rtol: float = SNAP_RTOL) -> float:
    """The decimal with the fewest significant digits (at most 12, as constant folding keeps)
    within ``rtol`` of ``value``: estimates come back as 0.8999999999999997 for 0.9. The
    snapped constants are verified again before they are reported."""
    if value == 0.0 or not np.isfinite(value):
        return value
    for digits in range(1, 13):
        candidate = float(f"{value:.{digits}g}")
        if abs(candidate - value) <= rtol * abs(value):
            return candidate
    return value


def matches(program: Program, name: str, params: dict[str, float], steps: int = 50) -> bool:
    """Does the family template with ``params`` give the program's updates on random inputs?"""
    t = template(name, params)
    for seed in (0, 1):
        if compare(program, t, steps=steps, seed=seed, size=6, states_from="own", rtol=1e-6,
                   atol=1e-9, relative_atol=True) is not None:
            return False
    return True


def recognize(program: Program, pretransform: bool = False) -> Recognition | None:
    """The known optimizer ``program`` is, with its constants; None if it is none of them.

    Families: sgd, signsgd, momentum, nesterov, signum, lion, adamw (named ``adam`` when it has
    an epsilon and no weight decay), then a general Lion-K member via ``simplify.lionk``. With
    ``pretransform``, a program that is none of them but is a family on ``f(g)`` is named so
    (``Recognition.pretransform``; its template computes ``f`` first).
    """
    try:
        analyze(program)
    except ProgramError:
        return None
    found = _family(program)
    if found is None:
        found = recognize_through_sign_factors(program)
    if found is None and pretransform:
        found = recognize_pretransformed(program)
    return found if found is not None else _lionk(program)


def estimated(program: Program, estimate: Callable[[Program], dict[str, float]]) -> dict[str, float] | None:
    """A family estimator's constants for ``program``, cleaned; None if one is not finite."""
    with np.errstate(all="ignore"):
        params = _clean(estimate(program))
    return params if all(np.isfinite(v) for v in params.values()) else None


def _family(program: Program) -> Recognition | None:
    """The first family (most specific first) whose template, with the estimated and snapped
    constants, gives the program's updates."""
    for name, estimate in FAMILIES:
        try:
            params = estimated(program, estimate)
            if params is None:
                continue
            with np.errstate(all="ignore"):
                snapped = {k: snap(v) for k, v in params.items()}
                if snapped != params and matches(program, name, snapped):
                    params = snapped
                elif not matches(program, name, params):
                    continue
        except (ValueError, ZeroDivisionError, FloatingPointError, ProgramError):
            continue
        if name == "adamw" and params.get("eps", 0.0) > 0.0 and params["weight_decay"] == 0.0:
            name = "adam"
        return Recognition(name, params, template(name, params))
    return None


# --- a family on f(g) ---------------------------------------------------------------------------

def _cone(p: Program, index: int) -> list[int]:
    """Indices of the statements ``index`` depends on (itself included), in program order."""
    defs = definitions(p)
    need = {index}
    for i in range(index, -1, -1):
        if i in need:
            need |= {defs[a] for a in p.statements[i].names if a in defs}
    return sorted(need)


def _inputs_read(p: Program) -> list[set[str]]:
    """Per statement of an SSA program: the inputs its value depends on."""
    out: list[set[str]] = []
    defs = definitions(p)
    for st in p.statements:
        read: set[str] = set()
        for a in st.names:
            read |= out[defs[a]] if a in defs else {a}
        out.append(read)
    return out


def gradient_form(p: Program, index: int) -> tuple[list[Statement], str]:
    """The statements of ``index``'s cone written as a transform of ``g`` (reassigning ``g``
    where nothing later needs the raw gradient, as ``g = clip(g, lr); g = arcsin(g)``), and
    ``f`` as one expression, e.g. ``arcsin(clip(g, lr))``."""
    cone = _cone(p, index)
    text = show(expand(p, p.statements[index].dst, depth=len(cone) + 1))
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    rename: dict[str, str] = {}
    out: list[Statement] = []
    for k, i in enumerate(cone):
        st = p.statements[i]
        raw_later = any("g" in p.statements[j].names for j in cone[k + 1:])
        dst = "g" if not raw_later else f"f{k + 1}"
        out.append(Statement(dst, st.op, tuple(rename.get(a, a) if isinstance(a, str) else a
                                                for a in st.args)))
        rename[st.dst] = dst
    return out, text


def on_gradient(program: Program, head: list[Statement]) -> Program:
    """``program`` reading ``g`` after ``head`` (which ends by assigning the transformed ``g``)."""
    return Program(tuple(head) + program.statements, program.returns)


def recognize_pretransformed(program: Program) -> Recognition | None:
    """A family applied to ``f(g)``: for each tensor value that depends on ``g`` (and ``lr``)
    alone, read ``g`` in its place; if what remains is a family, and the family's template on
    ``f(g)`` gives the program's updates, that is the answer. Earliest first: the smallest ``f``
    that leaves a family explains the most (signsgd on sin(g), not sgd on sign(sin(g)))."""
    p = live_program(to_ssa(program))
    reads = _inputs_read(p)
    kinds = final_kinds(p)
    for i, st in enumerate(p.statements):
        if "g" not in reads[i] or not reads[i] <= {"g", "lr"} or kinds.get(st.dst) != TENSOR:
            continue
        if st.dst in p.returns:
            continue
        try:
            rest = live_program(replace_uses(p, st.dst, "g", drop=i))
            analyze(rest)
        except ProgramError:
            continue
        found = _family(rest)
        if found is None or found.template is None:
            continue
        head, text = gradient_form(p, i)
        composed = on_gradient(found.template, head)
        if not _same_updates(program, composed):
            continue
        name = f"{found.name} on {text}"
        return Recognition(name, found.params, composed, found.detail, pretransform=text)
    return None


# --- a nonnegative factor under sign ------------------------------------------------------------

NONNEGATIVE_OPS = frozenset({"abs", "sqrt", "square", "exp", "exp2", "exp10", "norm", "global_norm"})


def _nonnegative(p: Program, name, defs: dict[str, int]) -> bool:
    """Whether ``name`` is >= 0 by its definition (a nonnegative op, or a product, quotient or sum
    of such values, or a nonnegative constant)."""
    if isinstance(name, float):
        return name >= 0
    if name not in defs:
        return False
    st = p.statements[defs[name]]
    if st.op in NONNEGATIVE_OPS:
        return True
    if st.op in ("mul", "div", "add", "max"):
        return all(_nonnegative(p, a, defs) for a in st.args)
    return False


def strip_sign_factors(program: Program) -> tuple[Program, list[str]] | None:
    """``sign(a * f)`` and ``sign(a / f)`` with ``f >= 0`` read as ``sign(a)``: the same wherever
    ``f != 0`` (there the program's sign term is 0). Returns the rewritten program and, per
    factor removed, the factor as text; None if there is none."""
    p = live_program(to_ssa(program))
    factors: list[str] = []
    changed = True
    while changed:
        changed = False
        defs = definitions(p)
        for i, st in enumerate(p.statements):
            if st.op != "sign" or not isinstance(st.args[0], str) or st.args[0] not in defs:
                continue
            inner = p.statements[defs[st.args[0]]]
            if inner.op not in ("mul", "div"):
                continue
            pairs = [(0, 1)] if inner.op == "div" else [(0, 1), (1, 0)]
            for keep, drop in pairs:
                a, f = inner.args[keep], inner.args[drop]
                if isinstance(a, str) and _nonnegative(p, f, defs):
                    factors.append(repr(f) if isinstance(f, float) else show(expand(p, f)))
                    statements = list(p.statements)
                    statements[i] = Statement(st.dst, "sign", (a,))
                    p = live_program(p.replace(statements=statements))
                    changed = True
                    break
            if changed:
                break
    return (p, factors) if factors else None


def recognize_through_sign_factors(program: Program) -> Recognition | None:
    """A family once nonnegative factors under ``sign`` are removed (``strip_sign_factors``); the
    recognition says where the program differs from it."""
    stripped = strip_sign_factors(program)
    if stripped is None:
        return None
    p, factors = stripped
    found = _family(p)
    if found is None:
        return None
    where = " or ".join(f"{f} = 0" for f in factors)
    detail = ", ".join(x for x in (found.detail, f"differs where {where} (there the sign term is 0)") if x)
    return Recognition(found.name, found.params, found.template, detail, found.pretransform)


def _same_updates(program: Program, other: Program, steps: int = 50) -> bool:
    return all(compare(program, other, steps=steps, seed=seed, size=6, states_from="own", rtol=1e-6,
                       atol=1e-9, relative_atol=True) is None for seed in (0, 1))


def _lionk(program: Program) -> Recognition | None:
    """A general Lion-K member, via engineer E's ``simplify.lionk.match_lionk`` if present."""
    try:
        from simplify.lionk import match_lionk
    except ImportError:
        return None
    try:
        match = match_lionk(program)
    except Exception:  # noqa: BLE001 - another module's failure must not break recognition
        return None
    if not getattr(match, "member", False):
        return None
    params = {}
    for key in ("beta1", "beta2", "weight_decay", "lr_scale"):
        value = getattr(match, key, None)
        if isinstance(value, (int, float)):
            params[key] = float(value)
    label = getattr(match, "k_name", None) or getattr(match, "K", None)
    decay = getattr(match, "decay", None)
    detail = ", ".join(x for x in (f"K = {label}" if label else "",
                                   f"{decay} weight decay" if decay else "") if x)
    return Recognition("lion-k", params, None, detail)
