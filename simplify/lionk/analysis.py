"""Run a program on a test problem and check the Lion-K certificate along its own trajectory.

The program itself runs (``dsl.execute``, float64), not the reference Lion-K: the match gives
the constants, the trajectory is the program's. An explicit-decay program with step ε is exactly
an implicit-decay Lion-K with ε' = ε/(1 − ελ), so phase 1 uses the rate 1/(1 + ε'λ) = 1 − ελ and
H uses ε'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsl.execute import roll
from dsl.program import Program
from simplify.lionk.lyapunov import PhaseReport, phases
from simplify.lionk.match import LionKMatch
from simplify.lionk.problems import Problem, secant_L
from simplify.lionk.step import explicit_to_implicit_eps


@dataclass(frozen=True)
class Trajectory:
    xs: np.ndarray     # (T + 1, dim)
    ms: np.ndarray     # standard momentum (average of +g), (T + 1, dim)
    fs: np.ndarray     # f(x_t)
    gs: np.ndarray     # ∇f(x_t)


@dataclass(frozen=True)
class Analysis:
    match: LionKMatch
    problem: Problem
    lr: float
    eps: float           # the program's step at this lr, in its own decay form
    eps_implicit: float  # the equivalent implicit-form step (used by phase 1 and H)
    trajectory: Trajectory
    report: PhaseReport


def initial_point(problem: Problem, lam: float, init_scale: float, seed: int) -> np.ndarray:
    """Uniform in ±init_scale/λ (±init_scale if λ = 0): with init_scale > 1 most entries start
    outside the box, so phase 1 has work to do."""
    rng = np.random.default_rng(seed)
    r = init_scale / lam if lam > 0 else init_scale
    return rng.uniform(-r, r, size=problem.dim)


def run_program(program: Program, match: LionKMatch, problem: Problem, x0: np.ndarray, steps: int,
                lr: float = 1.0) -> Trajectory:
    """Train with the program itself; the momentum slot is read back in standard units."""
    run = roll(program, problem.grad, np.array(x0, dtype=float), lr, steps=steps, descend=True)
    xs = run.ws
    slots = run.ms if match.momentum == "m" else run.vs if match.momentum == "v" else [np.zeros_like(x) for x in xs]
    ms = [slot / match.momentum_scale for slot in slots]
    gs = [*run.gs, problem.grad(xs[-1])]
    return Trajectory(np.array(xs), np.array(ms), np.array([problem.f(x) for x in xs]), np.array(gs))


def analyze(program: Program, match: LionKMatch, problem: Problem, *, steps: int = 2000, lr: float = 1.0,
            init_scale: float = 3.0, seed: int = 0, x0: np.ndarray | None = None) -> Analysis:
    """Both phases on ``problem`` for a matched Lion-K ``program``; ValueError for a non-member."""
    if not match.member:
        raise ValueError(f"not a Lion-K member ({match.part}: {match.reason})")
    lam = match.weight_decay
    eps = match.step_size(lr)
    if match.decay == "explicit":
        if eps * lam >= 1.0:
            raise ValueError(f"eps * lambda = {eps * lam:.3g} >= 1: the decay overshoots; no certificate applies")
        eps_imp = explicit_to_implicit_eps(eps, lam)
    else:
        eps_imp = eps
    if x0 is None:
        x0 = initial_point(problem, lam, init_scale, seed)
    traj = run_program(program, match, problem, x0, steps, lr)
    L = problem.L if problem.L is not None else secant_L(traj.xs, traj.gs)
    beta2 = match.beta2 if match.beta2 is not None else 0.0
    report = phases(match.K, traj.xs, traj.ms, traj.fs, beta1=match.beta1, beta2=beta2, eps=eps_imp,
                    lam=lam, L=L)
    return Analysis(match, problem, lr, eps, eps_imp, traj, report)


def save_plots(result: Analysis, out_dir: str | Path, stem: str = "lionk") -> list[Path]:
    """H and the distance to the constraint against step; histogram of the final parameters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rep = result.report
    lam = result.match.weight_decay
    steps = np.arange(len(rep.distance))
    paths = []

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    finite = np.isfinite(rep.H)
    if finite.any():
        ax1.plot(steps[finite], rep.H[finite], lw=1, label="H(x_t, m_t)")
        ax1.plot(steps[finite], result.trajectory.fs[finite], lw=1, ls="--", label="f(x_t)")
        if rep.phase2_start is not None and rep.phase2_start < len(steps) - 1:
            dH = np.diff(rep.H[rep.phase2_start:])
            up = np.flatnonzero(dH > 1e-12 * np.maximum(1, np.abs(rep.H[rep.phase2_start:-1])))
            if up.size:
                t_up = rep.phase2_start + up + 1
                ax1.scatter(t_up, rep.H[t_up], s=8, color="red", label=f"H rose ({up.size} steps)")
        ax1.legend()
    else:
        ax1.text(0.5, 0.5, "H infinite (x never inside the constraint)", ha="center", transform=ax1.transAxes)
    ax1.set_xlabel("step")
    ax1.set_title("phase 2: Lyapunov function")
    positive = rep.distance > 0
    if positive.any():
        ax2.semilogy(steps[positive], rep.distance[positive], lw=1, label="dist(x_t, F)")
        bpos = rep.bound > 0
        ax2.semilogy(steps[bpos], rep.bound[bpos], lw=1, ls="--", label=f"dist_0 * {rep.rate:.4g}^t")
        ax2.legend()
    else:
        ax2.text(0.5, 0.5, "inside the constraint at every step", ha="center", transform=ax2.transAxes)
    ax2.set_xlabel("step")
    ax2.set_title("phase 1: distance to {x : lambda x in dom K*}")
    fig.suptitle(f"{result.match.K.label} on {result.problem.name}: eps = {result.eps:.3g}, lambda = {lam:.4g}")
    fig.tight_layout()
    p = out / f"{stem}_phases.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(result.trajectory.xs[-1], bins=40, color="gray", label=f"final (step {len(result.trajectory.xs) - 1})")
    ax.hist(result.trajectory.xs[0], bins=40, histtype="step", color="C0", label="initial")
    if lam > 0:
        for s in (-1, 1):
            ax.axvline(s / lam, color="red", ls="--", label="±1/lambda" if s == 1 else None)
    ax.set_xlabel("parameter value")
    ax.set_title("parameters")
    ax.legend()
    fig.tight_layout()
    p = out / f"{stem}_histogram.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    return paths
