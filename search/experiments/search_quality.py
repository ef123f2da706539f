"""Does racing rank by truth? A panel of programs scored against a many-seed truth.

The panel: the path from AdamW to Lion's form, Lion itself, each committed replay seed's answer
and the leaders of its run (the best distinct programs by search-time fitness). Every program is
scored once per (task seed, learning-rate grid value) on the replay's proxy; everything below is
computed from that table, so each ranking scheme is charged what it would have run:

- **truth**: the mean over ``n_seeds`` task seeds at the grid value best on those seeds;
- **one seed** (what the search does without racing): seed 0, at the grid value best there;
  cost: one run per grid value;
- **k seeds for all**: seeds 0..k-1, the grid value best on their mean; cost: k runs per value;
- **racing** (``search.racing``, the search's own policy): seed 0 over the grid as above, then
  every program, in panel order, that would sit in the racing fraction of the panel races the
  incumbent (the best other program so far) on more seeds at its seed-0 grid value, one seed at
  a time, until the paired test decides or ``max_seeds``; cost: the grid runs plus one run per
  extra seed, the incumbent's included.

Reported per scheme: Kendall's tau against the truth over the whole panel and over the truth's top
five, how many of the truth's top five it puts in its own top five, the truth of the program it
ranks first, and its cost in runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dsl import analyze, parse
from dsl.program import Program
from search import config as config_mod
from search.analysis import runs
from search.backends.base import EvaluatorSpec
from search.driver import Driver
from search.experiments.lion_reach import ranked_programs
from search.racing import OPEN, Racing
from search.rundir import RunDir, read_evaluations
from search.session import make_backend

Table = dict[str, dict[float, dict[int, float]]]  # program -> lr grid value -> task seed -> fitness


def panel(results: Path, leaders: int = 5) -> dict[str, Program]:
    """The path, Lion, each replay seed's answer and its run's ``leaders`` best distinct programs
    (one entry per fingerprint, first name kept)."""
    out: dict[str, Program] = {}
    seen: set[str] = set()

    def add(name: str, program: Program) -> None:
        fp = analyze(program).fingerprint
        if fp not in seen:
            seen.add(fp)
            out[name] = program

    for name, program in ranked_programs(results).items():
        add(name, program)
    for run_dir in sorted((results / "runs").glob("seed*")):
        run = runs.load_run(run_dir)
        for r in runs.distinct_best(run)[:leaders]:
            add(f"{run_dir.name} leader id {r.id}", parse(r.source))
    return out


def score_table(cfg, programs: Mapping[str, Program], n_seeds: int, log=print, known: Table | None = None) -> Table:
    """Fitness of every program on task seeds 0..n_seeds-1 at every grid value of the config
    (``known``: rows scored before, by name, taken as they are)."""
    spec = EvaluatorSpec.from_section(cfg.evaluator)
    ev = spec.build("proxy")
    grid = [float(x) for x in cfg.evaluator.lr_grid]
    seeds = tuple(range(n_seeds))
    table: Table = {}
    screens: dict[tuple, str] = {}
    for name, row in (known or {}).items():
        if name in programs:
            screens.setdefault(tuple(round(row[x][0], 9) for x in sorted(row)), name)
    for i, (name, program) in enumerate(programs.items()):
        if known and name in known:
            table[name] = known[name]
            continue
        # screen on the first seed: a program scoring exactly as an earlier one at every grid value
        # behaves as it (another fingerprint for the same function); it is not scored further
        screen = tuple(round(float(ev.evaluate([program], seeds=seeds[:1], lr_scales={t: x for t in ev.tasks})[0]
                                   .seed_fitness[seeds[0]]), 9) for x in sorted(grid))
        if screen in screens:
            log(f"[{i + 1}/{len(programs)}] {name}: scores as {screens[screen]} on seed {seeds[0]}; not scored further")
            continue
        screens[screen] = name
        table[name] = {}
        for x in grid:
            (res,) = ev.evaluate([program], seeds=seeds, lr_scales={t: x for t in ev.tasks})
            table[name][x] = {int(s): float(f) for s, f in res.seed_fitness.items()}
        log(f"[{i + 1}/{len(programs)}] {name}: " + ", ".join(
            f"lr x{x:.3g} {np.mean(list(table[name][x].values())):+.4f}" for x in grid))
    return table


def distinct(table: Table) -> tuple[Table, dict[str, str]]:
    """The table without programs whose every score equals an earlier program's (the same
    behaviour under another fingerprint, e.g. a dead statement the checker cannot see through);
    and which earlier program each dropped one repeats."""
    out: Table = {}
    same: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for name, row in table.items():
        key = tuple((x, s, round(v, 9)) for x in sorted(row) for s, v in sorted(row[x].items()))
        if key in seen:
            same[name] = seen[key]
        else:
            seen[key] = name
            out[name] = row
    return out, same


def _best_lr(row: Mapping[float, Mapping[int, float]], seeds: Sequence[int]) -> float:
    """The grid value with the best mean over ``seeds`` (ties: the one nearest 1, as the evaluator)."""
    return max(row, key=lambda x: (float(np.mean([row[x][s] for s in seeds])), -abs(math.log(x))))


def truth(table: Table, n_seeds: int) -> dict[str, float]:
    seeds = list(range(n_seeds))
    return {n: float(np.mean([row[_best_lr(row, seeds)][s] for s in seeds])) for n, row in table.items()}


def k_seeds(table: Table, k: int) -> tuple[dict[str, float], int]:
    """Every program on seeds 0..k-1 over the whole grid; (scores, runs)."""
    seeds = list(range(k))
    scores = {n: float(np.mean([row[_best_lr(row, seeds)][s] for s in seeds])) for n, row in table.items()}
    return scores, sum(len(row) * k for row in table.values())


def raced(table: Table, racing: Racing) -> tuple[dict[str, float], int, dict[str, int]]:
    """The search's racing policy over the panel; (scores, runs, seeds scored per program)."""
    lr = {n: _best_lr(row, [0]) for n, row in table.items()}
    known = {n: {0: table[n][lr[n]][0]} for n in table}
    runs_ = sum(len(row) for row in table.values())  # seed 0 over the grid, for everyone
    mean = lambda n: float(np.mean(list(known[n].values())))
    for n in table:
        while True:
            others = [mean(o) for o in table if o != n]
            if not racing.worth_racing(mean(n), others):
                break
            inc = max((o for o in table if o != n), key=mean)
            if racing.verdict(known[n], known[inc]) != OPEN:
                break
            seed = racing.next_seed(known[n])
            if seed is None:
                break
            known[n][seed] = table[n][lr[n]][seed]
            runs_ += 1
            if seed not in known[inc] and len(known[inc]) < racing.max_seeds:
                known[inc][seed] = table[inc][lr[inc]][seed]
                runs_ += 1
    return {n: mean(n) for n in table}, runs_, {n: len(k) for n, k in known.items()}


