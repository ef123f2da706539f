"""The Lion replay: search from AdamW, funnel, simplify, recognize, compare, report.

``replay(options)`` runs the paper's pipeline end to end and writes ``report.md``,
``summary.json``, ``best_raw.train``, ``best_simplified.train``, ``search_progress.png`` and
``loss_curves.png`` into the output folder (the searches' run directories go under ``runs/``):

1. the paper's own last step: ``discovered_pruned.train`` through the simplifier (exact passes,
   then ablation on the 1000-step MLP) to Lion, with the derivation;
2. one search per seed with ``configs/lion_rediscovery.yaml`` (funnel included);
3. per seed: when a sign-momentum program was first evaluated, and first beat the seed program;
   the answer (the funnel's best) with its best learning-rate grid value baked in, simplified
   with ablation on the proxy tasks, recognized, and tested for sign-momentum;
4. a final comparison on meta-validation tasks the search never scored (the ``x10`` tasks with
   a new problem instance, ``data_seed``, and a task family outside the search), over several
   seeds: each seed's answer against AdamW (optax, bias-corrected) and Lion (optax), each tuned
   on the same learning-rate x weight-decay grid (``search.experiments.compare``).

An experiment: it uses the core (config, engine, run directories, backends) and the analysis
layer, never the CLI. How a running search is shown is the caller's choice (``progress``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dsl import library
from dsl.parse import parse
from dsl.printer import one_line, to_source
from search import config as config_mod
from search import session
from search.analysis import plots, runs
from search.analysis.digits import signed
from search.backends.base import WORST_FITNESS
from search.driver import Driver
from search.experiments import front_replay
from search.experiments.compare import (
    QUICK_META,
    MetaSettings,
    Tuned,
    bake_lr,
    beats,
    best_lr_scale,
    compare,
    paired,
    verdict,
)
from search.experiments.report import render_report, seed_digest
from search.rundir import atomic_write
from simplify import simplify
from simplify.derivation import render
from simplify.family import sign_momentum
from simplify.recognize import recognize

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "lion_rediscovery.yaml"
QUICK_CONFIG = ROOT / "configs" / "lion_rediscovery_quick.yaml"
CONFIG_V2 = ROOT / "configs" / "lion_rediscovery_v2.yaml"  # the second replay's (benchmarks compare with it)


@dataclass(frozen=True)
class Options:
    out: Path
    seeds: int = 3
    quick: bool = False
    config: Path | None = None
    overrides: tuple[str, ...] = ()
    paper_tasks: dict[str, Any] = field(default_factory=lambda: {"task": "mlp", "steps": 1000, "seeds": (0, 1, 2)})
    ablation_tolerance: float = 0.0
    meta: MetaSettings | None = None
    command: str = ""
    previous: Path | None = None  # an earlier replay's folder: the report compares with it, seed by seed

    @property
    def config_path(self) -> Path:
        return self.config or (QUICK_CONFIG if self.quick else CONFIG)

    @property
    def meta_settings(self) -> MetaSettings:
        return self.meta or (QUICK_META if self.quick else MetaSettings())


Log = Callable[[str], None]
# ``progress(title)``: a context manager whose value takes the engine's progress reports (its
# ``on_progress``) while one search runs; the CLI passes its live display, None shows nothing.
ProgressFactory = Callable[[str], AbstractContextManager[Callable[[Any], None]]]


# --- 1. the paper's last step -------------------------------------------------------------------

def paper_step(opts: Options, log: Log) -> dict:
    """``discovered_pruned.train`` (the built-in ``discovered``) simplified to Lion, with the derivation."""

    p = opts.paper_tasks
    # every task seed, --quick too: on one seed, ablation also drops the weight decay (0.4602), which
    # one MLP seed does not need, and the quick replay then named another answer than README's
    seeds = tuple(p["seeds"])
    t0 = time.perf_counter()
    result = simplify(library.get("discovered"), tasks=[p["task"]], tolerance=opts.ablation_tolerance,
                      seeds=seeds, steps=p["steps"])
    text = render(result)
    log(text)
    rec = result.recognition
    return {"source": "dsl/library/discovered.train (the Lion paper's discovered_pruned program)",
            "ablation": {"task": p["task"], "steps": p["steps"], "seeds": list(seeds),
                         "tolerance": opts.ablation_tolerance},
            "derivation": text, "final": str(result.program), "recognized": rec.describe() if rec else None,
            "family": rec.name if rec else None, "sign_momentum": sign_momentum(result.program).describe(),
            "seconds": time.perf_counter() - t0}


# --- 2. searches --------------------------------------------------------------------------------

def run_search(cfg, out: Path, backend, progress: ProgressFactory | None = None, log: Log | None = None,
               stop: Callable[[], bool] = lambda: False) -> dict:
    """One search into ``out`` on ``backend``; returns its summary. A fresh folder starts a run;
    one that holds an unfinished run (killed, or stopped with Ctrl-C) resumes it from its
    checkpoint and log (``Driver.resume``: nothing logged is lost or evaluated twice); a finished
    run is not searched again.

    The backend is shared by the seeds' searches, so its workers' compiled tasks stay warm.
    ``progress`` (see ``ProgressFactory``) shows the search while it runs, with the sign-momentum
    children counted so far. ``stop()`` true checkpoints and returns (``interrupted`` in the summary).
    """
    log = log or (lambda _text: None)
    if (out / "summary.json").exists():
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        if summary.get("finished"):
            log(f"seed {cfg.seed}: the search in {out} finished before; kept")
            return summary
    # the run directory's lock is held until the session closes: a second replay of the same
    # folder stops here with RunDirLocked instead of writing the seed's logs twice
    with session.open_run(out, cfg) as opened:
        cfg = opened.cfg
        search = Driver(cfg, opened.rundir, backend)
        if opened.resumed:
            search.resume()
            log(f"seed {cfg.seed}: resuming the search in {out} at {search.counters['evaluations']} evaluations")
        if progress is None:
            return search.run(stop=stop)
        with progress(f"replay search seed {cfg.seed}") as on_progress:
            return search.run(stop=stop, on_progress=SignWatch(out / "evaluations.jsonl", on_progress))


class SignWatch:
    """Wraps a progress callback: reads the rows the search appended since the last call and adds
    the sign-momentum children so far (tested by behaviour, one verdict per fingerprint) to the
    display's notes."""

    def __init__(self, log_path: Path, inner: Callable[[Any], None]):
        self.path, self.inner = log_path, inner
        self.offset = 0
        self.verdict: dict[str, bool] = {}
        self.children = self.members = 0
        self.first: int | None = None

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # whole lines only: the writer may be mid-line
        self.offset += end
        for line in data[:end].splitlines():
            try:
                r = json.loads(line)
                fp, parent = r["fingerprint"], r["parent"]
            except (ValueError, KeyError, TypeError):
                continue
            if fp not in self.verdict:
                try:
                    self.verdict[fp] = r["fitness"] > WORST_FITNESS and sign_momentum(parse(r["source"])).member
                except Exception:  # noqa: BLE001 - a row the test cannot read is not counted
                    self.verdict[fp] = False
            if parent is not None:
                self.children += 1
                self.members += self.verdict[fp]
                if self.verdict[fp] and self.first is None:
                    self.first = r.get("evaluations")

    def __call__(self, stats) -> None:
        self._read()
        per = 1000.0 * self.members / self.children if self.children else 0.0
        first = f"; first at evaluation {self.first}" if self.first is not None else ""
        stats.notes["sign-momentum children"] = f"{self.members} of {self.children} ({per:.1f} per 1,000){first}"
        self.inner(stats)


