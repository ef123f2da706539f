"""Score one optimizer program on the proxy tasks, beside the AdamW and Lion baselines.

The metric is the final validation loss (lower is better), mean and std over seeds; fitness is
log(AdamW loss / program loss), > 0 beats AdamW. Baselines are optax.adamw (bias-corrected) and
optax.lion on the same task, scale and seeds, cached on disk.

Every optimizer is tuned the way the search tunes: the ``Evaluator``'s learning-rate grid (each
task scores the program, and each baseline, at its best grid value), so that Lion, which needs a
3-10x smaller step than AdamW, is not judged at one untuned step size. The grid is the Lion
replay's search grid (``EVAL_LR_GRID``), a config's ``evaluator.lr_grid`` with ``--config``, or
one value with ``--lr``; the value chosen per task is printed for every optimizer.
"""

from __future__ import annotations

import sys

import numpy as np
from rich.console import Console
from rich.table import Table

from dsl import ProgramError
from proxy_tasks import registry
from search import config
from search.analysis.digits import fixed, sig
from search.cli import jsonout
from search.cli.common import fail, load_program
from search.cli.progress import Heartbeat

NAME = "eval"
HELP = "score a program on the proxy tasks beside AdamW and Lion, each tuned on a learning-rate grid"

EVAL_LR_GRID: tuple[float, ...] = (0.1111111, 0.3333333, 1.0, 3.0)
"""The default grid: the Lion replay's search grid (``configs/lion_rediscovery.yaml``'s
``evaluator.lr_grid``; ``tests/test_eval_tuning.py`` keeps the two equal). Multipliers of each
optimizer's own learning rate: the program's ``lr`` input, optax AdamW's 1e-3, optax Lion's 1e-4."""


def add_arguments(parser) -> None:
    parser.add_argument("program", metavar="PROGRAM_OR_NAME",
                        help="a .train file or a built-in name (lion, adamw, ...)")
    parser.add_argument("--task", action="append", dest="tasks", metavar="T",
                        help="task to run, weight 1 each (repeatable; default: all tasks at the default weights)")
    parser.add_argument("--scale", default="proxy", help="proxy | x10 | x100 (default: proxy)")
    parser.add_argument("--seeds", type=int, default=3, metavar="K", help="seeds 0..K-1 (default: 3)")
    parser.add_argument("--steps", type=int, default=None, help="override every task's step count")
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--config", metavar="FILE",
                      help="tune on this search config's evaluator.lr_grid (default: the Lion replay's grid "
                           + ", ".join(f"{x:.3g}" for x in EVAL_LR_GRID) + ")")
    grid.add_argument("--lr", type=float, metavar="X",
                      help="one learning-rate multiplier for every optimizer instead of a grid (untuned)")
    parser.add_argument("--cache-dir", default=None, help="baseline cache (default: $OPTSEARCH_CACHE or ~/.cache)")
    parser.add_argument("--json", action="store_true",
                        help="print one strict JSON object instead of a table (NaN/inf as null, "
                        "with a <key>_note beside)")


def _stats(values) -> tuple[float, float]:
    arr = np.asarray(values, float)
    return float(np.mean(arr)), float(np.std(arr))


def run(args) -> int:
    from proxy_tasks.evaluate import DEFAULT_TASKS, Evaluator  # imports JAX

    try:
        label, program = load_program(args.program)
    except (ProgramError, OSError) as exc:
        return fail(str(exc))
    tasks = args.tasks or list(registry.TASKS)
    weights = dict(DEFAULT_TASKS) if not args.tasks else {t: 1.0 for t in tasks}
    if args.seeds < 1:
        return fail("--seeds must be at least 1")
    try:
        lr_grid = _grid(args)
    except (config.ConfigError, ValueError) as exc:
        return fail(str(exc))
    overrides = {}
    if args.steps is not None:
        overrides["steps"] = args.steps
        overrides["points"] = 1 if args.steps % 10 else 10
    with Heartbeat(stream=sys.stderr) as log:
        log(f"scoring {label} on {', '.join(tasks)} at {args.scale}, {args.seeds} seed(s), learning-rate grid "
            f"{_grid_text(lr_grid)}: the first run on this machine compiles each task's training loop, later runs "
            "load it from the compilation cache")
        try:
            ev = Evaluator(weights, scale=args.scale, seeds=range(args.seeds), cache_dir=args.cache_dir,
                           lr_grid=lr_grid, **overrides)
        except (KeyError, ValueError) as exc:
            return fail(str(exc.args[0] if exc.args else exc))
        result = ev.evaluate_one(program)
        log("the optax AdamW and Lion baselines beside it, tuned on the same grid (cached on disk after the "
            "first run)")
        rows = _rows(ev, tasks, result)
    if args.json:
        # runs keep their raw floats so that every non-finite value follows one scheme (null
        # and a note, see jsonout), not TaskResult.to_json's strings ("nan")
        runs = [{**t.to_json(), "loss": t.loss, "baseline_loss": t.baseline_loss, "curve": list(t.curve)}
                for t in result.tasks]
        print(jsonout.dumps({"program": label, "scale": args.scale, "seeds": list(ev.seeds),
                             "weights": weights, "lr_grid": list(ev.lr_grid), "fitness": result.fitness,
                             "reason": result.reason,
                             "seconds": result.seconds, "tasks": rows, "runs": runs}))
        return 0
    _table(label, args.scale, ev.seeds, result, rows, ev.lr_grid)
    return 0