def kendall_tau(a: Mapping[str, float], b: Mapping[str, float], names: Sequence[str] | None = None) -> float:
    """Kendall's tau-a between two scorings of the same programs (ties count as neither)."""
    names = list(names if names is not None else a)
    s = n = 0
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            x, y = a[names[i]] - a[names[j]], b[names[i]] - b[names[j]]
            s += int(np.sign(x) * np.sign(y))
            n += 1
    return s / n if n else float("nan")


def assess(table: Table, n_truth: int, racing: Racing, k: int = 4, top: int = 5) -> dict:
    """Every scheme against the truth (see the module's docstring)."""
    t = truth(table, n_truth)
    best_true = sorted(t, key=lambda n: -t[n])
    top_true = best_true[:top]
    one, one_cost = k_seeds(table, 1)
    many, many_cost = k_seeds(table, k)
    race, race_cost, seeds = raced(table, racing)
    out = {"programs": len(table), "truth_seeds": n_truth,
           "truth": {n: t[n] for n in best_true}, "race_seeds": seeds}
    for label, scores, cost in (("one seed", one, one_cost), (f"{k} seeds", many, many_cost),
                                ("racing", race, race_cost)):
        ranked = sorted(scores, key=lambda n: -scores[n])
        out[label] = {"tau": kendall_tau(t, scores), "tau_top": kendall_tau(t, scores, top_true),
                      "top_found": len(set(ranked[:top]) & set(top_true)), "first": ranked[0],
                      "first_truth": t[ranked[0]], "regret": t[best_true[0]] - t[ranked[0]], "runs": cost}
    return out


def lr_race_check(cfg, programs: Mapping[str, Program], fraction: float, top: Sequence[str], log=print) -> dict:
    """The evaluator's ``lr_race`` against the full grid on the config's seeds, side by side in this
    process (alternating, after one warm-up each): seconds per candidate, and for each program the
    grid value and fitness each way. ``top``: the panel's truly better half, where a different
    choice that scores worse is a false stop."""
    spec = EvaluatorSpec.from_section(cfg.evaluator)
    full = spec.build("proxy")
    raced = EvaluatorSpec({**spec.kwargs, "lr_race": fraction}, spec.factory).build("proxy")
    first = next(iter(programs.values()))
    full.evaluate([first])
    raced.evaluate([first])  # compile both paths before timing
    rows, t_full, t_raced = {}, 0.0, 0.0
    for name, program in programs.items():
        t0 = time.perf_counter()
        (a,) = full.evaluate([program])
        t1 = time.perf_counter()
        (b,) = raced.evaluate([program])
        t2 = time.perf_counter()
        t_full, t_raced = t_full + t1 - t0, t_raced + t2 - t1
        rows[name] = {"full": a.fitness, "raced": b.fitness, "lr_full": [t.lr_scale for t in a.tasks],
                      "lr_raced": [t.lr_scale for t in b.tasks]}
        log(f"  {name}: full {a.fitness:+.4f} (lr {rows[name]['lr_full']}), lr race {b.fitness:+.4f} "
            f"(lr {rows[name]['lr_raced']})")
    differ = [n for n, r in rows.items() if r["lr_full"] != r["lr_raced"]]
    false_stops = [n for n in differ if n in top and rows[n]["raced"] < rows[n]["full"]]
    return {"fraction": fraction, "programs": len(rows), "seconds_full": t_full, "seconds_raced": t_raced,
            "candidates_per_core_hour_ratio": t_full / t_raced if t_raced else float("nan"),
            "lr_choice_differs": differ, "false_stops_top_half": false_stops,
            "false_stop_rate_top_half": len(false_stops) / max(1, len([n for n in rows if n in top])), "rows": rows}


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


