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

The stages' pieces have their own modules: ``replay_options`` (``Options``), ``goal_timeline``
and ``seed_analysis`` (stage 3), ``goal`` (what stage 4 decides), ``front_replay`` (the front
and the held-out comparison), ``previous_replay``, ``replay_outputs``; the summary is a
``replay_summary.ReplaySummary``. This module runs them in order, resumes, and reruns stage 4.

An experiment: it uses the core (config, engine, run directories, backends) and the analysis
layer, never the CLI. How a running search is shown is the caller's choice (``progress``).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dsl import library
from dsl.parse import parse
from search import config as config_mod
from search import session
from search.analysis.digits import signed
from search.backends.base import WORST_FITNESS
from search.driver import Driver
from search.experiments import front_replay, replay_summary
from search.experiments.compare import compare
from search.experiments.goal import goal_counts, headline_seed, meta_validation, seed_goal
from search.experiments.goal_timeline import goal_timeline
from search.experiments.previous_replay import previous_digest, previous_replay
from search.experiments.replay_options import (
    CONFIG,
    CONFIG_V2,
    QUICK_CONFIG,
    ROOT,
    Log,
    Options,
    ProgressFactory,
    search_tasks,
    shown,
)
from search.experiments.replay_outputs import write_outputs
from search.experiments.replay_summary import Ablation, Machine, PaperStep, Plan, ReplaySummary, Rerun
from search.experiments.seed_analysis import analyse_seed
from simplify import simplify
from simplify.derivation import render
from simplify.family import sign_momentum

# --- 1. the paper's last step -------------------------------------------------------------------

def paper_step(opts: Options, log: Log) -> PaperStep:
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
    return PaperStep(source="dsl/library/discovered.train (the Lion paper's discovered_pruned program)",
                     ablation=Ablation(task=p["task"], steps=p["steps"], seeds=list(seeds),
                                       tolerance=opts.ablation_tolerance),
                     derivation=text, final=str(result.program), recognized=rec.describe() if rec else None,
                     family=rec.name if rec else None, sign_momentum=sign_momentum(result.program).describe(),
                     seconds=time.perf_counter() - t0)


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


# --- 3. per seed: ``analyse_seed`` (seed_analysis.py), its timeline ``goal_timeline`` ----------
# --- 4. the final comparison: ``compare`` (compare.py), judged in goal.py, run by ``finish`` -----

# --- the whole replay ---------------------------------------------------------------------------

def machine() -> Machine:
    import jax

    return Machine(platform=platform.platform(), python=sys.version.split()[0], jax=jax.__version__,
                   backend=jax.default_backend(), cpus=os.cpu_count(), processor=platform.processor() or None)


def replay(opts: Options, log: Log = print, progress: ProgressFactory | None = None,
           stop: Callable[[], bool] = lambda: False) -> ReplaySummary:
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
        if summary.plan != plan:
            had = summary.plan.to_json() if summary.plan is not None else None
            raise ReplayMismatch(f"{out} holds an unfinished replay of other settings ({had}); "
                                 f"this one is {plan.to_json()}")
        done = [d.seed for d in summary.seeds or []]
        log(f"replay: continuing the unfinished replay in {out} (seeds finished: {done or 'none'})")
        summary.resumed = [*(summary.resumed or []), time.strftime("%Y-%m-%d %H:%M:%S %Z")]
        start -= float(summary.seconds_before or 0.0)
    else:
        log(f"replay: results go to {out}")
        summary = ReplaySummary(command=opts.command, quick=opts.quick, config=shown(opts.config_path),
                                overrides=list(opts.overrides), machine=machine(), plan=plan,
                                started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), seeds=[], partial=True)

    def save() -> None:
        summary.seconds_before = time.perf_counter() - start
        summary.write(out / "summary.json")

    if summary.paper is None:
        log("== 1. the paper's last step: discovered_pruned.train -> Lion ==")
        summary.paper = paper_step(opts, log)
    save()  # records a resume at once, and the paper step

    log(f"== 2. searches from AdamW ({opts.seeds} seed(s)) ==")
    seeds_out = summary.seeds
    cfgs = [config_mod.load(opts.config_path, list(opts.overrides) + [f"seed={s}"]) for s in range(opts.seeds)]
    todo = [c for c in cfgs if c.seed not in {d.seed for d in seeds_out}]
    backend = session.make_backend(cfgs[0]) if todo else None
    try:
        for cfg in todo:
            run_dir = out / "runs" / f"seed{cfg.seed}"
            t0 = time.perf_counter()
            run_summary = run_search(cfg, run_dir, backend, progress, log, stop)
            if run_summary.get("interrupted") or stop():
                save()
                log(f"seed {cfg.seed}: stopped at {run_summary['evaluations']} evaluations; checkpoint saved")
                summary.interrupted = True  # on the summary returned, not the one written
                return summary
            seconds = float(run_summary.get("elapsed") or time.perf_counter() - t0)
            log(f"seed {cfg.seed}: {run_summary['evaluations']} evaluations in {seconds:.0f}s, "
                f"best proxy fitness {signed(run_summary['best_fitness'])}")
            info = analyse_seed(cfg, run_dir, opts, log)
            info.search_seconds = seconds
            seeds_out.append(info)
            save()
    finally:
        if backend is not None:
            backend.close()
    summary.drop("seconds_before")
    return finish(opts, summary, log, start)


