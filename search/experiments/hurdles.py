"""Does the dynamic hurdle stop the right programs? The hurdle judged on the replay's proxy.

``hurdle_check`` runs two local searches, without and with ``search.hurdle_quantile``, and
scores the ranking panel (``search.experiments.search_quality``) at the hurdle point: a program
of the truly better half stopped there is a false stop. ``children_sample`` draws the children a
search's hurdles would judge from a replay's runs; ``hurdle_curves`` scores programs' fitness at
every validation point once, so that ``simulate_hurdles`` can apply any set of hurdles (points,
quantiles, margins, a ceiling) to them and report the speedup and the false stops it costs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dsl import parse
from dsl.program import Program
from search import config as config_mod
from search.backends.base import EvaluatorSpec
from search.driver import Driver
from search.rows import read_evaluations
from search.rundir import RunDir
from search.session import make_backend


def hurdle_check(cfg, programs: Mapping[str, Program], top: Sequence[str], quantile: float, evaluations: int,
                 out_dir: Path, log=print) -> dict:
    """The dynamic hurdle (``search.hurdle_quantile``) on the replay's proxy.

    Two local searches from the config's seed programs, one after the other in this process, of
    ``evaluations`` children each: without the hurdle, then with it. Reported: children per second
    each way (the ratio is candidates per core-hour), the share stopped, and the thresholds the
    population set. Then each panel program's fitness at the hurdle point (task seed 0): one of
    the truly better half (``top``) below the median threshold of the run is a false stop."""
    base = config_mod.from_dict({**cfg.to_dict(), "backend": "local"})
    rates, runs_out = {}, {}
    for label, q in (("plain", 0.0), ("hurdle", quantile)):
        c = config_mod.from_dict({**base.to_dict(), "search": {**base.search.__dict__, "hurdle_quantile": q,
                                                                "max_evaluations": evaluations,
                                                                "max_seconds": None},
                                  "funnel": {**base.funnel.__dict__, "every": 0, "final": False},
                                  "race": {**base.race.__dict__, "top_fraction": 0.0}})
        rundir = RunDir.create(out_dir / label, config_mod.dump(c))
        backend = make_backend(c)
        backend.prepare()
        d = Driver(c, rundir, backend)
        t0 = time.perf_counter()
        summary = d.run()
        wall = time.perf_counter() - t0
        backend.close()
        rows, _ = read_evaluations(rundir.evaluations.path)
        evaluated = [r for r in rows if not r.cached]
        stopped = [r for r in evaluated if "hurdle" in (r.reason or "")]
        rates[label] = len(evaluated) / wall
        runs_out[label] = {"evaluations": len(evaluated), "seconds": wall, "per_s": rates[label],
                           "stopped": len(stopped), "best": summary["best_fitness"]}
        log(f"  {label}: {len(evaluated)} children in {wall:.0f}s ({rates[label]:.2f}/s), {len(stopped)} stopped "
            f"at the hurdle, best proxy fitness {summary['best_fitness']}")
    # the thresholds the hurdled run's population set, child by child
    rows, _ = read_evaluations(out_dir / "hurdle" / "evaluations.jsonl")
    values = [r.hurdle_fitness for r in rows if not r.cached and r.hurdle_fitness is not None]
    median_threshold = float(np.quantile(values, quantile)) if values else float("nan")
    ev = EvaluatorSpec.from_section(base.evaluator).build("proxy")
    at = {}
    for name, program in programs.items():
        (res,) = ev.evaluate([program], threshold=-1e9)
        at[name] = res.hurdle_fitness
    false = [n for n in top if at.get(n) is not None and at[n] < median_threshold]
    log(f"  threshold ({quantile:g} quantile of the run's children at the hurdle point): {median_threshold:+.4f}; "
        f"false stops in the panel's better half: {len(false)} of {len(top)}")
    return {"quantile": quantile, "runs": runs_out, "candidates_per_core_hour_ratio": rates["hurdle"] / rates["plain"],
            "threshold": median_threshold, "panel_at_hurdle": at, "false_stops_top_half": false,
            "false_stop_rate_top_half": len(false) / max(1, len(top))}


def children_sample(results: Path, n: int, seed: int = 0) -> dict[str, Program]:
    """``n`` children drawn uniformly (without replacement, RNG ``seed``) from the evaluated,
    valid children of the committed replay's runs: the programs a search's hurdles would judge."""
    pool: dict[str, str] = {}
    for run_dir in sorted((results / "runs").glob("seed*")):
        rows, _ = read_evaluations(run_dir / "evaluations.jsonl")
        for r in rows:
            if r.parent is not None and not r.cached and not (r.reason or "").startswith("invalid"):
                pool.setdefault(r.fingerprint, r.source)
    keys = sorted(pool)
    pick = np.random.default_rng(seed).choice(len(keys), size=min(n, len(keys)), replace=False)
    return {f"child {keys[int(i)][:8]}": parse(pool[keys[int(i)]]) for i in sorted(pick)}


Curves = dict[str, dict[float, list[float]]]  # program -> lr grid value -> fitness at chunk 0..cut


def hurdle_curves(cfg, programs: Mapping[str, Program], upto: float, seed: int = 0, log=print) -> Curves:
    """Every program's fitness against the baseline's curve at each validation point up to ``upto``
    of training (task ``seed``, every grid value of the config, the first task): what a hurdle at
    any of those points would see. One staged run per program, stopped at ``upto``."""
    from dsl.check import prune
    from proxy_tasks import interpreter
    from proxy_tasks.evaluate import judge
    from proxy_tasks.fitness import WORST_FITNESS, fitness_of

    ev = EvaluatorSpec.from_section(cfg.evaluator).build("proxy")
    task = next(iter(ev.tasks.values()))
    grid = [float(x) for x in cfg.evaluator.lr_grid]
    cut = min(task.points, max(1, int(round(upto * task.points))))
    base = ev.baseline(task.name, seed)
    blowup = float(task.settings["blowup"])
    out: Curves = {}
    for i, (name, program) in enumerate(programs.items()):
        enc = interpreter.encode(prune(program))
        runner = ev._runner(task, enc.bucket)
        arrays = enc.arrays()
        state, l0 = runner.init_runs(arrays, np.full(len(grid), seed, np.int32), np.asarray(grid, np.float32))
        _, losses = runner.advance_runs(state, arrays, 0, cut)
        curves = np.concatenate([np.asarray(l0)[:, None], np.asarray(losses)], axis=1)
        row = {}
        for k, x in enumerate(grid):
            row[x] = [WORST_FITNESS if judge(curves[k][: j + 1], blowup) is not None
                      else fitness_of(float(curves[k][j]), float(base[j])) for j in range(cut + 1)]
        out[name] = row
        if (i + 1) % 20 == 0:
            log(f"  curves: {i + 1} of {len(programs)}")
    return out


def simulate_hurdles(children: Curves, panel_curves: Curves, panel_final: Mapping[str, Mapping[float, float]],
                     top: Sequence[str], points: Sequence[tuple], n_points: int,
                     ceiling: float | None = None, watch: Sequence[str] = (), margin: float | None = None) -> dict:
    """Hurdles at validation points ``points`` [(point, quantile[, margin]), ...] (quantile None:
    no threshold there) applied to curves scored
    once (``hurdle_curves``), as the search's evaluator applies them: at each point a grid value
    whose fitness there is below the threshold stops; a program whose every value stopped stops.
    The threshold at a point is its quantile over the ``children`` that reached it (a sample of a
    search's children stands in for the population), at most ``ceiling``
    (``search.hurdle_ceiling``). With ``margin`` (``evaluator.hurdle_margin``), a grid value more
    than that behind the program's best value at a point stops there too. Cost is in training-run fractions (the full
    grid to the end: ``len(grid)``), so ``speedup`` is candidates per core-hour against no hurdle.
    A false stop: a program of the panel's truly better half (``top``) that stops. Reported apart
    (``lost_best_value``): one of them whose best grid value at the end (``panel_final``: seed-0
    fitness per grid value) stops while another goes on, with the fitness it loses.
    ``watched_stopped``: the programs of ``watch`` (Lion's form, seed+sign, ...) that stop."""
    points = sorted(points)

    def run(row: Mapping[float, list[float]], thresholds: list[float] | None):
        alive, cost, last, stopped_at = list(row), 0.0, 0, None
        hurdle_values = []
        for k, (p, _q, *own) in enumerate(points):
            cost += (p - last) * len(alive)
            last = p
            at = {x: row[x][p] for x in alive}
            hurdle_values.append(max(at.values()))
            if thresholds is None:
                continue
            alive = [x for x in alive if at[x] >= thresholds[k]]
            m = own[0] if own else margin  # a point's own margin (0: only the best grid value goes on)
            if alive and m is not None:
                alive = [x for x in alive if at[x] >= max(at[y] for y in alive) - m]
            if not alive:
                stopped_at = p
                return cost, alive, stopped_at, hurdle_values
        cost += (n_points - last) * len(alive)
        return cost, alive, stopped_at, hurdle_values

    # thresholds point by point, over the children that reach each point
    thresholds: list[float] = []
    for k, (p, q, *_own) in enumerate(points):
        values = []
        for row in children.values():
            alive = list(row)
            ok = True
            for j in range(k):
                alive = [x for x in alive if row[x][points[j][0]] >= thresholds[j]]
                if not alive:
                    ok = False
                    break
            if ok:
                values.append(max(row[x][p] for x in alive))
        if q is None:  # no threshold at this point (a race only)
            thresholds.append(float("-inf"))
            continue
        t = float(np.quantile(values, q)) if values else float("-inf")
        thresholds.append(t if ceiling is None else min(t, ceiling))
    full = sum(n_points * len(row) for row in children.values())
    spent, stops = 0.0, 0
    for row in children.values():
        cost, _alive, at, _ = run(row, thresholds)
        spent += cost
        stops += at is not None
    false, lost = [], {}
    for name in top:
        _c, alive, at, _ = run(panel_curves[name], thresholds)
        final = panel_final[name]
        best = max(final, key=lambda x: final[x])
        if at is not None:
            false.append(name)
        elif best not in alive:
            lost[name] = final[best] - max(final[x] for x in alive)
    watched = [n for n in watch if run(panel_curves[n], thresholds)[2] is not None]
    return {"points": [list(x) for x in points], "ceiling": ceiling, "margin": margin, "thresholds": thresholds,
            "watched_stopped": watched, "speedup": full / spent if spent else 0.0,
            "children": len(children), "children_stopped": stops, "false_stops_top_half": false,
            "false_stop_rate_top_half": len(false) / max(1, len(top)), "lost_best_value": lost}