# --- 3. per-seed analysis -----------------------------------------------------------------------

BUDGETS_S = (600, 1200, 1800, 2700)  # search budgets (seconds) at which the leader's family is read


def goal_timeline(run: runs.Run) -> dict:
    """When a sign-momentum program was first evaluated, first beat the seed program, and took the
    lead for good (``sign_momentum_lead``: the search's best so far is sign-momentum from then to
    the end, by the fitness each row logged; None if the last leader is not), and whether the
    leader was sign-momentum after each budget of ``BUDGETS_S`` the run reached (success against
    the budget, read from one run); how many
    distinct scored programs were sign-momentum, and how many children (cache hits included) per
    1,000 were: every way to the sign counts (``m / sqrt(m * m)`` as well as ``sign(...)``),
    because membership is tested by behaviour (``simplify.family``)."""
    seed_fit = next((r.fitness for r in run.rows if r.parent is None), None)
    verdict: dict[str, bool] = {}
    first = first_beating = lead = None
    members = 0
    best = -math.inf
    leader_sign = False
    end = max((r.time for r in run.rows if r.time is not None), default=0.0)
    leading_at: dict[str, bool] = {}
    for r in run.rows:
        for b in BUDGETS_S:  # the leader's family when the search had run b seconds
            if r.time is not None and r.time > b and str(b) not in leading_at:
                leading_at[str(b)] = leader_sign
        if r.cached or r.fitness <= WORST_FITNESS:
            continue
        if r.fingerprint not in verdict:
            verdict[r.fingerprint] = sign_momentum(parse(r.source)).member
            members += verdict[r.fingerprint]
        if r.fitness > best:  # a new leader (search-time fitness): sign-momentum or not
            best = r.fitness
            leader_sign = verdict[r.fingerprint]
            if not verdict[r.fingerprint]:
                lead = None
            elif lead is None:
                lead = {"evaluations": r.evaluations, "id": r.id, "fitness": r.fitness}
        if not verdict[r.fingerprint]:
            continue
        if first is None:
            first = {"evaluations": r.evaluations, "id": r.id, "fitness": r.fitness}
        if first_beating is None and seed_fit is not None and r.fitness > seed_fit:
            first_beating = {"evaluations": r.evaluations, "id": r.id, "fitness": r.fitness}
    for b in BUDGETS_S:
        if str(b) not in leading_at and end >= b * 0.98:  # the run ended at its budget
            leading_at[str(b)] = leader_sign
    children = [r for r in run.rows if r.parent is not None]
    in_family = sum(verdict.get(r.fingerprint, False) for r in children)
    return {"seed_program_fitness": seed_fit, "first_sign_momentum": first,
            "first_sign_momentum_beating_seed": first_beating, "sign_momentum_lead": lead,
            "sign_momentum_leading_at_s": leading_at,
            "distinct_programs": len(verdict), "sign_momentum_programs": members,
            "sign_momentum_children_per_1000": 1000.0 * in_family / len(children) if children else 0.0}


