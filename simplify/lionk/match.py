"""Is a program a Lion-K member? Decided by probing its behaviour, never by reading its text.

A member has the form (DSL convention, caller does ``w -= update``)::

    slot' = a g + b slot                              one linear momentum (in m or in v)
    update = φ(lr) (∇K((1 − β1) g + β1 m) + λ w)      m = slot (1 − b) / a, β2 = b
    φ(lr) = s lr (explicit decay) or s lr / (1 + s lr λ) (implicit decay)

The checks run in that order, each on chosen inputs through the reference executor
``dsl.execute``; the first that fails names the part of the form the program breaks. Constants
are then read off (β2 from the linear fit, λ from the w-dependence, β1 from where the update
changes sign along g = x, m = −1, K and s by fitting each candidate K on inputs with g = m = c,
where interp(g, m, β1) = c whatever β1 is) and the result is confirmed by running the program
and the reference Lion-K side by side on random gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsl.check import analyze
from dsl.execute import execute, roll
from dsl.program import Program, ProgramError
from simplify.lionk.kfuncs import L1, HalfSquaredL2, Huber, KFunction, Lp, ThresholdedL1, TopK
from simplify.lionk.step import LionK

RTOL = 1e-6
PARTS = ("program", "state", "momentum", "learning rate", "weight decay", "lookahead", "gradK", "verification")


@dataclass(frozen=True)
class LionKMatch:
    """The verdict. For a member every constant is set; otherwise ``part`` and ``reason`` say why.

    ``lr_scale`` is the step size at lr = 1 in the program's own decay form (``decay``);
    ``momentum`` is the state slot holding the momentum (None if the update reads no state) and
    ``momentum_scale`` the factor between that slot and the standard momentum (slot = scale·m).
    ``uses_lr`` is False for a program that ignores lr (a fixed step, no schedule).
    """

    member: bool
    K: KFunction | None = None
    beta1: float | None = None
    beta2: float | None = None
    weight_decay: float | None = None
    lr_scale: float | None = None
    decay: str | None = None
    momentum: str | None = None
    momentum_scale: float = 1.0
    uses_lr: bool = True
    part: str | None = None
    reason: str | None = None

    @property
    def k_name(self) -> str | None:
        return None if self.K is None else self.K.label

    def optimizer(self, lr: float = 1.0) -> LionK:
        """The reference Lion-K with these constants at schedule value ``lr``."""
        if not self.member:
            raise ValueError(f"not a Lion-K member: {self.reason}")
        return LionK(self.K, beta1=self.beta1, beta2=self.beta2 if self.beta2 is not None else 0.0,
                     eps=self.step_size(lr), lam=self.weight_decay, decay=self.decay)

    def step_size(self, lr: float = 1.0) -> float:
        """ε at schedule value ``lr``, in the program's decay form."""
        return self.lr_scale * (lr if self.uses_lr else 1.0)

    def problem(self) -> str:
        if not self.member:
            raise ValueError(f"not a Lion-K member: {self.reason}")
        return self.K.problem(self.weight_decay)

    def describe(self) -> str:
        if not self.member:
            return f"not Lion-K: {self.part}: {self.reason}"
        b2 = "none (no momentum)" if self.beta2 is None else f"{self.beta2:.6g}"
        where = f", momentum in {self.momentum}" if self.momentum else ""
        lr = " x lr" if self.uses_lr else " (lr ignored)"
        return (f"Lion-K with K = {self.K.label}: beta1 = {self.beta1:.6g}, beta2 = {b2}, "
                f"lambda = {self.weight_decay:.6g}, eps = {self.lr_scale:.6g}{lr} ({self.decay} decay{where})")


class _Broken(Exception):
    def __init__(self, part: str, reason: str):
        super().__init__(reason)
        self.part = part
        self.reason = reason


# --- probing helpers --------------------------------------------------------------------------

