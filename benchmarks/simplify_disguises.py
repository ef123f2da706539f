"""How well the simplifier sees through disguises: thousands of generated built-ins, named or not.

For each built-in (sgd, momentum, nesterov, signsgd, signum, adamw, lion), ``--n`` exact disguises
(``tests/disguise.py``) at each depth: the fraction **named** with the original constants
(relative error <= 1e-6), the fraction whose printed program is the family's **canonical** program
(the text of ``simplify_exact(printed)`` equals that of ``simplify_exact(template(family,
original constants))``), the median and worst seconds per program (``simplify()``, exact passes
and recognition, as ``optsearch simplify FILE``), and the failures grouped by the transformation
that defeated them: the first one of the chain after which the simplifier no longer coped.
Then pre-transformed built-ins (a built-in on ``f(g)``): the fraction named with the family, its
constants and an ``f`` that equals the true one (or named as the family alone when ``f`` changes
nothing, e.g. ``sign(tanh(g)) = sign(g)``). The last line is JSON.

With ``--approximate N``, N approximate disguises per built-in (near-identity input transforms,
tiny additive terms) are simplified with ablation on ``--task`` and counted as named when the
result is the built-in's family (slow: every ablation candidate is trained).

    python benchmarks/simplify_disguises.py [--n 200] [--depths 1 2 3 4 5 6] [--pretransformed 50]
        [--seed 0] [--built-in lion ...] [--approximate N --task mlp --tolerance 0.001 --steps S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import median

import numpy as np

from dsl import library
from simplify import simplify, simplify_exact
from simplify.equiv import compare
from simplify.recognize import template

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the disguises are test support (tests/disguise.py), not installed
    sys.path.insert(0, str(ROOT))
from tests.disguise import BUILT_INS, PRETRANSFORMS, apply_to_gradient, approximate, disguise, pretransform  # noqa: E402

ORIGINAL: dict[str, tuple[str, dict[str, float]]] = {
    "sgd": ("sgd", {"lr_scale": 0.1, "weight_decay": 0.0}),
    "momentum": ("momentum", {"beta": 0.9, "lr_scale": 0.1, "weight_decay": 0.0}),
    "nesterov": ("nesterov", {"beta": 0.9, "lr_scale": 0.1, "weight_decay": 0.0}),
    "signsgd": ("signsgd", {"lr_scale": 0.001, "weight_decay": 0.0}),
    "signum": ("signum", {"beta": 0.9, "lr_scale": 0.001, "weight_decay": 0.0}),
    "adamw": ("adamw", {"beta1": 0.9, "beta2": 0.999, "weight_decay": 0.01, "lr_scale": 0.001, "eps": 0.0}),
    "lion": ("lion", {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.01, "lr_scale": 1e-4}),
}
"""Each built-in's family and constants, as written in ``dsl/library``."""


def named(result, base: str) -> bool:
    """Named as the built-in's family with its constants (relative error <= 1e-6)."""
    family, params = ORIGINAL[base]
    rec = result.recognition
    if rec is None or rec.name != family or set(rec.params) != set(params):
        return False
    return all(abs(rec.params[k] - v) <= 1e-6 * abs(v) + (1e-12 if v == 0 else 0.0) for k, v in params.items())


OPTIONS: dict = {}
"""Extra ``simplify`` arguments: ``--exact-only`` sets ``canonical=False`` (the exact passes' own text)."""

_CANONICAL: dict[str, str] = {}


def canonical_text(base: str) -> str:
    if base not in _CANONICAL:
        family, params = ORIGINAL[base]
        _CANONICAL[base] = str(simplify_exact(template(family, params)))
    return _CANONICAL[base]


def canonical(result, base: str) -> bool:
    """The printed program is the family's canonical program (compared after the exact passes)."""
    return str(simplify_exact(result.program)) == canonical_text(base)


def _culprit(d, ok) -> str:
    """The first transformation of the chain after which ``ok`` fails (the last if none does)."""
    for name, stage in zip(d.chain, d.stages):
        if not ok(simplify(stage, **OPTIONS), d.base):
            return name
    return d.chain[-1] if d.chain else "none"