def analyse_seed(cfg, run_dir: Path, opts: Options, log: Log) -> dict:

    run = runs.load_run(run_dir)
    stats = runs.statistics(run)
    ans = runs.answer(run)
    timeline = goal_timeline(run)
    out: dict[str, Any] = {"seed": cfg.seed, "run_dir": str(run_dir), "timeline": timeline,
                           "statistics": {"evaluations": stats.evaluations, "children": stats.children,
                                          "cache_hit_rate": stats.cache_hit_rate,
                                          "redundant_ratio": stats.redundant_ratio,
                                          "wall_time": stats.wall_time, "evals_per_s": stats.evals_per_s},
                           "progress": runs.progress_points(run), "meta": runs.meta_points(run)}
    if ans is None:
        out["answer"] = None
        return out
    raw = parse(ans.source)
    row = next((r for r in run.rows if r.id == ans.id), None)
    scale = best_lr_scale(raw, cfg, row.lr_scales if row is not None else None)
    baked = bake_lr(raw, scale)
    ev = cfg.evaluator
    overrides = dict(ev.overrides)  # task settings (the evaluator options are apart)
    t0 = time.perf_counter()
    result = simplify(baked, tasks=dict(ev.tasks), tolerance=opts.ablation_tolerance, seeds=tuple(ev.seeds),
                      **overrides)
    derivation = render(result)
    log(f"seed {cfg.seed}: answer simplified in {time.perf_counter() - t0:.0f}s\n{derivation}")
    rec = result.recognition
    sm = sign_momentum(result.program)
    out["answer"] = {"id": ans.id, "scale": ans.scale, "fitness": ans.fitness, "proxy_fitness": ans.proxy_fitness,
                     "raw": ans.source, "raw_one_line": one_line(raw), "lr_scale_baked": scale,
                     "simplified": str(result.program), "simplified_one_line": one_line(result.program),
                     "derivation": derivation, "recognized": rec.describe() if rec else None,
                     "family": rec.name if rec else None, "sign_momentum": sm.member,
                     "sign_momentum_detail": sm.describe()}
    return out