def _grid(args) -> tuple[float, ...]:
    """The learning-rate grid to tune on: ``--lr``, ``--config``'s, else ``EVAL_LR_GRID``."""
    if args.lr is not None:
        if not (args.lr > 0 and args.lr < float("inf")):
            raise ValueError(f"--lr must be a positive number, not {args.lr!r}")
        return (float(args.lr),)
    if args.config:
        try:
            return tuple(float(x) for x in config.load(args.config).evaluator.lr_grid)
        except config.ConfigError as exc:
            raise config.ConfigError("", f"{args.config}: {exc}") from None
    return EVAL_LR_GRID


def _grid_text(grid) -> str:
    return ", ".join(f"x{x:.3g}" for x in grid) + (" (one value: untuned)" if len(grid) == 1 else "")


def chosen_lr(ev, result, task: str) -> dict[str, dict[str, float]]:
    """The learning rate each optimizer scored at on ``task``: the grid multiplier the
    ``Evaluator`` chose (the program's: its best grid value; a baseline's: ``baseline_scale``)
    and, for the baselines, the peak learning rate it gives."""
    from proxy_tasks.training import BASELINE_PEAK

    mine = [r.lr_scale for r in result.tasks if r.task == task]
    out = {"program": {"scale": mine[0]}} if mine else {}
    for which in ("adamw", "lion"):
        scale = ev.baseline_scale(task, which)
        out[which] = {"scale": scale, "lr": float(BASELINE_PEAK[which](ev.tasks[task], scale))}
    return out


def _rows(ev, tasks, result) -> list[dict]:
    """One row per task: the program's loss, the baselines', fitness and divergences."""
    rows = []
    for name in tasks:
        mine = [r for r in result.tasks if r.task == name]
        adamw = [float(ev.baseline(name, s, "adamw")[-1]) for s in ev.seeds]
        lion = [float(ev.baseline(name, s, "lion")[-1]) for s in ev.seeds]
        rows.append({"task": name, "loss": _stats([r.loss for r in mine]) if mine else None,
                     "adamw": _stats(adamw), "lion": _stats(lion),
                     "fitness": _stats([r.fitness for r in mine]) if mine else None,
                     "diverged": sum(r.diverged for r in mine), "steps": ev.tasks[name].steps,
                     "reason": next((r.reason for r in mine if r.reason), None),
                     "lr": chosen_lr(ev, result, name)})
    return rows


def _table(label, scale, seeds, result, rows, grid) -> None:
    def fmt(ms):
        if ms is None:
            return "—"
        return sig(ms[0]) + (f" ± {sig(ms[1], 2)}" if len(seeds) > 1 else "")

    table = Table(title=f"{label} on the {scale} tasks (validation loss, mean ± std over {len(seeds)} seed(s))")
    for col in ("task", "steps", label, "AdamW (optax)", "Lion (optax)", "fitness", "diverged"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for r in rows:
        fit = "—" if r["fitness"] is None else fixed(r["fitness"][0], 3)
        fit = fit if fit.startswith(("-", "—")) else "+" + fit
        table.add_row(r["task"], str(r["steps"]), fmt(r["loss"]), fmt(r["adamw"]), fmt(r["lion"]), fit,
                      str(r["diverged"]))
    console = Console()
    console.print(table)
    lrs = Table(title=f"learning rate chosen per task (grid {_grid_text(grid)}, multipliers of each optimizer's own)")
    for col in ("task", label, "AdamW (optax, 1e-3 x)", "Lion (optax, 1e-4 x)"):
        lrs.add_column(col, justify="left" if col == "task" else "right")
    for r in rows:
        lr = r["lr"]
        prog = f"x{lr['program']['scale']:.3g}" if "program" in lr else "—"
        lrs.add_row(r["task"], prog, *(f"x{lr[w]['scale']:.3g} ({lr[w]['lr']:.2g})" for w in ("adamw", "lion")))
    console.print(lrs)
    if len(grid) > 1 and any(r["lr"].get(k, {}).get("scale") in (min(grid), max(grid))
                             for r in rows for k in ("program", "adamw", "lion")):
        console.print("a value at the grid's edge may be better outside it (--lr X tries one)")
    console.print(f"fitness (weighted mean of log(tuned AdamW loss / loss); WORST if any run diverged): "
                  f"{fixed(result.fitness)}")
    if result.reason:
        console.print(f"first problem: {result.reason}")