class ReplayMismatch(ValueError):
    """``--out`` holds an unfinished replay whose settings differ from the ones asked for."""


def replay_plan(opts: Options) -> Plan:
    """What decides a replay's results: an unfinished replay continues only under the same plan."""
    return Plan(config=shown(opts.config_path), overrides=list(opts.overrides), seeds=opts.seeds, quick=opts.quick)


def unfinished(out: Path) -> ReplaySummary | None:
    """The summary of an unfinished replay in ``out`` (``partial``), None if there is none there.
    A replay killed before it wrote its summary has only ``runs/``: it restarts its summary, and
    its searches resume from their run directories."""
    path = Path(out) / "summary.json"
    if not path.exists():
        return None
    summary = replay_summary.load(path, "the replay's summary")
    return summary if summary.partial else None


def finish(opts: Options, summary: ReplaySummary, log: Log = print, start: float | None = None) -> ReplaySummary:
    """Stages 3 and 4 from the per-seed results in ``summary``: the final comparison, the goal,
    and every output file. ``compare_only`` reruns just this on a finished replay's searches."""
    t0 = time.perf_counter()
    out = Path(opts.out)
    seeds_out = summary.seeds
    log("== 3. final comparison on meta-validation tasks ==")
    programs = {f"found (seed {d.seed})": parse(d.answer.simplified) for d in seeds_out if d.answer}
    config_path = summary.config or opts.config_path
    overrides = summary.overrides if summary.overrides is not None else opts.overrides
    cfg = config_mod.load(Path(config_path) if Path(config_path).is_absolute() else ROOT / config_path,
                          list(overrides))
    held = front_replay.HELD_OUT[:1] if opts.quick else front_replay.HELD_OUT
    leaders = front_replay.judge(summary, cfg, out, log, held)  # the fronts and the held-out comparison
    if not opts.quick:  # --quick is a smoke test: its meta-validation keeps to the answers
        programs.update(leaders)
    meta = opts.meta_settings
    tuned = compare(programs, meta, log)
    headline = headline_seed(seeds_out)
    summary.meta_validation = meta_validation(meta, search_tasks(config_path, overrides), tuned, programs)
    for d in seeds_out:
        if d.answer:
            d.goal = seed_goal(d.answer.simplified, d.answer.sign_momentum, tuned, f"found (seed {d.seed})")
        leader = d.one_state_leader
        name = f"one-state leader (seed {d.seed})"
        if leader is not None and name in programs:
            leader.goal = seed_goal(leader.simplified, leader.sign_momentum, tuned, name)
    summary.goal = goal_counts(seeds_out)
    if opts.previous is not None:
        summary.previous = previous_replay(Path(opts.previous))
    summary.headline_seed = headline
    if start is not None:  # a whole replay; a rerun keeps the original run's time and dates
        summary.seconds = time.perf_counter() - start
        summary.finished = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    else:
        summary.reruns[-1].seconds = time.perf_counter() - t0
    summary.drop("partial")
    write_outputs(out, summary, tuned, headline)
    stage = (time.perf_counter() - t0) / 60
    took = (f"in {summary.seconds / 60:.1f} min ({stage:.1f} of them for the final comparison)"
            if start is not None else f"(the final comparison again: {stage:.1f} min)")
    log(f"replay done {took}: {summary.goal.lion_form} of {len(seeds_out)} seed(s) reached Lion's form, "
        f"{summary.goal.sign_momentum} sign-momentum, {summary.goal.sign_momentum_beating_tuned_adamw} "
        f"of them beating tuned AdamW on meta-validation beyond the seed spread; see {out / 'report.md'}")
    return summary


def compare_only(opts: Options, log: Log = print) -> ReplaySummary:
    """Rerun the final comparison and rewrite the outputs of a finished replay in ``opts.out``
    (its searches and simplified answers are kept; the rerun is recorded in the summary)."""
    path = Path(opts.out) / "summary.json"
    summary = replay_summary.load(path, "a replay summary")
    if not summary.seeds:
        raise ValueError(f"{path}: no finished searches to compare")
    summary.reruns = [*(summary.reruns or []), Rerun(command=opts.command, what="final comparison and outputs",
                                                     started=time.strftime("%Y-%m-%d %H:%M:%S %Z"))]
    return finish(opts, summary, log)


__all__ = ["CONFIG", "CONFIG_V2", "QUICK_CONFIG", "Options", "ProgressFactory", "ReplayMismatch", "SignWatch",
           "analyse_seed", "compare_only", "finish", "goal_timeline", "paper_step", "previous_digest", "replay",
           "replay_plan", "run_search", "unfinished"]
