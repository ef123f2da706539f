"""What a replay on the front (#28) is judged on, per seed: the front itself, the one-state niche
(its leader after simplification, and when a sign-momentum program first led it), and the fittest
program and the one-state leader re-scored against Lion's form on task seeds the search never
used, paired seed by seed. ``replay.finish`` calls ``judge`` (``seed_front`` and ``held_out``,
as JSON, into the typed summary); the report renders them (``report.front_section``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from dsl import parse
from dsl.printer import one_line
from dsl.program import Program
from search.analysis import front as front_mod
from search.analysis import plots, runs
from search.experiments.compare import bake_lr, best_lr_scale, verdict
from search.experiments.front_study import LION_FORM, known_programs, niche_timeline
from search.experiments.replay_summary import HeldOut, ReplaySummary
from search.experiments.seed_result import FrontStudy
from simplify.family import sign_momentum

HELD_OUT = tuple(range(4, 12))  # task seeds neither the search (0) nor racing (1-3) scored
OBJECTIVES = ("fitness", "states")


def seed_front(cfg, run_dir: Path, out: Path, seed: int) -> dict:
    """One seed's front over fitness and states (``front_seed<k>.png`` in ``out``), and its
    one-state niche over time (``front_study.niche_timeline``) with the leader's program, its
    learning rate baked in as the answer's is."""
    run = runs.load_run(run_dir)
    points = front_mod.points(run)
    members = front_mod.front(run, OBJECTIVES)
    png = plots.front_plot(out / f"front_seed{seed}.png",
                           [{k: p[k] for k in ("fitness", "states", "length", "seed")} for p in points],
                           [m.to_json() for m in members], title=f"replay seed {seed}: fitness against states")
    niche = niche_timeline(run_dir, 1)
    leader = niche.get("leader")
    if leader is not None:
        row = next(r for r in run.rows if r.id == leader["id"])
        raw = parse(row.source)
        leader["raw"] = row.source
        leader["baked"] = str(bake_lr(raw, best_lr_scale(raw, cfg, row.lr_scales)))
        leader["sign_momentum"] = sign_momentum(parse(leader["simplified"])).member
        leader["one_line"] = one_line(parse(leader["simplified"]))
    return {"front": [{k: v for k, v in m.to_json().items() if k != "raw"} for m in members],
            "front_png": png.name, "one_state": niche}


def held_out(cfg, programs: Mapping[str, Program], seeds: Sequence[int] = HELD_OUT,
             log: Callable[[str], None] = print) -> dict:
    """Each program and Lion's form scored on ``seeds`` by the config's evaluator (its lr grid),
    and each program's fitness minus Lion's form's, seed by seed: mean ± sd, wins, and which leads
    ("leads"/"trails" only beyond one sd of the paired differences, else "ties")."""
    from search.experiments.lion_reach import ranking  # looked up when called: tests replace it

    scored = {LION_FORM: known_programs()[LION_FORM], **programs}
    log(f"held-out task seeds {list(seeds)}: scoring {len(scored)} programs against {LION_FORM}")
    rows = ranking(cfg, scored, seeds=seeds)
    ref = np.asarray(rows[LION_FORM]["per_seed"], float)
    out = {}
    for name, r in rows.items():
        per = np.asarray(r["per_seed"], float)
        entry = {"mean": float(per.mean()), "sd": _sd(per), "per_seed": per.tolist(), "lr_scale": r["lr_scale"]}
        if name != LION_FORM:
            d = per - ref
            sd = _sd(d)
            word = {"beats": "leads", "loses": "trails", "ties": "ties"}[
                verdict({"mean_log_ratio": float(d.mean()), "sd": sd})]
            entry.update(vs_lion_form=float(d.mean()), vs_lion_form_sd=sd, wins=int((d > 0).sum()), verdict=word)
        out[name] = entry
    return {"seeds": list(seeds), "reference": LION_FORM, "rows": out}


def _sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 and np.all(np.isfinite(x)) else float("nan")


def judge(summary: ReplaySummary, cfg, out: Path, log: Callable[[str], None] = print,
          seeds: Sequence[int] = HELD_OUT) -> dict[str, Program]:
    """Fill ``summary`` with each seed's front and one-state niche (``SeedResult.front_study``)
    and the held-out comparison with Lion's form (``summary.held_out``); return the one-state
    leaders that are not already the seed's answer, for the meta-validation comparison."""
    from dsl.check import analyze

    extra: dict[str, Program] = {}
    rescore: dict[str, Program] = {}
    for d in summary.seeds:
        run_dir = Path(d.run_dir or "")
        if not d.run_dir or not (run_dir / "evaluations.jsonl").exists():
            log(f"seed {d.seed}: no run directory at {run_dir}; no front")
            continue
        d.front_study = FrontStudy.from_json(seed_front(cfg, run_dir, out, d.seed), "front_study")
        leader = d.one_state_leader
        answer = d.answer
        if answer and answer.raw:
            rescore[f"fittest (seed {d.seed})"] = parse(answer.raw)
        if leader is None:
            continue
        baked = parse(leader.baked)
        same = answer and analyze(baked).fingerprint == analyze(parse(answer.simplified)).fingerprint
        leader.same_as_answer = bool(same)
        if not same:
            extra[f"one-state leader (seed {d.seed})"] = baked
            rescore[f"one-state leader (seed {d.seed})"] = parse(leader.raw)
    if rescore:
        summary.held_out = HeldOut.from_json(held_out(cfg, rescore, seeds, log=log), "held_out")
    return extra
