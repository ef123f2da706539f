"""Reading a run directory back: top programs, the answer, statistics, plot data.

Everything here is a pure function of the files a run leaves (``evaluations.jsonl``,
``funnel.jsonl``, ``summary.json``, ``config.yaml``), so ``optsearch show`` works on a finished,
an interrupted or a still running search alike, and the replay report reuses the same records.
A log that cannot be read raises ``RunReadError`` naming the file and the line. A program's
lineage is ``search.analysis.ancestry``; all of it at once, as ``show`` prints it,
``search.analysis.overview``.

Part of the analysis layer (``search/analysis/``): it reads what the core writes and imports
only the core, never the experiments or the CLI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from dsl.check import analyze
from dsl.parse import parse
from dsl.printer import one_line
from dsl.program import Program, ProgramError
from proxy_tasks.registry import SCALES
from search import config, runlock
from search.backends.base import WORST_FITNESS, BaselineEvaluator, CurveResult, EvaluatorSpec
from search.funnel import Answer
from search.funnel import answer as funnel_answer
from search.rows import EvaluationRow, FunnelRow, RaceRow, RoundRow, read_evaluations, read_funnel, read_races
from search.rundir import RunDirError
from simplify import simplify as simplify_program

Point = tuple[float, float]

class RunReadError(ValueError):
    """The run directory or one of its logs cannot be read, or what it records cannot be rebuilt
    (its evaluator, a program's training); the message names the place."""


Row = EvaluationRow  # one child of ``evaluations.jsonl``, with the line it was read from


@dataclass(frozen=True)
class Run:
    """The readable content of a run directory."""

    path: Path
    rows: tuple[EvaluationRow, ...]
    funnel: tuple[FunnelRow, ...]
    rounds: tuple[RoundRow, ...]  # funnel round summaries, in order
    summary: dict | None       # summary.json (None while the run has not finished)
    config: dict | None        # config.yaml as a mapping (None if absent)
    torn: bool = False         # the log's last line was cut by a kill (ignored here)
    races: tuple[RaceRow, ...] = ()  # racing's extra task seeds (races.jsonl), in order
    live: int | None = None    # pid of the search writing it now (its lock's holder), if any

    @property
    def scales(self) -> tuple[str, ...]:
        """The funnel's scales, shallow to deep: the config's, else those in the log."""
        funnel = (self.config or {}).get("funnel")
        if isinstance(funnel, dict) and isinstance(funnel.get("scales"), list):
            return tuple(str(s) for s in funnel["scales"])
        seen = {f.scale for f in self.funnel}
        return tuple(s for s in SCALES if s in seen) + tuple(sorted(seen - set(SCALES)))


# --- reading ------------------------------------------------------------------------------------

def load_run(path: str | Path) -> Run:
    """Read a run directory. ``RunReadError`` (naming file and line) if it cannot be read."""
    path = Path(path)
    if not path.is_dir():
        raise RunReadError(f"{path}: no such run directory")
    evals = path / "evaluations.jsonl"
    if not evals.exists():
        raise RunReadError(f"{path}: no evaluations.jsonl here; not a run directory (or the run has not "
                           "logged anything yet)")
    try:
        rows, torn = read_evaluations(evals)
        funnel, rounds = read_funnel(path / "funnel.jsonl")
        races, _ = read_races(path / "races.jsonl")
    except RunDirError as exc:
        raise RunReadError(str(exc)) from None
    except OSError as exc:
        raise RunReadError(f"{exc.filename}: cannot read ({exc.strerror})") from None
    summary = _json_file(path / "summary.json")
    config = None
    if (path / "config.yaml").exists():
        try:
            config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            raise RunReadError(f"{path / 'config.yaml'}: cannot read ({exc})") from None
    return Run(path, tuple(rows), tuple(funnel), tuple(rounds), summary, config, torn, tuple(races),
               runlock.holder(path))


def _json_file(p: Path) -> dict | None:
    if not p.exists():
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError, UnicodeDecodeError) as exc:
        raise RunReadError(f"{p}: not readable JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RunReadError(f"{p}: expected a JSON object")
    return doc


def row_program(row: EvaluationRow, path: Path) -> Program:
    """The program ``row`` records; ``RunReadError`` naming its line if it does not parse."""
    try:
        return parse(row.source)
    except ProgramError as exc:
        raise RunReadError(f"{path}:{row.line}: the recorded program does not parse: {exc}") from None


# --- top programs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopProgram:
    rank: int
    id: int
    fingerprint: str
    fitness: float                 # proxy fitness
    raw: str                       # the program as recorded, on one line
    simplified: str | None         # after the simplifier's exact passes, on one line
    family: str | None             # recognized optimizer (``lion (beta1=..., ...)``), if any
    funnel: dict[str, float]       # scale -> fitness where the funnel re-scored it
    tasks: dict[str, float]
    lr_scales: dict[str, float] = field(default_factory=dict)  # per task: the lr grid value it scored at
    seeds: int = 1                 # task seeds behind ``fitness``
    se: float | None = None        # its standard error over them (None below 2)


def funnel_scores(run: Run) -> dict[str, dict[str, float]]:
    """fingerprint -> {scale: fitness} (the latest re-evaluation of each)."""
    out: dict[str, dict[str, float]] = {}
    for f in run.funnel:
        out.setdefault(f.fingerprint, {})[f.scale] = f.fitness
    return out


def distinct_best(run: Run) -> list[Row]:
    """One row per fingerprint (the first logged), scored programs only, best proxy fitness first.

    Where racing scored a program on more task seeds (``races.jsonl``), its row carries every
    seed's score and the mean over them (with its standard error), as the search ranked it."""
    first: dict[str, Row] = {}
    for r in run.rows:
        if r.fingerprint not in first or r.id < first[r.fingerprint].id:
            first[r.fingerprint] = r
    for race in run.races:
        r = first.get(race.fingerprint)
        if r is not None:
            first[race.fingerprint] = replace(r, fitness=race.mean, fitness_se=race.se,
                                              seed_fitness={**r.seed_fitness, race.seed: race.fitness})
    scored = [r for r in first.values() if r.fitness > WORST_FITNESS]
    return sorted(scored, key=lambda r: (-r.fitness, r.id))


def simplified(program: Program) -> tuple[Program, str | None]:
    """The simplifier's exact passes (no ablation, no training) and the recognized family."""
    try:
        s = simplify_program(program)
    except Exception as exc:  # noqa: BLE001 - one program the simplifier cannot handle must not stop `show`
        return program, f"(simplifier failed: {type(exc).__name__}: {exc})"
    return s.program, (s.recognition.describe() if s.recognition else None)


def top_programs(run: Run, k: int = 10, simplify: bool = True) -> list[TopProgram]:
    """The ``k`` best distinct programs by proxy fitness, raw and simplified, with funnel scores."""
    scores = funnel_scores(run)
    out = []
    for rank, r in enumerate(distinct_best(run)[:k], 1):
        program = row_program(r, run.path / "evaluations.jsonl")
        simple, family = simplified(program) if simplify else (None, None)
        out.append(TopProgram(rank, r.id, r.fingerprint, r.fitness, one_line(program),
                              one_line(simple) if simple is not None else None, family,
                              dict(scores.get(r.fingerprint, {})), dict(r.tasks), dict(r.lr_scales), r.seeds,
                              r.fitness_se))
    return out


# --- the answer ---------------------------------------------------------------------------------

def answer(run: Run) -> Answer | None:
    """The run's answer (``search.funnel.answer``, the driver's own definition): summary.json's
    when the run finished, else the funnel's best at the deepest scale in the log, else the best
    proxy fitness."""
    ans = (run.summary or {}).get("answer")
    if ans:
        try:
            return Answer(int(ans["id"]), str(ans["scale"]), float(ans["fitness"]), float(ans["proxy_fitness"]),
                          str(ans["source"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RunReadError(f"{run.path / 'summary.json'}: bad answer ({exc!r})") from None
    top = distinct_best(run)
    return funnel_answer(run.funnel, run.scales, top[0] if top else None)


# --- statistics ---------------------------------------------------------------------------------

def reason_kind(reason: str | None) -> str:
    """What a logged ``reason`` amounts to, without its numbers: ``nan``, ``inf``, ``loss blew up``,
    ``hurdle`` (stopped early, still scored), ``timeout``, ``worker died``, ``evaluator error``,
    ``diverged`` (the toy evaluator), ``other``, or ``no reason recorded``. Reasons are prose
    prefixed by the task (``vit: non-finite validation loss (nan) at curve point 1``), one per
    program and never the same twice, so counting them needs their kind."""
    if not reason:
        return "no reason recorded"
    text = reason.lower()
    if "hurdle" in text:
        return "hurdle"
    if "non-finite" in text:
        return "nan" if "(nan)" in text else "inf"
    for kind in ("blew up", "timeout", "worker died", "evaluator error", "diverged"):
        if kind in text:
            return "loss blew up" if kind == "blew up" else kind
    return "other"


@dataclass(frozen=True)
class Statistics:
    rows: int                   # logged children, seeds included
    seeds: int
    children: int               # mutated children (the search's proposals)
    evaluations: int            # rows really evaluated (not cache hits)
    cache_hits: int
    cache_hit_rate: float       # cache hits / children
    statements: int             # statements over the children
    redundant: int              # statements that cannot affect the update (dsl.analyze)
    redundant_ratio: float
    invalid_children: int | None  # mutation draws rejected as invalid (None: not recorded)
    failed: int                 # evaluated rows that diverged or could not be scored
    wall_time: float | None     # seconds
    evals_per_s: float | None
    eval_seconds: float         # evaluator time summed over evaluated rows
    funnel_evaluations: int
    funnel_seconds: float
    funnel_rounds: int
    race_evaluations: int = 0   # extra task seeds scored by racing
    race_seconds: float = 0.0
    failure_reasons: dict[str, int] = field(default_factory=dict)  # of ``failed``, by ``reason_kind``
    hurdle_stops: int = 0       # evaluated rows stopped early at a hurdle (scored there, not failed)


def statistics(run: Run) -> Statistics:
    """Counts over the log; redundancy is recomputed with ``dsl.analyze`` where a row lacks it."""
    children = [r for r in run.rows if r.parent is not None]
    seeds = len(run.rows) - len(children)
    evaluated = [r for r in run.rows if not r.cached]
    hits = sum(r.cached for r in run.rows)
    statements = redundant = 0
    log = run.path / "evaluations.jsonl"
    for r in children:
        if r.length is None or r.redundant is None:
            p = row_program(r, log)
            statements += len(p.statements)
            redundant += len(analyze(p).redundant)
        else:
            statements += int(r.length)
            redundant += int(r.redundant)
    redraws = [r.redraws for r in run.rows]
    invalid = None if any(x is None for x in redraws) or not redraws else int(sum(redraws))  # type: ignore[arg-type]
    wall = (run.summary or {}).get("elapsed")
    if wall is None:
        times = [r.time for r in run.rows if r.time is not None]
        wall = max(times) if times else None
    ev = len(evaluated)
    failures: dict[str, int] = {}
    for r in evaluated:
        if r.fitness <= WORST_FITNESS:
            kind = reason_kind(r.reason)
            failures[kind] = failures.get(kind, 0) + 1
    return Statistics(
        rows=len(run.rows), seeds=seeds, children=len(children), evaluations=ev, cache_hits=hits,
        cache_hit_rate=hits / len(children) if children else 0.0, statements=statements, redundant=redundant,
        redundant_ratio=redundant / statements if statements else 0.0, invalid_children=invalid,
        failed=sum(r.fitness <= WORST_FITNESS for r in evaluated),
        wall_time=None if wall is None else float(wall),
        evals_per_s=ev / wall if wall else None, eval_seconds=sum(r.seconds for r in evaluated),
        funnel_evaluations=len(run.funnel), funnel_seconds=sum(f.seconds for f in run.funnel),
        funnel_rounds=len(run.rounds), race_evaluations=len(run.races),
        race_seconds=sum(r.seconds for r in run.races),
        failure_reasons=dict(sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))),
        hurdle_stops=sum(r.fitness > WORST_FITNESS and reason_kind(r.reason) == "hurdle" for r in evaluated))


# --- plot data ----------------------------------------------------------------------------------

def _eval_count(run: Run) -> list[int]:
    """The evaluation counter at each row (counted here when the log does not carry it)."""
    out, n = [], 0
    for r in run.rows:
        n += not r.cached
        out.append(int(r.evaluations) if r.evaluations is not None else n)
    return out


def progress_points(run: Run) -> list[Point]:
    """(evaluations, best proxy fitness so far): one point per improvement and the last row."""
    pts: list[Point] = []
    best = -math.inf
    counts = _eval_count(run)
    for n, r in zip(counts, run.rows):
        if r.fitness > best and r.fitness > WORST_FITNESS:
            best = r.fitness
            pts.append((float(n), best))
    if pts and counts and counts[-1] > pts[-1][0]:
        pts.append((float(counts[-1]), best))
    return pts


def meta_points(run: Run) -> dict[str, list[Point]]:
    """Meta-validation against evaluations, per funnel scale: at each round, the fitness at that
    scale of the round's proxy-best program (where re-scored): falls while proxy fitness rises
    when the search overfits its proxy tasks."""
    out: dict[str, list[Point]] = {}
    for rnd in run.rounds:
        for scale, value in (rnd.proxy_best or {}).items():
            if scale in ("id", "fitness") or value is None:
                continue
            out.setdefault(f"{scale} of proxy best", []).append((float(rnd.evaluations), float(value)))
        for scale, value in rnd.best.items():
            if "fitness" in value:
                out.setdefault(f"{scale} funnel best", []).append((float(rnd.evaluations), float(value["fitness"])))
    return out


def logged_curves(run: Run, id: int) -> dict[str, list[float]] | None:
    """Per-task validation curves of row ``id`` when the log carries them (else None)."""
    for r in run.rows:
        if r.id == id and r.curves:
            return {t: [float(x) for x in c] for t, c in r.curves.items()}
    return None


def retrain_curves(run: Run, source: str, baselines: Sequence[str] = ("adamw", "lion"),
                   label: str = "best") -> dict[str, dict[str, list[float]]]:
    """Validation curves of ``source`` and the baselines on the run's proxy tasks (mean over the
    run's task seeds), by training again with the run's evaluator: costs one compile and one
    training run per task, and baseline runs unless cached on disk.

    ``RunReadError`` if the run's evaluator gives no curves (e.g. the toy evaluator).
    """
    from proxy_tasks.evaluate import CURVE_POINTS  # imports JAX

    if run.config is None:
        raise RunReadError(f"{run.path}: no config.yaml, cannot rebuild the run's evaluator")
    try:
        cfg = config.from_dict(config.migrate(run.config))
    except config.ConfigError as exc:
        raise RunReadError(f"{run.path / 'config.yaml'}: {exc}") from None
    ev = EvaluatorSpec.from_section(cfg.evaluator).build("proxy")
    result = ev.evaluate_one(parse(source))
    per: dict[str, list[list[float]]] = {}
    for t in result.tasks:
        if not isinstance(t, CurveResult):
            raise RunReadError(f"{run.path}: the run's evaluator ({cfg.evaluator.factory}) reports no loss curves")
        per.setdefault(t.task, []).append([float(x) for x in t.curve])
    if not per:
        raise RunReadError(f"{run.path}: the program could not be trained ({result.reason})")
    out: dict[str, dict[str, list[float]]] = {label: {t: _mean(c) for t, c in per.items()}}
    if isinstance(ev, BaselineEvaluator):
        for which in baselines:
            curves = {}
            for task in per:
                runs = []
                for seed in ev.seeds:
                    full = ev.baseline(task, seed, which)
                    runs.append([float(x) for x in full[:: max(1, (len(full) - 1) // CURVE_POINTS)]])
                curves[task] = _mean(runs)
            out[which] = curves
    return out


def _mean(curves: list[list[float]]) -> list[float]:
    n = min(len(c) for c in curves)
    return [sum(c[i] for c in curves) / len(curves) for i in range(n)]