# --- 4. the final comparison: ``compare`` and ``beats`` (search/experiments/compare.py), run by ``finish``

# --- the whole replay ---------------------------------------------------------------------------

def machine() -> dict:
    import jax

    return {"platform": platform.platform(), "python": sys.version.split()[0], "jax": jax.__version__,
            "backend": jax.default_backend(), "cpus": os.cpu_count(), "processor": platform.processor() or None}


def replay(opts: Options, log: Log = print, progress: ProgressFactory | None = None,
           stop: Callable[[], bool] = lambda: False) -> dict:
    """Run everything; write the results into ``opts.out``; return the summary. ``progress``
    shows each search while it runs (``ProgressFactory``; None: only the ``log`` lines).

    ``stop()`` true (Ctrl-C) checkpoints the search in progress and returns the partial summary
    with ``interrupted`` set; running the same replay again continues it."""
    start = time.perf_counter()
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = replay_plan(opts)
    summary = unfinished(out)
    if summary is not None:
        if summary.get("plan") != plan:
            raise ReplayMismatch(f"{out} holds an unfinished replay of other settings ({summary.get('plan')}); "
                                 f"this one is {plan}")
        done = [d["seed"] for d in summary.get("seeds", [])]
        log(f"replay: continuing the unfinished replay in {out} (seeds finished: {done or 'none'})")
        summary.setdefault("resumed", []).append(time.strftime("%Y-%m-%d %H:%M:%S %Z"))
        start -= float(summary.get("seconds_before", 0.0))
    else:
        log(f"replay: results go to {out}")
        summary = {"command": opts.command, "quick": opts.quick, "config": _shown(opts.config_path),
                   "overrides": list(opts.overrides), "machine": machine(), "plan": plan,
                   "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "seeds": [], "partial": True}

    def save() -> None:
        summary["seconds_before"] = time.perf_counter() - start
        _write_json(out / "summary.json", summary)

    if "paper" not in summary:
        log("== 1. the paper's last step: discovered_pruned.train -> Lion ==")
        summary["paper"] = paper_step(opts, log)
    save()  # records a resume at once, and the paper step

    log(f"== 2. searches from AdamW ({opts.seeds} seed(s)) ==")
    seeds_out = summary["seeds"]
    cfgs = [config_mod.load(opts.config_path, list(opts.overrides) + [f"seed={s}"]) for s in range(opts.seeds)]
    todo = [c for c in cfgs if c.seed not in {d["seed"] for d in seeds_out}]
    backend = session.make_backend(cfgs[0]) if todo else None
    try:
        for cfg in todo:
            run_dir = out / "runs" / f"seed{cfg.seed}"
            t0 = time.perf_counter()
            run_summary = run_search(cfg, run_dir, backend, progress, log, stop)
            if run_summary.get("interrupted") or stop():
                save()
                log(f"seed {cfg.seed}: stopped at {run_summary['evaluations']} evaluations; checkpoint saved")
                return {**summary, "interrupted": True}
            seconds = float(run_summary.get("elapsed") or time.perf_counter() - t0)
            log(f"seed {cfg.seed}: {run_summary['evaluations']} evaluations in {seconds:.0f}s, "
                f"best proxy fitness {signed(run_summary['best_fitness'])}")
            info = analyse_seed(cfg, run_dir, opts, log)
            info["search_seconds"] = seconds
            seeds_out.append(info)
            save()
    finally:
        if backend is not None:
            backend.close()
    summary.pop("seconds_before", None)
    return finish(opts, summary, log, start)


class ReplayMismatch(ValueError):
    """``--out`` holds an unfinished replay whose settings differ from the ones asked for."""


def replay_plan(opts: Options) -> dict:
    """What decides a replay's results: an unfinished replay continues only under the same plan."""
    return {"config": _shown(opts.config_path), "overrides": list(opts.overrides), "seeds": opts.seeds,
            "quick": opts.quick}


def unfinished(out: Path) -> dict | None:
    """The summary of an unfinished replay in ``out`` (``partial``), None if there is none there.
    A replay killed before it wrote its summary has only ``runs/``: it restarts its summary, and
    its searches resume from their run directories."""
    path = Path(out) / "summary.json"
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the replay's summary ({exc})") from None
    return summary if isinstance(summary, dict) and summary.get("partial") else None


def finish(opts: Options, summary: dict, log: Log = print, start: float | None = None) -> dict:
    """Stages 3 and 4 from the per-seed results in ``summary``: the final comparison, the goal,
    and every output file. ``compare_only`` reruns just this on a finished replay's searches."""
    t0 = time.perf_counter()
    out = Path(opts.out)
    seeds_out = summary["seeds"]
    log("== 3. final comparison on meta-validation tasks ==")
    programs = {f"found (seed {d['seed']})": parse(d["answer"]["simplified"]) for d in seeds_out if d["answer"]}
    config_path = summary.get("config") or opts.config_path
    cfg = config_mod.load(Path(config_path) if Path(config_path).is_absolute() else ROOT / config_path,
                          list(summary.get("overrides", opts.overrides)))
    held = front_replay.HELD_OUT[:1] if opts.quick else front_replay.HELD_OUT
    leaders = front_replay.judge(summary, cfg, out, log, held)  # the fronts and the held-out comparison
    if not opts.quick:  # --quick is a smoke test: its meta-validation keeps to the answers
        programs.update(leaders)
    meta = opts.meta_settings
    tuned = compare(programs, meta, log)
    headline = _headline(seeds_out)
    searched = search_tasks(summary.get("config") or opts.config_path, summary.get("overrides", opts.overrides))
    summary["meta_validation"] = {
        "tasks": list(meta.tasks), "searched_tasks": searched,
        "outside_the_search": [t for t in meta.tasks if t not in searched], "scale": meta.scale,
        "seeds": list(meta.seeds), "lr_grid": list(meta.lr_grid),
        "wd_grid": list(meta.wd_grid), "overrides": meta.overrides,
        "results": {t: {n: {"mean": v.mean, "std": v.std, "finals": v.finals, "lr_scale": v.lr_scale,
                            "wd_scale": v.wd_scale, "grid": v.grid, "curves": v.curves} for n, v in per.items()}
                    for t, per in tuned.items()},
        "vs_adamw": {n: beats(tuned, n) for n in programs}, "lion_vs_adamw": beats(tuned, "Lion")}
    for d in seeds_out:
        if d["answer"]:
            d["goal"] = seed_goal(d["answer"], tuned, f"found (seed {d['seed']})")
        leader = ((d.get("front_study") or {}).get("one_state") or {}).get("leader")
        name = f"one-state leader (seed {d['seed']})"
        if leader is not None and name in programs:
            leader["goal"] = seed_goal({"simplified": leader["simplified"], "sign_momentum": leader["sign_momentum"]},
                                       tuned, name)
    goals = [d.get("goal") or {} for d in seeds_out]
    summary["goal"] = {
        "seeds": len(seeds_out),
        "lion_form": sum(bool(g.get("lion_form")) for g in goals),
        "lion_form_within_one_sd_of_lion": sum(bool(g.get("reached")) for g in goals),
        "sign_momentum": sum(bool(d["answer"] and d["answer"]["sign_momentum"]) for d in seeds_out),
        "beating_tuned_adamw": sum(bool(g.get("beats_tuned_adamw")) for g in goals),
        "tying_tuned_adamw": sum(g.get("vs_adamw_verdict") == "ties" for g in goals),
        "sign_momentum_beating_tuned_adamw": sum(bool(g.get("sign_momentum") and g.get("beats_tuned_adamw"))
                                                 for g in goals),
        "first_sign_momentum_evaluations": [(d["timeline"]["first_sign_momentum"] or {}).get("evaluations")
                                            for d in seeds_out],
        "one_state_lion_form": sum(bool((((d.get("front_study") or {}).get("one_state") or {}).get("leader") or {})
                                        .get("lion_form")) for d in seeds_out)}
    if opts.previous is not None:
        summary["previous"] = previous_digest(Path(opts.previous))
    summary["headline_seed"] = headline
    if start is not None:  # a whole replay; a rerun keeps the original run's time and dates
        summary["seconds"] = time.perf_counter() - start
        summary["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    else:
        summary["reruns"][-1]["seconds"] = time.perf_counter() - t0
    summary.pop("partial", None)
    _write_outputs(out, summary, tuned, headline)
    stage = (time.perf_counter() - t0) / 60
    took = (f"in {summary['seconds'] / 60:.1f} min ({stage:.1f} of them for the final comparison)"
            if start is not None else f"(the final comparison again: {stage:.1f} min)")
    log(f"replay done {took}: {summary['goal']['lion_form']} of {len(seeds_out)} seed(s) reached Lion's form, "
        f"{summary['goal']['sign_momentum']} sign-momentum, {summary['goal']['sign_momentum_beating_tuned_adamw']} "
        f"of them beating tuned AdamW on meta-validation beyond the seed spread; see {out / 'report.md'}")
    return summary


def previous_digest(path: Path) -> dict:
    """Each seed of the replay in ``path`` (its ``summary.json``) as ``seed_digest`` shows it;
    counts the previous replay's logs did not carry (sign-momentum children per 1,000) are
    computed from its run directories when they are there."""
    try:
        prev = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path / 'summary.json'}: cannot read the previous replay's summary ({exc})") from None
    seeds = []
    for d in prev.get("seeds", []):
        row = seed_digest(d)
        run_dir = path / "runs" / f"seed{d['seed']}"
        if row["sign_momentum_children_per_1000"] is None and (run_dir / "evaluations.jsonl").exists():
            row["sign_momentum_children_per_1000"] = goal_timeline(runs.load_run(run_dir))[
                "sign_momentum_children_per_1000"]
        seeds.append(row)
    return {"path": _shown(path), "command": prev.get("command"), "config": prev.get("config"), "seeds": seeds}


LION_BETAS = (0.9, 0.99)  # Lion's defaults (Chen et al. 2023), against which each answer's betas are reported


def seed_goal(answer: dict, tuned: dict, name: str) -> dict:
    """#17's goal for one seed's answer. **Rediscovery**: the simplified answer is recognized as
    Lion's form (the sign of an interpolation of the gradient and a momentum, that momentum a
    moving average of the gradient with its own weight, ``w`` only as decoupled weight decay:
    ``simplify.recognize``'s ``lion``), with its two betas. **Generalization**: against tuned
    optax Lion and tuned optax AdamW on the meta-validation tasks, the mean log loss ratio over
    seeds (paired) with its seed-to-seed standard deviation; within one standard deviation of Lion
    or better means ``mean + sd >= 0``. "Beats tuned AdamW" only beyond one standard deviation
    (``compare.verdict``); inside it, the answer ties."""
    rec = recognize(parse(answer["simplified"]))
    lion_form = rec is not None and rec.name == "lion"
    vs_lion, vs_adamw = paired(tuned, name, "Lion"), paired(tuned, name, "AdamW")
    within = math.isfinite(vs_lion["mean_log_ratio"]) and vs_lion["mean_log_ratio"] + (
        vs_lion["sd"] if math.isfinite(vs_lion["sd"]) else 0.0) >= 0
    return {"lion_form": lion_form, "recognized": rec.describe() if rec else None,
            "betas": [rec.params["beta1"], rec.params["beta2"]] if lion_form else None,
            "lion_betas": list(LION_BETAS), "sign_momentum": bool(answer["sign_momentum"]),
            "vs_lion": vs_lion, "vs_adamw": vs_adamw, "within_one_sd_of_lion": bool(within),
            "vs_lion_verdict": verdict(vs_lion), "vs_adamw_verdict": verdict(vs_adamw),
            "beats_tuned_adamw": verdict(vs_adamw) == "beats", "reached": bool(lion_form and within)}


def search_tasks(config: str | Path, overrides) -> list[str]:
    """The task families the replay's searches scored (their config's ``evaluator.tasks``; a
    relative path is the repository's), so the report says which meta-validation families were
    outside the search, not a fixed sentence."""
    from proxy_tasks.registry import DEFAULT_TASKS

    path = Path(config) if Path(config).is_absolute() else ROOT / config
    tasks = config_mod.load(path, list(overrides)).evaluator.tasks
    return sorted(tasks) if tasks is not None else sorted(DEFAULT_TASKS)


def compare_only(opts: Options, log: Log = print) -> dict:
    """Rerun the final comparison and rewrite the outputs of a finished replay in ``opts.out``
    (its searches and simplified answers are kept; the rerun is recorded in the summary)."""
    path = Path(opts.out) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read a replay summary ({exc})") from None
    if not summary.get("seeds"):
        raise ValueError(f"{path}: no finished searches to compare")
    summary.setdefault("reruns", []).append({"command": opts.command, "what": "final comparison and outputs",
                                             "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")})
    return finish(opts, summary, log)


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (reports stay valid on other machines)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _headline(seeds_out: list[dict]) -> int | None:
    """The seed whose answer scored best where the search could see it (funnel scale, else proxy)."""
    cands = [d for d in seeds_out if d["answer"]]
    if not cands:
        return None
    rank = {"x100": 2, "x10": 1, "proxy": 0}
    best = max(cands, key=lambda d: (rank.get(d["answer"]["scale"], 0), d["answer"]["fitness"]))
    return best["seed"]


