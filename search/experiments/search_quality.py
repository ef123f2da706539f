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
from search.backends import make_backend
from search.backends.base import EvaluatorSpec
from search.driver import Driver
from search.experiments.lion_reach import ranked_programs
from search.racing import OPEN, Racing
from search.rundir import RunDir, read_evaluations

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
