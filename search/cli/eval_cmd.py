"""Score one optimizer program on the proxy tasks, beside the AdamW and Lion baselines.

The metric is the final validation loss (lower is better), mean and std over seeds; fitness is
log(AdamW loss / program loss), > 0 beats AdamW. Baselines are optax.adamw (bias-corrected) and
optax.lion on the same task, scale and seeds, cached on disk.
"""

from __future__ import annotations

import sys

import numpy as np
from rich.console import Console
from rich.table import Table

from dsl import ProgramError
from proxy_tasks import registry
from search.cli import jsonout
from search.cli.common import fail, load_program
from search.cli.progress import Heartbeat

NAME = "eval"
HELP = "score a program on the proxy tasks beside AdamW and Lion"


def add_arguments(parser) -> None:
    parser.add_argument("program", metavar="PROGRAM_OR_NAME",
                        help="a .train file or a built-in name (lion, adamw, ...)")
    parser.add_argument("--task", action="append", dest="tasks", metavar="T",
                        help="task to run, weight 1 each (repeatable; default: all tasks at the default weights)")
    parser.add_argument("--scale", default="proxy", help="proxy | x10 | x100 (default: proxy)")
    parser.add_argument("--seeds", type=int, default=3, metavar="K", help="seeds 0..K-1 (default: 3)")
    parser.add_argument("--steps", type=int, default=None, help="override every task's step count")
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
    overrides = {}
    if args.steps is not None:
        overrides["steps"] = args.steps
        overrides["points"] = 1 if args.steps % 10 else 10
    with Heartbeat(stream=sys.stderr) as log:
        log(f"scoring {label} on {', '.join(tasks)} at {args.scale}, {args.seeds} seed(s): the first run on this "
            "machine compiles each task's training loop, later runs load it from the compilation cache")
        try:
            ev = Evaluator(weights, scale=args.scale, seeds=range(args.seeds), cache_dir=args.cache_dir, **overrides)
        except (KeyError, ValueError) as exc:
            return fail(str(exc.args[0] if exc.args else exc))
        result = ev.evaluate_one(program)
        log("the optax AdamW and Lion baselines beside it (cached on disk after the first run)")
        rows = _rows(ev, tasks, result)
    if args.json:
        # runs keep their raw floats so that every non-finite value follows one scheme (null
        # and a note, see jsonout), not TaskResult.to_json's strings ("nan")
        runs = [{**t.to_json(), "loss": t.loss, "baseline_loss": t.baseline_loss, "curve": list(t.curve)}
                for t in result.tasks]
        print(jsonout.dumps({"program": label, "scale": args.scale, "seeds": list(ev.seeds),
                             "weights": weights, "fitness": result.fitness, "reason": result.reason,
                             "seconds": result.seconds, "tasks": rows, "runs": runs}))
        return 0
    _table(label, args.scale, ev.seeds, result, rows)
    return 0


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
                     "reason": next((r.reason for r in mine if r.reason), None)})
    return rows


def _table(label, scale, seeds, result, rows) -> None:
    def fmt(ms):
        return "—" if ms is None else f"{ms[0]:.4f} ± {ms[1]:.4f}"

    table = Table(title=f"{label} on the {scale} tasks (validation loss, mean ± std over {len(seeds)} seed(s))")
    for col in ("task", "steps", label, "AdamW (optax)", "Lion (optax)", "fitness", "diverged"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for r in rows:
        fit = "—" if r["fitness"] is None else f"{r['fitness'][0]:+.3f}"
        table.add_row(r["task"], str(r["steps"]), fmt(r["loss"]), fmt(r["adamw"]), fmt(r["lion"]), fit,
                      str(r["diverged"]))
    console = Console()
    console.print(table)
    console.print(f"fitness (weighted mean of log(AdamW / loss); WORST if any run diverged): {result.fitness:+.4f}")
    if result.reason:
        console.print(f"first problem: {result.reason}")