class _Probe:
    """Runs the program on float64 inputs; states are given in the standard momentum's units."""

    def __init__(self, program: Program):
        self.program = program
        self.slot: str | None = None
        self.scale = 1.0

    def raw(self, w, g, m, v, lr=1.0):
        with np.errstate(all="ignore"):
            u, m2, v2 = execute(self.program, np.asarray(w, float), np.asarray(g, float),
                                np.asarray(m, float), np.asarray(v, float), lr)
        return np.asarray(u, float), np.asarray(m2, float), np.asarray(v2, float)

    def update(self, w, g, mom, lr=1.0) -> np.ndarray:
        g = np.asarray(g, float)
        zero = np.zeros_like(g)
        state = self.scale * np.asarray(mom, float)
        m, v = (state, zero) if self.slot == "m" else (zero, state) if self.slot == "v" else (zero, zero)
        return self.raw(np.broadcast_to(w, g.shape), g, m, v, lr)[0]

    def direction(self, g, mom) -> np.ndarray:
        return self.update(np.zeros_like(np.asarray(g, float)), g, mom)


def _close(a, b, rtol: float = RTOL) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0)) <= rtol * scale


def _scalar_ratio(num, den, rtol: float = RTOL) -> float | None:
    """The scalar r with num = r * den elementwise, or None if there is none."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den))):
        return None
    big = np.abs(den) > 1e-9 * max(float(np.max(np.abs(den), initial=0.0)), 1e-300)
    if not big.any():
        return 0.0 if _close(num, 0 * num) else None
    r = float(np.median(num[big] / den[big]))
    return r if _close(num, r * den, rtol) else None


def _depends(fn: Callable[[np.ndarray], np.ndarray], base: np.ndarray, rng: np.random.Generator) -> bool:
    ref = fn(base)
    return any(not _close(fn(rng.normal(size=base.shape) * 3), ref, 1e-12) for _ in range(3))


# --- the checks -------------------------------------------------------------------------------

def _momentum(probe: _Probe, rng: np.random.Generator, n: int) -> tuple[float | None, float]:
    """Sets probe.slot/scale; returns (β2, scale). Breaks 'state' or 'momentum'."""
    W, G, M, V = (rng.normal(size=n) for _ in range(4))
    out = probe.raw(W, G, M, V)
    if not all(np.all(np.isfinite(o)) for o in out):
        raise _Broken("program", "non-finite output on ordinary inputs (w, g, m, v ~ N(0, 1))")
    reads = {
        "m": _depends(lambda x: probe.raw(W, G, x, V)[0], M, rng),
        "v": _depends(lambda x: probe.raw(W, G, M, x)[0], V, rng),
    }
    read = [k for k, r in reads.items() if r]
    if len(read) == 2:
        raise _Broken("state", "the update reads both m and v; Lion-K keeps one momentum")
    if not read:
        return None, 1.0
    slot = read[0]
    other = "v" if slot == "m" else "m"
    idx = 1 if slot == "m" else 2

    def new_state(w, g, s, o, lr=1.0):
        args = (w, g, s, o) if slot == "m" else (w, g, o, s)
        return probe.raw(*args, lr)[idx]

    S, Oth = (M, V) if slot == "m" else (V, M)
    ref = new_state(W, G, S, Oth)
    if not _close(new_state(W, G, S, rng.normal(size=n)), ref, 1e-12):
        raise _Broken("momentum", f"the new {slot} depends on {other}; the momentum must see only g and itself")
    if not _close(new_state(rng.normal(size=n), G, S, Oth), ref, 1e-12):
        raise _Broken("momentum", f"the new {slot} depends on w")
    if not _close(new_state(W, G, S, Oth, lr=0.37), ref, 1e-12):
        raise _Broken("momentum", f"the new {slot} depends on lr")
    zero = np.zeros(n)
    a = _scalar_ratio(new_state(W, G, zero, Oth), G)
    b = _scalar_ratio(new_state(W, zero, S, Oth), S)
    if a is None or b is None:
        raise _Broken("momentum", f"the {slot} update is not linear: new {slot} != a*g + b*{slot} "
                      "(an elementwise nonlinearity such as g*g or arcsin(g))")
    for _ in range(3):
        G2, S2 = rng.normal(size=n) * 10, rng.normal(size=n) * 10
        if not _close(new_state(W, G2, S2, Oth), a * G2 + b * S2):
            raise _Broken("momentum", f"the {slot} update is not linear in (g, {slot})")
    if a == 0.0:
        raise _Broken("momentum", f"the {slot} update never receives the gradient")
    if abs(1.0 - b) < 1e-12:
        raise _Broken("momentum", f"beta2 = 1: the {slot} update never forgets (not the form)")
    if not (0.0 <= b < 1.0):
        raise _Broken("momentum", f"beta2 = {b:.6g} is outside [0, 1)")
    probe.slot, probe.scale = slot, a / (1.0 - b)
    return b, probe.scale


def _lr_form(probe: _Probe, rng: np.random.Generator, n: int) -> tuple[str, float, bool]:
    """('explicit', 0, uses_lr) or ('implicit', s_i λ, True): how the update scales with lr."""
    W, G, M = (rng.normal(size=n) for _ in range(3))
    u1 = probe.update(W, G, M, 1.0)
    ratios = {}
    for lr in (0.5, 0.25, 2.0):
        r = _scalar_ratio(probe.update(W, G, M, lr), u1)
        if r is None:
            raise _Broken("learning rate", f"update(lr={lr}) is not a multiple of update(lr=1): lr enters the "
                          "direction itself (e.g. clip(g, lr)), not only the step size")
        ratios[lr] = r
    if all(abs(r - lr) <= 1e-9 * lr for lr, r in ratios.items()):
        return "explicit", 0.0, True
    if all(abs(r - 1.0) <= 1e-12 for r in ratios.values()):
        return "explicit", 0.0, False
    r = ratios[0.5]
    kappa = (r - 0.5) / (0.5 * (1.0 - r)) if r != 1.0 else float("nan")
    if np.isfinite(kappa) and kappa > 0 and all(
            abs(ratios[lr] - lr * (1 + kappa) / (1 + lr * kappa)) <= 1e-7 * lr for lr in ratios):
        return "implicit", kappa, True
    raise _Broken("learning rate", "the update scales with lr neither as eps*lr nor as eps*lr/(1 + eps*lr*lambda): "
                  + ", ".join(f"u({lr})/u(1) = {r:.6g}" for lr, r in ratios.items()))


def _decay_coefficient(probe: _Probe, rng: np.random.Generator, n: int) -> float:
    """κ with update(w) − update(0) = κ w (κ = φ λ). Breaks 'weight decay'."""
    kappas = []
    for _ in range(3):
        W, G, M = rng.normal(size=n) * 3, rng.normal(size=n), rng.normal(size=n)
        d = probe.update(W, G, M) - probe.direction(G, M)
        k = _scalar_ratio(d, W)
        if k is None:
            raise _Broken("weight decay", "update(w) - update(w=0) is not lambda * w times the step "
                          "(the weights enter nonlinearly or through the direction)")
        kappas.append(k)
    if not _close(np.array(kappas), np.full(3, kappas[0])):
        raise _Broken("weight decay", f"the weight-decay coefficient changes with g and m: {kappas}")
    return kappas[0]


def _beta1(probe: _Probe, rng: np.random.Generator, n: int) -> float:
    """β1 from where the update changes sign along g = x, m = −1 (1-D), then checked in n-D."""
    if probe.slot is None:
        return 0.0
    G, M = rng.normal(size=n), rng.normal(size=n)
    on_g = _depends(lambda x: probe.direction(x, M), G, rng)
    on_m = _depends(lambda x: probe.direction(G, x), M, rng)
    if not on_g and not on_m:
        raise _Broken("lookahead", "the update (at w = 0) depends on neither g nor m")
    if not on_m:
        beta1 = 0.0
    elif not on_g:
        beta1 = 1.0
    else:
        beta1 = _sign_change_beta1(probe)
    for _ in range(4):
        G, M = rng.normal(size=n) * 2, rng.normal(size=n) * 2
        C = (1.0 - beta1) * G + beta1 * M
        if not _close(probe.direction(G, M), probe.direction(C, C), 1e-5):
            raise _Broken("lookahead", f"the update is not a function of one interpolation (1 - b1) g + b1 m "
                          f"(best b1 = {beta1:.6g} from the sign change fails on random inputs)")
    return beta1


def _sign_change_beta1(probe: _Probe) -> float:
    h = lambda x: float(probe.direction(np.array([x]), np.array([-1.0]))[0])
    mags = np.logspace(-8, 8, 161)
    xs = np.concatenate([-mags[::-1], [0.0], mags])
    s = np.sign([h(x) for x in xs])
    nz = np.flatnonzero(s != 0)
    if nz.size == 0 or np.all(s[nz] == s[nz[0]]):
        raise _Broken("lookahead", "along g = x, m = -1 the update never changes sign: no interpolation of g and m")
    first = s[nz[0]]
    i = nz[np.flatnonzero(s[nz] == first)[-1]]        # last index of the first sign
    j = nz[np.flatnonzero(s[nz] == -first)[0]]        # first index of the opposite sign
    if j < i:
        raise _Broken("lookahead", "the update's sign along g = x, m = -1 is not monotone")

    def edge(lo: float, hi: float, in_left: Callable[[float], bool]) -> float:
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            lo, hi = (mid, hi) if in_left(mid) else (lo, mid)
        return 0.5 * (lo + hi)

    left = edge(xs[i], xs[i + 1], lambda x: np.sign(h(x)) == first)
    right = edge(xs[j - 1], xs[j], lambda x: np.sign(h(x)) != -first)
    x_star = 0.5 * (left + right)
    if x_star == -1.0:
        raise _Broken("lookahead", "sign change at g = m: beta1 would be infinite")
    return x_star / (1.0 + x_star)


# --- identifying K ----------------------------------------------------------------------------

def _probe_vectors(rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for size in (16, 16, 7, 1):
        mags = 10.0 ** rng.uniform(-8, 6, size=size)
        out.append(mags * rng.choice([-1.0, 1.0], size=size))
    out.append(rng.normal(size=16))
    return out


def _fits(K: KFunction, phi: float, C: list[np.ndarray], P: list[np.ndarray]) -> bool:
    return phi > 0 and all(_close(p, phi * K.grad(c), 1e-6) for c, p in zip(C, P))


def _threshold(probe: _Probe, lo: float, hi: float) -> float:
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if probe.direction(np.array([mid]), np.array([mid]))[0] != 0.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _candidates(probe: _Probe, C: list[np.ndarray], P: list[np.ndarray]):
    c, p = C[0], P[0]
    nz = p != 0
    amax = float(np.max(np.abs(p)))
    yield L1(), float(np.mean(np.abs(p[nz]))) if nz.any() else 0.0
    yield HalfSquaredL2(), float(c @ p / (c @ c))
    if nz.sum() >= 3:
        slope = np.polyfit(np.log(np.abs(c[nz])), np.log(np.abs(p[nz])), 1)[0]
        pp = 1.0 + float(slope)
        if abs(pp - round(pp)) < 1e-6:
            pp = float(round(pp))
        if 1.0 + 1e-9 < pp < 1e6:
            K = Lp(pp)
            yield K, float(np.sum(np.abs(p) ** K.q) ** (1 / K.q))
    small = nz & (np.abs(p) < amax * (1 - 1e-9))
    if small.any():
        i = np.flatnonzero(small)[np.argmin(np.abs(c[small]))]
        yield Huber(float(amax * abs(c[i]) / abs(p[i]))), amax
    if (~nz).any() and nz.any():
        e = _threshold(probe, float(np.max(np.abs(c[~nz]))), float(np.min(np.abs(c[nz]))))
        yield ThresholdedL1(e), amax
        yield TopK(int(nz.sum())), amax


def _identify_K(probe: _Probe, rng: np.random.Generator) -> tuple[KFunction, float]:
    C = _probe_vectors(rng)
    P = [probe.direction(c, c) for c in C]
    if not all(np.all(np.isfinite(p)) for p in P):
        raise _Broken("gradK", "the direction is not finite on large or small inputs")
    for K, phi in _candidates(probe, C, [-p for p in P]):
        if np.isfinite(phi) and _fits(K, phi, C, [-p for p in P]):
            raise _Broken("gradK", f"the update moves along +grad K with K = {K.label} (ascent): the step "
                          "size is negative")
    for K, phi in _candidates(probe, C, P):
        if np.isfinite(phi) and _fits(K, phi, C, P):
            return K, phi
    worst = _monotonicity(probe, rng)
    if worst < 0:
        raise _Broken("gradK", f"the direction is not monotone (<D(a) - D(b), a - b> = {worst:.3g} < 0), "
                      "so it is not the gradient of a convex K")
    raise _Broken("gradK", "the direction is monotone but matches none of lion_k.md's K "
                  "(l1, lp, thresholded l1, top-k l1, Huber, half squared l2): K not identified")


def _monotonicity(probe: _Probe, rng: np.random.Generator) -> float:
    """min <D(a) − D(b), a − b> over far pairs and near pairs at many scales, in 1-D and 8-D."""
    worst = np.inf
    for size in (1, 8):
        for _ in range(40):
            a = rng.normal(size=size) * 10.0 ** rng.uniform(-2, 3)
            b = a + rng.normal(size=size) * np.abs(a) * 10.0 ** rng.uniform(-3, 0.5)
            worst = min(worst, float((probe.direction(a, a) - probe.direction(b, b)) @ (a - b)))
    return worst


# --- verification -----------------------------------------------------------------------------

def _verify(program: Program, match: LionKMatch, rng: np.random.Generator) -> None:
    for size in (1, 7, 16):
        for lr in (1.0, 0.3):
            opt = match.optimizer(lr)
            w = rng.normal(size=size) * 2
            gs = [rng.normal(size=size) * 10.0 ** rng.uniform(-2, 2) for _ in range(25)]
            run = roll(program, gs, w, lr, descend=True)
            mom = np.zeros(size)
            for t, (w, g, u) in enumerate(zip(run.ws, gs, run.updates)):
                x_ref, mom = opt.step(w, mom, g)
                if not _close(u, w - x_ref, 1e-6):
                    raise _Broken("verification", f"the program and the reference Lion-K differ at step {t} "
                                  f"(size {size}, lr {lr})")


def match_lionk(program: Program, *, seed: int = 0) -> LionKMatch:
    """Decide whether ``program`` is a Lion-K member; see the module docstring for the method."""
    try:
        analyze(program)
    except ProgramError as exc:
        return LionKMatch(False, part="program", reason=str(exc))
    rng = np.random.default_rng(seed)
    probe = _Probe(program)
    n = 9
    try:
        beta2, scale = _momentum(probe, rng, n)
        form, kappa, uses_lr = _lr_form(probe, rng, n)
        decay_coef = _decay_coefficient(probe, rng, n)
        beta1 = _beta1(probe, rng, n)
        K, phi = _identify_K(probe, rng)
        lam = decay_coef / phi
        if abs(lam) < 1e-12:
            lam = 0.0
        if lam < 0:
            raise _Broken("weight decay", f"negative weight decay (lambda = {lam:.6g}) pushes weights outward")
        if form == "explicit":
            s = phi
        else:
            s = phi * (1.0 + kappa)
            if lam == 0.0 or abs(kappa / s - lam) > 1e-6 * lam:
                raise _Broken("learning rate", "the lr dependence looks implicit but does not match the decay")
        if abs(beta1) < 1e-12:
            beta1 = 0.0
        match = LionKMatch(True, K, beta1, beta2, lam, s, form, probe.slot, scale, uses_lr)
        # states start at zero, so a slot holding scale * m evolves exactly as scale * m
        _verify(program, match, rng)
        return match
    except _Broken as exc:
        return LionKMatch(False, part=exc.part, reason=exc.reason)

