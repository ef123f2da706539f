"""The front measured: known optimizers placed on the replay proxy's front, and selection head to
head (fitness only against the front) from AdamW. ``benchmarks/front.py`` prints both.

1. ``placement``: each program of ``known_programs`` on more task seeds than the search uses (the
   config's evaluator, its lr grid), with its state count; paired against Lion's form (0.9,
   0.95) seed by seed; which program leads each state count and by how much.
2. ``niche_timeline``: from a run directory, the one-state niche over time: its leader (by the
   fitness each row logged), the minutes and evaluations until a sign-momentum program first led
   it, and the final leader (racing's means) after simplification, with its family.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from dsl import library, parse
from dsl.program import Program
from search.analysis import runs
from search.backends.base import WORST_FITNESS
from search.experiments.proxy_noise import path_program
from simplify.costs import count_states
from simplify.exact import simplify_exact
from simplify.family import sign_momentum
from simplify.recognize import recognize

LION_FORM = "Lion's form (0.9, 0.95)"


def _dsl(body: str, direction: str = "update") -> Program:
    """``body`` computing ``direction``, then decoupled weight decay 0.01 and the seed's lr 0.001."""
    lines = "".join(f"    {x}\n" for x in body.strip().splitlines())
    return parse(f"def train(w, g, m, v, lr):\n{lines}    wd = w * 0.01\n    update = {direction} + wd\n"
                 f"    lr = lr * 0.001\n    update = update * lr\n    return update, m, v\n")


def known_programs() -> dict[str, Program]:
    """The optimizers #26 asks to place, in the DSL, decoupled weight decay 0.01 unless named."""
    return {
        LION_FORM: path_program(0.95, split=True, sign=True),
        "Lion's form (0.9, 0.99)": path_program(0.99, split=True, sign=True),
        "Lion (library)": library.get("lion"),
        "AdamW seed (paper's)": library.get("adamw"),
        "seed + sign": path_program(sign=True),
        "Signum (0.9) + wd": _dsl("m = interp(g, m, 0.9)\nupdate = sign(m)"),
        "RMSprop (0.99) + wd": _dsl("g2 = square(g)\nv = interp(g2, v, 0.99)\nd = sqrt(v)\nupdate = g / d"),
        "Adagrad + wd": _dsl("g2 = square(g)\nv = v + g2\nd = sqrt(v)\nupdate = g / d"),
        "momentum (0.9) + wd": _dsl("m = interp(g, m, 0.9)", "m"),
        "SGD + wd": _dsl("", "g"),
        "signSGD + wd": _dsl("update = sign(g)"),
    }


def results_programs(results: Path) -> dict[str, Program]:
    """Programs from committed replays: each answer of the third replay (``lion_rediscovery_v3``)
    and the second replay's ``m / sqrt(w)`` program (seed 2, id 633)."""
    from search.experiments import replay_summary

    out: dict[str, Program] = {}
    for folder in [results / "lion_rediscovery_v3"]:
        summary = folder / "summary.json"
        if not summary.exists():
            continue
        for s in replay_summary.load(summary).seeds or []:
            ans = s.answer
            if ans and ans.raw:
                out[f"third replay seed {s.seed} answer (id {ans.id})"] = parse(ans.raw)
    v2 = results / "lion_rediscovery_v2" / "runs" / "seed2" / "evaluations.jsonl"
    if v2.exists():
        for r in runs.load_run(v2.parent).rows:
            if r.id == 633:
                out["second replay seed 2 id 633 (m / sqrt(w))"] = parse(r.source)
    return out