def exact_rows(bases, depths, n: int, seed: int) -> tuple[list[dict], Counter, Counter]:
    rows = []
    fail_named: Counter = Counter()
    fail_canon: Counter = Counter()
    for base in bases:
        for depth in depths:
            rng = np.random.default_rng([seed, depth, BUILT_INS.index(base)])
            times, n_named, n_canon, rejected = [], 0, 0, 0
            while len(times) < n:
                try:
                    d = disguise(base, depth, rng)
                except ValueError:  # the executor check caught a transformation bug: not a disguise
                    rejected += 1
                    continue
                t0 = time.perf_counter()
                result = simplify(d.program, **OPTIONS)
                times.append(time.perf_counter() - t0)
                ok_named, ok_canon = named(result, base), canonical(result, base)
                n_named += ok_named
                n_canon += ok_canon
                if not ok_named:
                    fail_named[_culprit(d, named)] += 1
                if not ok_canon:
                    fail_canon[_culprit(d, canonical)] += 1
            rows.append({"built_in": base, "depth": depth, "n": n, "named": n_named / n,
                         "canonical": n_canon / n, "median_s": median(times), "worst_s": max(times),
                         "rejected_by_executor_check": rejected})
    return rows, fail_named, fail_canon


def _pretransform_ok(result, d) -> bool:
    """Named with the family and constants, on an f equal to the true one (checked by running the
    recognized program against the built-in on the true f), or as the family alone if f is
    invisible to it."""
    family, params = ORIGINAL[d.base]
    rec = result.recognition
    if rec is None or getattr(rec, "family", rec.name) != family or rec.template is None:
        return False
    lines = dict(PRETRANSFORMS)[d.pretransform]
    truth = apply_to_gradient(template(family, params), lines)
    same = all(compare(truth, rec.template, steps=30, seed=s, states_from="own", rtol=1e-6, atol=1e-9,
                       relative_atol=True) is None for s in (0, 1))
    return same and (getattr(rec, "pretransform", None) is not None or named(result, d.base))


def pretransform_rows(bases, n: int, seed: int) -> tuple[list[dict], Counter]:
    rows = []
    fails: Counter = Counter()
    for base in bases:
        rng = np.random.default_rng([seed, 99, BUILT_INS.index(base)])
        ok, times = 0, []
        for _ in range(n):
            d = pretransform(base, rng)
            t0 = time.perf_counter()
            result = simplify(d.program)
            times.append(time.perf_counter() - t0)
            good = _pretransform_ok(result, d)
            ok += good
            if not good:
                fails[f"{base} on {d.pretransform}"] += 1
        rows.append({"built_in": base, "n": n, "named": ok / n if n else 0.0,
                     "median_s": median(times) if times else 0.0})
    return rows, fails


