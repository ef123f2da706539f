"""Candidates per core-hour on the replay's proxy: where a candidate's seconds go, and what the
replay's settings buy against plain full evaluation (``benchmarks/throughput.py`` prints both).

1. ``profile``: a sample of the committed replay's children scored by the config's evaluator at a
   fixed hurdle threshold (the config's ceiling, where the replay's threshold sits), every call of
   the compiled loops timed: compilation (XLA's own count, cache reads included), training by
   stage (the runs up to the first checkpoint, between checkpoints, to the end), the baselines,
   and the rest (encoding, judging, Python), per candidate.
2. ``side_by_side``: two searches from AdamW, the same number of children, at the same time on a
   core each: plain full evaluation (every grid value to the end, no hurdle, no racing) and the
   config. Candidates per core-hour is children scored per second of search after the first.
3. ``false_stops``: the panel's truly better half (``results/search_quality``'s 8-seed truth)
   scored by the config's evaluator at the threshold the config's hurdle reaches (its ceiling):
   how many stop, and how many lose the grid value best at the end.
4. ``ranking``: each search's top programs by search fitness re-scored on held-out task seeds;
   Kendall's tau of the search's order against that truth.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from dsl import parse
from dsl.program import Program
from proxy_tasks import compile_cache, training
from search.analysis import runs
from search.backends.base import EvaluatorSpec
from search.experiments.hurdles import children_sample
from search.experiments.search_quality import kendall_tau


@contextmanager
def _timed(counter: dict[str, float]):
    """Wrap every ``ProgramRunner``'s staged calls (``init_runs``, ``advance_runs``) so that each
    call's wall time (blocked until the result is ready) lands in ``counter`` under its stage."""
    import jax

    saved: list[tuple[object, str, object]] = []

    def wrap(runner) -> None:
        for attr in ("init_runs", "advance_runs"):
            fn = getattr(runner, attr)
            saved.append((runner, attr, fn))

            def call(*args, _fn=fn, _attr=attr):
                t0 = time.perf_counter()
                out = jax.block_until_ready(_fn(*args))
                key = "init (runs)" if _attr == "init_runs" else (
                    "train to the first checkpoint" if int(args[2]) == 0 else "train on after a checkpoint")
                counter[key] = counter.get(key, 0.0) + time.perf_counter() - t0
                return out

            setattr(runner, attr, call)

    for r in training._RUNNERS.values():
        wrap(r)
    init = training.ProgramRunner.__init__

    def new_init(self, *a, **k):
        init(self, *a, **k)
        wrap(self)

    training.ProgramRunner.__init__ = new_init  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        training.ProgramRunner.__init__ = init  # type: ignore[method-assign]
        for runner, attr, fn in saved:
            setattr(runner, attr, fn)


def profile(cfg, results: Path, n: int, threshold: float, log: Callable[[str], None] = print) -> dict:
    """Where a replay candidate's seconds go (module docstring, 1)."""
    ev = EvaluatorSpec.from_section(cfg.evaluator).build("proxy")
    for task in ev.tasks:
        ev.baseline(task, ev.seeds[0])  # the baselines are cached on disk: charge them apart
    children = children_sample(results, n, seed=1)
    counts = compile_cache.count()
    c0, s0, l0 = counts.requests, counts.seconds, counts.loaded
    counter: dict[str, float] = {}
    t0 = time.perf_counter()
    stopped = 0
    with _timed(counter):
        for program in children.values():
            r = ev.evaluate([program], threshold=threshold)[0]
            stopped += bool(r.reason and "hurdle" in r.reason)
    wall = time.perf_counter() - t0
    compile_s = counts.seconds - s0
    timed = sum(counter.values())
    parts = {k: v for k, v in counter.items()}
    parts["other (encode, judge, baselines lookup, Python)"] = max(0.0, wall - timed)
    log(f"profile: {len(children)} replay children at threshold {threshold:g}: {wall:.1f} s, "
        f"{counts.requests - c0} compilations ({compile_s:.1f} s of the timed calls), {stopped} stopped")
    return {"children": len(children), "seconds": wall, "compilations": counts.requests - c0,
            "compilations_from_cache": counts.loaded - l0,
            "compile_seconds": compile_s, "parts": parts, "stopped": stopped,
            "per_candidate_s": wall / max(1, len(children))}


def false_stops(cfg, table: Mapping[str, Mapping], programs: Mapping[str, Program], top: Sequence[str],
                threshold: float) -> dict:
    """The panel's better half at the config's hurdle (module docstring, 3)."""
    ev = EvaluatorSpec.from_section(cfg.evaluator).build("proxy")
    stopped, lost = [], {}
    for name in top:
        r = ev.evaluate([programs[name]], threshold=threshold)[0]
        if r.reason and "hurdle" in r.reason:
            stopped.append(name)
            continue
        final = {float(x): (v["0"] if isinstance(v, dict) else v[0]) for x, v in table[name].items()}
        best = max(final, key=lambda x: final[x])
        chosen = r.tasks[0].lr_scale
        if abs(chosen - best) > 1e-6 * best:
            lost[name] = final[best] - final.get(chosen, min(final.values()))
    return {"top_half": list(top), "stopped": stopped, "false_stop_rate_top_half": len(stopped) / max(1, len(top)),
            "lost_best_value": lost}


