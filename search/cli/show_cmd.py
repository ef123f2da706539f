"""Inspect a run directory: the top programs (raw and simplified), the lineage of the best, cache,
failure and redundancy statistics, and plots of the search's progress.

Works on a finished, interrupted or still running search: it reads the logs and takes no lock.
It writes one thing, its plots: search_progress.png (and loss_curves.png) go into the run
directory unless --plots DIR says where, and --no-plots writes none. It prints each path it
wrote; when the run directory is not writable (committed results, a read-only mount) it skips
the plots with a note. The loss curves plot needs curves: the log's when it carries them, else
--curves trains the best program and the AdamW and Lion baselines again on the run's proxy tasks
(one compile per task).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from search.analysis import ancestry, overview, plots, runs
from search.analysis.digits import fixed as _f
from search.cli import jsonout
from search.cli.common import fail

TOP, TOP_FULL = 3, 10
"""Programs listed by default, concise and with ``--full`` (``--top K`` sets it either way)."""

NAME = "show"
HELP = "show a run: top programs, lineage of the best, statistics; writes its plots into the run directory"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `optsearch run`")
    parser.add_argument("--top", type=int, default=None, metavar="K",
                        help=f"distinct programs to list (default {TOP}, {TOP_FULL} with --full)")
    parser.add_argument("--full", action="store_true",
                        help="everything: each top program raw as well as simplified, and each lineage step's diff "
                             "(by default one line per step and the simplified programs only)")
    parser.add_argument("--plots", metavar="DIR",
                        help="write the PNG plots into DIR instead of the run directory (the default)")
    parser.add_argument("--no-plots", action="store_true", help="write nothing (by default the plots go into RUN_DIR)")
    parser.add_argument("--full-lineage", action="store_true",
                        help="list every step of the lineage (by default runs of cache-hit steps that leave the "
                             "program's behaviour unchanged are folded into one line)")
    parser.add_argument("--curves", action="store_true",
                        help="train the best program and the AdamW/Lion baselines again on the run's proxy "
                             "tasks for loss_curves.png (when the log carries no curves)")
    parser.add_argument("--no-simplify", action="store_true", help="list the top programs as recorded only")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--front", action="store_true",
                        help="the front instead: programs no other beats on fitness without more states or "
                             "statements (and front.png)")


def _failures(st) -> str:
    """``577 of 2408 evaluations (24%): 395 nan, 182 loss blew up``."""
    if not st.failed:
        return f"none of {st.evaluations} evaluations"
    share = f" ({st.failed / st.evaluations:.0%})" if st.evaluations else ""
    kinds = ", ".join(f"{n} {kind}" for kind, n in st.failure_reasons.items())
    return f"{st.failed} of {st.evaluations} evaluations{share}: {kinds}"


def _lr(scales: dict[str, float]) -> str:
    """The learning-rate grid value(s) a program scored at: ``0.333``, or ``mlp 1, vit 0.333``."""
    if len(scales) == 1:
        return f"{next(iter(scales.values())):.3g}"
    return ", ".join(f"{k} {v:.3g}" for k, v in scales.items()) or "-"


def write_plots(run, rep, out: Path, curves: bool, written: dict[str, str]) -> list[str]:
    """Write search_progress.png and loss_curves.png into ``out``, adding name -> path to
    ``written`` as each is written (so a failure on the second still reports the first); returns
    notes. ``OSError`` when ``out`` cannot be written."""
    notes: list[str] = []
    if rep.progress:
        written["search_progress"] = str(plots.search_progress(
            out / "search_progress.png", rep.progress, rep.meta, title=f"search progress: {run.path.name}"))
    else:
        notes.append("search_progress.png: no scored program in the log yet")
    data = None
    if rep.answer is not None:
        logged = runs.logged_curves(run, rep.answer.id)
        if logged:
            data = {"best": logged}
        elif curves:
            try:
                data = runs.retrain_curves(run, rep.answer.source)
            except runs.RunReadError as exc:
                notes.append(f"loss_curves.png: {exc}")
        else:
            notes.append("loss_curves.png: the log holds no loss curves; --curves trains the best program "
                         "and the baselines again to draw them")
    if data:
        written["loss_curves"] = str(plots.loss_curves(
            out / "loss_curves.png", data, title=f"validation loss: best of {run.path.name} (id {rep.answer.id})"))
    return notes


def render(rep, plots_written: dict[str, str], full_lineage: bool = False, full: bool = True) -> None:
    """The tables; without ``full`` each program is shown simplified only (raw when it has no
    simplified form) and each lineage step is one line (its mutation), the diffs left out."""
    con = Console()
    scales = sorted({s for t in rep.top for s in t.funnel})
    with_lr = any(t.lr_scales for t in rep.top)  # logs written before lr_scales existed lack them
    top = Table(title=f"top {len(rep.top)} distinct programs by proxy fitness")
    raced = any(t.seeds > 1 for t in rep.top)  # racing scored some on more task seeds
    for col in ("#", "id", "proxy", *(["± se", "seeds"] if raced else []), *(["lr x"] if with_lr else []), *scales):
        top.add_column(col, justify="right", no_wrap=True)
    top.add_column("program (raw / simplified)" if full else "program (simplified)", overflow="fold")
    for t in rep.top:
        if full or t.simplified is None:
            cell = Text(t.raw)
            if t.simplified is not None:
                cell.append("\nsimplified: " + t.simplified, style="cyan")
        else:
            cell = Text(t.simplified, style="cyan")
        if t.family:
            cell.append(f"\n  {t.family}", style="bold green")
        lr = [_lr(t.lr_scales)] if with_lr else []
        race = [_f(t.se), str(t.seeds)] if raced else []
        top.add_row(str(t.rank), str(t.id), _f(t.fitness), *race, *lr, *(_f(t.funnel.get(s)) for s in scales), cell)
    con.print(top)

    ans = rep.answer
    if ans is not None:
        head = (f"lineage of the best: id {ans.id}, fitness {_f(ans.fitness)} at {ans.scale} "
                f"(proxy {_f(ans.proxy_fitness)}), {len(rep.lineage) - 1} mutation(s) from its seed")
        lin = Table(title=head)
        lin.add_column("step", justify="right", no_wrap=True)
        lin.add_column("id", justify="right", no_wrap=True)
        lin.add_column("fitness", justify="right", no_wrap=True)
        lin.add_column("mutation / diff", overflow="fold")
        step = {s.id: i for i, s in enumerate(rep.lineage)}
        shown = rep.lineage if full_lineage else ancestry.fold_lineage(rep.lineage)
        for k, item in enumerate(shown):
            if isinstance(item, ancestry.FoldedSteps):
                first, last, n = item.steps[0], item.steps[-1], len(item.steps)
                plus = sum(d.startswith("+") for d in item.diff)
                cell = Text(f"... {n} cache-hit steps folded (--full-lineage shows them): behaviour unchanged "
                            f"(same fingerprint), net change +{plus} -{len(item.diff) - plus} lines", style="dim")
                if item.fitness != shown[k - 1].fitness:
                    cell.append("; the fitness moved as racing scored it on more task seeds", style="dim")
                lin.add_row(f"{step[first.id]}-{step[last.id]}", f"{first.id}-{last.id}", _f(item.fitness), cell)
                continue
            s = item
            cell = Text(s.mutation + (" (cache hit)" if s.cached else ""))
            if not full:
                plus = sum(d.startswith("+") for d in s.diff)
                cell.append(f" (+{plus} -{len(s.diff) - plus} lines)" if s.diff else "", style="dim")
            for d in s.diff if full else ():
                cell.append("\n" + d, style="red" if d.startswith("-") else "green")
            if s.parent is None and full:
                cell.append("\n" + s.program, style="dim")
            lin.add_row(str(step[s.id]), str(s.id), _f(s.fitness), cell)
        con.print(lin)

    st = rep.stats
    t = Table(title="statistics", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("logged children", f"{st.rows} ({st.seeds} seed(s), {st.children} mutated)")
    t.add_row("evaluations", str(st.evaluations))
    t.add_row("failed or diverged", _failures(st))
    if st.hurdle_stops:
        t.add_row("stopped at a hurdle", f"{st.hurdle_stops} of {st.evaluations} evaluations (scored where "
                                         "training stopped early; not failures)")
    t.add_row("cache hits", f"{st.cache_hits} ({st.cache_hit_rate:.1%} of mutated children)")
    t.add_row("redundant statements", f"{st.redundant} of {st.statements} ({st.redundant_ratio:.1%})")
    t.add_row("invalid children", "not recorded" if st.invalid_children is None else str(st.invalid_children))
    wall = "-" if st.wall_time is None else f"{st.wall_time:.1f}s"
    rate = "-" if st.evals_per_s is None else f"{st.evals_per_s:.2f}/s"
    t.add_row("wall time", f"{wall} ({rate}; evaluator time {st.eval_seconds:.1f}s)")
    t.add_row("funnel", f"{st.funnel_rounds} round(s), {st.funnel_evaluations} re-evaluations "
                        f"({st.funnel_seconds:.1f}s)")
    if st.race_evaluations:
        t.add_row("racing", f"{st.race_evaluations} more task seeds scored ({st.race_seconds:.1f}s)")
    con.print(t)
    for path in plots_written.values():
        print(f"wrote {path}")
    for note in rep.notes:
        print(f"note: {note}", file=sys.stderr)


def run(args) -> int:
    if args.front:
        from search.cli.front_view import show_front

        return show_front(args)
    if args.top is None:
        args.top = TOP_FULL if args.full or args.json else TOP
    if args.top < 1:
        return fail(f"--top must be at least 1, got {args.top}")
    try:
        run_ = runs.load_run(args.run_dir)
        rep = overview.report(run_, args.top, simplify=not args.no_simplify)
    except runs.RunReadError as exc:
        return fail(str(exc))
    written: dict[str, str] = {}
    if not args.no_plots:
        out = Path(args.plots) if args.plots else run_.path
        try:
            if not args.plots and not os.access(out, os.W_OK):
                raise PermissionError(13, "not writable")
            rep.notes.extend(write_plots(run_, rep, out, args.curves, written))
        except OSError as exc:
            why = exc.strerror or str(exc)
            if args.plots:  # asked for by name: not writing there is an error
                return fail(f"cannot write plots to {out}: {why}", 1)
            rep.notes.append(f"plots skipped: the run directory {out} is not writable ({why}); --plots DIR "
                             "writes them elsewhere")
    if args.json:
        print(jsonout.dumps({**rep.to_json(), "plots": written, "live": run_.live}, indent=1))
        for path in written.values():
            print(f"wrote {path}", file=sys.stderr)
        for note in rep.notes:
            print(f"note: {note}", file=sys.stderr)
        return 0
    render(rep, written, args.full_lineage, args.full)
    if not args.full:
        print("(concise: --full shows each program raw too and each lineage step's diff; --top K lists more)",
              file=sys.stderr)
    return 0