def _write_json(path: Path, data: dict) -> None:
    atomic_write(path, json.dumps(data, indent=1, default=_jsonable).encode("utf-8"))


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


def _write_outputs(out: Path, summary: dict, tuned: dict[str, dict[str, Tuned]], headline: int | None) -> None:

    seeds_out = summary["seeds"]
    best = next((d for d in seeds_out if d["seed"] == headline), None)
    if best is not None:
        a = best["answer"]
        (out / "best_raw.train").write_text(to_source(parse(a["raw"]),
                                            f"Raw answer of the replay's search, seed {headline} "
                                            f"(fitness {a['fitness']:.4f} at {a['scale']})"), encoding="utf-8")
        note = f"Simplified answer, seed {headline}" + (f"; recognized: {a['recognized']}" if a["recognized"] else "")
        (out / "best_simplified.train").write_text(to_source(parse(a["simplified"]), note), encoding="utf-8")
    proxy = {f"seed {d['seed']}": d["progress"] for d in seeds_out if d["progress"]}
    meta = {f"seed {d['seed']}: {k}": v for d in seeds_out for k, v in d["meta"].items() if "proxy best" in k}
    marks = {}
    for d in seeds_out:
        tl = d["timeline"]
        events = [((tl.get(key) or {}).get("evaluations"), (tl.get(key) or {}).get("fitness"), text)
                  for key, text in (("first_sign_momentum", "first sign-momentum child (its fitness)"),
                                    ("sign_momentum_lead", "sign-momentum takes the lead"))]
        marks[f"seed {d['seed']}"] = [(x, y, text) for x, y, text in events if x is not None]
    plots.search_progress(out / "search_progress.png", proxy, meta, marks=marks,
                          title="replay: best proxy fitness and meta-validation (x10) against evaluations")
    curves = {name: {task: per[name].curves for task, per in tuned.items()} for name in next(iter(tuned.values()))}
    plots.loss_curves(out / "loss_curves.png", curves,
                      title="meta-validation: tuned AdamW, Lion and the found programs (mean, min-max over seeds)")
    _write_json(out / "summary.json", summary)
    (out / "report.md").write_text(render_report(summary), encoding="utf-8")


__all__ = ["CONFIG", "CONFIG_V2", "QUICK_CONFIG", "Options", "ProgressFactory", "ReplayMismatch", "SignWatch",
           "analyse_seed", "compare_only", "finish", "goal_timeline", "paper_step", "replay", "replay_plan",
           "run_search", "unfinished"]