def placement(rows: dict[str, dict], programs: dict[str, Program]) -> dict:
    """From ``lion_reach.ranking`` rows (``per_seed``, ``mean``): per program its states, mean,
    sd, paired difference from Lion's form (mean ± se) and wins; the leader of each state count."""
    ref = np.asarray(rows[LION_FORM]["per_seed"], float)
    table = {}
    for name, r in rows.items():
        per = np.asarray(r["per_seed"], float)
        d = per - ref
        n = len(per)
        table[name] = {"states": count_states(programs[name]), "mean": float(per.mean()),
                       "sd": float(per.std(ddof=1)) if n > 1 else None,
                       "paired": None if name == LION_FORM else float(d.mean()),
                       "paired_se": None if name == LION_FORM or n < 2 else float(d.std(ddof=1) / math.sqrt(n)),
                       "wins": None if name == LION_FORM else int((d > 0).sum()), "seeds": n}
    leaders = {}
    for k in (0, 1, 2):
        names = sorted((n for n, t in table.items() if t["states"] == k), key=lambda n: -table[n]["mean"])
        if not names:
            continue
        lead = names[0]
        entry = {"program": lead, "mean": table[lead]["mean"]}
        if len(names) > 1:
            a, b = (np.asarray(rows[x]["per_seed"], float) for x in names[:2])
            d = a - b
            entry.update(runner_up=names[1], ahead=float(d.mean()), ahead_se=float(d.std(ddof=1) / math.sqrt(len(d))),
                         ahead_on=int((d > 0).sum()))
        leaders[str(k)] = entry
    return {"rows": table, "leaders": leaders}


def lion_form(program: Program) -> tuple[bool, str]:
    """Whether ``program`` is Lion's form (recognized ``lion``, or sign-momentum that is not
    Signum: a second moving average), and its description."""
    simple = simplify_exact(program)
    found = recognize(simple)
    sm = sign_momentum(simple)
    if found is not None and found.family == "lion":
        return True, found.describe()
    if found is not None:
        return False, found.describe()
    return sm.member, sm.describe()


def niche_timeline(run_dir: Path, states: int = 1) -> dict:
    """The ``states`` niche of a run over time (module docstring)."""
    run = runs.load_run(run_dir)
    count: dict[str, int] = {}
    member: dict[str, bool] = {}

    def n_states(r) -> int:
        if r.states is not None:
            return r.states
        if r.fingerprint not in count:
            count[r.fingerprint] = count_states(parse(r.source))
        return count[r.fingerprint]

    best = -math.inf
    first_lead = None
    first_drawn = None
    for r in run.rows:
        if r.cached or r.fitness <= WORST_FITNESS or n_states(r) != states:
            continue
        if r.fingerprint not in member:
            member[r.fingerprint] = sign_momentum(parse(r.source)).member
        if member[r.fingerprint] and first_drawn is None:
            first_drawn = {"evaluations": r.evaluations, "minutes": (r.time or 0.0) / 60, "id": r.id}
        if r.fitness > best:
            best = r.fitness
            if member[r.fingerprint] and first_lead is None:
                first_lead = {"evaluations": r.evaluations, "minutes": (r.time or 0.0) / 60, "id": r.id,
                              "fitness": r.fitness}
    final = [r for r in runs.distinct_best(run) if n_states(r) == states]
    out = {"run_dir": str(run_dir), "evaluations": sum(not r.cached for r in run.rows),
           "minutes": max((r.time or 0.0 for r in run.rows), default=0.0) / 60,
           "niche_programs": len(member), "sign_momentum_in_niche": sum(member.values()),
           "first_sign_momentum_drawn": first_drawn, "first_sign_momentum_led": first_lead, "leader": None}
    if final:
        top = final[0]
        is_lion, family = lion_form(parse(top.source))
        out["leader"] = {"id": top.id, "fitness": top.fitness, "se": top.fitness_se, "seeds": top.seeds,
                         "simplified": str(simplify_exact(parse(top.source))), "family": family,
                         "lion_form": is_lion}
    return out


# --- why niches: the share of children a lone stepping stone gets ---------------------------------

