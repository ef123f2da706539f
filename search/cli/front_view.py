"""The front on the terminal: ``optsearch show RUN --front`` and the end of a front search.

One row per member (the programs no other program of the run beats on fitness without costing
more): states, length, fitness ± se over the task seeds it was raced on, the simplified program
and its recognized family. ``--json`` gives the members under ``front``; ``front.png`` beside.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from search.analysis import front as front_mod
from search.analysis import plots, runs
from search.analysis.digits import fixed
from search.cli import jsonout
from search.cli.common import fail


def table(members, title: str) -> Table:
    t = Table(title=title)
    for col in ("id", "states", "length", "fitness", "± se", "seeds"):
        t.add_column(col, justify="right", no_wrap=True)
    t.add_column("program (simplified) / family", overflow="fold")
    for m in members:
        cell = Text(m.simplified)
        if m.family:
            cell.append(f"\n  {m.family}", style="bold green")
        if m.seed:
            cell.append("\n  (the seed)", style="dim")
        t.add_row(str(m.id), str(m.states), str(m.length), fixed(m.fitness), fixed(m.se), str(m.seeds), cell)
    return t


def show_front(args) -> int:
    """``optsearch show RUN --front`` (with ``--json``, ``--plots DIR``, ``--no-plots``)."""
    try:
        run = runs.load_run(args.run_dir)
        objectives = front_mod.run_objectives(run)
        points = front_mod.points(run)
        members = front_mod.front(run, objectives, simplify=not args.no_simplify)
    except runs.RunReadError as exc:
        return fail(str(exc))
    if not members:
        return fail(f"{args.run_dir}: no scored program yet, so no front")
    written, notes = {}, []
    if not args.no_plots:
        out = Path(args.plots) if args.plots else run.path
        if args.plots or os.access(out, os.W_OK):
            try:
                plot_points = [{k: p[k] for k in ("fitness", "states", "length", "seed")} for p in points]
                written["front"] = str(plots.front_plot(out / "front.png", plot_points,
                                                        [m.to_json() for m in members],
                                                        title=f"front of {run.path.name}: fitness against cost"))
            except OSError as exc:
                if args.plots:
                    return fail(f"cannot write plots to {out}: {exc.strerror or exc}", 1)
                notes.append(f"front.png skipped: {exc.strerror or exc}")
        else:
            notes.append(f"front.png skipped: the run directory {out} is not writable; --plots DIR writes it "
                         "elsewhere")
    if args.json:
        print(jsonout.dumps({"run_dir": str(run.path), "objectives": list(objectives),
                             "front": [m.to_json() for m in members], "plots": written}, indent=1))
    else:
        head = f"front of {run.path.name} over {', '.join(objectives)} ({len(members)} of {len(points)} programs)"
        Console().print(table(members, head))
        for path in written.values():
            print(f"wrote {path}")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def print_front(summary: dict) -> None:
    """The end of a front search: the front in a few lines (from the driver's summary)."""
    pts = summary.get("front")
    if not pts:
        return
    print(f"the front ({len(pts)} programs: none fitter without more states or statements; "
          f"optsearch show {summary['run_dir']} --front for more):")
    for p in pts:
        se = f" ± {fixed(p['se'])}" if p.get("se") is not None else ""
        print(f"  id {p['id']}: {p['states']} state(s), {p['length']} statements, fitness {fixed(p['fitness'])}{se}")
