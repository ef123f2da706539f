"""Explain a program through Lion-K: is it a member, which K, which problem it solves, and does
the Lyapunov certificate hold along its own trajectory on a test problem.

The program is first simplified with the exact passes (when the simplifier is installed), then
matched by probing its behaviour; a member is run on the test problem and both phases are
reported: phase 1, the distance to the constraint against the bound dist_0 / (1 + eps lambda)^t;
phase 2, the discrete Lyapunov function H per step and the steps where it rises. Plots go to
--out. Exit code 0 whether or not the program is Lion-K; 2 on bad input.
"""

from __future__ import annotations

from dsl import ProgramError
from search.cli import jsonout
from search.cli.common import fail, load_program
from simplify import simplify_exact
from simplify.lionk import analysis, problems
from simplify.lionk.match import match_lionk

NAME = "analyze"
HELP = "Lion-K analysis of a program: K, the problem it solves, phase 1 and Lyapunov checks, plots"


def add_arguments(parser) -> None:
    parser.add_argument("program", help="a .train file or a built-in name")
    parser.add_argument("--problem", default="quadratic", choices=("quadratic", "logreg", "mlp"),
                        help="test problem (full batch, float64); default quadratic")
    parser.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    parser.add_argument("--out", default=None, help="folder for the plots (default results/analyze/<name>)")
    parser.add_argument("--lr", type=float, default=1.0,
                        help="schedule value passed as lr (default 1: the program's own step size)")
    parser.add_argument("--init-scale", type=float, default=3.0,
                        help="initial x uniform in +-init_scale/lambda (default 3: mostly outside the box)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-simplify", action="store_true", help="match the program as written")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")


def _simplified(program):
    """(program, note): the program after the simplifier's exact passes."""
    try:
        out = simplify_exact(program)
    except Exception as exc:  # noqa: BLE001 - another module's failure must not stop the analysis
        return program, f"simplifier failed ({exc}): matched as written"
    return out, None


def _fmt(x) -> str:
    return "none" if x is None else f"{x:.6g}"


def run(args) -> int:
    if args.steps < 1:
        return fail("--steps must be at least 1")
    if args.lr <= 0:
        return fail("--lr must be positive")
    try:
        label, program = load_program(args.program)
    except ProgramError as exc:
        return fail(str(exc))

    print(f"program {label}:")
    print(program, end="")
    if not args.no_simplify:
        simple, note = _simplified(program)
        if note:
            print(note)
        elif simple != program:
            print(f"simplified (exact passes, {len(program)} -> {len(simple)} statements):")
            print(simple, end="")
        program = simple
    match = match_lionk(program)
    print()
    if not match.member:
        print(f"not Lion-K: it breaks the {match.part} part of the form: {match.reason}")
        if args.json:
            print(jsonout.dumps({"member": False, "part": match.part, "reason": match.reason}))
        return 0

    K = match.K
    lam = match.weight_decay
    print(f"Lion-K member, K = {K.label}")
    print(f"  {K.k_text}")
    print(f"  {K.grad_text}")
    print(f"  {K.conj_text}")
    where = f", momentum kept in {match.momentum}" if match.momentum else ", no momentum"
    print(f"  beta1 = {_fmt(match.beta1)}, beta2 = {_fmt(match.beta2)}, lambda = {_fmt(lam)}, "
          f"eps = {_fmt(match.lr_scale)}{' x lr' if match.uses_lr else ' (lr ignored)'} "
          f"({match.decay} weight decay{where})")
    print(f"  solves: {K.problem(lam)}")
    print("  (general form: minimize f(x) + K*(lambda x)/lambda)")

    problem = problems.get(args.problem)
    try:
        result = analysis.analyze(program, match, problem, steps=args.steps, lr=args.lr,
                                  init_scale=args.init_scale, seed=args.seed)
    except ValueError as exc:
        print(f"no certificate run: {exc}")
        return 0
    rep = result.report
    print()
    print(f"run: {problem.description}; {args.steps} steps at lr {args.lr:g}: eps = {result.eps:.6g}"
          + (f" (implicit-form eps' = {result.eps_implicit:.6g})" if match.decay == "explicit" and lam > 0 else ""))
    print(f"  f: {result.trajectory.fs[0]:.6g} -> {result.trajectory.fs[-1]:.6g}")
    print("phase 1 (constraint enforcing):")
    if lam <= 0:
        print("  lambda = 0: no constraint")
    else:
        print(f"  dist_0 = {rep.distance[0]:.6g}, bound dist_0 / (1 + eps' lambda)^t with rate {rep.rate:.8g} per step")
        print(f"  steps where the distance exceeds the bound: {rep.bound_violations} of {args.steps}")
        if rep.shrink_predicted is not None:
            obs = "not reached" if rep.shrink_steps is None else f"step {rep.shrink_steps}"
            print(f"  distance down by 1e-6: {obs}; the bound guarantees it by step {rep.shrink_predicted:.0f}")
        entered = "never" if rep.entered_at is None else f"step {rep.entered_at}"
        print(f"  inside {{x : lambda x in dom K*}} from: {entered}")
    print("phase 2 (Lyapunov function H):")
    if lam <= 0:
        print("  lambda = 0: H of lion_k.md is not defined (it divides by lambda); not checked")
    elif rep.phase2_start is None:
        print("  H is infinite at the last step (x outside dom K*/lambda): phase 2 not reached")
    else:
        n2 = args.steps - rep.phase2_start
        H = rep.H
        print(f"  from step {rep.phase2_start} ({n2} steps): H {H[rep.phase2_start]:.8g} -> {H[-1]:.8g}")
        verdict = "monotone non-increasing" if rep.monotone else "NOT monotone"
        print(f"  steps where H rose (beyond float rounding): {rep.rises} of {n2} "
              f"({verdict}; max rise {rep.max_rise:.3g})")
        print(f"  steps where H rose by more than the O(eps^2) allowance (L/2)||x_t+1 - x_t||^2, "
              f"L = {rep.L:.4g}: {rep.allowance_violations}")
    if lam > 0:
        box = float(abs(result.trajectory.xs[-1]).max())
        ok = "holds" if rep.constraint_ok else "does NOT hold"
        print(f"constraint at the end: {ok} (distance {rep.final_distance:.3g}; ||x||_inf = {box:.6g}, "
              f"1/lambda = {1 / lam:.6g})")
    out = args.out or f"results/analyze/{label}"
    paths = analysis.save_plots(result, out, stem=f"{label}_{args.problem}")
    print("plots: " + ", ".join(str(p) for p in paths))
    if args.json:
        data = {"member": True, "K": K.label, "beta1": match.beta1, "beta2": match.beta2, "lambda": lam,
                "lr_scale": match.lr_scale, "decay": match.decay, "problem": K.problem(lam),
                **rep.summary(), "plots": [str(p) for p in paths]}
        print(jsonout.dumps(data))
    return 0