# --- searches side by side -----------------------------------------------------------------------

SEARCH_ONLY = ["backend=local", "funnel.every=0", "funnel.final=false", "search.max_evaluations=1000000"]


def run_searches(config: str, settings: Mapping[str, Sequence[str]], seconds: float, out_dir: Path,
                 parallel: int = 2, log=print) -> dict[str, Path]:
    """One search per setting (``--set`` overrides on ``config``, locally, funnel off) for
    ``seconds`` each, ``parallel`` at a time: each process single-threaded and pinned to a core of
    its own (``taskset``), so searches that run together get the same compute and their rates
    compare side by side. A setting whose folder holds a finished run is kept; an unfinished one
    is resumed (the experiment survives a killed session)."""
    import os
    import shutil
    import subprocess
    import sys

    from search.backends.ray_backend import SINGLE_THREAD_XLA_FLAGS

    env = {**os.environ, "XLA_FLAGS": SINGLE_THREAD_XLA_FLAGS}
    taskset = shutil.which("taskset")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    out = {label: out_dir / label for label in settings}
    todo = [label for label in settings if not (out[label] / "summary.json").exists()]
    for lo in range(0, len(todo), parallel):
        procs = []
        for k, label in enumerate(todo[lo: lo + parallel]):
            d = out[label]
            if (d / "config.yaml").exists():
                cmd = [sys.executable, "-m", "search.cli", "resume", str(d), "--no-progress"]
            else:
                sets = [*SEARCH_ONLY, f"search.max_seconds={seconds:g}", *settings[label]]
                cmd = [sys.executable, "-m", "search.cli", "run", config, "--out", str(d), "--no-progress",
                       *[x for s in sets for x in ("--set", s)]]
            if taskset and cores:
                cmd = [taskset, "-c", str(cores[k % len(cores)]), *cmd]
            d.parent.mkdir(parents=True, exist_ok=True)
            log(f"  {label}: {' '.join(settings[label]) or '(the config as it is)'}")
            procs.append((label, subprocess.Popen(cmd, env=env, stdout=open(out_dir / f"{label}.log", "a"),
                                                  stderr=subprocess.STDOUT)))
        for label, p in procs:
            if p.wait() != 0:
                raise RuntimeError(f"the search {label!r} failed: see {out_dir / (label + '.log')}")
    return out


def search_figures(cfg, run_dir: Path, truth_seeds: Sequence[int] = (4, 5, 6, 7), top: int = 3) -> dict:
    """What one search did: children scored per second of search (after its first child), cache
    hits, hurdle stops, racing's extra seeds, the sign-momentum goal timeline, distinct programs in
    the final population, and the truth (mean over ``truth_seeds`` task seeds at the lr best on
    them) of its ``top`` distinct programs by search fitness. The truth's seeds are held out: the
    search and its racing scored seeds 0-3, and a program chosen on seeds is lucky on them."""
    from search.experiments.replay import goal_timeline

    run = runs.load_run(run_dir)
    stats = runs.statistics(run)
    children = [r for r in run.rows if r.parent is not None]
    evaluated = [r for r in children if not r.cached]
    t_first = min(r.time for r in evaluated if r.time is not None)
    t_last = max(r.time for r in run.rows if r.time is not None)
    span = max(1e-9, t_last - t_first)
    state = RunDir.open(run_dir, lock=False).read_checkpoint()  # checked like a resume; only read
    population = state["evolution"]["population"]
    best = runs.distinct_best(run)[:top]
    spec = EvaluatorSpec.from_section(cfg.evaluator)
    ev = EvaluatorSpec({**spec.kwargs, "seeds": tuple(truth_seeds)}, spec.factory).build("proxy")
    truths = []
    for r in best:
        res = ev.evaluate_one(parse(r.source))
        truths.append({"id": r.id, "search_fitness": r.fitness, "seeds": len(r.seed_fitness) or 1,
                       "truth": res.fitness, "source": r.source})
    return {"children": len(children), "evaluated": len(evaluated), "cache_hits": stats.cache_hits,
            "children_per_s": (len(evaluated) - 1) / span, "search_seconds": span,
            "stopped": sum("hurdle" in (r.reason or "") for r in evaluated),
            "failed": stats.failed, "race_evaluations": stats.race_evaluations,
            "distinct_in_population": len({m["fingerprint"] for m in population}),
            "population": len(population), "timeline": goal_timeline(run), "top": truths,
            "truth_seeds": list(truth_seeds),
            "best_truth": max((t["truth"] for t in truths), default=float("nan")),
            "first_truth": truths[0]["truth"] if truths else float("nan")}