def ranking(cfg, run_dir: Path, truth_seeds: Sequence[int], top: int) -> dict:
    """A search's top programs against held-out truth (module docstring, 4)."""
    run = runs.load_run(run_dir)
    best = runs.distinct_best(run)[:top]
    spec = EvaluatorSpec.from_section(cfg.evaluator)
    ev = EvaluatorSpec({**spec.kwargs, "seeds": tuple(truth_seeds)}, spec.factory).build("proxy")
    search, truth = {}, {}
    for r in best:
        name = f"id {r.id}"
        search[name] = r.fitness
        truth[name] = ev.evaluate_one(parse(r.source)).fitness
    tau = kendall_tau(search, truth) if len(best) > 1 else float("nan")
    return {"top": [{"id": n, "search": search[n], "truth": truth[n]} for n in search], "tau": tau,
            "best_truth": max(truth.values(), default=float("nan")),
            "first_truth": truth[next(iter(truth))] if truth else float("nan")}


COMPILED = re.compile(r"compiled (\d+) XLA programs in this process \(([\d.]+) s with cache reads\); "
                      r"loaded (\d+)")


def compilations(log: Path) -> dict:
    """The XLA compilations a search's process reported at its end (its console log's last such
    line): programs compiled, loaded from the persistent cache, and the seconds both took."""
    found = COMPILED.findall(log.read_text(errors="replace")) if log.exists() else []
    if not found:
        return {"compiled": None, "loaded": None, "compile_seconds": 0.0}
    n, secs, loaded = found[-1]
    return {"compiled": int(n), "loaded": int(loaded), "compile_seconds": float(secs)}


def children_per_s(run_dir: Path) -> dict:
    """Children scored per second of search after the first one, and the search process's XLA
    compilations (a search of a core-hour pays them once; a few-minute benchmark pays them in full)."""
    run = runs.load_run(run_dir)
    evaluated = [r for r in run.rows if r.parent is not None and not r.cached]
    t_first = min(r.time for r in evaluated if r.time is not None)
    t_last = max(r.time for r in run.rows if r.time is not None)
    span = max(1e-9, t_last - t_first)
    stats = runs.statistics(run)
    comp = compilations(run_dir.parent / f"{run_dir.name}.log")
    return {"evaluated": len(evaluated), "children_per_s": (len(evaluated) - 1) / span, "span_s": span,
            **comp,
            "stopped": sum("hurdle" in (r.reason or "") for r in evaluated),
            "race_evaluations": stats.race_evaluations,
            "eval_seconds_per_child": float(np.mean([r.seconds for r in evaluated])) if evaluated else 0.0}


# Staged-evaluation settings simulated on curves at the replay's validation points (twentieths of
# training): [(point, quantile, margin), ...], each threshold that quantile over the children
# reaching the point, capped at the config's ceiling; quantile None: no threshold there; margin 0:
# the race (only the best grid value goes on), None: no margin.
SCHEMES = {
    "hurdle 0.1 (#16, the third replay)": [(2, 0.5, 0.15)],
    "hurdle 0.1, margin 0.05": [(2, 0.5, 0.05)],
    "hurdle 0.1, race 0.3": [(2, 0.5, 0.05), (6, None, 0)],
    "early 0.05 (margin 0.05), hurdle 0.1, race 0.3": [(1, 0.5, 0.05), (2, 0.5, 0.05), (6, None, 0)],
    "early 0.05 (no margin), hurdle 0.1, race 0.3": [(1, 0.5, None), (2, 0.5, 0.05), (6, None, 0)],
    "early 0.05 (margin 0.1), hurdle 0.1, race 0.3": [(1, 0.5, 0.1), (2, 0.5, 0.05), (6, None, 0)],
    "early 0.05 (margin 0.1), hurdle 0.1, race 0.3 with the threshold": [(1, 0.5, 0.1), (2, 0.5, 0.05), (6, 0.5, 0)],
    "early 0.05 (margin 0.1), hurdle 0.1, race 0.2": [(1, 0.5, 0.1), (2, 0.5, 0.05), (4, None, 0)],
}


def simulate(children: dict, panel_curves: dict, table: Mapping, top: Sequence[str], n_points: int,
             ceiling: float | None, watch: Sequence[str] = ()) -> list[dict]:
    """Every setting of ``SCHEMES`` on curves scored once (``hurdles.simulate_hurdles``)."""
    from search.experiments.hurdles import simulate_hurdles

    final = {n: {float(x): (v["0"] if isinstance(v, dict) else v[0]) for x, v in table[n].items()}
             for n in panel_curves}
    rows = []
    for label, points in SCHEMES.items():
        r = simulate_hurdles(children, panel_curves, final, top, points, n_points, ceiling, watch)
        rows.append({"scheme": label, **r})
    return rows