def _nsga_ranks(points: list[tuple[float, int]]) -> tuple[list[int], list[float]]:
    """NSGA-II's non-domination rank (0 best) and crowding distance of (fitness, states) points."""
    from simplify.costs import dominates

    pts = [{"fitness": f, "states": s} for f, s in points]
    objectives = ("fitness", "states")
    rank = [0] * len(pts)
    remaining = set(range(len(pts)))
    level = 0
    while remaining:
        layer = {i for i in remaining if not any(dominates(pts[j], pts[i], objectives) for j in remaining if j != i)}
        for i in layer:
            rank[i] = level
        remaining -= layer
        level += 1
    crowd = [0.0] * len(pts)
    for lv in range(level):
        idx = [i for i in range(len(pts)) if rank[i] == lv]
        for key in ("fitness", "states"):
            idx.sort(key=lambda i: pts[i][key])
            lo, hi = pts[idx[0]][key], pts[idx[-1]][key]
            crowd[idx[0]] = crowd[idx[-1]] = math.inf
            for a, b, c in zip(idx, idx[1:], idx[2:]):
                crowd[b] += (pts[c][key] - pts[a][key]) / (hi - lo) if hi > lo else 0.0
    return rank, crowd


def selection_share(fitness: list[float], states: list[int], stone: int, proposals: int = 2000,
                    seed: int = 0) -> dict[str, dict[str, float]]:
    """Under tournament 2 on fitness alone, NSGA-II's crowded binary tournament on (fitness,
    states), and niches per state count (taking turns, then a tournament of 2 inside the niche):
    the share of ``proposals`` children whose parent is the member ``stone``, and whose parent
    keeps one state. The population is held fixed."""
    rng = np.random.default_rng(seed)
    n = len(fitness)
    rank, crowd = _nsga_ranks(list(zip(fitness, states)))
    schemes = ("fitness only", "NSGA-II", "niches")
    stone_n = dict.fromkeys(schemes, 0)
    one_n = dict.fromkeys(schemes, 0)
    niches = sorted(set(states))
    members = {k: [i for i in range(n) if states[i] == k] for k in niches}
    for t in range(proposals):
        a, b = (int(x) for x in rng.choice(n, size=2, replace=False))
        group = members[niches[t % len(niches)]]
        pick = [group[int(i)] for i in rng.choice(len(group), size=min(2, len(group)), replace=False)]
        parents = {"fitness only": a if fitness[a] >= fitness[b] else b,
                   "NSGA-II": a if (rank[a], -crowd[a]) <= (rank[b], -crowd[b]) else b,
                   "niches": max(pick, key=lambda i: fitness[i])}
        for k, p in parents.items():
            stone_n[k] += p == stone
            one_n[k] += states[p] == 1
    return {k: {"stone": stone_n[k] / proposals, "one_state_parents": one_n[k] / proposals} for k in schemes}


def stepping_stone_share(run_dir: Path, quantile: float = 0.9) -> dict:
    """``selection_share`` on a replay's final population (its checkpoint) with one more member: a
    one-state program at the ``quantile`` of the one-state members' fitness (a strong stepping
    stone that is still below the Adam variants leading the population)."""
    from search.rundir import RunDir

    pop = RunDir(run_dir).read_checkpoint()["evolution"]["population"]
    counted: dict[str, int] = {}
    fitness, states = [], []
    for ind in pop:
        if ind["fingerprint"] not in counted:
            counted[ind["fingerprint"]] = count_states(parse(ind["source"]))
        fitness.append(float(ind["fitness"]))
        states.append(counted[ind["fingerprint"]])
    finite = [f for f, k in zip(fitness, states) if f > WORST_FITNESS and k == 1]
    stone_fit = float(np.quantile(finite, quantile))
    others = {"one-state members": sum(s == 1 for s in states), "population": len(pop)}
    fitness.append(stone_fit)
    states.append(1)
    return {"population": others, "stone_fitness": stone_fit,
            "share": selection_share(fitness, states, len(fitness) - 1)}