def _same_recognition(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.name == b.name and set(a.params) == set(b.params) and all(
        abs(a.params[k] - b.params[k]) <= 1e-6 * abs(b.params[k]) + 1e-12 for k in b.params)


def approximate_rows(bases, n: int, seed: int, task: str, tolerance: float, steps: int | None) -> dict:
    """Approximate disguises simplified with ablation on ``task``: the fraction named as the
    built-in's family afterwards (and with its constants). Costly: every candidate is trained."""
    from simplify.ablate import evaluator_score

    overrides = {"steps": steps} if steps else {}
    score = evaluator_score([task], seeds=(0,), **overrides)
    out = {"n": 0, "family": 0, "named": 0, "as_undisguised": 0, "failures": Counter(), "seconds": [],
           "undisguised": {}}
    for base in bases:
        # what ablation makes of the built-in itself: on a short task it may delete real parts too
        ref = simplify(library.get(base), score=score, tolerance=tolerance).recognition
        out["undisguised"][base] = ref.describe() if ref else None
        rng = np.random.default_rng([seed, 7, BUILT_INS.index(base)])
        for _ in range(n):
            d = approximate(base, rng)
            t0 = time.perf_counter()
            result = simplify(d.program, score=score, tolerance=tolerance)
            out["seconds"].append(time.perf_counter() - t0)
            rec = result.recognition
            out["n"] += 1
            fam = rec is not None and rec.name == ORIGINAL[base][0]
            out["family"] += fam
            out["named"] += named(result, base)
            out["as_undisguised"] += _same_recognition(rec, ref)
            if not fam:
                out["failures"][f"{base}: {d.chain[0]}"] += 1
    out["failures"] = dict(out["failures"])
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="exact disguises per built-in and depth")
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--pretransformed", type=int, default=50, help="pre-transformed programs per built-in")
    ap.add_argument("--built-in", action="append", choices=BUILT_INS, dest="bases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--exact-only", action="store_true",
                    help="measure the exact passes' own text (no canonical-form step)")
    ap.add_argument("--approximate", type=int, default=0, metavar="N",
                    help="approximate disguises per built-in, simplified with ablation (slow; default 0)")
    ap.add_argument("--task", default="mlp", help="ablation task for --approximate (default mlp)")
    ap.add_argument("--tolerance", type=float, default=1e-3, help="ablation tolerance for --approximate")
    ap.add_argument("--steps", type=int, default=None, help="task steps for --approximate (default: the task's)")
    args = ap.parse_args(argv)
    bases = args.bases or list(BUILT_INS)
    OPTIONS.clear()
    if args.exact_only:
        OPTIONS["canonical"] = False
    t0 = time.perf_counter()
    rows, fail_named, fail_canon = exact_rows(bases, args.depths, args.n, args.seed)
    print(f"{'built-in':10} {'depth':>5} {'n':>5} {'named':>7} {'canonical':>9} {'median s':>9} {'worst s':>8}")
    for r in rows:
        print(f"{r['built_in']:10} {r['depth']:5d} {r['n']:5d} {r['named']:7.1%} {r['canonical']:9.1%} "
              f"{r['median_s']:9.3f} {r['worst_s']:8.3f}")
    by_depth = {}
    for depth in args.depths:
        sel = [r for r in rows if r["depth"] == depth]
        by_depth[depth] = {"named": sum(r["named"] for r in sel) / len(sel),
                           "canonical": sum(r["canonical"] for r in sel) / len(sel)}
        print(f"{'all':10} {depth:5d} {sum(r['n'] for r in sel):5d} {by_depth[depth]['named']:7.1%} "
              f"{by_depth[depth]['canonical']:9.1%}")
    all_median = median(r["median_s"] for r in rows)
    worst = max(r["worst_s"] for r in rows)
    print(f"\nmedian of medians {all_median:.3f} s, worst {worst:.3f} s")
    print("not named, by the transformation that defeated it:", dict(fail_named.most_common()) or "none")
    print("not canonical, by the transformation that defeated it:", dict(fail_canon.most_common()) or "none")
    pre_rows, pre_fails = pretransform_rows(bases, args.pretransformed, args.seed)
    pre_total = sum(r["named"] * r["n"] for r in pre_rows) / max(1, sum(r["n"] for r in pre_rows))
    if args.pretransformed:
        print("\npre-transformed (family on f(g)):")
        for r in pre_rows:
            print(f"{r['built_in']:10} {r['n']:5d} {r['named']:7.1%} {r['median_s']:9.3f}")
        print(f"{'all':10} {'':5} {pre_total:7.1%}")
        print("not named:", dict(pre_fails.most_common()) or "none")
    approx = None
    if args.approximate:
        approx = approximate_rows(bases, args.approximate, args.seed, args.task, args.tolerance, args.steps)
        k = max(1, approx["n"])
        print(f"\napproximate, after ablation on {args.task} (tolerance {args.tolerance}): "
              f"family {approx['family'] / k:.1%}, with the original constants {approx['named'] / k:.1%}, "
              f"as the undisguised built-in ablates {approx['as_undisguised'] / k:.1%} "
              f"of {approx['n']}, median {median(approx['seconds']):.1f} s")
        print("the built-ins themselves ablate to:", approx["undisguised"])
        print("not named:", approx["failures"] or "none")
    depths_early = [d for d in args.depths if d <= 3]
    targets = {
        "named_99_every_depth": all(v["named"] >= 0.99 for v in by_depth.values()),
        "canonical_99_depth_1_3": all(by_depth[d]["canonical"] >= 0.99 for d in depths_early),
        "canonical_95_depth_6": by_depth.get(6, {"canonical": 1.0})["canonical"] >= 0.95,
        "median_under_0_5_s": all_median < 0.5,
        "pretransformed_95": pre_total >= 0.95 if args.pretransformed else None,
        "approximate_90": approx["family"] / max(1, approx["n"]) >= 0.9 if approx else None,
    }
    out = {"rows": rows, "by_depth": by_depth, "median_s": all_median, "worst_s": worst,
           "failures_named": dict(fail_named), "failures_canonical": dict(fail_canon),
           "pretransformed": pre_rows, "pretransformed_named": pre_total,
           "pretransformed_failures": dict(pre_fails), "approximate": approx, "targets_met": targets,
           "seconds": time.perf_counter() - t0}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()

